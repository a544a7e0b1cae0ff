"""``cosamt compare``: the MIP beside every baseline, per unique segment of the block and in total.

Registered in ``cosamt/cli/__init__.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cosamt.cli.common import _progress, err, out, user_errors
from cosamt.errors import InputError, Problem
from cosamt.types import FusionChoice, Objective

if TYPE_CHECKING:  # the solver stack is imported only when the command runs
    from cosamt.compare import Comparison, MethodResult


def _baseline_names(spec: str | None) -> list[str]:
    from cosamt.compare import METHODS

    if spec is None:
        return list(METHODS)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in METHODS]
    if unknown or not names:
        raise InputError(
            "command line",
            [
                Problem(
                    "--baselines",
                    f"unknown baseline(s) {', '.join(unknown) or '(none given)'}; "
                    f"known: {', '.join(METHODS)}",
                )
            ],
        )
    return list(dict.fromkeys(names))


def _fmt(x: float | None, spec: str = ".4g") -> str:
    return "" if x is None else format(x, spec)


def _table_row(table: Table, group: str, m: MethodResult) -> None:
    if m.skipped is not None:
        table.add_row(group, m.method, "", "", "", "", "", f"skipped: {m.skipped}")
        return
    table.add_row(
        group,
        m.method,
        _fmt(m.latency_cycles),
        _fmt(m.energy_pj),
        _fmt(m.dram_bytes, ","),
        _fmt(m.seconds, ".3f"),
        _fmt(m.ratio, ".3f"),
        m.note,
    )


def print_comparison(c: Comparison) -> None:
    from cosamt.compare import TOTAL

    table = Table(
        title=f"MIP (fusion {c.fusion.value}) vs baselines (objective {c.objective.value}, "
        f"effort {c.effort}, seed {c.seed}; ratio = method / MIP)"
    )
    for col in (
        "group",
        "method",
        "latency (cycles)",
        "energy (pJ)",
        "DRAM (B)",
        "search (s)",
        "ratio",
        "note",
    ):
        table.add_column(col, justify="left" if col in ("group", "method", "note") else "right")
    for g in c.groups:
        label = (
            g.group.name
            if len(g.group.members) == 1
            else f"{g.group.name} (={', '.join(g.group.members[1:])})"
        )
        for i, m in enumerate(g.methods):
            _table_row(table, f"{label} x{g.group.count}" if i == 0 else "", m)
        table.add_section()
    for i, m in enumerate(c.totals):
        _table_row(table, TOTAL if i == 0 else "", m)
    out.print(table)


def compare(
    instance: Annotated[Path, typer.Argument(help="Instance JSON file.")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write the rows as CSV to this file.")
    ] = None,
    baselines: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated baselines (default: all): random, genetic, fixed-ws, fixed-is, fixed-os, "
            "tas, greedy, exhaustive, flat (FLAT's granularity rule on fused attention)."
        ),
    ] = None,
    effort: Annotated[int, typer.Option(min=1, help="Evaluator calls per search baseline.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the randomised baselines.")] = 0,
    objective: Annotated[
        Objective | None, typer.Option(help="Override the instance's objective.")
    ] = None,
    fusion: Annotated[
        FusionChoice | None,
        typer.Option(help="Fusion schemes the MIP explores (default: the instance's)."),
    ] = None,
    seq_len: Annotated[int | None, typer.Option(help="Override the sequence length.")] = None,
    batch: Annotated[int | None, typer.Option(help="Override the batch size.")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per MIP solve.")] = None,
) -> None:
    """The MIP (fusion explorer) beside every baseline on each unique segment: latency, energy,
    DRAM, search time, ratio."""
    from cosamt.api import check_solver, load_resolved
    from cosamt.compare import compare_instance, to_csv, to_json
    from cosamt.pipeline import settings_for

    with user_errors():
        names = _baseline_names(baselines)
        resolved = load_resolved(instance, seq_len=seq_len, batch=batch)
        settings = settings_for(resolved.instance, objective=objective, time_limit_s=time_limit)
        check_solver(settings.solver)
        update, bar = _progress(not json_out and sys.stderr.isatty())
        if bar:
            with bar:
                result = compare_instance(resolved, settings, names, effort, seed, update, fusion)
        else:
            result = compare_instance(resolved, settings, names, effort, seed, fusion=fusion)
    if csv_file is not None:
        csv_file.write_text(to_csv(result), encoding="utf-8")
        if not json_out:
            err.print(f"CSV written to {csv_file}")
    if json_out:
        print(json.dumps(to_json(result), indent=1))
    elif csv_file is None:
        print_comparison(result)
