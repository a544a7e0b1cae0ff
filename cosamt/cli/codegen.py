"""`cosamt codegen`: every group of a valid schedule as a C program following its loop nest."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cosamt.cli.common import load, out, user_errors
from cosamt.errors import InputError, Problem


class Lang(StrEnum):
    C = "c"


def codegen_cmd(
    instance: Annotated[Path, typer.Argument(help="Instance JSON file.")],
    schedule: Annotated[
        Path, typer.Argument(help="Schedule JSON file (e.g. from `cosamt solve --out`).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for one program per group.")],
    lang: Annotated[
        Lang, typer.Option(help="Target language (C; built with the system compiler).")
    ] = Lang.C,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Build and run every group; compare with numpy and the evaluator."
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON (with --check).")] = False,
    max_points: Annotated[
        int,
        typer.Option(
            help="Largest iteration space (points over all members) run at full size.", min=1
        ),
    ] = 20_000_000,
    reduce: Annotated[
        int | None,
        typer.Option(
            help="Run with every loop factor cut to a power of two <= this (same structure).", min=2
        ),
    ] = None,
    seq_len: Annotated[int | None, typer.Option(help="Override the sequence length.")] = None,
    batch: Annotated[int | None, typer.Option(help="Override the batch size.")] = None,
) -> None:
    """Write OUT/<group>/main.c for every group of a valid schedule; with --check, build and run each
    (at reduced sizes when too big) and report max_abs_error, max_rel_error and counts_match.
    Exit 2 on bad input or a schedule that would not compute the operators, 1 if a check fails."""
    from cosamt.cli.evaluate import _schedule_groups
    from cosamt.codegen.program import Entry, check_programs, computation_reasons, write_programs
    from cosamt.codegen.run import REL_TOLERANCE, BuildError

    with user_errors():
        resolved = load(instance, seq_len=seq_len, batch=batch)
        inst = resolved.instance
        arch, found = _schedule_groups(resolved, schedule)
        entries = [Entry(path, group, mappings) for path, group, mappings, _m in found]
        reasons = computation_reasons(entries)
        if reasons:
            raise InputError(str(schedule), [Problem(path, str(r)) for path, r in reasons])
        try:
            written = write_programs(arch, entries, out_dir)
        except InputError as exc:
            raise exc.with_source(str(schedule)) from None
    if not check:
        for path in written:
            out.print(str(path))
        return
    try:
        results = check_programs(
            arch,
            entries,
            out_dir,
            max_points=max_points,
            cap=reduce,
            double_buffering=inst.options.double_buffering,
        )
    except BuildError as exc:
        out.print(f"error: {exc}")
        raise typer.Exit(1) from None
    if json_out:
        print(
            json.dumps(
                {"rel_tolerance": REL_TOLERANCE, "groups": [r.to_json() for r in results]}, indent=1
            )
        )
    else:
        for r in results:
            size = "full size" if r.reduced is None else f"reduced (factors <= {r.reduced})"
            out.print(
                f"[bold]{r.name}[/bold] ({r.scheme}, {size}): max_abs_error {r.max_abs_error:.3g}, "
                f"max_rel_error {r.max_rel_error:.3g}, counts_match {r.counts_match}"
            )
            for line in r.mismatches:
                out.print(f"  mismatch: {line}")
    if not all(r.ok for r in results):
        raise typer.Exit(1)
