"""`cosamt evaluate` and `cosamt export`: a schedule file checked against an instance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cosamt.cli.common import load, out, user_errors
from cosamt.errors import InputError, Problem
from cosamt.io.outputs import check_output_dir, group_folder


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
        resolved = load(instance, seq_len=seq_len, batch=batch)
        arch, entries = _schedule_groups(resolved, schedule)
        results = [(group, metrics) for _path, group, _mappings, metrics in entries]
        _check_invariants(resolved, results)
        missing = _missing_operators(resolved, results)
    total = {
        "latency_cycles": sum(m.latency_cycles * g.count for g, m in results),
        "energy_pj": sum(m.energy_pj * g.count for g, m in results),
        "dram_bytes": sum(m.dram_bytes * g.count for g, m in results),
    }
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
                    "total": total,
                    # A schedule may cover part of the block; its total covers only that part.
                    "complete": not missing,
                    "missing_operators": missing,
                },
                indent=1,
            )
        )
        return
    print_evaluation(results, total, arch, missing)


def print_evaluation(
    results: list[tuple[Any, Any]], total: dict[str, float], arch: Any, missing: list[str]
) -> None:
    """Per group, a total row (each group x its count), then per operator and level; one energy
    unit per table, time beside cycles, bytes with binary prefixes."""
    from cosamt.report import units
    from cosamt.report.solve_table import table

    energy = units.energy_unit([total["energy_pj"]])
    time = units.time_unit([units.cycles_to_seconds(total["latency_cycles"], arch.clock_ghz)])
    groups = table(
        f"evaluated schedule on {arch.name} ({arch.clock_ghz:g} GHz), per group instance; "
        "total: each group x its count",
        [
            "group",
            "fusion",
            "count",
            "cycles",
            time.symbol,
            energy.symbol,
            "DRAM",
            "util",
            "bound by",
        ],
        left=2,
    )
    for g, gm in results:
        groups.add_row(
            g.name,
            g.scheme.value,
            str(g.count),
            units.count(gm.latency_cycles),
            time(units.cycles_to_seconds(gm.latency_cycles, arch.clock_ghz)),
            energy(gm.energy_pj),
            units.nbytes(gm.dram_bytes),
            f"{gm.utilisation:.3f}",
            gm.bound_by,
        )
    groups.add_section()
    groups.add_row(
        "total" if not missing else "partial total",
        "",
        "",
        units.count(total["latency_cycles"]),
        time(units.cycles_to_seconds(total["latency_cycles"], arch.clock_ghz)),
        energy(total["energy_pj"]),
        units.nbytes(total["dram_bytes"]),
        "",
        "",
    )
    out.print(groups)
    out.print(level_table(results))
    if missing:
        out.print(
            f"partial schedule: {len(missing)} operator(s) not scheduled ({', '.join(missing)}); "
            "the total covers only the groups listed, not the model",
            highlight=False,
        )


def level_table(results: list[tuple[Any, Any]]) -> Any:
    """Per operator and memory level (one group instance): words moved, occupancy, cycles, energy."""
    from cosamt.report import units
    from cosamt.report.solve_table import table

    levels = [
        (op, lv)
        for g, gm in results
        for op, m in zip(g.ops, gm.members, strict=True)
        for lv in m.levels
        if lv.reads or lv.writes or lv.occupancy_words
    ]
    energy = units.energy_unit(lv.energy_pj for _op, lv in levels)
    t = table(
        "per operator and level, one group instance (words; occupancy of one instance of the level)",
        [
            "operator",
            "level",
            "reads",
            "writes",
            "occupancy",
            "cycles",
            energy.symbol,
            "stationary",
        ],
        left=2,
    )
    previous = None
    for op, lv in levels:
        if previous is not None and previous != op.name:
            t.add_section()
        cap = "inf" if lv.capacity_words is None else units.count(lv.capacity_words)
        t.add_row(
            op.name if previous != op.name else "",
            lv.level,
            f"{lv.reads:,}",
            f"{lv.writes:,}",
            f"{units.count(lv.occupancy_words)}/{cap}",
            units.count(lv.cycles),
            energy(lv.energy_pj),
            lv.stationarity.value,
        )
        previous = op.name
    return t


def _check_invariants(resolved: Any, results: list[tuple[Any, Any]]) -> None:
    """Evaluated figures at or above their lower bounds and finite; a failure is a bug (exit 1)."""
    from cosamt.bounds import group_lower_bound
    from cosamt.invariants import check, group_violations, totals_violations

    problems: list[str] = []
    for group, metrics in results:
        problems += group_violations(group.name, metrics, group_lower_bound(group, resolved.arch))
    problems += totals_violations(
        [
            ("latency", sum(m.latency_cycles * g.count for g, m in results)),
            ("energy", sum(m.energy_pj * g.count for g, m in results)),
        ]
    )
    check(resolved, problems)


def _missing_operators(resolved: Any, results: list[tuple[Any, Any]]) -> list[str]:
    from cosamt.fusion.chain import replaced

    covered = {op.name for group, _m in results for op in group.ops}
    views = {n for n in covered if replaced(n)}  # a split view's operators stand for the block's
    needs: dict[str, set[str]] = {}
    for op in (*resolved.operators, *_view_ops(resolved)):
        if (r := replaced(op.name)) is not None:
            needs.setdefault(r, set()).add(op.name)
    covered |= {r for r, names in needs.items() if names <= views}
    return [op.name for op in resolved.operators if op.name not in covered]


def _view_ops(resolved: Any) -> list[Any]:
    from cosamt.fusion.chain import view_operators

    return view_operators(resolved.operators)


def _schedule_groups(resolved: Any, schedule: Path) -> tuple[Any, list[tuple[str, Any, Any, Any]]]:
    """The instance's architecture and, per group of the schedule file, (JSON path, group, mappings,
    metrics): :func:`cosamt.api.evaluate_schedule`."""
    from cosamt.api import evaluate_schedule

    groups = evaluate_schedule(resolved, schedule)
    return resolved.arch, [(s.path, s.group, s.mappings, s.metrics) for s in groups]


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
        to_yaml_text,
    )

    with user_errors():
        check_output_dir(out_dir, "--out")
        resolved = load(instance, seq_len=seq_len, batch=batch)
        arch, entries = _schedule_groups(resolved, schedule)
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
        folder = out_dir / group_folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "arch.yaml").write_text(to_yaml_text(arch_doc))
        (folder / "workload.yaml").write_text(to_yaml_text(workload_doc))
        (folder / "mapping.yaml").write_text(to_yaml_text(exported.spec))
        out.print(f"{name}: {folder}")
        for note in exported.approximations:
            out.print(f"  note: {note}")
