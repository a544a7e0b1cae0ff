"""Benchmark `cosamt design` on the issue's setting (GPT-2 and Llama-3-8B, prefill 1K and decode 4K, a
space of 240 design points, 207 within the area budget, objective EDP); write JSON with the solver and
package versions.

    python scripts/bench_design.py [--spec examples/design_llm_edp.json] [--jobs 2]
                                   [--out results/design/bench_design.json]

Target (on 2 cores): the proven best design (``best_design_proven``: no other design of the space can
beat its value; for EDP the design's own mapping keeps its T*E* gap) in under 15 minutes from an
empty cache. A second run on the warm cache measures resume (every finished design point reused).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cosamt.design.report import search_json
from cosamt.design.search import search
from cosamt.design.spec import load_design

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 900.0


def versions() -> dict[str, str]:
    return {p: version(p) for p in ("cosamt", "highspy", "pyomo", "pydantic")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", type=Path, default=ROOT / "examples" / "design_llm_edp.json")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "design" / "bench_design.json")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    spec = load_design(args.spec)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cosamt-bench-design-") as tmp:
        cold = search(spec, Path(tmp), jobs=args.jobs, progress=_progress)
        load_after = os.getloadavg()
        start = time.perf_counter()
        warm = search(spec, Path(tmp), jobs=args.jobs)
        warm_seconds = time.perf_counter() - start
    data = search_json(cold)
    summary: dict[str, Any] = {
        "spec": str(args.spec.relative_to(ROOT) if args.spec.is_relative_to(ROOT) else args.spec),
        "status": data["status"],
        "gap": data["gap"],
        "best": data["best"]["label"] if data["best"] else None,
        "objective": data["objective"],
        "best_value": data["best"]["objective_value"] if data["best"] else None,
        "best_latency_s": data["best"]["latency_s"] if data["best"] else None,
        "best_energy_pj": data["best"]["energy_pj"] if data["best"] else None,
        "best_design_proven": data["best_design_proven"],
        "pareto_status": {k: v["status"] for k, v in data["pareto_status"].items()},
        "space_points": data["space_points"],
        "within_area_budget": data["space_points"] - data["over_area"],
        "evaluated_designs": data["evaluated_designs"],
        "pruned_by_bounds": data["pruned"],
        "group_solves": data["group_solves"],
        "group_cache_hits": data["group_cache_hits"],
        "seconds": cold.seconds,
        "target_seconds": TARGET_SECONDS,
        "meets_target": cold.seconds < TARGET_SECONDS and data["best_design_proven"],
        "resume_seconds": warm_seconds,
        "resume_from_cache": sum(1 for r in warm.solved if r.from_cache),
        "jobs": args.jobs,
        "threads_per_process": spec.options.threads,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "note": "2 cores shared with other agents' jobs during the run (see load averages)",
        },
        "versions": versions(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "result": data}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


def _progress(done: int, total: int, message: str) -> None:
    print(f"[{done}/{total}] {message}", flush=True)


if __name__ == "__main__":
    main()
