"""`cosamt solve` and `cosamt pareto`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cosamt.cli.common import _progress, out, user_errors
from cosamt.errors import InputError, Problem
from cosamt.types import FusionChoice, Objective


def solve(
    instance: Annotated[Path, typer.Argument(help="Instance JSON file.")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the schedule (for `cosamt evaluate`).")
    ] = None,
    objective: Annotated[
        Objective | None, typer.Option(help="Override the instance's objective.")
    ] = None,
    fusion: Annotated[
        FusionChoice | None, typer.Option(help="Fusion schemes the explorer may use.")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the fusion alternatives the explorer rejected.")
    ] = False,
    seq_len: Annotated[int | None, typer.Option(help="Override the sequence length.")] = None,
    batch: Annotated[int | None, typer.Option(help="Override the batch size.")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per MIP solve.")] = None,
    threads: Annotated[int | None, typer.Option(help="Solver threads.")] = None,
    solver: Annotated[str, typer.Option(help="Pyomo solver name (default: HiGHS).")] = "highs",
) -> None:
    """Solve every operator group of the model to proven optimality, exploring fusion, and report it."""
    from cosamt.api import check_solver, load_resolved
    from cosamt.pipeline import settings_for, solve_instance
    from cosamt.report.solve_report import print_explain, print_table, report_json
    from cosamt.schedule.file import write_schedule

    with user_errors():
        resolved = load_resolved(instance, seq_len=seq_len, batch=batch)
        settings = settings_for(
            resolved.instance,
            objective=objective,
            time_limit_s=time_limit,
            threads=threads,
            solver=solver,
        )
        check_solver(settings.solver)
        if out_file is not None and not out_file.parent.is_dir():
            raise InputError(
                "", [Problem("--out", f"directory {str(out_file.parent)!r} does not exist")]
            )
        update, bar = _progress(not json_out and sys.stderr.isatty())
        if bar:
            with bar:
                report = solve_instance(resolved, settings, update, fusion)
        else:
            report = solve_instance(resolved, settings, None, fusion)
        if out_file:
            try:
                write_schedule(out_file, report.schedule())
            except OSError as exc:
                raise InputError(
                    "", [Problem("--out", f"cannot write {out_file}: {exc.strerror}")]
                ) from None
    if json_out:
        print(json.dumps(report_json(report), indent=1))
    else:
        print_table(report, out)
        if explain:
            print_explain(report, out)
        if out_file:
            out.print(f"schedule written to {out_file}")


def pareto(
    instance: Annotated[Path, typer.Argument(help="Instance JSON file.")],
    operator: Annotated[str, typer.Argument(help="Operator name (see `cosamt solve`).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The latency-energy Pareto front of one operator (epsilon-constraint walk)."""
    from cosamt.api import load_resolved, operator_pareto_front

    with user_errors():
        front = operator_pareto_front(load_resolved(instance), operator)
    rows = [
        {"latency_cycles": r.latency, "energy_pj": r.energy, "status": r.status.value}
        for r in front
    ]
    if json_out:
        print(json.dumps({"operator": operator, "front": rows}, indent=1))
        return
    for r in rows:
        out.print(
            f"latency {r['latency_cycles']:.6g} cycles  energy {r['energy_pj']:.6g} pJ  ({r['status']})"
        )
