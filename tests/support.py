"""Data and strategies shared by test modules, importable at collection time (parametrize and
hypothesis need them before fixtures exist); fixtures live in conftest.py."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from tracesim import SimResult, simulate
from typer.testing import CliRunner

from cosamt.arch.presets import load_preset
from cosamt.arch.spec import (
    Architecture,
    ArrayAxis,
    MemoryLevel,
    PEArray,
    RoleBytes,
    VectorUnit,
)
from cosamt.evaluate.evaluator import evaluate
from cosamt.fusion.schemes import Group, Scheme
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.workload.einsum import Einsum, Role, Tensor, batched, gemm

# GPT-2's FFN1 (m 64 tokens, e 768, f 3072) on the edge preset.
FFN1_SCHEDULE: dict[str, Any] = {
    "format": "cosamt-schedule/1",
    "arch": "edge",
    "groups": [
        {
            "name": "ffn1",
            "operators": ["ffn1"],
            "levels": [
                {"level": "DRAM", "temporal": [["f", 24]], "keep": ["X", "W", "Y"]},
                {
                    "level": "GlobalBuffer",
                    "temporal": [["f", 4], ["m", 2], ["e", 768]],
                    "spatial": [["m", 32, "rows"], ["f", 32, "cols"]],
                    "keep": ["X", "W", "Y"],
                },
            ],
        }
    ],
}


def agrees(agreement: float | None, rel: float = 1e-6) -> bool:
    """A MIP/evaluator agreement that exists (the group was solved by the MIP) and is within ``rel``."""
    return agreement is not None and agreement <= rel


SIZES = (1, 2, 3, 4, 6)
PRIMES = {1: [], 2: [2], 3: [3], 4: [2, 2], 6: [2, 3]}


def make_arch(
    levels: int, rows: int, cols: int, multicast: bool, gb_bytes: int | None = None
) -> Architecture:
    """The small test architecture: [Registers,] GlobalBuffer (unbounded unless ``gb_bytes``), DRAM
    at 8 words/cycle; energies 1/6/200 pJ per access, 1 pJ per MAC and per vector op."""
    mems = [
        MemoryLevel(
            name="GlobalBuffer", capacity_bytes=gb_bytes, read_energy_pj=6, write_energy_pj=6
        ),
        MemoryLevel(
            name="DRAM",
            read_energy_pj=200,
            write_energy_pj=200,
            read_bandwidth=8,
            write_bandwidth=8,
        ),
    ]
    if levels == 3:
        mems.insert(0, MemoryLevel(name="Registers", read_energy_pj=1, write_energy_pj=1))
    return Architecture(
        name=f"sim{levels}",
        clock_ghz=1,
        word_bytes=2,
        mac_energy_pj=1,
        pe_array=PEArray(
            rows=ArrayAxis(size=rows),
            cols=ArrayAxis(size=cols),
            below="GlobalBuffer",
            multicast=multicast,
        ),
        levels=tuple(mems),
        vector_unit=VectorUnit(lanes=4, energy_per_op_pj=1),
    )


@st.composite
def problems(draw: Any, levels: int) -> tuple[Einsum, Architecture, Mapping]:
    if draw(st.booleans()):
        op = gemm(
            "g",
            draw(st.sampled_from(SIZES)),
            draw(st.sampled_from(SIZES)),
            draw(st.sampled_from(SIZES)),
        )
    else:
        op = batched(*(draw(st.sampled_from(SIZES)) for _ in range(4)))
    arch = make_arch(
        levels,
        draw(st.sampled_from((1, 2, 4))),
        draw(st.sampled_from((1, 2, 4))),
        draw(st.booleans()),
    )
    n = len(arch.levels)
    p = arch.spatial_level
    temporal: list[list[Loop]] = [[] for _ in range(n)]
    spatial: list[SpatialLoop] = []
    room = {"rows": arch.pe_array.rows.size, "cols": arch.pe_array.cols.size}
    for d, size in op.dims.items():
        for prime in PRIMES[size]:
            slot = draw(
                st.sampled_from([("t", i) for i in range(n)] + [("s", "rows"), ("s", "cols")])
            )
            if slot[0] == "s" and room[slot[1]] % prime == 0:
                axis = str(slot[1])
                room[axis] //= prime
                spatial.append(SpatialLoop(d, prime, axis))
                continue
            level = int(slot[1]) if slot[0] == "t" else p
            same = [j for j, lp in enumerate(temporal[level]) if lp.dim == d]
            if same and draw(st.booleans()):  # merge with a loop of the same dim at this level
                j = same[0]
                temporal[level][j] = Loop(d, temporal[level][j].factor * prime)
            else:
                temporal[level].append(Loop(d, prime))
        if draw(st.integers(0, 4)) == 0:  # a factor-1 loop somewhere
            temporal[draw(st.integers(0, n - 1))].append(Loop(d, 1))
    if spatial and draw(st.integers(0, 3)) == 0:
        spatial.append(SpatialLoop(draw(st.sampled_from(list(op.dims))), 1, "rows"))
    names = [t.name for t in op.tensors]
    lms = []
    for i in range(n):
        order = draw(st.permutations(temporal[i]))
        keep = (
            frozenset(names) if i == n - 1 else frozenset(t for t in names if draw(st.booleans()))
        )
        sp = tuple(draw(st.permutations(spatial))) if i == p else ()
        lms.append(LevelMapping(temporal=tuple(order), spatial=sp, keep=keep))
    return op, arch, Mapping(levels=tuple(lms))


def one_width(name: str) -> Architecture:
    """A preset at one word width everywhere (AccelForge's widths are per tensor, not per level:
    gemmini's and simba's wide accumulators are not exported)."""
    a = load_preset(name)
    return a.model_copy(
        update={
            "levels": tuple(lv.model_copy(update={"role_bytes": RoleBytes()}) for lv in a.levels)
        }
    )


def assert_trace_agrees(
    op: Einsum, arch: Architecture, m: Mapping, on_chip: frozenset[str] = frozenset()
) -> SimResult:
    """The evaluator's reads and writes per (level, tensor), its compute cycles and the MAC count
    equal the trace simulator's for a valid mapping; the trace, for further checks."""
    met = evaluate(op, arch, m, on_chip=on_chip)
    assert met.valid, met.violations
    idx = {name: i for i, name in enumerate(arch.level_names)}
    got = {(idx[ts.level], ts.tensor): (ts.reads, ts.writes) for ts in met.tensors}
    sim = simulate(op, arch, m, on_chip=on_chip)
    keys = set(got) | set(sim.counts)
    diff = {
        k: (sim.counts.get(k, (0, 0)), got.get(k, (0, 0)))
        for k in keys
        if sim.counts.get(k, (0, 0)) != got.get(k, (0, 0))
    }
    assert not diff, f"(level, tensor): (simulated, evaluated) {diff}\n{m}\non chip: {on_chip}"
    assert sim.steps == met.compute_cycles
    assert sim.macs == math.prod(op.dims.values())
    return sim


