"""Sweep GPT-2-small over 8 sequence lengths on the edge, mobile and cloud presets; write the wall
time and per-point seconds as JSON.

    python scripts/bench_sweep.py [--out results/bench_sweep.json] [--jobs 2]

Target (on 2 cores, --jobs 2): the 24-point sweep in under 5 minutes, from an empty cache. The rows
go to ``results/bench_sweep.csv`` (replaced on every run), so ``cosamt plot`` can draw them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from cosamt.io.instance import parse_instance
from cosamt.solve.solver import environment
from cosamt.sweep.rows import Row
from cosamt.sweep.run import RunOptions, run_sweep
from cosamt.sweep.spec import SweepSpec, expand
from cosamt.sweep.store import open_store

ROOT = Path(__file__).resolve().parent.parent
SEQ_LENS = (128, 256, 512, 1024, 2048, 4096, 8192, 16384)
PRESETS = ("edge", "mobile", "cloud")
TARGET_SECONDS = 300.0


def point_json(row: Row) -> dict[str, Any]:
    """One CSV row (strings) as typed JSON."""
    return {
        "arch": row["arch"],
        "seq_len": int(row["seq_len"]),
        "wall_seconds": float(row["wall_seconds"]),
        "cpu_seconds": float(row["cpu_seconds"]),
        "solve_seconds": float(row["total.solve_seconds"]),
        "all_optimal": row["total.all_optimal"] == "True",
        "latency_ratio_to_bound": float(row["lower_bound.latency_ratio"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_sweep.json")
    ap.add_argument("--rows", type=Path, default=ROOT / "results" / "bench_sweep.csv")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per MIP solve")
    args = ap.parse_args()
    base = parse_instance({"model": "gpt2", "seq_len": SEQ_LENS[0], "arch": PRESETS[0]})
    points = expand(SweepSpec(base, SEQ_LENS, presets=PRESETS))
    args.rows.parent.mkdir(parents=True, exist_ok=True)
    args.rows.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as cache:
        options = RunOptions(
            jobs=args.jobs,
            cache_dir=Path(cache),
            settings=(("threads", 1), ("time_limit_s", args.time_limit)),
        )
        start = time.perf_counter()
        summary = run_sweep(
            points,
            open_store(args.rows, resume=False),
            options,
            progress=lambda done, total: print(f"{done}/{total} points", flush=True),
        )
        wall = time.perf_counter() - start
    rows = [point_json(r) for r in open_store(args.rows, resume=True).rows()]
    seconds = [r["wall_seconds"] for r in rows]
    slowest = max(rows, key=lambda r: r["wall_seconds"])
    result = {
        "summary": {
            "points": summary.points,
            "jobs": args.jobs,
            "wall_seconds": wall,
            "target_seconds": TARGET_SECONDS,
            "met": wall < TARGET_SECONDS,
            "sum_point_seconds": sum(seconds),
            # what the sweep costs on an idle machine: CPU time spread over the workers
            "sum_point_cpu_seconds": sum(r["cpu_seconds"] for r in rows),
            "idle_machine_estimate_seconds": sum(r["cpu_seconds"] for r in rows) / args.jobs,
            "load_average_1min_at_end": os.getloadavg()[0],
            "median_point_seconds": statistics.median(seconds),
            "max_point_seconds": max(seconds),
            "slowest_point": f"{slowest['arch']} L={slowest['seq_len']}",
            "all_optimal": all(r["all_optimal"] for r in rows),
            "machine": environment(),
        },
        "points": sorted(rows, key=lambda r: (PRESETS.index(r["arch"]), r["seq_len"])),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
