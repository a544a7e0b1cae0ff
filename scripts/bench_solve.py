"""Solve every shipped instance and write per-group solve seconds, gaps and model totals as JSON.

    python scripts/bench_solve.py [--out results/bench_solve.json] [--instances instances/*.json]
        [--fusion all|explore|...]

The project's targets (on 2 cores, with the menu, ``--fusion all``): every group at gap 0; median
group < 2 s; worst group < 20 s; GPT-2-small whole model < 20 s. Every group of the menu's
candidates is counted (chosen or not); identical groups in a block are solved once and counted
once. With ``--fusion explore`` (the instances' default) the groups are the chosen partition's and
``explored_mips`` counts every candidate MIP the explorer solved.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from cosamt.io.instance import load_instance
from cosamt.pipeline import resolve, settings_for, solve_instance
from cosamt.report.solve_report import report_json
from cosamt.solve.solver import environment
from cosamt.types import FusionChoice

ROOT = Path(__file__).resolve().parent.parent


def bench(path: Path, fusion: FusionChoice | None) -> dict[str, object]:
    inst = load_instance(path)
    resolved = resolve(inst, path.parent)
    start = time.perf_counter()
    report = solve_instance(resolved, settings_for(inst), fusion=fusion)
    wall = time.perf_counter() - start
    data = report_json(report)
    objective = report.settings.objective
    groups = [
        {
            "segment": seg.name,
            "fusion": alt.label,
            "name": g.name,
            "chosen": alt.chosen,
            "status": g.solve.status.value,
            "gap": g.solve.gap,
            "seconds": g.solve.seconds,
            "agreement": g.agreement(objective),
            "latency_cycles": g.metrics.latency_cycles,
            "energy_pj": g.metrics.energy_pj,
        }
        for seg in report.segments
        for alt in seg.alternatives
        for g in alt.groups
        if g.same_as is None  # identical groups are solved once
    ]
    return {
        "instance": path.name,
        "fusion": report.fusion.value,
        "wall_seconds": wall,
        "explored_mips": sum(e.solved for e in report.explorations),
        "groups": groups,
        "total": data["total"],
        "lower_bound": data["lower_bound"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_solve.json")
    ap.add_argument(
        "--instances", type=Path, nargs="*", default=sorted((ROOT / "instances").glob("*.json"))
    )
    ap.add_argument("--fusion", type=FusionChoice, default=None, help="default: each instance's")
    args = ap.parse_args()
    runs = []
    for path in args.instances:
        run = bench(path, args.fusion)
        runs.append(run)
        print(
            f"{path.name}: {run['wall_seconds']:.1f} s, "
            f"{sum(g['status'] == 'optimal' for g in run['groups'])}/{len(run['groups'])} optimal",
            flush=True,
        )
    seconds = [g["seconds"] for r in runs for g in r["groups"]]
    gaps = [g["gap"] for r in runs for g in r["groups"]]
    agreement = [g["agreement"] for r in runs for g in r["groups"] if g["agreement"] is not None]
    gpt2 = [r["wall_seconds"] for r in runs if r["instance"] == "gpt2_cloud.json"]
    summary = {
        "fusion": args.fusion.value if args.fusion else "each instance's",
        "groups": len(seconds),
        "optimal": sum(g["status"] == "optimal" for r in runs for g in r["groups"]),
        "max_gap": max((g for g in gaps if g is not None), default=None),
        "median_group_seconds": statistics.median(seconds),
        "worst_group_seconds": max(seconds),
        "worst_group": max(
            (g["seconds"], f"{r['instance']}:{g['name']}") for r in runs for g in r["groups"]
        )[1],
        "gpt2_cloud_whole_model_seconds": gpt2[0] if gpt2 else None,
        "max_evaluator_disagreement": max(agreement, default=None),
        "machine": environment(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
