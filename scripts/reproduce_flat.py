"""Reproduce FLAT (Kao et al.): fused vs unfused attention on FLAT's edge and cloud accelerators.

    python scripts/reproduce_flat.py [--models flat-bert,...] [--archs edge,cloud]
                                     [--seq-lens 512,...,65536] [--batch 64] [--out results/flat]

For each point, the attention segment (QKᵀ, softmax, ·V) is solved three ways, each to proven
optimality for latency (energy breaks ties): unfused (three operators through DRAM), FLAT (whole
score rows on chip; shared loops over batch, heads and query rows) and online softmax (key dimension
tiled too). Reported: speedup and energy of the best fused schedule over the best unfused one, and
the granularity FLAT's schedule uses; beside it, FLAT's own granularity rule (the coarsest granularity
whose scores fit half the buffer, the rest of the mapping by the MIP: cosamt.baselines.flat)
and its latency over the MIP's FLAT schedule. Rows are appended as they finish (a rerun skips done points).
Writes flat.csv, flat.png and summary.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path
from typing import Any

from cosamt.arch.presets import load_preset
from cosamt.baselines.flat import FlatHeuristicUnavailable, flat_heuristic, shared_granularity
from cosamt.compare import mip_with_shared
from cosamt.fusion.schemes import segments
from cosamt.io.instance import parse_instance
from cosamt.pipeline import GroupResult, NoSchedule, resolve, settings_for, solve_group_result
from cosamt.solve.solver import environment
from cosamt.types import FusionChoice, Objective

ROOT = Path(__file__).resolve().parent.parent
FIELDS = [
    "model",
    "arch",
    "batch",
    "seq_len",
    "unfused_latency",
    "unfused_energy",
    "flat_latency",
    "flat_energy",
    "flat_granularity",
    "flat_rule_granularity",
    "flat_rule_latency",
    "flat_rule_energy",
    "online_latency",
    "online_energy",
    "best_fused",
    "speedup",
    "energy_reduction",
    "unfused_bound_by",
    "fused_bound_by",
    "all_optimal",
    "max_disagreement",
    "exact",
    "solve_seconds",
]
EXACT = 1e-6  # MIP objective vs evaluator, relative


def arch_spec(arch: str, vector_lanes: int | None) -> Any:
    """The preset, or (sensitivity study) the preset with a wider vector unit."""
    if vector_lanes is None:
        return arch
    data = load_preset(arch).model_dump(mode="json")
    data["vector_unit"]["lanes"] = vector_lanes
    data["name"] = f"{arch}-vec{vector_lanes}"
    return data


def solve_point(
    model: str,
    arch: str,
    batch: int,
    seq_len: int,
    time_limit: float,
    vector_lanes: int | None = None,
) -> dict[str, Any]:
    inst = parse_instance(
        {
            "model": model,
            "arch": arch_spec(arch, vector_lanes),
            "batch": batch,
            "seq_len": seq_len,
            "options": {"time_limit_s": time_limit, "threads": 2},
        }
    )
    resolved = resolve(inst)
    settings = settings_for(inst)
    seg = next(s for s in segments(resolved.operators, FusionChoice.ALL) if s.name == "attention")
    start = time.perf_counter()
    results: dict[str, list[GroupResult]] = {}
    for cand in seg.candidates:
        label = "unfused" if len(cand) > 1 else cand[0].scheme.value
        try:
            results[label] = [solve_group_result(g, resolved.arch, settings) for g in cand]
        except NoSchedule:
            results[label] = []  # this fused scheme has no schedule at this size

    def lat(label: str) -> float:
        return sum(g.metrics.latency_cycles for g in results[label]) if results[label] else math.inf

    def energy(label: str) -> float:
        return sum(g.metrics.energy_pj for g in results[label]) if results[label] else math.inf

    best = min(("flat", "online"), key=lambda k: (lat(k), energy(k)))
    flat_group = next(c[0] for c in seg.candidates if len(c) == 1 and c[0].scheme.value == "flat")
    try:
        rule = flat_heuristic(
            flat_group,
            resolved.arch,
            mip_with_shared(settings),
            double_buffering=settings.double_buffering,
        )
        rule_row = {
            "flat_rule_granularity": rule.granularity.label,
            "flat_rule_latency": rule.metrics.latency_cycles,
            "flat_rule_energy": rule.metrics.energy_pj,
        }
    except FlatHeuristicUnavailable:
        rule_row = {
            "flat_rule_granularity": "none fits",
            "flat_rule_latency": math.inf,
            "flat_rule_energy": math.inf,
        }
    return {
        "model": model,
        "arch": arch,
        "batch": batch,
        "seq_len": seq_len,
        "unfused_latency": lat("unfused"),
        "unfused_energy": energy("unfused"),
        "flat_latency": lat("flat"),
        "flat_energy": energy("flat"),
        "flat_granularity": shared_granularity(
            results["flat"][0].group, results["flat"][0].mappings
        )
        if results["flat"]
        else "infeasible",
        **rule_row,
        "online_latency": lat("online"),
        "online_energy": energy("online"),
        "best_fused": best,
        "speedup": lat("unfused") / lat(best),
        "unfused_bound_by": "/".join(g.metrics.bound_by for g in results["unfused"]),
        "fused_bound_by": results[best][0].metrics.bound_by,
        "energy_reduction": 1 - energy(best) / energy("unfused"),
        "max_disagreement": max(
            (g.agreement(Objective.LATENCY) or 0.0) for gs in results.values() for g in gs
        ),
        "exact": all(
            (g.agreement(Objective.LATENCY) or 0.0) <= EXACT for gs in results.values() for g in gs
        ),
        "all_optimal": all(
            g.solve.status.value == "optimal" and not g.metrics.violations
            for gs in results.values()
            for g in gs
        ),
        "solve_seconds": time.perf_counter() - start,
    }


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archs = sorted({r["arch"] for r in rows})
    fig, axes = plt.subplots(2, len(archs), figsize=(5 * len(archs), 7), squeeze=False)
    for col, arch in enumerate(archs):
        for model in sorted({r["model"] for r in rows}):
            pts = sorted(
                (int(r["seq_len"]), float(r["speedup"]), float(r["energy_reduction"]))
                for r in rows
                if r["arch"] == arch and r["model"] == model and str(r["exact"]) == "True"
            )
            if not pts:
                continue
            xs = [p[0] for p in pts]
            axes[0][col].plot(xs, [p[1] for p in pts], marker="o", label=model)
            axes[1][col].plot(xs, [100 * p[2] for p in pts], marker="o", label=model)
        axes[0][col].set_title(f"{arch}: fused vs unfused attention")
        axes[0][col].set_ylabel("speedup (x)")
        axes[1][col].set_ylabel("energy reduction (%)")
        for ax in (axes[0][col], axes[1][col]):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("sequence length")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arch in sorted({r["arch"] for r in rows}):
        # Points where a MIP disagreed with the evaluator (solver numerics on the largest operators)
        # are listed apart and left out of the figures.
        mine = [r for r in rows if r["arch"] == arch and str(r["exact"]) == "True"]
        out[f"{arch}_inexact_points"] = [
            f"{r['model']}@{r['seq_len']}"
            for r in rows
            if r["arch"] == arch and str(r["exact"]) != "True"
        ]
        if not mine:
            continue
        speed = [float(r["speedup"]) for r in mine]
        red = [float(r["energy_reduction"]) for r in mine]
        out[arch] = {
            "points": len(mine),
            "geomean_speedup": math.exp(sum(math.log(s) for s in speed) / len(speed)),
            "max_speedup": max(speed),
            "mean_energy_reduction": sum(red) / len(red),
            "granularity_by_seq_len": {
                m: {r["seq_len"]: r["flat_granularity"] for r in mine if r["model"] == m}
                for m in sorted({r["model"] for r in mine})
            },
            "all_optimal": all(str(r["all_optimal"]) == "True" for r in mine),
            # FLAT's own granularity rule vs the MIP's free choice of FLAT schedule (latency ratio)
            "flat_rule_over_mip_geomean": geomean(
                [
                    float(r["flat_rule_latency"]) / float(r["flat_latency"])
                    for r in mine
                    if math.isfinite(float(r["flat_rule_latency"]))
                    and math.isfinite(float(r["flat_latency"]))
                ]
            ),
            "flat_rule_over_mip_max": max(
                (
                    float(r["flat_rule_latency"]) / float(r["flat_latency"])
                    for r in mine
                    if math.isfinite(float(r["flat_rule_latency"]))
                    and math.isfinite(float(r["flat_latency"]))
                ),
                default=math.nan,
            ),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="flat-bert,flat-trxl,flat-t5,flat-xlm")
    ap.add_argument("--archs", default="edge,cloud")
    ap.add_argument("--seq-lens", default="512,1024,2048,4096,8192,16384,32768,65536")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument(
        "--vector-lanes",
        type=int,
        default=None,
        help="sensitivity study: override the presets' vector-unit lanes",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "flat")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    table = args.out / "flat.csv"
    rows = read_rows(table)
    done = {(r["model"], r["arch"], int(r["seq_len"])) for r in rows}
    new_file = not table.exists()
    with table.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if new_file:
            writer.writeheader()
        for arch in args.archs.split(","):
            for seq in (int(s) for s in args.seq_lens.split(",")):
                for model in args.models.split(","):
                    if (model, arch, seq) in done:
                        continue
                    row = solve_point(
                        model, arch, args.batch, seq, args.time_limit, args.vector_lanes
                    )
                    writer.writerow(row)
                    f.flush()
                    rows.append({k: str(v) for k, v in row.items()})
                    print(
                        f"{arch} {model} L={seq}: speedup {row['speedup']:.2f}x, energy "
                        f"{100 * row['energy_reduction']:.0f}% lower, FLAT granularity "
                        f"{row['flat_granularity']} ({row['solve_seconds']:.0f} s)",
                        flush=True,
                    )
    plot(rows, args.out / "flat.png")
    summary = summarise(rows)
    (args.out / "summary.json").write_text(
        json.dumps({**summary, "environment": environment()}, indent=1) + "\n"
    )
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
