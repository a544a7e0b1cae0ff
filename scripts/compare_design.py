"""`cosamt design --compare` as a script: the exact search beside random hardware sampling and a
genetic algorithm (MIP mapper inside, same design count and wall time, cold caches) and the shipped
presets as traditional designs. Writes JSON, CSV and PNG under results/design/.

    python scripts/compare_design.py [--spec examples/design_edge.json] [--seeds 3] [--jobs 2]
    python scripts/compare_design.py --from-json results/design/compare_design_llm_edp.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
from importlib.metadata import version
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from cosamt.design.compare import compare, comparison_json
from cosamt.design.spec import load_design

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = (
    "method",
    "seed",
    "budget",
    "label",
    "value",
    "ratio_to_exact",
    "area_mm2",
    "latency_s",
    "energy_pj",
    "evaluated",
    "seconds",
)


def rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    ex = data["exact"]
    best = ex["best"] or {}
    out = [
        {
            "method": "exact",
            "seed": "",
            "budget": "",
            "label": best.get("label"),
            "value": best.get("objective_value"),
            "ratio_to_exact": 1.0,
            "area_mm2": best.get("area_mm2"),
            "latency_s": best.get("latency_s"),
            "energy_pj": best.get("energy_pj"),
            "evaluated": ex["evaluated_designs"],
            "seconds": ex["seconds"],
        }
    ]
    for method, runs in data["methods"].items():
        for r in runs:
            for budget in ("equal_designs", "equal_time"):
                s = r[budget]
                out.append(
                    {
                        "method": method,
                        "seed": r["seed"],
                        "budget": budget,
                        **{k: s.get(k) for k in COLUMNS if k in s},
                        "evaluated": r["evaluated"],
                        "seconds": r["seconds"],
                    }
                )
    for p in data["traditional"]:
        out.append(
            {
                "method": f"preset {p['preset']}",
                "seed": "",
                "budget": "within" if p["within_budget"] else "outside area budget",
                **{k: p.get(k) for k in COLUMNS if k in p},
            }
        )
    return out


def ratio_summary(data: dict[str, Any]) -> dict[str, Any]:
    """Per method and budget: best-found objective / exact best, per seed, with min, median, max
    and how many seeds are at least 1.5x worse (None: no design finished within the budget)."""
    out: dict[str, Any] = {}
    for method, runs in data["methods"].items():
        for budget in ("equal_designs", "equal_time"):
            ratios = [r[budget]["ratio_to_exact"] for r in runs]
            done = sorted(x for x in ratios if x is not None)
            out[f"{method}/{budget}"] = {
                "ratios": ratios,
                "min": done[0] if done else None,
                "median": statistics.median(done) if done else None,
                "max": done[-1] if done else None,
                "at_least_1_5x": sum(x >= 1.5 for x in done),
                "none_finished": ratios.count(None),
            }
    return out


def space_ratios(data: dict[str, Any]) -> dict[str, Any]:
    """How much of the space is provably far from the exact best: per factor k, the designs within
    budget whose value (solved) or lower bound (pruned) is at least k times the best. A random
    draw lands in that set with at least this probability."""
    ex = data["exact"]
    if not ex["best"]:
        return {}
    best = ex["best"]["objective_value"]
    within = [d for d in ex["designs"] if d["fate"] in ("solved", "pruned")]
    low = [d["value"] if d["value"] is not None else d["bound"] for d in within]
    return {
        "designs_within_budget": len(within),
        "provably_at_least": {str(k): sum(v >= k * best for v in low) for k in FACTORS},
    }


FACTORS = (1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)


def plot(data: dict[str, Any], path: Path) -> None:
    ex = data["exact"]
    unit = ex["objective_unit"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    ax = axes[0]
    colours = {"random": "tab:orange", "genetic": "tab:green"}
    for method, runs in data["methods"].items():
        for i, r in enumerate(runs):
            best, curve = float("inf"), []
            for t in r["trace"]:
                best = min(best, t["value"])
                curve.append(best)
            ax.step(
                range(1, len(curve) + 1),
                curve,
                where="post",
                color=colours[method],
                alpha=0.8,
                label=method if i == 0 else None,
            )
    if ex["best"]:
        ax.axhline(ex["best"]["objective_value"], color="tab:blue", ls="--", label="exact best")
        ax.axvline(ex["evaluated_designs"], color="tab:blue", ls=":", label="exact's design count")
    ax.set_xlabel("designs evaluated (MIP mapper inside)")
    ax.set_ylabel(f"best {ex['objective']} so far ({unit})")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    for ax, metric, label in (
        (axes[1], "latency_s", "latency (s)"),
        (axes[2], "energy_pj", "energy (pJ)"),
    ):
        pts = [t for runs in data["methods"].values() for r in runs for t in r["trace"]]
        ax.scatter(
            [t["area_mm2"] for t in pts],
            [t[metric] for t in pts],
            s=10,
            c="0.7",
            label="designs evaluated by random / GA",
        )
        key = "pareto_latency_area" if metric == "latency_s" else "pareto_energy_area"
        front = ex[key]
        ax.plot(
            [p["area_mm2"] for p in front],
            [p[metric] for p in front],
            "o-",
            color="tab:blue",
            label="exact search: "
            + (
                "exact front (proven)"
                if ex.get("pareto_status", {}).get(key, {}).get("status") == "exact"
                else "front of its solved designs (not proven)"
            ),
        )
        for p in data["traditional"]:
            if p.get(metric) is not None:
                ax.scatter([p["area_mm2"]], [p[metric]], marker="s", color="tab:red")
                ax.annotate(p["preset"], (p["area_mm2"], p[metric]), fontsize=8)
        ax.axvline(ex["best"]["area_mm2"] if ex["best"] else 0, color="0.85", lw=0.5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("area (mm², 45 nm)")
        ax.set_ylabel(f"weighted {label}")
        ax.legend(fontsize=8)
    fig.suptitle(ex["name"], fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", type=Path, default=ROOT / "examples" / "design_edge.json")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "results" / "design")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument(
        "--from-json", type=Path, default=None, help="rewrite CSV, PNG and summaries of a past run"
    )
    args = ap.parse_args()
    if args.from_json is not None:
        data = json.loads(args.from_json.read_text())
        stem = args.from_json.stem
    else:
        data = run(args.spec, args.seeds, args.jobs)
        stem = f"compare_{args.spec.stem}"
    data["ratios"] = ratio_summary(data)
    data["space"] = space_ratios(data)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{stem}.json").write_text(json.dumps(data, indent=1) + "\n")
    with (args.out_dir / f"{stem}.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows(data))
    plot(data, args.out_dir / f"{stem}.png")
    for r in rows(data):
        print(r)
    print(json.dumps({"ratios": data["ratios"], "space": data["space"]}, indent=1))


def run(spec_path: Path, seeds: int, jobs: int | None) -> dict[str, Any]:
    spec = load_design(spec_path)
    load_before = os.getloadavg()
    data = comparison_json(compare(spec, tuple(range(seeds)), jobs))
    data["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "versions": {p: version(p) for p in ("cosamt", "highspy", "pyomo")},
    }
    return data


if __name__ == "__main__":
    main()
