"""cosamt beside AccelForge (Timeloop's successor, Fast & Fusiest Mapper) on the same operators.

    python scripts/compare_peers.py [--accelforge-python PATH] [--archs edge,cloud] [--out results/peers]

AccelForge needs Python >= 3.12, so it runs in its own environment (see docs/peers.md for the two
commands that make it) through ``scripts/peers/accelforge_runner.py``; its interpreter comes from
``--accelforge-python`` or ``$COSAMT_ACCELFORGE_PYTHON`` (default ``/tmp/peers/af/bin/python``).

Per case (GPT-2's FFN1 at 1024 tokens; one head of QKᵀ, of A·V, and of QKᵀ-softmax-A·V unfused and
fused, at 1024 tokens) and preset:
1. *same mapping*: cosamt's MIP schedule, exported as an AccelForge loop tree, evaluated by both
   models; and FFM's best mapping, imported into cosamt, evaluated by both (a fused group's latency
   is also compared with the sum of its members', AccelForge's rule);
2. *best against best*: a 2x2 table (schedule x model) of latency, energy, DRAM words per tensor and
   search seconds;
3. the least DRAM traffic in FFM's mapspace at the buffer size (Orojenesis' bound: FFM minimising
   DRAM accesses alone) beside compulsory traffic.
Writes peers.csv, peers.md and peers.json to the output folder.

Issue #16's spans (``--cases span-a,span-b,span-c``): FFM on a run of one GPT-2 head's operators
(its outcome cached in OUT/spans/<span>/ffm.json), and cosamt's explorer under each objective
(latency first, energy first), each schedule evaluated in both models and judged by FFM's key
(least latency, then energy; ``FFM_OBJECTIVE``). Writes spans.md and spans.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from cosamt.arch.presets import load_preset
from cosamt.arch.spec import Architecture
from cosamt.evaluate.evaluator import evaluate
from cosamt.evaluate.metrics import Metrics
from cosamt.export.accelforge import (
    MAIN_MEMORY,
    arch_spec,
    mapping_from_nodes,
    mapping_spec,
    sequence_specs,
    to_yaml_text,
    workload_spec,
)
from cosamt.fusion.chain import span_operators
from cosamt.schedule.mapping import Mapping
from cosamt.solve.solver import SolveSettings, solve_operator
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum, Role, Tensor, gemm

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "scripts" / "peers" / "accelforge_runner.py"
ZZ_RUNNER = ROOT / "scripts" / "peers" / "zigzag_runner.py"
DEFAULT_PYTHON = "/tmp/peers/af/bin/python"
DEFAULT_ZZ_PYTHON = "/tmp/peers/zz/bin/python"
ZZ_OPERANDS = ("O", "I", "W")  # ZigZag's names for the output, the first and the second operand


def cases() -> dict[str, Einsum]:
    """GPT-2-small at 1024 tokens: FFN1, and one attention head's QKᵀ and A·V."""
    ffn1 = gemm("ffn1", 1024, 3072, 768)  # Y[m,n] = X[m,k] W[k,n]
    qk = Einsum(
        "qk",
        {"m": 1024, "n": 1024, "d": 64},
        (
            Tensor("Q", ("m", "d"), Role.INPUT),
            Tensor("K", ("n", "d"), Role.INPUT),
            Tensor("S", ("m", "n"), Role.OUTPUT),
        ),
    )
    av = Einsum(
        "av",
        {"m": 1024, "n": 1024, "d": 64},
        (
            Tensor("P", ("m", "n"), Role.INPUT),
            Tensor("V", ("n", "d"), Role.INPUT),
            Tensor("O", ("m", "d"), Role.OUTPUT),
        ),
    )
    return {"gpt2-ffn1": ffn1, "gpt2-qk-head": qk, "gpt2-av-head": av}


# ---------------------------------------------------------------------------------------------
# The two models' figures in one shape


def cosamt_figures(op: Einsum, arch: Architecture, mapping: Mapping) -> dict[str, Any]:
    m: Metrics = evaluate(op, arch, mapping)
    dram = arch.levels[arch.dram_index].name
    words = {t.tensor: t.reads + t.writes for t in m.tensors if t.level == dram}
    return {
        "latency_cycles": m.latency_cycles,
        "energy_pj": m.energy_pj,
        "dram_words": words,
        "violations": [str(v) for v in m.violations],
    }


