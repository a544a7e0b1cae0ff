"""The exactness regression suite as a benchmark: every hard case of issue #12, solved end to end.

For each case and each group the solve chose: status, tie-break status, gap, seconds, the solver's
own figure against the evaluator's (``numerical_error``; the reported figures are the evaluator's
by construction), validity, and the model total against its lower bound. Writes
``results/exactness/bench_exactness.json`` with the solver and package versions.

    python scripts/bench_exactness.py [--only NAME,...] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from cosamt.io.instance import parse_instance
from cosamt.pipeline import resolve, settings_for, solve_instance
from cosamt.solve.solver import environment

OUT = Path("results/exactness/bench_exactness.json")

# The cases (instance JSON by name) live with the tests, which run them under -m slow.
CASES: dict[str, dict] = json.loads(
    (Path(__file__).parent.parent / "tests" / "data" / "hard_cases.json").read_text()
)


def run_case(name: str, data: dict, threads: int) -> dict[str, Any]:
    inst = parse_instance(data, name)
    resolved = resolve(inst)
    settings = settings_for(inst, threads=threads)
    start = time.perf_counter()
    report = solve_instance(resolved, settings)
    seconds = time.perf_counter() - start
    objective = settings.objective
    groups = []
    for seg in report.segments:
        for alt in seg.alternatives:
            for g in alt.groups:
                if g.same_as:
                    continue
                s = g.solve
                groups.append(
                    {
                        "group": g.name,
                        "fusion": alt.label,
                        "chosen": alt.chosen,
                        "source": g.source,
                        "status": s.status.value,
                        "tiebreak": None if s.tiebreak is None else s.tiebreak.value,
                        "tiebreak_gap": s.tiebreak_gap,
                        "gap": s.gap,
                        "seconds": s.seconds,
                        "numerical_error": g.agreement(objective),
                        "certified_equals_evaluator": (
                            s.objective is not None
                            and g.source == "mip"
                            and abs(s.objective - g.evaluator_value(objective))
                            <= 1e-9 * abs(g.evaluator_value(objective))
                        ),
                        "valid": g.metrics.valid,
                        "note": s.note,
                    }
                )
            if not alt.feasible:
                groups.append({"fusion": alt.label, "segment": seg.name, "note": alt.note})
    lat = sum(g.metrics.latency_cycles * g.count for g in report.groups)
    en = sum(g.metrics.energy_pj * g.count for g in report.groups)
    layers = resolved.model.n_layers
    lb_lat = sum(seg.bound.latency_cycles for seg in report.segments) * layers
    lb_en = sum(seg.bound.energy_pj for seg in report.segments) * layers
    return {
        "instance": data,
        "seconds": seconds,
        "all_proven": all(g.solve.proven for g in report.groups),
        "latency_over_bound": lat / lb_lat if lb_lat else None,
        "energy_over_bound": en / lb_en if lb_en else None,
        "groups": groups,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(CASES)
    results = {}
    for name in names:
        print(f"{name} ...", file=sys.stderr, flush=True)
        results[name] = run_case(name, CASES[name], args.threads)
        r = results[name]
        worst = max(
            (g.get("numerical_error") or 0.0 for g in r["groups"] if "status" in g), default=0.0
        )
        slowest = max((g.get("seconds", 0.0) for g in r["groups"]), default=0.0)
        print(
            f"  {r['seconds']:.1f} s, all proven {r['all_proven']}, slowest group {slowest:.1f} s, "
            f"largest solver-vs-evaluator {worst:.1e}, latency/bound {r['latency_over_bound']:.3f}",
            file=sys.stderr,
        )
    summary = {
        "cases": len(results),
        "all_proven": all(r["all_proven"] for r in results.values()),
        "all_certified": all(
            g["certified_equals_evaluator"] and g["valid"]
            for r in results.values()
            for g in r["groups"]
            if g.get("source") == "mip"
        ),
        "largest_numerical_error": max(
            (g.get("numerical_error") or 0.0 for r in results.values() for g in r["groups"]),
            default=0.0,
        ),
        "slowest_group_seconds": max(
            (g.get("seconds", 0.0) for r in results.values() for g in r["groups"]), default=0.0
        ),
        "min_ratio_to_lower_bound": min(
            (r["latency_over_bound"] or 1.0 for r in results.values()), default=1.0
        ),
    }
    doc = {
        "versions": environment(),
        "threads": args.threads,
        "summary": summary,
        "cases": results,
    }
    if args.out.exists() and args.only:
        old = json.loads(args.out.read_text())
        old["cases"].update(results)
        doc["cases"] = old["cases"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
