"""The command line: a thin layer over library functions. Bad input -> one line per problem, exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cosamt.cli_common import _check_solver, _load, _progress, err, out, user_errors  # noqa: F401
from cosamt.errors import InputError, Problem
from cosamt.types import FusionChoice, Objective

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Exact MIP scheduling of Transformer inference on spatial accelerators.",
)


@app.command()
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
    from cosamt.pipeline import resolve, settings_for, solve_instance
    from cosamt.report.solve_report import print_explain, print_table, report_json
    from cosamt.schedule.file import write_schedule

    with user_errors():
        inst = _load(instance, seq_len=seq_len, batch=batch)
        resolved = resolve(inst, instance.parent)
        settings = settings_for(
            inst, objective=objective, time_limit_s=time_limit, threads=threads, solver=solver
        )
        _check_solver(settings.solver)
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


@app.command("evaluate")
def evaluate_cmd(
    instance: Annotated[Path, typer.Argument(help="Instance JSON file.")],
    schedule: Annotated[Path, typer.Argument(help="Schedule JSON file.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    seq_len: Annotated[int | None, typer.Option(help="Override the sequence length.")] = None,
    batch: Annotated[int | None, typer.Option(help="Override the batch size.")] = None,
) -> None:
    """Evaluate a hand-written or exported schedule (single operators or fused groups); violations
    are listed and exit with code 2."""
    with user_errors():
        inst = _load(instance, seq_len=seq_len, batch=batch)
        _arch, entries = _schedule_groups(instance, schedule, inst)
        results = [(group, metrics) for _path, group, _mappings, metrics in entries]
    if json_out:
        groups = [
            (m.members[0].to_json() if not g.fused else m.to_json())
            | {
                "name": g.name,
                "operators": [o.name for o in g.ops],
                "count": g.count,
                "fusion": g.scheme.value,
            }
            for g, m in results
        ]
        print(
            json.dumps(
                {
                    "groups": groups,
                    "total": {
                        "latency_cycles": sum(m.latency_cycles * g.count for g, m in results),
                        "energy_pj": sum(m.energy_pj * g.count for g, m in results),
                    },
                },
                indent=1,
            )
        )
        return
    for g, gm in results:
        out.print(
            f"[bold]{g.name}[/bold] ({g.scheme.value}, x{g.count}): latency {gm.latency_cycles:.6g} cycles "
            f"(bound by {gm.bound_by}), energy {gm.energy_pj:.6g} pJ, DRAM {gm.dram_bytes} B, "
            f"utilisation {gm.utilisation:.3f}"
        )
        for op, m in zip(g.ops, gm.members, strict=True):
            if g.fused:
                out.print(
                    f"  {op.name}: latency {m.latency_cycles:.6g} cycles, energy {m.energy_pj:.6g} pJ"
                )
            for lv in m.levels:
                if not lv.reads and not lv.writes and not lv.occupancy_words:
                    continue
                cap = lv.capacity_words if lv.capacity_words is not None else "inf"
                out.print(
                    f"  {lv.level:>14}: reads {lv.reads:>12} writes {lv.writes:>12} "
                    f"occupancy {lv.occupancy_words}/{cap} words, "
                    f"{lv.cycles:.6g} cycles, {lv.energy_pj:.6g} pJ, stationarity {lv.stationarity.value}"
                )


def _schedule_groups(
    instance: Path, schedule: Path, inst: Any
) -> tuple[Any, list[tuple[str, Any, Any, Any]]]:
    """The instance's architecture and, per group of the schedule file, (JSON path, group, mappings,
    metrics); every unknown operator or scheme, malformed nest and violation the evaluator finds
    is reported at once (InputError)."""
    from cosamt.evaluate.group import evaluate_group
    from cosamt.fusion.schemes import find_group
    from cosamt.pipeline import resolve
    from cosamt.schedule.file import mappings_from_entry, read_schedule, violation_problems

    resolved = resolve(inst, instance.parent)
    sched = read_schedule(schedule)
    ops = {op.name: op for op in resolved.operators}
    problems: list[Problem] = []
    if sched.arch is not None and sched.arch != resolved.arch.name:
        problems.append(
            Problem("arch", f"schedule is for {sched.arch!r}, instance uses {resolved.arch.name!r}")
        )
    entries = []
    for i, entry in enumerate(sched.groups):
        path = f"groups[{i}]"
        unknown = [(j, n) for j, n in enumerate(entry.operators) if n not in ops]
        if unknown:
            j, name = unknown[0]
            problems.append(
                Problem(
                    f"{path}.operators[{j}]",
                    f"unknown operator {name!r}; operators are {list(ops)}",
                )
            )
            continue
        group = find_group(resolved.operators, entry.scheme, entry.operators)
        if group is None:
            problems.append(
                Problem(
                    f"{path}.scheme",
                    f"no {entry.scheme!r} group over operators {list(entry.operators)}",
                )
            )
            continue
        try:
            mappings = mappings_from_entry(entry, group, resolved.arch, path)
        except InputError as exc:
            problems += list(exc.problems)
            continue
        metrics = evaluate_group(
            group, resolved.arch, mappings, double_buffering=inst.options.double_buffering
        )
        problems += violation_problems(entry, path, metrics.violations)
        entries.append((path, group, mappings, metrics))
    if problems:
        raise InputError(str(schedule), problems)
    return resolved.arch, entries


@app.command("export")
def export_cmd(
    instance: Annotated[Path, typer.Argument(help="Instance JSON file.")],
    schedule: Annotated[
        Path, typer.Argument(help="Schedule JSON file (e.g. from `cosamt solve --out`).")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for one AccelForge spec per group.")
    ],
    seq_len: Annotated[int | None, typer.Option(help="Override the sequence length.")] = None,
    batch: Annotated[int | None, typer.Option(help="Override the batch size.")] = None,
) -> None:
    """Write each group of a valid schedule as AccelForge specs (arch.yaml, workload.yaml,
    mapping.yaml in OUT/<group>/), fused groups as one tree; AccelForge's `Spec.from_yaml` on the
    three files evaluates it (docs/peers.md)."""
    from cosamt.export.accelforge import (
        ExportError,
        group_mapping_spec,
        sequence_specs,
        spec_folder,
        to_yaml_text,
    )

    with user_errors():
        inst = _load(instance, seq_len=seq_len, batch=batch)
        arch, entries = _schedule_groups(instance, schedule, inst)
        docs = []
        problems: list[Problem] = []
        for path, group, mappings, _metrics in entries:
            try:
                arch_doc, workload_doc = sequence_specs(list(group.ops), arch)
                docs.append(
                    (group.name, arch_doc, workload_doc, group_mapping_spec(group, arch, mappings))
                )
            except ExportError as exc:
                problems.append(Problem(path, f"cannot be exported to AccelForge: {exc}"))
        if problems:
            raise InputError(str(schedule), problems)
    for name, arch_doc, workload_doc, exported in docs:
        folder = out_dir / spec_folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "arch.yaml").write_text(to_yaml_text(arch_doc))
        (folder / "workload.yaml").write_text(to_yaml_text(workload_doc))
        (folder / "mapping.yaml").write_text(to_yaml_text(exported.spec))
        out.print(f"{name}: {folder}")
        for note in exported.approximations:
            out.print(f"  note: {note}")


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help="instance or schedule")] = "instance",
) -> None:
    """Print the JSON Schema of instance (or schedule) files."""
    from pydantic import BaseModel

    from cosamt.io.instance import Instance
    from cosamt.schedule.file import ScheduleFile

    with user_errors():
        models: dict[str, type[BaseModel]] = {"instance": Instance, "schedule": ScheduleFile}
        if kind not in models:
            raise InputError(
                "", [Problem("kind", f"expected 'instance' or 'schedule', got {kind!r}")]
            )
        print(json.dumps(models[kind].model_json_schema(), indent=1))


@app.command()
def models() -> None:
    """List the shipped model configurations."""
    from cosamt.workload.models import get_model, list_models

    for name in list_models():
        m = get_model(name)
        out.print(
            f"{name:14} layers={m.n_layers:3} d_model={m.d_model:5} heads={m.n_heads:3}/{m.kv_heads:<3} "
            f"d_ff={m.d_ff:6} {m.activation:7} {'decoder' if m.decoder else 'encoder'}",
            highlight=False,
        )


@app.command()
def presets() -> None:
    """List the shipped architecture presets."""
    from cosamt.arch.presets import list_presets, load_preset

    for name in list_presets():
        a = load_preset(name)
        levels = ", ".join(
            f"{lv.name}"
            + (
                f" {sum(c for _r, c in lv.capacity_groups(a.word_bytes)) * a.word_bytes // 1024} KiB"
                if lv.capacity_groups(a.word_bytes)
                else ""
            )
            for lv in a.levels
        )
        out.print(
            f"{name:8} {a.pe_array.rows.size}x{a.pe_array.cols.size} PEs @ {a.clock_ghz} GHz; {levels}",
            highlight=False,
        )


@app.command()
def pareto(
    instance: Annotated[Path, typer.Argument(help="Instance JSON file.")],
    operator: Annotated[str, typer.Argument(help="Operator name (see `cosamt solve`).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The latency-energy Pareto front of one operator (epsilon-constraint walk)."""
    from cosamt.formulation.single_operator import Problem as MipProblem
    from cosamt.pipeline import resolve, settings_for
    from cosamt.solve.solver import pareto_front, single_formulation

    with user_errors():
        inst = _load(instance)
        resolved = resolve(inst, instance.parent)
        ops = {op.name: op for op in resolved.operators}
        if operator not in ops:
            raise InputError(
                "",
                [Problem("operator", f"unknown operator {operator!r}; operators are {list(ops)}")],
            )
        op = ops[operator]
        settings = settings_for(inst)
        problem = MipProblem(op, resolved.arch, dict(op.dims), settings.double_buffering)
        front = pareto_front(single_formulation(problem), settings)
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


# Commands defined in their own modules (they import helpers from this one).
from cosamt.cli_compare import compare  # noqa: E402
from cosamt.cli_sweep import plot, sweep  # noqa: E402

app.command("compare")(compare)
app.command()(sweep)
app.command()(plot)

if __name__ == "__main__":  # pragma: no cover
    app()
