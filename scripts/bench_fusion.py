"""Fusion without a menu (#16): ``fusion: explore`` against today's menu on whole blocks, as JSON.

    python scripts/bench_fusion.py [--out results/bench_fusion.json] [--cases gpt2-edge ...]
                                   [--max-group N] [--time-limit S]

Per case (a model's block, prefill, on a preset): the menu's block objective and explore's, the
gain, the chosen view and partition, candidates considered / solved / pruned by bound per view,
MIPs solved (new groups) and reused, seconds, whether the partition choice is exact (every
candidate not pruned proven optimal or proven infeasible), and whether every chosen group's MIP
figure agrees with the evaluator's; every candidate considered with its shared dimensions, status,
cost and lower bound. Figures are per block (one layer).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from cosamt.io.instance import parse_instance
from cosamt.pipeline import resolve, settings_for, solve_instance
from cosamt.report.solve_report import exploration_json
from cosamt.solve.solver import environment
from cosamt.types import AGREEMENT_TOLERANCE, FusionChoice

ROOT = Path(__file__).resolve().parent.parent

# the span: GPT-2 small's width, one head of 64, pre-norm (the shipped example's model)
ONE_HEAD = json.loads((ROOT / "examples" / "gpt2_one_head_edge.json").read_text())["model"]
CASES: dict[str, tuple[Any, int, str]] = {
    "gpt2-one-head-edge": (ONE_HEAD, 1024, "edge"),
    "gpt2-edge": ("gpt2", 1024, "edge"),
    "gpt2-cloud": ("gpt2", 1024, "cloud"),
    "bert-base-edge": ("bert-base", 512, "edge"),
    "bert-base-cloud": ("bert-base", 512, "cloud"),
    "llama3-8b-edge": ("llama3-8b", 1024, "edge"),
    "llama3-8b-cloud": ("llama3-8b", 1024, "cloud"),
}


def bench(case: str, max_group: int | None, time_limit: float) -> dict[str, Any]:
    model, seq_len, arch = CASES[case]
    options: dict[str, Any] = {"time_limit_s": time_limit, "threads": 2, "fusion": "explore"}
    if max_group is not None:
        options["max_group"] = max_group
    inst = parse_instance({"model": model, "seq_len": seq_len, "arch": arch, "options": options})
    resolved = resolve(inst)
    settings = settings_for(inst)
    start = time.perf_counter()
    report = solve_instance(resolved, settings, fusion=FusionChoice.EXPLORE)
    wall = time.perf_counter() - start
    agreements = [g.agreement(settings.objective) for g in report.groups]
    blocks = exploration_json(report)
    return {
        "case": case,
        "model": model if isinstance(model, str) else model["name"],
        "seq_len": seq_len,
        "arch": arch,
        "objective": settings.objective.value,
        "max_group": max_group,
        "wall_seconds": wall,
        "explore_seconds": sum(b["seconds"] for b in blocks),
        "mips_solved": sum(b["mips_solved"] for b in blocks),
        "all_agree": all(a is not None and a <= AGREEMENT_TOLERANCE for a in agreements),
        "all_valid": all(g.metrics.valid for g in report.groups),
        "chosen_groups": [
            {
                "group": g.name,
                "fusion": g.group.scheme.value,
                "latency_cycles": g.metrics.latency_cycles,
                "energy_pj": g.metrics.energy_pj,
                "status": g.solve.status.value,
            }
            for g in report.groups
        ],
        "blocks": blocks,
        "candidates": [
            {
                "block": e.block,
                "view": view,
                "group": st.group.name,
                "fusion": st.group.scheme.value,
                "shared_dims": sorted(st.group.shared_dims),
                "status": st.status,
                "objective": None if st.cost is None else st.cost[0],
                "tiebreak": None if st.cost is None else st.cost[1],
                "lower_bound": st.bound,
            }
            for e in report.explorations
            for view, part in e.partitions.items()
            for st in part.steps
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_fusion.json")
    ap.add_argument("--cases", nargs="*", default=[c for c in CASES if "llama" not in c])
    ap.add_argument("--max-group", type=int, default=None)
    ap.add_argument("--time-limit", type=float, default=60.0)
    args = ap.parse_args()
    runs = []
    for case in args.cases:
        run = bench(case, args.max_group, args.time_limit)
        runs.append(run)
        for b in run["blocks"]:
            print(
                f"{case}: {b['chosen']}, gain {b['gain_over_menu'] or 0:.2%}, "
                f"{b['mips_solved']} MIPs, {b['seconds']:.0f} s, exact {b['exact']}",
                flush=True,
            )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"environment": environment(), "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
