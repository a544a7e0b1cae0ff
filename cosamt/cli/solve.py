"""`cosamt solve` and `cosamt pareto`."""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from cosamt.cli.common import (
    _check_solver,
    check_solve_invariants,
    group_progress,
    load,
    out,
    user_errors,
)
from cosamt.errors import InputError, Problem
from cosamt.io.outputs import check_output_file, output_lock
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
    time_limit: Annotated[
        float | None,
        typer.Option(help="Seconds per operator group (every MIP and stage it needs)."),
    ] = None,
    solve_time_limit: Annotated[
        float | None,
        typer.Option(help="Seconds for the whole solve; groups not solved by then are labelled."),
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Solver threads per MIP.")] = None,
    jobs: Annotated[
        int | None,
        typer.Option(help="Groups solved at once in local processes (each with --threads)."),
    ] = None,
    solver: Annotated[str, typer.Option(help="Pyomo solver name (default: HiGHS).")] = "highs",
    max_group: Annotated[
        int | None,
        typer.Option(help="With --fusion explore: at most this many operators per group."),
    ] = None,
    pareto_slack: Annotated[
        float | None,
        typer.Option(
            help="Per chosen group, also the best other metric within this relative slack of the "
            "objective (e.g. 0.01: the least energy within 1 % of the latency)."
        ),
    ] = None,
) -> None:
    """Solve every operator group of the model to proven optimality, exploring fusion, and report it."""
    from cosamt.pipeline import pareto_neighbours, settings_for, solve_instance
    from cosamt.report.solve_report import report_json
    from cosamt.report.solve_table import print_explain, print_neighbours, print_table
    from cosamt.schedule.file import write_schedule

    with user_errors():
        resolved = load(
            instance,
            seq_len=seq_len,
            batch=batch,
            time_limit_s=time_limit,
            solve_time_limit_s=solve_time_limit,
            threads=threads,
            jobs=jobs,
            max_group=max_group,
        )
        settings = settings_for(resolved.instance, objective=objective, solver=solver)
        _check_solver(settings.solver)
        if out_file is not None:
            check_output_file(out_file, "--out")
        with output_lock(out_file, "--out") if out_file else nullcontext():
            start = time.perf_counter()
            with group_progress("solve") as update:
                report = solve_instance(resolved, settings, update, fusion)
            wall = time.perf_counter() - start
            check_solve_invariants(report)
            if pareto_slack is not None:
                if not (0 <= pareto_slack < 10):
                    raise InputError(
                        "command line", [Problem("--pareto-slack", "expected 0 <= slack < 10")]
                    )
                report = pareto_neighbours(report, pareto_slack)
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
        print_table(report, out, wall)
        if explain:
            print_explain(report, out)
        print_neighbours(report, out)
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
        resolved = load_resolved(instance)
        front = operator_pareto_front(resolved, operator)
    rows = [
        {
            "latency_cycles": r.latency,
            "energy_pj": r.energy,
            "status": r.status.value,
            "tiebreak": None if r.tiebreak is None else r.tiebreak.value,
        }
        for r in front.points
    ]
    if json_out:
        print(
            json.dumps(
                {
                    "operator": operator,
                    "front": rows,
                    "complete": front.complete,
                    "end": front.note,
                },
                indent=1,
            )
        )
        return
    from cosamt.report import units
    from cosamt.report.solve_table import table

    clock = resolved.arch.clock_ghz
    points = [
        (r.status.value, r.latency, r.energy)
        for r in front.points
        if r.latency is not None and r.energy is not None
    ]
    energy = units.energy_unit(e for _s, _l, e in points)
    time = units.time_unit(units.cycles_to_seconds(lat, clock) for _s, lat, _e in points)
    t = table(
        f"latency-energy Pareto front of {operator} on {resolved.arch.name} ({clock:g} GHz)",
        ["status", "latency cycles", time.symbol, energy.symbol],
    )
    for status, latency, pj in points:
        t.add_row(
            status,
            f"{latency:,.0f}",
            time(units.cycles_to_seconds(latency, clock)),
            energy(pj),
        )
    out.print(t)
    proof = "complete and proven" if front.complete else "NOT proven complete"
    out.print(f"{len(rows)} Pareto points, {proof} ({front.note})")
