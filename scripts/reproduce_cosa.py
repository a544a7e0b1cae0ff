"""Reproduce CoSA's headline: exact-MIP schedules vs sampling mappers at equal or larger time budgets.

    python scripts/reproduce_cosa.py [--seq-len 512] [--budgets 1 4]

For the unique MAC operators of GPT-2 and BERT-base (batch 1, prefill) on the ``edge`` and
``cloud`` presets: the MIP (latency objective, proven optimal), then random sampling and the
genetic algorithm given ``b`` times the MIP's solve time for every ``b`` in ``--budgets``. A
baseline's time budget is turned into an evaluation budget by timing a probe run of
``PROBE_EFFORT`` evaluations. Identical operators (GPT-2 and BERT-base share every projection
and attention shape at the same sequence length) are scheduled once per architecture.
Writes results/cosa/cosa.csv and results/cosa/cosa.png and prints the geometric-mean ratios.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from cosamt.arch.presets import load_preset
from cosamt.arch.spec import Architecture
from cosamt.baselines.registry import run_baseline
from cosamt.evaluate.evaluator import evaluate
from cosamt.solve.solver import SolveSettings, solve_operator
from cosamt.types import Objective, Phase
from cosamt.workload.einsum import Einsum, OpKind
from cosamt.workload.models import get_model
from cosamt.workload.transformer import build_block

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("gpt2", "bert-base")
ARCHS = ("edge", "cloud")
SEARCHES = ("random", "genetic")
PROBE_EFFORT = 200
COLUMNS = (
    "arch",
    "operator",
    "method",
    "budget_x",
    "effort",
    "latency_cycles",
    "energy_pj",
    "seconds",
    "ratio",
)


def unique_mac_ops(seq: int) -> list[Einsum]:
    seen: dict[tuple[object, ...], Einsum] = {}
    for model in MODELS:
        for op in build_block(get_model(model), Phase.PREFILL, 1, seq):
            if op.kind is OpKind.MAC:
                seen.setdefault(op.signature(), op)
    return list(seen.values())


def _row(
    arch: str,
    op: str,
    method: str,
    budget: float,
    effort: int,
    lat: float,
    en: float,
    seconds: float,
    ref: float,
) -> dict[str, object]:
    return {
        "arch": arch,
        "operator": op,
        "method": method,
        "budget_x": budget,
        "effort": effort,
        "latency_cycles": lat,
        "energy_pj": en,
        "seconds": round(seconds, 3),
        "ratio": lat / ref,
    }


def run_op(
    op: Einsum, arch: Architecture, budgets: list[float], seed: int
) -> list[dict[str, object]]:
    res = solve_operator(op, arch, SolveSettings(objective=Objective.LATENCY, time_limit_s=120.0))
    assert res.mapping is not None, (op.name, arch.name, res.status)
    m = evaluate(op, arch, res.mapping)
    ref = m.latency_cycles
    rows = [_row(arch.name, op.name, "mip", 1.0, 0, ref, m.energy_pj, res.seconds, ref)]
    for method in SEARCHES:
        probe = run_baseline(method, op, arch, Objective.LATENCY, seed, PROBE_EFFORT)
        per_eval = probe.seconds / max(probe.evaluated, 1)
        for b in budgets:
            effort = max(PROBE_EFFORT, math.ceil(b * res.seconds / per_eval))
            r = run_baseline(method, op, arch, Objective.LATENCY, seed, effort)
            rows.append(
                _row(
                    arch.name,
                    op.name,
                    method,
                    b,
                    effort,
                    r.metrics.latency_cycles,
                    r.metrics.energy_pj,
                    r.seconds,
                    ref,
                )
            )
    return rows


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def summarise(
    rows: list[dict[str, object]], budgets: list[float]
) -> dict[tuple[str, str, float], float]:
    """Geometric-mean ratio (baseline latency / MIP latency) per (arch or 'all', method, budget)."""
    out: dict[tuple[str, str, float], float] = {}
    for arch in [*ARCHS, "all"]:
        for method in SEARCHES:
            for b in budgets:
                xs = [
                    float(str(r["ratio"]))
                    for r in rows
                    if r["method"] == method
                    and r["budget_x"] == b
                    and (arch == "all" or r["arch"] == arch)
                ]
                out[(arch, method, b)] = geomean(xs)
    return out


def plot(
    rows: list[dict[str, object]],
    gm: dict[tuple[str, str, float], float],
    budgets: list[float],
    path: Path,
) -> None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    labels = [f"{a}\n{m} {b:g}x" for a in ARCHS for m in SEARCHES for b in budgets]
    ax1.bar(range(len(labels)), [gm[(a, m, b)] for a in ARCHS for m in SEARCHES for b in budgets])
    ax1.axhline(1.0, color="k", lw=0.8)
    ax1.set_xticks(range(len(labels)), labels, fontsize=7)
    ax1.set_ylabel("geomean latency / MIP latency")
    ax1.set_title("Schedule quality (MIP = 1)")
    mip = [r for r in rows if r["method"] == "mip"]
    ax2.bar(range(len(mip)), [float(str(r["seconds"])) for r in mip])
    ax2.set_xticks(range(len(mip)), [f"{r['arch']}\n{r['operator']}" for r in mip], fontsize=6)
    ax2.set_ylabel("MIP time to proven optimum (s)")
    ax2.set_title("Time to solution")
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def report(rows: list[dict[str, object]], gm: dict[tuple[str, str, float], float]) -> None:
    for (arch, method, b), g in sorted(gm.items()):
        print(f"{arch:6} {method:8} budget {b:g}x MIP time: geomean ratio {g:.3f}")
    secs = [float(str(r["seconds"])) for r in rows if r["method"] == "mip"]
    print(
        f"MIP solve seconds: median {statistics.median(secs):.2f}, max {max(secs):.2f}, "
        f"total {sum(secs):.1f} over {len(secs)} operators"
    )
    for method in SEARCHES:
        hit = [r for r in rows if r["method"] == method and float(str(r["ratio"])) <= 1.01]
        n = sum(1 for r in rows if r["method"] == method)
        print(f"{method}: within 1% of the MIP on {len(hit)} of {n} (operator, budget) runs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--budgets", type=float, nargs="+", default=[1.0, 4.0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "cosa")
    args = ap.parse_args()
    rows: list[dict[str, object]] = []
    for name in ARCHS:
        arch = load_preset(name)
        for op in unique_mac_ops(args.seq_len):
            rows += run_op(op, arch, args.budgets, args.seed)
            print(f"done {name} {op.name}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "cosa.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    gm = summarise(rows, args.budgets)
    plot(rows, gm, args.budgets, args.out / "cosa.png")
    report(rows, gm)


if __name__ == "__main__":
    main()
