"""Solve every shipped instance and write per-group solve seconds, gaps and model totals as JSON.

    python scripts/bench_solve.py [--out results/bench_solve.json] [--instances instances/*.json]
        [--fusion all|explore|...] [--arch PRESET ...] [--threads N] [--jobs N] [--time-limit S]
    python scripts/bench_solve.py --arch eyeriss tpuv1 --threads 1 --jobs 1 \\
        --out results/bench_presets.json

The project's targets (on 2 cores, with the menu, ``--fusion all``): every group at gap 0; median
group < 2 s; worst group < 20 s; GPT-2-small whole model < 20 s. Every group of the menu's
candidates is counted (chosen or not); identical groups in a block are solved once and counted
once. With ``--fusion explore`` (the instances' default) the groups are the chosen partition's and
``explored_mips`` counts every candidate MIP the explorer solved.

With ``--arch``, every shipped model (each distinct model, phase, batch and sequence length of
the instances; gpt2_edge and gpt2_cloud are one model) is solved on each named preset instead of
its instance's own architecture, with the instance's options; the summary then has one entry per
preset (groups proven optimal, seconds, the largest MIP/evaluator disagreement).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from cosamt.io.instance import Instance, load_instance
from cosamt.pipeline import resolve, settings_for, solve_instance
from cosamt.report.solve_report import report_json
from cosamt.solve.solver import environment
from cosamt.types import FusionChoice

ROOT = Path(__file__).resolve().parent.parent


def bench(
    path: Path,
    fusion: FusionChoice | None = None,
    arch: str | None = None,
    threads: int | None = None,
    jobs: int | None = None,
    time_limit: float | None = None,
) -> dict[str, Any]:
    inst = load_instance(path)
    if arch is not None:
        inst = inst.model_copy(update={"arch": arch})
    resolved = resolve(inst, path.parent)
    settings = settings_for(inst, threads=threads, jobs=jobs, time_limit_s=time_limit)
    start = time.perf_counter()
    report = solve_instance(resolved, settings, fusion=fusion)
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
            # the objective proven optimal and, for a lexicographic objective, the tie-break too
            "proven": g.solve.proven,
            "tiebreak": None if g.solve.tiebreak is None else g.solve.tiebreak.value,
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
        "arch": resolved.arch.name,
        "threads": settings.threads,
        "jobs": settings.jobs,
        "time_limit_s": settings.time_limit_s,
        "wall_seconds": wall,
        "explored_mips": sum(e.solved for e in report.explorations),
        "groups": groups,
        "total": data["total"],
        "lower_bound": data["lower_bound"],
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [g["seconds"] for r in runs for g in r["groups"]]
    gaps = [g["gap"] for r in runs for g in r["groups"]]
    agreement = [g["agreement"] for r in runs for g in r["groups"] if g["agreement"] is not None]
    gpt2 = [r["wall_seconds"] for r in runs if r["instance"] == "gpt2_cloud.json"]
    return {
        "groups": len(seconds),
        "optimal": sum(g["status"] == "optimal" for r in runs for g in r["groups"]),
        "proven": sum(g["proven"] for r in runs for g in r["groups"]),
        "max_gap": max((g for g in gaps if g is not None), default=None),
        "median_group_seconds": statistics.median(seconds),
        "worst_group_seconds": max(seconds),
        "worst_group": max(
            (g["seconds"], f"{r['instance']}:{g['name']}") for r in runs for g in r["groups"]
        )[1],
        "gpt2_cloud_whole_model_seconds": gpt2[0] if gpt2 else None,
        "max_evaluator_disagreement": max(agreement, default=None),
    }


def distinct_models(paths: list[Path]) -> list[Path]:
    """One instance per distinct workload (model, phase, batch, sequence length): on a preset
    other than the instance's own, instances that differ only in architecture are one run."""
    seen: dict[str, Path] = {}
    for path in paths:
        inst: Instance = load_instance(path)
        key = json.dumps(
            inst.model_dump(mode="json", include={"model", "phase", "batch", "seq_len"})
        )
        seen.setdefault(key, path)
    return list(seen.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_solve.json")
    ap.add_argument(
        "--instances", type=Path, nargs="*", default=sorted((ROOT / "instances").glob("*.json"))
    )
    ap.add_argument(
        "--arch", nargs="*", default=None, help="Presets to solve every shipped model on."
    )
    ap.add_argument("--threads", type=int, default=None, help="Threads per MIP.")
    ap.add_argument("--jobs", type=int, default=None, help="Groups at once.")
    ap.add_argument("--time-limit", type=float, default=None, help="Seconds per group.")
    ap.add_argument("--fusion", type=FusionChoice, default=None, help="default: each instance's")
    args = ap.parse_args()
    cases: list[tuple[Path, str | None]] = (
        [(p, None) for p in args.instances]
        if args.arch is None
        else [(p, a) for a in args.arch for p in distinct_models(args.instances)]
    )
    runs = []
    for path, arch in cases:
        run = bench(path, args.fusion, arch, args.threads, args.jobs, args.time_limit)
        runs.append(run)
        print(
            f"{path.name} on {run['arch']}: {run['wall_seconds']:.1f} s, "
            f"{sum(g['status'] == 'optimal' for g in run['groups'])}/{len(run['groups'])} optimal",
            flush=True,
        )
    summary: dict[str, Any] = {"fusion": args.fusion.value if args.fusion else "each instance's"}
    summary |= summarise(runs)
    if args.arch is not None:
        summary["per_arch"] = {a: summarise([r for r in runs if r["arch"] == a]) for a in args.arch}
    summary["machine"] = environment()
    # on a shared machine the timings are pessimistic: record how busy it was, and what ran
    summary["load_average_end"] = os.getloadavg()
    summary["commit"] = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