def hf_cli_run(
    tmp_path: Path, cfg: dict[str, Any], seq_len: int, *, solve: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """``cosamt workload --json`` (and ``cosamt solve --json``) on an edge instance whose model is
    ``cfg`` written as config.json (fusion none, one thread): the listed operators and the solve
    report. Each command must exit 0."""
    from cosamt.cli import app  # at call time: the CLI's console reads COLUMNS when imported

    (tmp_path / "config.json").write_text(json.dumps(cfg))
    inst = tmp_path / "inst.json"
    options = {"time_limit_s": 120, "threads": 1, "fusion": "none"}
    model = {"hf_config": "config.json"}
    inst.write_text(
        json.dumps({"model": model, "seq_len": seq_len, "arch": "edge", "options": options})
    )
    runner = CliRunner()
    work = runner.invoke(app, ["workload", str(inst), "--json"])
    assert work.exit_code == 0, work.stdout
    operators: list[dict[str, Any]] = json.loads(work.stdout)["operators"]
    if not solve:
        return operators, None
    solved = runner.invoke(app, ["solve", str(inst), "--json"])
    assert solved.exit_code == 0, solved.stdout
    return operators, json.loads(solved.stdout)


def listed_macs(operators: list[dict[str, Any]]) -> int:
    """Model MACs from ``cosamt workload --json``'s operators (each MAC operator x its count)."""
    return sum(op["macs"] * op["count"] for op in operators if op["kind"] == "mac")


def solved_operators(report: dict[str, Any]) -> set[str]:
    return {op for g in report["groups"] for op in g["operators"]}


def ffn_chain_4() -> Group:
    """H[m,f] = X[m,e] W1[e,f]; Y[m,g] = H[m,f] W2[f,g], every dimension 4 (16-word tensors), fused
    over m: H is an output of the first member and an input of the second, kept on chip."""
    ffn1 = Einsum(
        "ffn1",
        {"m": 4, "e": 4, "f": 4},
        (Tensor("X", ("m", "e"), Role.INPUT), Tensor("W1", ("e", "f"), Role.WEIGHT),
         Tensor("H", ("m", "f"), Role.OUTPUT)),
    )  # fmt: skip
    ffn2 = Einsum(
        "ffn2",
        {"m": 4, "f": 4, "g": 4},
        (Tensor("H", ("m", "f"), Role.INPUT), Tensor("W2", ("f", "g"), Role.WEIGHT),
         Tensor("Y", ("m", "g"), Role.OUTPUT)),
    )  # fmt: skip
    return Group(
        "ffn1+ffn2",
        Scheme.FFN_CHAIN,
        (ffn1, ffn2),
        shared_dims=frozenset({"m"}),
        on_chip=frozenset({"H"}),
    )
