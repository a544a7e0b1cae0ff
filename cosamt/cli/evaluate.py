"""`cosamt evaluate` and `cosamt export`: a schedule file checked against an instance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cosamt.cli.common import out, user_errors
from cosamt.errors import InputError, Problem


def evaluate_cmd(
    instance: Annotated[Path, typer.Argument(help="Instance JSON file.")],
    schedule: Annotated[Path, typer.Argument(help="Schedule JSON file.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    seq_len: Annotated[int | None, typer.Option(help="Override the sequence length.")] = None,
    batch: Annotated[int | None, typer.Option(help="Override the batch size.")] = None,
) -> None:
    """Evaluate a hand-written or exported schedule (single operators or fused groups); violations
    are listed and exit with code 2."""
    from cosamt.api import evaluate_schedule, load_resolved

    with user_errors():
        resolved = load_resolved(instance, seq_len=seq_len, batch=batch)
        results = [(s.group, s.metrics) for s in evaluate_schedule(resolved, schedule)]
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
    from cosamt.api import evaluate_schedule, load_resolved
    from cosamt.export.accelforge import (
        ExportError,
        group_mapping_spec,
        sequence_specs,
        spec_folder,
        to_yaml_text,
    )

    with user_errors():
        resolved = load_resolved(instance, seq_len=seq_len, batch=batch)
        arch = resolved.arch
        docs = []
        problems: list[Problem] = []
        for path, group, mappings in (
            (s.path, s.group, s.mappings) for s in evaluate_schedule(resolved, schedule)
        ):
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
