"""The analytical evaluator agrees, word for word, with a literal trace of tiny loop nests."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tracesim import simulate

from cosamt.arch.spec import Architecture, ArrayAxis, MemoryLevel, PEArray, VectorUnit
from cosamt.evaluate.evaluator import evaluate
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.workload.einsum import Einsum, batched, gemm

SIZES = (1, 2, 3, 4, 6)
PRIMES = {1: [], 2: [2], 3: [3], 4: [2, 2], 6: [2, 3]}


def make_arch(levels: int, rows: int, cols: int, multicast: bool) -> Architecture:
    mems = [
        MemoryLevel(name="GlobalBuffer", read_energy_pj=6, write_energy_pj=6),
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


def _evaluator_counts(op: Einsum, arch: Architecture, m: Mapping) -> tuple[dict[Any, Any], float]:
    met = evaluate(op, arch, m)
    assert met.valid, met.violations
    idx = {name: i for i, name in enumerate(arch.level_names)}
    return {
        (idx[ts.level], ts.tensor): (ts.reads, ts.writes) for ts in met.tensors
    }, met.compute_cycles


def _agree(op: Einsum, arch: Architecture, m: Mapping) -> None:
    got, cycles = _evaluator_counts(op, arch, m)
    sim = simulate(op, arch, m)
    keys = set(got) | set(sim.counts)
    diff = {
        k: (sim.counts.get(k, (0, 0)), got.get(k, (0, 0)))
        for k in keys
        if sim.counts.get(k, (0, 0)) != got.get(k, (0, 0))
    }
    assert not diff, f"(level, tensor): (simulated, evaluated) {diff}\n{m}"
    assert sim.steps == cycles
    assert sim.macs == math.prod(op.dims.values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(3))
def test_evaluator_matches_trace_three_levels(case: tuple[Einsum, Architecture, Mapping]) -> None:
    _agree(*case)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(2))
def test_evaluator_matches_trace_two_levels(case: tuple[Einsum, Architecture, Mapping]) -> None:
    _agree(*case)


def _arch2() -> Architecture:
    return make_arch(2, 4, 4, True)


def test_trace_of_the_hand_example() -> None:
    """8x8x8 GEMM, GB [k 8], DRAM [m 8, n 8]: the simulator reproduces the hand count."""
    op = gemm("g", 8, 8, 8)
    m = Mapping(
        levels=(
            LevelMapping(temporal=(Loop("k", 8),), keep=frozenset("XWY")),
            LevelMapping(temporal=(Loop("m", 8), Loop("n", 8)), keep=frozenset("XWY")),
        )
    )
    sim = simulate(op, _arch2(), m)
    assert sim.counts[(1, "X")] == (64, 0)
    assert sim.counts[(1, "W")] == (512, 0)
    assert sim.counts[(1, "Y")] == (0, 64)
    assert sim.counts[(0, "X")] == (512, 64)
    assert sim.counts[(0, "W")] == (512, 512)
    assert sim.counts[(0, "Y")] == (64, 64)
    assert sim.steps == 512
    _agree(op, _arch2(), m)
