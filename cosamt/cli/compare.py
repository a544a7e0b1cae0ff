"""``cosamt compare``: the MIP beside every baseline, per unique segment of the block and in total.

Registered in ``cosamt/cli/__init__.py``.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cosamt.cli.common import _check_solver, err, group_progress, load, out, user_errors
from cosamt.errors import InputError, Problem
from cosamt.io.outputs import check_output_file, output_lock, write_atomically
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


def print_comparison(c: Comparison, clock_ghz: float) -> None:
    """Per segment (one instance; ``xN``: instances per model) and in total; one energy unit and
    one time unit for the table, bytes with binary prefixes, ratio = method / MIP (objective)."""
    from cosamt.compare import TOTAL
    from cosamt.report import units
    from cosamt.report.solve_table import table

    every = [m for g in c.groups for m in g.methods] + list(c.totals)
    ran = [m for m in every if m.latency_cycles is not None and m.energy_pj is not None]
    energy = units.energy_unit(m.energy_pj or 0.0 for m in ran)
    time = units.time_unit(units.cycles_to_seconds(m.latency_cycles or 0.0, clock_ghz) for m in ran)
    t = table(
        f"MIP (fusion {c.fusion.value}) vs baselines (objective {c.objective.value}, effort "
        f"{c.effort}, seed {c.seed}); per segment instance (xN per model), then the model total",
        [
            "segment",
            "method",
            "cycles",
            time.symbol,
            energy.symbol,
            "DRAM",
            "search s",
            "ratio",
            "note",
        ],
        left=2,
    )
    t.columns[-1].justify = "left"
    notes: dict[str, int] = {}  # long notes become numbered footnotes, so the table fits

    def note(text: str) -> str:
        return f"[{notes.setdefault(text, len(notes) + 1)}]" if text else ""

    def row(label: str, m: MethodResult) -> None:
        if m.skipped is not None or m.latency_cycles is None or m.energy_pj is None:
            t.add_row(label, m.method, "", "", "", "", "", "", note(f"skipped: {m.skipped}"))
            return
        t.add_row(
            label,
            m.method,
            units.count(m.latency_cycles),
            time(units.cycles_to_seconds(m.latency_cycles, clock_ghz)),
            energy(m.energy_pj),
            "" if m.dram_bytes is None else units.nbytes(m.dram_bytes),
            f"{m.seconds:.3f}",
            units.ratio(m.ratio),
            note(m.note),
        )

    for g in c.groups:
        label = (
            g.group.name
            if len(g.group.members) == 1
            else f"{g.group.name} (={', '.join(g.group.members[1:])})"
        )
        for i, m in enumerate(g.methods):
            row(f"{label} x{g.group.count}" if i == 0 else "", m)
        t.add_section()
    for i, m in enumerate(c.totals):
        row(TOTAL if i == 0 else "", m)
    out.print(t)
    for text, number in notes.items():
        out.print(f"[{number}] {text}", highlight=False, markup=False)


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
    from cosamt.compare import compare_instance, to_csv, to_json
    from cosamt.pipeline import settings_for

    with user_errors():
        names = _baseline_names(baselines)
        resolved = load(instance, seq_len=seq_len, batch=batch, time_limit_s=time_limit)
        settings = settings_for(resolved.instance, objective=objective)
        _check_solver(settings.solver)
        if csv_file is not None:
            check_output_file(csv_file, "--csv")
        with output_lock(csv_file, "--csv") if csv_file else nullcontext():
            with group_progress("compare") as update:
                result = compare_instance(resolved, settings, names, effort, seed, update, fusion)
            if csv_file is not None:
                text = to_csv(result)
                write_atomically(csv_file, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    if csv_file is not None and not json_out:
        err.print(f"CSV written to {csv_file}")
    if json_out:
        print(json.dumps(to_json(result), indent=1))
    elif csv_file is None:
        print_comparison(result, resolved.arch.clock_ghz)
