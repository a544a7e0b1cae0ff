"""Reproduce TAS (Li & Chang, 2025): external memory access of the linear projections.

    python scripts/reproduce_tas.py [--seq-lens 128 256 512 1024 2048] [--vit-seq 197]

For the linear projections (qkv_proj, out_proj, ffn1, ffn2) of BERT-base and ViT-B/16 on the
``edge`` preset (32x32 PEs, 512 KiB global buffer), the DRAM words moved under fixed
input-stationary, fixed weight-stationary, TAS and the exact MIP.

The MIP minimises DRAM traffic exactly through the existing energy objective: it is solved on a
copy of ``edge`` whose DRAM read and write energies are 1 pJ per word and every other energy (MAC,
global buffer, vector unit) is 0, so energy = DRAM words (ties broken by latency). Capacities,
bandwidths and the array are untouched, and the rule-based baselines do not depend on energies.
Writes results/tas/tas.csv and results/tas/tas.png.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from cosamt.arch.presets import load_preset
from cosamt.arch.spec import Architecture
from cosamt.baselines.fixed import Dataflow, fixed_mapping
from cosamt.baselines.tas import tas_mapping
from cosamt.evaluate.evaluator import evaluate
from cosamt.schedule.mapping import Mapping
from cosamt.solve.solver import SolveSettings, solve_operator
from cosamt.types import Objective, Phase
from cosamt.workload.einsum import Einsum
from cosamt.workload.models import get_model
from cosamt.workload.transformer import build_block

ROOT = Path(__file__).resolve().parent.parent
PROJECTIONS = ("qkv_proj", "out_proj", "ffn1", "ffn2")
METHODS = ("fixed-is", "fixed-ws", "tas", "mip")
COLUMNS = (
    "model",
    "seq_len",
    "operator",
    "method",
    "dram_words",
    "latency_cycles",
    "seconds",
    "note",
)


def dram_words_arch(arch: Architecture) -> Architecture:
    """``arch`` with DRAM energy 1 pJ per word and every other energy 0: energy = DRAM words."""
    levels = tuple(
        lv.model_copy(update={"read_energy_pj": 0.0, "write_energy_pj": 0.0})
        for lv in arch.levels[:-1]
    )
    dram = arch.levels[-1].model_copy(update={"read_energy_pj": 1.0, "write_energy_pj": 1.0})
    unit = arch.vector_unit.model_copy(update={"energy_per_op_pj": 0.0})
    return arch.model_copy(
        update={
            "name": f"{arch.name}-dram-words",
            "levels": (*levels, dram),
            "mac_energy_pj": 0.0,
            "vector_unit": unit,
        }
    )


def _mip(op: Einsum, arch: Architecture) -> tuple[Mapping, str]:
    res = solve_operator(op, arch, SolveSettings(objective=Objective.ENERGY, time_limit_s=120.0))
    if res.mapping is None:
        raise RuntimeError(f"MIP found no schedule for {op.name}: {res.status.value}")
    return res.mapping, res.status.value


SCHEDULERS: dict[str, Callable[[Einsum, Architecture], tuple[Mapping, str]]] = {
    "fixed-is": lambda op, arch: (fixed_mapping(op, arch, Dataflow.INPUT), "input-stationary"),
    "fixed-ws": lambda op, arch: (fixed_mapping(op, arch, Dataflow.WEIGHT), "weight-stationary"),
    "tas": tas_mapping,
    "mip": _mip,
}


def run_point(model: str, seq: int, arch: Architecture) -> Iterator[dict[str, object]]:
    ops = [
        op for op in build_block(get_model(model), Phase.PREFILL, 1, seq) if op.name in PROJECTIONS
    ]
    for op in ops:
        for method in METHODS:
            start = time.perf_counter()
            mapping, note = SCHEDULERS[method](op, arch)
            seconds = time.perf_counter() - start
            m = evaluate(op, arch, mapping)
            assert not m.violations, (model, seq, op.name, method, m.violations)
            yield {
                "model": model,
                "seq_len": seq,
                "operator": op.name,
                "method": method,
                "dram_words": round(m.energy_pj),
                "latency_cycles": m.latency_cycles,
                "seconds": round(seconds, 3),
                "note": note,
            }


def totals(rows: list[dict[str, object]]) -> dict[tuple[str, int, str], int]:
    """DRAM words summed over the four projections, per (model, seq_len, method)."""
    out: dict[tuple[str, int, str], int] = {}
    for r in rows:
        key = (str(r["model"]), int(str(r["seq_len"])), str(r["method"]))
        out[key] = out.get(key, 0) + int(str(r["dram_words"]))
    return out


def plot(tot: dict[tuple[str, int, str], int], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    markers = {"fixed-is": "s", "fixed-ws": "^", "tas": "o", "mip": "*"}
    for method in METHODS:
        pts = sorted((s, w) for (mo, s, me), w in tot.items() if mo == "bert-base" and me == method)
        ax.plot(
            [s for s, _ in pts],
            [w for _, w in pts],
            marker=markers[method],
            label=f"BERT-base {method}",
        )
        vit = [(s, w) for (mo, s, me), w in tot.items() if mo == "vit-b16" and me == method]
        ax.scatter(
            [s for s, _ in vit], [w for _, w in vit], marker=markers[method], color="k", zorder=3
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length (tokens); black: ViT-B/16 (197)")
    ax.set_ylabel("DRAM words, 4 projections of one block")
    ax.set_title("External memory access on edge (512 KiB buffer)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def summary(tot: dict[tuple[str, int, str], int]) -> None:
    for (model, seq, method), words in sorted(tot.items()):
        if method != "mip":
            continue
        t = tot[(model, seq, "tas")]
        fis, fws = tot[(model, seq, "fixed-is")], tot[(model, seq, "fixed-ws")]
        print(
            f"{model:9} L={seq:5}: fixed-IS {fis:>12,} fixed-WS {fws:>12,} TAS {t:>12,} MIP {words:>12,} | "
            f"TAS vs IS -{1 - t / fis:.1%} vs WS -{1 - t / fws:.1%}; MIP vs TAS -{1 - words / t:.1%}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq-lens", type=int, nargs="+", default=[128, 256, 512, 1024, 2048])
    ap.add_argument("--vit-seq", type=int, default=197)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "tas")
    args = ap.parse_args()
    arch = dram_words_arch(load_preset("edge"))
    points = [("bert-base", s) for s in args.seq_lens] + [("vit-b16", args.vit_seq)]
    rows: list[dict[str, object]] = []
    for model, seq in points:
        rows += list(run_point(model, seq, arch))
        print(f"done {model} L={seq}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "tas.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    tot = totals(rows)
    plot(tot, args.out / "tas.png")
    summary(tot)


if __name__ == "__main__":
    main()
