"""Deep hierarchies (issue #18, point 5): GPT-2 at 1024 tokens on an Eyeriss-like design and on a
4-level design (instances/deep/*.json); per-group solve seconds, status, gap and MIP count, and
the whole-model wall time, as JSON with solver and package versions.

    python scripts/bench_deep.py [--out results/bench_deep.json] [--time-limit 600]

Target (on 2 cores): every group proven optimal, each model < 60 s. ``groups`` lists every group of
the menu's alternatives (chosen or not; identical groups are solved once and counted once); with
``fusion: explore`` (the default), ``exploration`` adds per block what the explorer solved, reused,
pruned by bound and proved over its budget, and whether its partition choice is exact.
``--fusion all`` measures the menu alone.
The machine's load average at the start and end is recorded: on a shared machine timings are
pessimistic.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

from cosamt.io.instance import load_instance
from cosamt.pipeline import resolve, settings_for, solve_instance
from cosamt.report.solve_report import report_json
from cosamt.solve.solver import environment

ROOT = Path(__file__).resolve().parent.parent


def bench(
    path: Path,
    time_limit: float | None,
    jobs: int | None,
    threads: int | None,
    fusion: str | None,
) -> dict[str, object]:
    inst = load_instance(path)
    if fusion is not None:
        inst = inst.model_copy(
            update={"options": inst.options.model_copy(update={"fusion": fusion})}
        )
    resolved = resolve(inst, path.parent)
    settings = settings_for(inst, time_limit_s=time_limit, jobs=jobs, threads=threads)
    load_before = os.getloadavg()
    cpu_before = _cpu_seconds()
    start = time.perf_counter()
    report = solve_instance(resolved, settings)
    wall = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_before
    data = report_json(report)
    groups = [
        {
            "segment": seg.name,
            "fusion": alt.label,
            "name": g.name,
            "chosen": alt.chosen,
            "status": g.solve.status.value,
            "tiebreak": None if g.solve.tiebreak is None else g.solve.tiebreak.value,
            "gap": g.solve.gap,
            "seconds": g.solve.seconds,
            "mips": g.solve.solves,
            "latency_cycles": g.metrics.latency_cycles,
            "energy_pj": g.metrics.energy_pj,
        }
        for seg in report.segments
        for alt in seg.alternatives
        for g in alt.groups
        if g.same_as is None  # identical groups are solved once
    ]
    return {
        "instance": str(path.relative_to(ROOT)),
        "arch": resolved.arch.name,
        "time_limit_s": settings.time_limit_s,
        "jobs": settings.jobs,
        "threads": settings.threads,
        "wall_seconds": wall,
        # CPU seconds of this process and its (finished) worker processes: on a shared, loaded
        # machine the wall time is inflated by other work, the CPU time much less.
        "cpu_seconds": cpu,
        "sum_group_seconds": sum(g["seconds"] for g in groups),  # type: ignore[misc]
        "fusion": report.fusion.value,
        "all_optimal": all(g["status"] == "optimal" for g in groups)
        and all(e.exact for e in report.explorations),
        "exploration": [
            {k: v for k, v in e.items() if k != "views"}
            | {
                "views": {
                    view: {k: v[k] for k in ("solved", "pruned", "over_budget", "no_schedule")}
                    for view, v in e["views"].items()
                }
            }
            for e in data.get("exploration", [])
        ],
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "groups": groups,
        "total": data["total"],
    }


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_deep.json")
    ap.add_argument(
        "--instances",
        type=Path,
        nargs="*",
        default=sorted((ROOT / "instances" / "deep").glob("*.json")),
    )
    ap.add_argument("--time-limit", type=float, default=None, help="Seconds per group.")
    ap.add_argument("--jobs", type=int, default=None, help="Groups at once (default: instance's).")
    ap.add_argument("--threads", type=int, default=None, help="Threads per MIP.")
    ap.add_argument(
        "--fusion", default=None, help="Override the instances' fusion (all: the menu)."
    )
    args = ap.parse_args()
    runs = []
    for path in args.instances:
        run = bench(path.resolve(), args.time_limit, args.jobs, args.threads, args.fusion)
        runs.append(run)
        optimal = sum(g["status"] == "optimal" for g in run["groups"])  # type: ignore[attr-defined]
        print(
            f"{path.name}: {run['wall_seconds']:.1f} s wall, {run['cpu_seconds']:.1f} s CPU, "
            f"{optimal}/{len(run['groups'])} optimal",  # type: ignore[arg-type]
            flush=True,
        )
        for g in run["groups"]:  # type: ignore[attr-defined]
            print(f"  {g['name']:<16} {g['status']:<9} {g['seconds']:7.1f} s  {g['mips']} MIPs")
    summary = {
        "models_wall_seconds": {r["arch"]: r["wall_seconds"] for r in runs},
        "models_cpu_seconds": {r["arch"]: r["cpu_seconds"] for r in runs},
        "all_optimal": all(r["all_optimal"] for r in runs),
        "worst_group": max(
            ((g["seconds"], f"{r['arch']}:{g['name']}") for r in runs for g in r["groups"]),  # type: ignore[attr-defined]
            default=None,
        ),
        "machine": environment(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