def run_accelforge(python: str, spec_dir: Path, mode: str, threads: int) -> dict[str, Any]:
    proc = subprocess.run(
        [python, str(RUNNER), str(spec_dir), mode, str(threads)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"AccelForge {mode} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_spec(folder: Path, op: Einsum, arch: Architecture, mapping: Mapping | None) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "arch.yaml").write_text(to_yaml_text(arch_spec(arch, len(op.tensors))))
    (folder / "workload.yaml").write_text(to_yaml_text(workload_spec(op, 8 * arch.word_bytes)))
    if mapping is None:
        return []
    exported = mapping_spec(op, arch, mapping)
    (folder / "mapping.yaml").write_text(to_yaml_text(exported.spec))
    return list(exported.approximations)


# ---------------------------------------------------------------------------------------------
# ZigZag (LOMA): the operator as ZigZag's GEMM, its best mapping back as a cosamt mapping


def zz_tensors(op: Einsum) -> dict[str, Tensor]:
    return dict(zip(ZZ_OPERANDS, (op.output, op.operands[0], op.operands[-1]), strict=True))


def zigzag_request(op: Einsum, arch: Architecture) -> dict[str, Any]:
    if arch.dram_index != 1:
        raise ValueError("the ZigZag comparison covers a global buffer and DRAM only")
    bits = 8 * arch.word_bytes

    def mem(i: int) -> dict[str, Any]:
        lv = arch.levels[i]
        return {
            "capacity_bits": (lv.capacity_bytes or 10**13) * 8,
            "read_bits_per_cycle": int(8 * (lv.read_bandwidth or 1e6)),
            "write_bits_per_cycle": int(8 * (lv.write_bandwidth or 1e6)),
            "read_pj_per_word": lv.read_energy_pj,
            "write_pj_per_word": lv.write_energy_pj,
        }

    return {
        "name": op.name,
        "word_bits": bits,
        "mac_pj": arch.mac_energy_pj,
        "rows": arch.pe_array.rows.size,
        "cols": arch.pe_array.cols.size,
        "operator": {
            "dims": {d.upper(): n for d, n in op.dims.items()},
            **{k: [d.upper() for d in t.dims] for k, t in zz_tensors(op).items()},
        },
        "buffer": mem(0),
        "dram": mem(1),
    }


def mapping_from_zigzag(op: Einsum, arch: Architecture, zz: dict[str, Any]) -> Mapping:
    """An even ZigZag mapping: one loop order (innermost first) cut at one DRAM boundary."""
    from cosamt.schedule.mapping import LevelMapping, Loop, SpatialLoop

    levels = zz["temporal"]["O"]
    below = [Loop(d.lower(), f) for lvl in levels[:-1] for d, f in lvl if f > 1]
    dram = [Loop(d.lower(), f) for d, f in levels[-1] if f > 1]
    spatial = tuple(SpatialLoop(d.lower(), f, axis) for d, f, axis in zz["spatial"])
    everything = frozenset(t.name for t in op.tensors)
    return Mapping(
        levels=(
            LevelMapping(temporal=tuple(reversed(below)), spatial=spatial, keep=everything),
            LevelMapping(temporal=tuple(reversed(dram)), keep=everything),
        )
    )


def run_zigzag(python: str, request: dict[str, Any], folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "zigzag_request.json"
    path.write_text(json.dumps(request))
    proc = subprocess.run(
        [python, str(ZZ_RUNNER), str(path)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ZigZag failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def zigzag_figures(op: Einsum, zz: dict[str, Any]) -> dict[str, Any]:
    names = {k: t.name for k, t in zz_tensors(op).items()}
    return {
        "latency_cycles": zz["latency_cycles"],
        "energy_pj": zz["energy_pj"],
        "dram_words": {names[k]: round(v) for k, v in zz["dram_words_by_operand"].items()},
        "violations": [],
    }


# ---------------------------------------------------------------------------------------------


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-30)


def one_case(
    name: str,
    op: Einsum,
    preset: str,
    python: str,
    zz_python: str | None,
    threads: int,
    work: Path,
    time_limit: float,
) -> dict[str, Any]:
    arch = load_preset(preset)
    settings = replace(
        SolveSettings(),
        objective=Objective.LATENCY,
        threads=threads,
        time_limit_s=time_limit,
        padding=False,
    )
    start = time.perf_counter()
    mip = solve_operator(op, arch, settings)
    mip_seconds = time.perf_counter() - start
    if mip.mapping is None:
        raise RuntimeError(f"{name} on {preset}: the MIP found no schedule ({mip.status.value})")
    folder = work / f"{name}_{preset}"
    approx = write_spec(folder / "mip", op, arch, mip.mapping)
    af_of_mip = run_accelforge(python, folder / "mip", "evaluate", threads)
    write_spec(folder / "ffm", op, arch, None)
    ffm = run_accelforge(python, folder / "ffm", "map", threads)
    ffm_mapping = mapping_from_nodes(op, arch, ffm["mapping_nodes"])
    approx_ffm = write_spec(folder / "ffm_again", op, arch, ffm_mapping)
    af_of_ffm_again = run_accelforge(python, folder / "ffm_again", "evaluate", threads)
    bound = run_accelforge(python, folder / "ffm", "dram-bound", threads)
    compulsory = sum(op.size(t) for t in op.tensors)
    table = {
        ("mip", "cosamt"): cosamt_figures(op, arch, mip.mapping),
        ("mip", "accelforge"): accelforge_figures(arch, af_of_mip),
        ("ffm", "cosamt"): cosamt_figures(op, arch, ffm_mapping),
        ("ffm", "accelforge"): accelforge_figures(arch, ffm),
    }
    seconds = {"mip": mip_seconds, "ffm": ffm["seconds"]}
    if zz_python is not None:
        zz = run_zigzag(zz_python, zigzag_request(op, arch), folder / "zigzag")
        table[("loma", "cosamt")] = cosamt_figures(op, arch, mapping_from_zigzag(op, arch, zz))
        table[("loma", "zigzag")] = zigzag_figures(op, zz)
        seconds["loma"] = zz["seconds"]
    return {
        "case": name,
        "arch": preset,
        "mip_status": mip.status.value,
        "table": {f"{s}|{m}": {**v, "search_seconds": seconds[s]} for (s, m), v in table.items()},
        "ffm_mappings_covered": ffm.get("mappings_covered"),
        "ffm_reimport_roundtrip_energy_rel": rel(af_of_ffm_again["energy_pj"], ffm["energy_pj"]),
        "export_approximations": approx + approx_ffm,
        "dram_bound_words": bound["energy_pj"] / (8 * arch.word_bytes),
        "compulsory_words": compulsory,
        "ffm_mapping": ffm["mapping_nodes"],
        "mip_mapping": str(mip.mapping),
    }


def one_head_attention() -> tuple[list[Einsum], Any]:
    """One GPT-2 head at 1024 tokens (head dim 64): QKᵀ, softmax, A·V, and cosamt's fusion segment."""
    from cosamt.fusion.schemes import segments
    from cosamt.io.instance import parse_instance
    from cosamt.pipeline import resolve
    from cosamt.types import FusionChoice

    inst = parse_instance(
        {
            "model": {
                "name": "gpt2-one-head",
                "n_layers": 1,
                "d_model": 64,
                "n_heads": 1,
                "d_ff": 256,
            },
            "seq_len": 1024,
            "arch": "edge",
        }
    )
    ops = resolve(inst).operators
    seg = next(sg for sg in segments(ops, FusionChoice.ALL) if sg.name == "attention")
    return [op for op in ops if op.name in ("qk", "softmax", "av")], seg


def group_figures(
    groups: list[Any], arch: Architecture, mappings: dict[str, Mapping]
) -> dict[str, Any]:
    """cosamt's figures for groups run one after another; ``sequential_latency_cycles`` sums the
    members' own latencies (no pipelining across a fused group's members, AccelForge's rule)."""
    from cosamt.evaluate.group import evaluate_group

    ms = [evaluate_group(g, arch, mappings) for g in groups]
    dram = arch.levels[arch.dram_index].name
    words: dict[str, int] = {}
    level_words: dict[str, int] = {}  # every level's reads + writes (where a trade-off lies)
    for m in (m for g in ms for m in g.members):
        for ts in m.tensors:
            level_words[ts.level] = level_words.get(ts.level, 0) + ts.reads + ts.writes
            if ts.level == dram:
                words[ts.tensor] = words.get(ts.tensor, 0) + ts.reads + ts.writes
    rescale = sum(g.extra_vector_ops for g in ms) * arch.vector_unit.energy_per_op_pj
    return {
        "latency_cycles": sum(g.latency_cycles for g in ms),
        "sequential_latency_cycles": sum(m.latency_cycles for g in ms for m in g.members),
        "energy_pj": sum(g.energy_pj for g in ms),
        "rescale_energy_pj": rescale,
        "dram_words": words,
        "level_words": level_words,
        "violations": [str(v) for g in ms for v in g.violations],
    }


def fused_case(
    preset: str, python: str, threads: int, work: Path, time_limit: float
) -> dict[str, Any]:
    """QKᵀ-softmax-A·V of one head, unfused and fused, both ways: cosamt's explorer candidates
    (unfused, FLAT, online) exported as AccelForge loop trees (a Sequential of one branch per
    Einsum below the shared loops) and evaluated there; FFM's best trees (DRAM keeping every
    tensor, or not the intermediates) imported as cosamt group mappings and evaluated here."""
    from cosamt.export.accelforge import (
        group_mapping_spec,
        group_mappings_from_nodes,
        sequence_mapping_spec,
        sequence_mappings_from_nodes,
    )
    from cosamt.pipeline import solve_group_result

    arch = load_preset(preset)
    ops, seg = one_head_attention()
    settings = replace(
        SolveSettings(), objective=Objective.LATENCY, threads=threads, time_limit_s=time_limit
    )
    table: dict[str, dict[str, Any]] = {}
    folder = work / f"attention_{preset}"
    candidates = {("unfused" if len(c) > 1 else c[0].scheme.value): list(c) for c in seg.candidates}
    for label, cand in candidates.items():
        start = time.perf_counter()
        res = [solve_group_result(g, arch, settings) for g in cand]
        seconds = time.perf_counter() - start
        mappings = {k: v for g in res for k, v in g.mappings.items()}
        table[f"mip-{label}|cosamt"] = {
            **group_figures(cand, arch, mappings),
            "search_seconds": seconds,
        }
        exported = (
            group_mapping_spec(cand[0], arch, mappings)
            if len(cand) == 1
            else sequence_mapping_spec(tuple(ops), arch, mappings)
        )
        sub = folder / f"mip-{label}"
        write_fused_spec(sub, ops, arch, fused=len(cand) == 1, mapping=exported.spec)
        run = run_accelforge(python, sub, "evaluate", threads)
        table[f"mip-{label}|accelforge"] = {
            **accelforge_figures(arch, run),
            "search_seconds": seconds,
        }
    covered = {}
    mapping_nodes = {}
    for label in ("unfused", "fused"):
        sub = folder / f"ffm-{label}"
        write_fused_spec(sub, ops, arch, fused=label == "fused", mapping=None)
        ffm = run_accelforge(python, sub, "map", threads)
        table[f"ffm-{label}|accelforge"] = {
            **accelforge_figures(arch, ffm),
            "search_seconds": ffm["seconds"],
        }
        # FFM's fused tree is a FLAT group in cosamt's terms (AccelForge has no online rescaling)
        groups = candidates["flat" if label == "fused" else "unfused"]
        mappings = (
            group_mappings_from_nodes(groups[0], arch, ffm["mapping_nodes"])
            if label == "fused"
            else sequence_mappings_from_nodes(tuple(ops), arch, ffm["mapping_nodes"])
        )
        table[f"ffm-{label}|cosamt"] = {
            **group_figures(groups, arch, mappings),
            "search_seconds": ffm["seconds"],
        }
        covered[label] = ffm.get("mappings_covered")
        mapping_nodes[label] = ffm["mapping_nodes"]
    bound = run_accelforge(python, folder / "ffm-fused", "dram-bound", threads)
    on_chip = candidates["flat"][0].on_chip
    compulsory = {t.name: op.size(t) for op in ops for t in op.tensors if t.name not in on_chip}
    return {
        "case": "gpt2-attention-head",
        "arch": preset,
        "table": table,
        "ffm_mappings_covered": covered,
        "ffm_mapping": mapping_nodes,
        "fused_dram_bound_words": bound["energy_pj"] / (8 * arch.word_bytes),
        "compulsory_words": sum(compulsory.values()),
    }


def write_fused_spec(
    folder: Path, ops: list[Einsum], arch: Architecture, fused: bool, mapping: dict[str, Any] | None
) -> None:
    """Arch, workload (and mapping) of the attention chain; unfused, DRAM keeps every tensor, so S
    and P make the round trip as in cosamt's unfused candidate."""
    folder.mkdir(parents=True, exist_ok=True)
    arch_doc, workload_doc = sequence_specs(ops, arch)
    if not fused:
        arch_doc["arch"]["nodes"][0]["tensors"] = {"keep": "All"}
    (folder / "arch.yaml").write_text(to_yaml_text(arch_doc))
    (folder / "workload.yaml").write_text(to_yaml_text(workload_doc))
    if mapping is not None:
        (folder / "mapping.yaml").write_text(to_yaml_text(mapping))


def accelforge_figures(arch: Architecture, run: dict[str, Any]) -> dict[str, Any]:
    """AccelForge's figures in cosamt's shape: DRAM words per tensor from its bit counts."""
    bits = 8 * arch.word_bytes
    words: dict[str, int] = {}
    for key, value in run["actions_bits"].items():
        comp, tensor, _ = key.split("|")
        if comp == MAIN_MEMORY and value:
            words[tensor] = words.get(tensor, 0) + round(value / bits)
    return {
        "latency_cycles": run["latency_cycles"],
        "energy_pj": run["energy_pj"],
        "dram_words": words,
        "violations": [],
    }


def agreement(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Same mapping, both models: per schedule evaluated by cosamt and a peer, do DRAM words agree
    exactly, energy (less cosamt's online-softmax rescaling, which the peers cannot express) and
    latency (cosamt's own, and the sum of a group's members run one after another)?"""
    out = []
    for key, a in r["table"].items():
        sched, model = key.split("|")
        if model == "cosamt" or f"{sched}|cosamt" not in r["table"]:
            continue
        c = r["table"][f"{sched}|cosamt"]
        rescale = c.get("rescale_energy_pj", 0.0)
        out.append(
            {
                "case": r["case"],
                "arch": r["arch"],
                "schedule": sched,
                "peer": model,
                "dram_words_equal": c["dram_words"] == a["dram_words"],
                "energy_rel_diff": rel(a["energy_pj"], c["energy_pj"] - rescale),
                "cosamt_rescale_pj": rescale,
                "latency_rel_diff": rel(a["latency_cycles"], c["latency_cycles"]),
                "sequential_latency_rel_diff": rel(
                    a["latency_cycles"], c.get("sequential_latency_cycles", c["latency_cycles"])
                ),
                "cosamt_violations": ";".join(c["violations"]),
            }
        )
    return out


def csv_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        for key, v in r["table"].items():
            sched, model = key.split("|")
            rows.append(
                {
                    "case": r["case"],
                    "arch": r["arch"],
                    "schedule": sched,
                    "model": model,
                    "latency_cycles": v["latency_cycles"],
                    "energy_pj": v["energy_pj"],
                    "dram_words": sum(v["dram_words"].values()),
                    **{f"dram_{t}": w for t, w in sorted(v["dram_words"].items())},
                    "search_seconds": v["search_seconds"],
                    "dram_bound_words": r.get("dram_bound_words", r.get("fused_dram_bound_words")),
                    "compulsory_words": r.get("compulsory_words"),
                }
            )
    return rows


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["# cosamt vs AccelForge (FFM) and ZigZag (LOMA)", ""]
    for r in results:
        lines += [
            f"## {r['case']} on {r['arch']}",
            "",
            "| schedule | model | latency (cycles) | energy (pJ) | DRAM words per tensor | search (s) |",
            "|---|---|---:|---:|---|---:|",
        ]
        for key, v in r["table"].items():
            sched, model = key.split("|")
            words = ", ".join(f"{t} {w:,}" for t, w in sorted(v["dram_words"].items()))
            lines.append(
                f"| {sched} | {model} | {v['latency_cycles']:,.0f} | {v['energy_pj']:.6e} | "
                f"{words} | {v['search_seconds']:.1f} |"
            )
        if "dram_bound_words" in r:
            lines += [
                "",
                f"FFM covered {r['ffm_mappings_covered']:.3g} mappings. Least DRAM traffic in "
                f"FFM's mapspace at this buffer size (Orojenesis bound): "
                f"{r['dram_bound_words']:,.0f} words; compulsory {r['compulsory_words']:,}.",
                "",
            ]
        else:
            covered = ", ".join(f"{k} {v:.3g}" for k, v in r["ffm_mappings_covered"].items())
            lines += [
                "",
                f"FFM covered {covered} mappings. Least DRAM traffic in FFM's fused mapspace "
                f"(Orojenesis bound): {r['fused_dram_bound_words']:,.0f} words; compulsory "
                f"(Q, K, V, O once) {r['compulsory_words']:,}. AccelForge runs a fused group's "
                "Einsums one after another, cosamt pipelines them: latencies are also compared "
                "with the sum of cosamt's per-member latencies.",
                "",
            ]
        for a in agreement(r):
            lines.append(
                f"* same mapping ({a['schedule']}, cosamt vs {a['peer']}): DRAM words equal: "
                f"{a['dram_words_equal']}, energy differs by {a['energy_rel_diff']:.2e}"
                + (
                    f" (after cosamt's {a['cosamt_rescale_pj']:,.0f} pJ of online-softmax "
                    "rescaling)"
                    if a["cosamt_rescale_pj"]
                    else ""
                )
                + f", latency by {a['latency_rel_diff']:.2e}"
                + (
                    f" (by {a['sequential_latency_rel_diff']:.2e} from cosamt's members in "
                    "sequence)"
                    if "dram_bound_words" not in r
                    else ""
                )
                + (f"; cosamt flags: {a['cosamt_violations']}" if a["cosamt_violations"] else "")
            )
        if r.get("export_approximations"):
            lines.append(f"* export approximations: {', '.join(r['export_approximations'])}")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Issue #16's spans: one GPT-2 head at 1024 tokens on edge, FFM against cosamt's explorer

EXAMPLE = ROOT / "examples" / "gpt2_one_head_edge.json"
# span -> (first, last operator of the split view); "block" is the whole block
SPANS = {
    "span-a": ("q_proj", "av"),  # Q-projection + attention (QKᵀ, softmax, ·V)
    "span-b": ("qk", "out_proj_heads"),  # attention + output projection
    "span-c": ("norm1", "residual2"),  # the whole block
}
FFM_CAPS = {"span-a": 600.0, "span-b": 900.0, "span-c": 900.0}


def span_setup(span: str, threads: int) -> tuple[Any, Any, int, int, SolveSettings]:
    """The example's instance resolved, its split-view chain, the span's operator range and the
    solve settings (the example's, with ``threads``)."""
    from cosamt.fusion.chain import block_chains
    from cosamt.io.instance import parse_instance
    from cosamt.pipeline import resolve, settings_for

    inst = parse_instance(json.loads(EXAMPLE.read_text()))
    resolved = resolve(inst, EXAMPLE.parent)
    chain = next(c for c in block_chains(resolved.operators) if c.view == "split")
    names = [o.name for o in chain.ops]
    first, last = SPANS[span]
    settings = replace(settings_for(inst), threads=threads)
    return resolved, chain, names.index(first), names.index(last), settings


def run_ffm(python: str, folder: Path, cap: float, threads: int) -> dict[str, Any]:
    """FFM on the span's specs within ``cap`` seconds of wall time: its result, or a status
    ('timeout', 'error: <AccelForge's last line>') with the seconds it ran."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [python, str(RUNNER), str(folder), "map", str(threads)],
            capture_output=True,
            text=True,
            timeout=cap,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "wall_seconds": time.perf_counter() - start, "cap": cap}
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        return {"status": f"error: {last}", "wall_seconds": wall, "cap": cap}
    return {
        "status": "found",
        "wall_seconds": wall,
        "cap": cap,
        **json.loads(proc.stdout.strip().splitlines()[-1]),
    }


def cached_ffm(folder: Path) -> dict[str, Any] | None:
    """A previous run's FFM outcome (``ffm.json``), so a rerun need not repeat a 15-minute search."""
    path = folder / "ffm.json"
    return json.loads(path.read_text()) if path.exists() else None


# cosamt runs each span under both objectives, its default (latency first) first. FFM's objective
# is least (latency, energy) in AccelForge's model (FFM_OBJECTIVE below).
SPAN_OBJECTIVES = (Objective.LATENCY, Objective.ENERGY)
# AccelForge keeps its per-Einsum figures in float32 (accelforge/util/_mathfuncs.py:27, 1.0.467):
# its totals for identical action counts may differ by float32 rounding, 2^-23 relative at most
# per figure. cosamt's model and the re-pricing below sum float64 terms in some order.
FLOAT32_REL = 2.0**-23
FLOAT64_REL = 1e-12
FFM_OBJECTIVE = (
    "FFM's objective, as `scripts/peers/accelforge_runner.py` sets it: "
    "`spec.mapper.metrics = Metrics.LATENCY | Metrics.ENERGY` (the runner's `run`; AccelForge "
    "1.0.467's `FFM.metrics`, accelforge/frontend/mapper/ffm.py:11, \"Metrics used to optimize "
    'mappings", default ENERGY alone), so FFM returns the latency-energy Pareto front of its '
    "joined mappings (accelforge/mapper/FFM/_join_pmappings/join_pmappings.py:364, "
    "`joined.make_pareto()`), and the runner keeps the point of least (latency, energy), "
    "compared in that order (`best = min(..., key=lambda i: (lat[i], en[i]))`). Both are "
    "AccelForge's figures: in AccelForge's model FFM minimises latency, then energy. The verdicts "
    "below compare cosamt's schedules with FFM's by that key in each model."
)
FLOAT32_NOTE = (
    "AccelForge computes its figures in float32 (`NUMPY_FLOAT_TYPE = np.float32`, "
    "accelforge/util/_mathfuncs.py:27; `_numeric_cast` casts its data-frame columns to it, line "
    "91; `evaluate_mapping` runs through the same pmapping join): two trees with identical action "
    "counts can be reported a few pJ apart. So each AccelForge evaluation's action counts are also "
    "priced here in float64 (count x the arch's energy per action, `math.fsum`): when the counts "
    "are identical the energies are called equal within AccelForge's float32 rounding, and the "
    "float64 figure is shown; otherwise the float64 figures decide."
)


def schedule_label(objective: Objective) -> str:
    return f"cosamt-{objective.value}-first"


def explore_span(resolved: Any, chain: Any, lo: int, hi: int, settings: SolveSettings) -> Any:
    """cosamt's exact partition of the span under ``settings.objective`` (``--fusion explore``'s
    rule and shortest path on the split view): the whole block through ``explore_instance`` (menu
    incumbent, both views), a shorter span by the same shortest path over its own operators, each
    edge costed by the objective's key (``group_cost``: the objective, then the other metric).
    Returns the chosen ``GroupResult``s, whether every solved candidate was proven optimal, and
    the MIPs solved."""
    from cosamt.fusion.chain import candidates
    from cosamt.fusion.explore import Cost, shortest_partition
    from cosamt.pipeline import NoSchedule, explore_instance, group_cost, solve_group_result
    from cosamt.solve.solver import SolveStatus

    if lo == 0 and hi == len(chain.ops) - 1:
        report = explore_instance(resolved, settings)
        (e,) = report.explorations
        return list(report.groups), bool(e.exact), None
    solved: dict[int, Any] = {}

    def cost(g: Any) -> Cost | None:
        try:
            r = solve_group_result(g, resolved.arch, settings)
        except NoSchedule:
            return None
        solved[id(g)] = r
        return group_cost(r, settings.objective)

    part = shortest_partition(
        hi - lo + 1,
        lambda i, j: candidates(chain, lo + i, lo + j),
        lambda g: 0.0,
        lambda edges: [cost(g) for g, _budget in edges],
    )
    exact = all(r.solve.status is SolveStatus.OPTIMAL for r in solved.values())
    return [solved[id(s.group)] for s in part.path], exact, len(solved)


def action_energies(arch_doc: dict[str, Any]) -> dict[tuple[str, str], float]:
    """The energy of one action per (component, action) of an AccelForge arch document, a
    ``Fork``'s branch included."""
    out: dict[tuple[str, str], float] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            walk(node.get("nodes", []))
            for action in node.get("actions", []):
                out[(node["name"], action["name"])] = float(action["energy"])

    walk(arch_doc["arch"]["nodes"])
    return out


def reprice(actions: dict[str, float], energies: dict[tuple[str, str], float]) -> float:
    """AccelForge's action counts (``component|tensor|action``) priced in float64: each count times
    its energy per action, summed exactly and rounded once (``math.fsum``)."""
    terms = []
    for key, count in actions.items():
        component, _tensor, action = key.split("|")
        if not count:
            continue
        if (component, action) not in energies:
            raise ValueError(f"action count {key!r}: the arch states no energy for that action")
        terms.append(count * energies[(component, action)])
    return math.fsum(terms)


def component_words(actions: dict[str, float], word_bits: int) -> dict[str, int]:
    """Reads + writes per memory, in words, from AccelForge's action counts in bits."""
    out: dict[str, int] = {}
    for key, bits in actions.items():
        component, _tensor, action = key.split("|")
        if action in ("read", "write") and bits:
            out[component] = out.get(component, 0) + round(bits / word_bits)
    return out


def accelforge_of_groups(
    python: str, results: list[Any], arch: Architecture, folder: Path
) -> dict[str, Any]:
    """cosamt's schedule in AccelForge's model: every group exported (``cosamt export``'s specs)
    and evaluated, summed (groups pass their tensors through DRAM), with the summed action counts
    and their float64 pricing; or why not."""
    from cosamt.export.accelforge import ExportError, group_mapping_spec
    from cosamt.io.outputs import group_folder

    total: dict[str, Any] = {
        "latency_cycles": 0.0,
        "energy_pj": 0.0,
        "repriced_energy_pj": 0.0,
        "dram_words": {},
        "actions_bits": {},
        "violations": [],
    }
    notes: list[str] = []
    for r in results:
        sub = folder / group_folder(r.group.name)
        try:
            arch_doc, workload_doc = sequence_specs(list(r.group.ops), arch)
            exported = group_mapping_spec(r.group, arch, r.mappings)
        except ExportError as exc:
            return {"status": f"not exported: {r.group.name}: {exc}"}
        notes += exported.approximations
        sub.mkdir(parents=True, exist_ok=True)
        (sub / "arch.yaml").write_text(to_yaml_text(arch_doc))
        (sub / "workload.yaml").write_text(to_yaml_text(workload_doc))
        (sub / "mapping.yaml").write_text(to_yaml_text(exported.spec))
        try:
            run = run_accelforge(python, sub, "evaluate", 1)
        except RuntimeError as exc:
            last = str(exc).strip().splitlines()[-1]
            return {"status": f"AccelForge rejects {r.group.name}: {last}", "notes": notes}
        af = accelforge_figures(arch, run)
        total["latency_cycles"] += af["latency_cycles"]
        total["energy_pj"] += af["energy_pj"]
        total["repriced_energy_pj"] += reprice(run["actions_bits"], action_energies(arch_doc))
        for t, w in af["dram_words"].items():
            total["dram_words"][t] = total["dram_words"].get(t, 0) + w
        for key, count in run["actions_bits"].items():
            total["actions_bits"][key] = total["actions_bits"].get(key, 0.0) + count
    total["level_words"] = component_words(total["actions_bits"], 8 * arch.word_bytes)
    return {"status": "evaluated", **total, "notes": notes}


def cosamt_of_ffm(ffm: dict[str, Any], chain: Any, lo: int, hi: int, arch: Architecture) -> Any:
    """FFM's tree in cosamt's model: when it keeps every intermediate of the span on chip, it is
    the span's candidate group (the variant without rescaling: AccelForge has none), imported
    (``group_mappings_from_nodes``, nested splits flattened where cosamt can represent them) and
    evaluated; otherwise, or when the import refuses it, the reason."""
    from cosamt.export.accelforge import ExportError, group_mappings_from_nodes
    from cosamt.fusion.chain import candidates

    _ops, on_chip = span_operators(chain, lo, hi)
    in_dram = {
        t
        for n in ffm["mapping_nodes"]
        if n.get("component") == MAIN_MEMORY
        for t in n.get("tensors", [])
    }
    through_dram = sorted(on_chip & in_dram)
    if through_dram:
        return {
            "status": f"not imported: FFM's tree passes {', '.join(through_dram)} through DRAM, "
            "a partition into several groups, which the import does not read"
        }
    groups = [g for g in candidates(chain, lo, hi) if g.rescale is None]
    if not groups:
        return {"status": "not imported: the span is no candidate group in cosamt's rule"}
    try:
        mappings = group_mappings_from_nodes(groups[0], arch, ffm["mapping_nodes"])
    except ExportError as exc:
        return {"status": f"refused by the import: {exc}"}
    return {"status": "evaluated", **group_figures([groups[0]], arch, mappings)}


def _shown(path: Path) -> str:
    """A path as recorded in results: relative to the repository when inside it."""
    return (
        str(path.resolve().relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else str(path)
    )


def cosamt_span_run(
    python: str, resolved: Any, chain: Any, lo: int, hi: int, settings: SolveSettings, work: Path
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """cosamt's explored partition of the span under ``settings.objective``: what it chose, and
    its figures in cosamt's model and in AccelForge's."""
    arch = resolved.arch
    start = time.perf_counter()
    chosen, exact, mips = explore_span(resolved, chain, lo, hi, settings)
    seconds = time.perf_counter() - start
    mappings = {k: v for r in chosen for k, v in r.mappings.items()}
    run = {
        "objective": settings.objective.value,
        "partition": [r.group.name for r in chosen],
        "statuses": [r.solve.status.value for r in chosen],
        "exact": exact,
        "mips": mips,
        "seconds": seconds,
        "mappings": {k: str(v) for k, v in mappings.items()},
    }
    figures = {
        "cosamt": {
            "status": "evaluated",
            **group_figures([r.group for r in chosen], arch, mappings),
            "search_seconds": seconds,
        },
        "accelforge": {
            **accelforge_of_groups(python, chosen, arch, work / settings.objective.value),
            "search_seconds": seconds,
        },
    }
    return run, figures


def ffm_figures(ffm: dict[str, Any], arch: Architecture, arch_doc: dict[str, Any]) -> Any:
    """FFM's tree in AccelForge's model: its own figures, action counts and their float64 price."""
    return {
        "status": "evaluated",
        **accelforge_figures(arch, ffm),
        "repriced_energy_pj": reprice(ffm["actions_bits"], action_energies(arch_doc)),
        "actions_bits": ffm["actions_bits"],
        "level_words": component_words(ffm["actions_bits"], 8 * arch.word_bytes),
        "search_seconds": ffm["seconds"],
    }


def span_case(
    span: str, python: str, threads: int, work: Path, cap: float, ffm_dir: Path
) -> dict[str, Any]:
    """One span: FFM (or its failure) within the cap, cosamt's explored partition under each of
    its objectives, each evaluated in both models where the export and import allow."""
    resolved, chain, lo, hi, settings = span_setup(span, threads)
    arch = resolved.arch
    ops, on_chip = span_operators(chain, lo, hi)
    folder = ffm_dir / span
    folder.mkdir(parents=True, exist_ok=True)
    arch_doc, workload_doc = sequence_specs(ops, arch)
    (folder / "arch.yaml").write_text(to_yaml_text(arch_doc))
    (folder / "workload.yaml").write_text(to_yaml_text(workload_doc))
    ffm = cached_ffm(folder)
    reused = ffm is not None
    if ffm is None:
        ffm = run_ffm(python, folder, cap, threads)
        (folder / "ffm.json").write_text(json.dumps(ffm, indent=1) + "\n")
    runs: dict[str, dict[str, Any]] = {}
    table: dict[str, dict[str, Any]] = {}
    for objective in SPAN_OBJECTIVES:
        label = schedule_label(objective)
        runs[label], figures = cosamt_span_run(
            python, resolved, chain, lo, hi, replace(settings, objective=objective), work / span
        )
        for model, v in figures.items():
            table[f"{label}|{model}"] = v
    if ffm["status"] == "found":
        table["ffm|accelforge"] = ffm_figures(ffm, arch, arch_doc)
        table["ffm|cosamt"] = {
            **cosamt_of_ffm(ffm, chain, lo, hi, arch),
            "search_seconds": ffm["seconds"],
        }
    else:
        for model in ("accelforge", "cosamt"):
            table[f"ffm|{model}"] = {
                "status": f"FFM: {ffm['status']}",
                "search_seconds": ffm["wall_seconds"],
            }
    return {
        "case": span,
        "arch": arch.name,
        "operators": [o.name for o in ops],
        "on_chip_candidates": sorted(on_chip),
        "ffm": {k: v for k, v in ffm.items() if k not in ("actions_bits",)},
        "ffm_reused_from": _shown(folder / "ffm.json") if reused else None,
        "cosamt": runs,
        "table": table,
    }


def versions(python: str) -> dict[str, str]:
    """The tools' versions: AccelForge (in its own interpreter), HiGHS, Pyomo, cosamt's commit."""
    from importlib.metadata import version

    af = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('accelforge'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "accelforge": af.stdout.strip() or "unknown",
        "highspy": version("highspy"),
        "pyomo": version("pyomo"),
        "cosamt_commit": commit.stdout.strip() or "unknown",
    }


def compare(a: float, b: float, rel_tol: float) -> int:
    """-1, 0 or 1: ``a`` below, equal to (within ``rel_tol``, relative) or above ``b``."""
    if abs(a - b) <= rel_tol * max(abs(a), abs(b)):
        return 0
    return -1 if a < b else 1


def _nonzero(actions: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in actions.items() if v}


def latency_words(c: float, f: float, rel_tol: float) -> tuple[int, str]:
    sign = compare(c, f, rel_tol)
    word = {-1: "cosamt lower", 0: "equal", 1: "cosamt HIGHER"}[sign]
    if sign == 0 and c != f:
        word = "equal within AccelForge's float32 rounding"
    return sign, f"latency {word} ({c:,.0f} vs {f:,.0f} cycles, {c / f:.4f}x)"


def energy_words_cosamt(c: float, f: float) -> tuple[int, str]:
    """Energies in cosamt's model (float64 throughout)."""
    sign = compare(c, f, FLOAT64_REL)
    word = {-1: "cosamt less", 0: "equal", 1: "cosamt MORE"}[sign]
    return sign, f"energy {word} ({c:,.4f} vs {f:,.4f} pJ, {c - f:+,.4f} pJ)"


def energy_words_accelforge(c: dict[str, Any], f: dict[str, Any]) -> tuple[int, str]:
    """Energies in AccelForge's model: its float32 figures, and the float64 pricing of its action
    counts, which decides when the counts differ (``FLOAT32_NOTE``)."""
    a, b = c["energy_pj"], f["energy_pj"]
    ra, rb = c["repriced_energy_pj"], f["repriced_energy_pj"]
    reported = f"{a:,.4f} vs {b:,.4f} pJ as AccelForge reports them ({a - b:+,.4f} pJ)"
    same_price = compare(ra, rb, FLOAT64_REL) == 0
    if a == b:
        return 0, f"energy equal ({reported})"
    if same_price and _nonzero(c["actions_bits"]) == _nonzero(f["actions_bits"]):
        return 0, (
            f"energy equal within AccelForge's float32 rounding: identical action counts, "
            f"{reported}, {abs(a - b) / max(a, b):.1e} relative; the counts priced in float64: "
            f"{ra:,.4f} pJ"
        )
    sign = compare(ra, rb, FLOAT64_REL)
    word = {-1: "cosamt less", 0: "equal", 1: "cosamt MORE"}[sign]
    return sign, (
        f"energy {word}: the action counts priced in float64 {ra:,.4f} vs {rb:,.4f} pJ "
        f"({ra - rb:+,.4f} pJ); {reported}"
    )


def verdict(r: dict[str, Any], label: str, model: str) -> str:
    """cosamt's schedule ``label`` against FFM's, both in ``model``, by FFM's key: least latency,
    then least energy."""
    c, f = r["table"][f"{label}|{model}"], r["table"][f"ffm|{model}"]
    if c["status"] != "evaluated" or f["status"] != "evaluated":
        return (
            "not comparable (" + (c["status"] if c["status"] != "evaluated" else f["status"]) + ")"
        )
    lat_tol = FLOAT32_REL if model == "accelforge" else FLOAT64_REL
    lat_sign, lat = latency_words(c["latency_cycles"], f["latency_cycles"], lat_tol)
    en_sign, en = (
        energy_words_accelforge(c, f)
        if model == "accelforge"
        else energy_words_cosamt(c["energy_pj"], f["energy_pj"])
    )
    overall = lat_sign if lat_sign else en_sign
    word = {-1: "cosamt beats FFM", 0: "cosamt matches FFM", 1: "cosamt LOSES to FFM"}[overall]
    return f"{word} (least latency, then energy): {lat}; {en}"


def tradeoff(r: dict[str, Any], model: str) -> str:
    """What latency-first costs against energy-first in ``model``: latency, energy, and the words
    each memory moves."""
    fast, frugal = (schedule_label(o) for o in SPAN_OBJECTIVES)
    a, b = r["table"][f"{fast}|{model}"], r["table"][f"{frugal}|{model}"]
    if a["status"] != "evaluated" or b["status"] != "evaluated":
        return (
            "not evaluated (" + (a["status"] if a["status"] != "evaluated" else b["status"]) + ")"
        )
    if r["cosamt"][fast]["mappings"] == r["cosamt"][frugal]["mappings"]:
        return "both objectives choose the same schedule"
    tol = FLOAT32_REL if model == "accelforge" else FLOAT64_REL
    if not compare(a["latency_cycles"], b["latency_cycles"], tol) and not compare(
        a["energy_pj"], b["energy_pj"], tol
    ):
        return (
            f"different schedules of the same latency and energy ({a['latency_cycles']:,.0f} "
            f"cycles, {a['energy_pj']:,.4f} vs {b['energy_pj']:,.4f} pJ): a tie"
        )
    de = a["energy_pj"] - b["energy_pj"]
    levels = sorted(set(a.get("level_words", {})) | set(b.get("level_words", {})))
    moved = ", ".join(
        f"{lv} {a['level_words'].get(lv, 0) - b['level_words'].get(lv, 0):+,}"
        for lv in levels
        if a["level_words"].get(lv, 0) != b["level_words"].get(lv, 0)
    )
    return (
        f"latency {a['latency_cycles'] / b['latency_cycles'] - 1:+.1%} "
        f"({a['latency_cycles']:,.0f} vs {b['latency_cycles']:,.0f} cycles), energy "
        f"{de:+,.0f} pJ ({a['energy_pj'] / b['energy_pj'] - 1:+.2%}); words moved, latency-first "
        f"minus energy-first: {moved or 'none differ'}"
    )


def span_line(r: dict[str, Any]) -> str:
    ffm = r["ffm"]
    parts = [f"{r['case']}: FFM {ffm['status']} ({ffm['wall_seconds']:.0f} s)"]
    for label, run in r["cosamt"].items():
        parts.append(
            f"{label} {' , '.join(run['partition'])}: cosamt's model: {verdict(r, label, 'cosamt')}"
            f"; AccelForge's: {verdict(r, label, 'accelforge')}"
        )
    return "\n  ".join(parts)


def _table_row(case: str, key: str, v: dict[str, Any]) -> str:
    sched, model = key.split("|")
    if v["status"] == "evaluated":
        figures = (
            f"{v['latency_cycles']:,.0f} | {v['energy_pj']:,.4f} | "
            f"{sum(v['dram_words'].values()):,}"
        )
    else:
        figures = f"{v['status']} | | "
    return f"| {case} | {sched} | {model} | {figures} | {v['search_seconds']:.1f} |"


def _span_section(r: dict[str, Any]) -> list[str]:
    ffm = r["ffm"]
    lines = [
        f"## {r['case']}: {', '.join(r['operators'])}",
        "",
        f"* FFM: {ffm['status']} after {ffm['wall_seconds']:.1f} s wall (cap "
        f"{ffm['cap']:.0f} s, one thread)"
        + (f", reused from {r['ffm_reused_from']}" if r["ffm_reused_from"] else ""),
    ]
    for label, run in r["cosamt"].items():
        lines += [
            f"* {label}: {' , '.join(run['partition'])} (statuses "
            f"{', '.join(run['statuses'])}; partition choice exact: {run['exact']})",
            f"  * in cosamt's model: {verdict(r, label, 'cosamt')}",
            f"  * in AccelForge's model: {verdict(r, label, 'accelforge')}",
        ]
    lines += [
        f"* latency-first against energy-first, in cosamt's model: {tradeoff(r, 'cosamt')}",
        f"* latency-first against energy-first, in AccelForge's model: {tradeoff(r, 'accelforge')}",
    ]
    notes = {
        f"* export note ({key.split('|')[1]}): {note}"
        for key, v in r["table"].items()
        for note in v.get("notes", [])
    }
    return [*lines, *sorted(notes), ""]


def span_markdown(spans: list[dict[str, Any]]) -> str:
    lines = [
        "# Issue #16's spans: FFM against cosamt's `--fusion explore` (GPT-2 small, one head, "
        "1024 tokens, edge)",
        "",
        "Each schedule evaluated in both models where the export and import allow (else why not). "
        "cosamt runs under each of its objectives: latency first (its default; energy the "
        "tie-break) and energy first (latency the tie-break), each objective also costing the "
        "explorer's shortest path. cosamt's search seconds: its explored partition of the span "
        "(HiGHS, threads as run); FFM's: its own search time (wall time when it failed).",
        "",
        FFM_OBJECTIVE,
        "",
        FLOAT32_NOTE,
        "",
        "| span | schedule | model | latency (cycles) | energy (pJ) | DRAM words | search (s) |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in spans:
        lines += [_table_row(r["case"], key, v) for key, v in r["table"].items()]
    lines.append("")
    for r in spans:
        lines += _span_section(r)
    return "\n".join(lines)


def parse_caps(items: list[str]) -> dict[str, float]:
    """``--ffm-cap span-a=600``: FFM's wall-time cap per span, seconds (the defaults otherwise)."""
    caps = dict(FFM_CAPS)
    for item in items:
        span, _, seconds = item.partition("=")
        if span not in SPANS or not seconds:
            raise SystemExit(
                f"--ffm-cap {item!r}: expected SPAN=SECONDS with SPAN one of {list(SPANS)}"
            )
        caps[span] = float(seconds)
    return caps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--accelforge-python", default=os.environ.get("COSAMT_ACCELFORGE_PYTHON", DEFAULT_PYTHON)
    )
    ap.add_argument(
        "--zigzag-python", default=os.environ.get("COSAMT_ZIGZAG_PYTHON", DEFAULT_ZZ_PYTHON)
    )
    ap.add_argument("--archs", default="edge,cloud")
    ap.add_argument(
        "--cases",
        default=",".join([*cases(), "attention-fused"]),
        help=f"operator cases, attention-fused, or issue #16's spans ({', '.join(SPANS)}: "
        "examples/gpt2_one_head_edge.json, edge only, written to spans.md / spans.json)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "peers")
    ap.add_argument(
        "--ffm-cap",
        action="append",
        default=[],
        metavar="SPAN=SECONDS",
        help="FFM's wall-time cap on a span (default: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in FFM_CAPS.items())
        + ")",
    )
    ap.add_argument(
        "--rerun-ffm",
        action="store_true",
        help="search again even where OUT/spans/<span>/ffm.json holds a previous FFM outcome",
    )
    args = ap.parse_args()
    if not Path(args.accelforge_python).exists():
        raise SystemExit(
            f"AccelForge's Python not found at {args.accelforge_python}: see docs/peers.md"
        )
    caps = parse_caps(args.ffm_cap)
    names = args.cases.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    spans = []
    with tempfile.TemporaryDirectory() as tmp:
        for span in (n for n in names if n in SPANS):
            ffm_dir = args.out / "spans"
            if args.rerun_ffm and (ffm_dir / span / "ffm.json").exists():
                (ffm_dir / span / "ffm.json").unlink()
            spans.append(
                span_case(
                    span, args.accelforge_python, args.threads, Path(tmp), caps[span], ffm_dir
                )
            )
            print(span_line(spans[-1]), flush=True)
        for preset in args.archs.split(",") if any(n not in SPANS for n in names) else []:
            for name in (n for n in names if n not in SPANS):
                if name == "attention-fused":
                    results.append(
                        fused_case(
                            preset, args.accelforge_python, args.threads, Path(tmp), args.time_limit
                        )
                    )
                    print(f"attention-fused {preset}: done", flush=True)
                    continue
                zz = args.zigzag_python if Path(args.zigzag_python).exists() else None
                r = one_case(
                    name,
                    cases()[name],
                    preset,
                    args.accelforge_python,
                    zz,
                    args.threads,
                    Path(tmp),
                    args.time_limit,
                )
                results.append(r)
                print(
                    f"{name} {preset}: "
                    + "; ".join(
                        f"{a['schedule']}/{a['peer']}: words equal {a['dram_words_equal']}, energy "
                        f"{a['energy_rel_diff']:.1e}, latency {a['latency_rel_diff']:.1e}"
                        for a in agreement(r)
                    ),
                    flush=True,
                )
    if spans:
        (args.out / "spans.md").write_text(span_markdown(spans))
        (args.out / "spans.json").write_text(
            json.dumps({"versions": versions(args.accelforge_python), "spans": spans}, indent=1)
            + "\n"
        )
        print(span_markdown(spans))
    if results:
        rows = csv_rows(results)
        fields = sorted(
            {k for row in rows for k in row},
            key=lambda k: list(rows[0]).index(k) if k in rows[0] else len(rows[0]),
        )
        with (args.out / "peers.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        (args.out / "peers.md").write_text(markdown(results))
        summary = {"results": results, "agreement": [a for r in results for a in agreement(r)]}
        (args.out / "peers.json").write_text(json.dumps(summary, indent=1) + "\n")
        print(markdown(results))


if __name__ == "__main__":
    main()
