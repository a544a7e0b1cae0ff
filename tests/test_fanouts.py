"""Fan-outs above the PE array (issue #18): a machine of chips, each with its own buffer and PE array.

The trace simulator walks two-fan-out nests word by word and must agree with the evaluator; the
exhaustive search (evaluator-scored) must confirm the MIP's optimum; hand counts pin the rules."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from support import PRIMES, SIZES, assert_trace_agrees
from tracesim import simulate

from cosamt.arch.presets import load_preset
from cosamt.arch.spec import (
    Architecture,
    ArrayAxis,
    DimClass,
    FanOut,
    MemoryLevel,
    PEArray,
    VectorUnit,
)
from cosamt.baselines.exhaustive import exhaustive_search_many
from cosamt.evaluate.evaluator import evaluate
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.solve.solver import SolveSettings, SolveStatus, solve_operator
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum, batched, gemm


def chips_arch(
    chips: int = 2,
    rows: int = 2,
    cols: int = 2,
    *,
    top: str = "DRAM",
    multicast: tuple[bool, bool] = (True, True),
    gb_bytes: int | None = None,
) -> Architecture:
    """Registers (per PE), GlobalBuffer (per chip, above the PE array), L2, DRAM; ``chips`` chips on
    axis ``chip`` below ``top`` (L2: the chips share L2; DRAM: each chip has its own L2)."""
    mems = [
        MemoryLevel(name="Registers", read_energy_pj=1, write_energy_pj=1),
        MemoryLevel(
            name="GlobalBuffer", capacity_bytes=gb_bytes, read_energy_pj=6, write_energy_pj=7
        ),
        MemoryLevel(name="L2", read_energy_pj=20, write_energy_pj=21),
        MemoryLevel(
            name="DRAM",
            read_energy_pj=200,
            write_energy_pj=200,
            read_bandwidth=8,
            write_bandwidth=8,
        ),
    ]
    return Architecture(
        name="chips",
        clock_ghz=1,
        word_bytes=2,
        mac_energy_pj=1,
        pe_array=PEArray(
            rows=ArrayAxis(size=rows),
            cols=ArrayAxis(size=cols),
            below="GlobalBuffer",
            multicast=multicast[0],
        ),
        fanouts=(FanOut(below=top, axes={"chip": ArrayAxis(size=chips)}, multicast=multicast[1]),),
        levels=tuple(mems),
        vector_unit=VectorUnit(lanes=4, energy_per_op_pj=1),
    )


@st.composite
def fanout_problems(draw: Any) -> tuple[Einsum, Architecture, Mapping]:
    if draw(st.booleans()):
        op = gemm("g", *(draw(st.sampled_from(SIZES)) for _ in range(3)))
    else:
        op = batched(*(draw(st.sampled_from(SIZES)) for _ in range(4)))
    arch = chips_arch(
        draw(st.sampled_from((2, 4))),
        draw(st.sampled_from((1, 2))),
        draw(st.sampled_from((1, 2))),
        top=draw(st.sampled_from(("L2", "DRAM"))),
        multicast=(draw(st.booleans()), draw(st.booleans())),
    )
    n = len(arch.levels)
    temporal: list[list[Loop]] = [[] for _ in range(n)]
    spatial: dict[int, list[SpatialLoop]] = {k: [] for k in arch.fanout_levels}
    room = {a: arch.axis_size(a) for a in arch.axis_names}
    for d in op.dims:
        for prime in PRIMES[op.dims[d]]:
            slot = draw(st.sampled_from([str(i) for i in range(n)] + list(arch.axis_names)))
            if slot in room and room[slot] % prime == 0:
                room[slot] //= prime
                spatial[arch.axis_level(slot)].append(SpatialLoop(d, prime, slot))
                continue
            level = int(slot) if slot not in room else arch.axis_level(slot)
            temporal[level].append(Loop(d, prime))
    names = [t.name for t in op.tensors]
    lms = []
    for i in range(n):
        keep = (
            frozenset(names) if i == n - 1 else frozenset(t for t in names if draw(st.booleans()))
        )
        lms.append(
            LevelMapping(
                temporal=tuple(draw(st.permutations(temporal[i]))),
                spatial=tuple(draw(st.permutations(spatial.get(i, [])))),
                keep=keep,
            )
        )
    return op, arch, Mapping(levels=tuple(lms))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fanout_problems())
def test_evaluator_matches_trace_with_two_fanouts(
    case: tuple[Einsum, Architecture, Mapping],
) -> None:
    assert_trace_agrees(*case)


def _chip_mapping(chip_dim: str) -> Mapping:
    """GEMM m=n=k=2 on 2 chips (unrolling ``chip_dim``) of a 1x1 array; everything else temporal
    in GlobalBuffer, which keeps every tensor; L2 keeps nothing."""
    inner = [Loop(d, 2) for d in "mnk" if d != chip_dim]
    return Mapping(
        levels=(
            LevelMapping(),
            LevelMapping(temporal=tuple(inner), keep=frozenset({"X", "W", "Y"})),
            LevelMapping(),
            LevelMapping(
                spatial=(SpatialLoop(chip_dim, 2, "chip"),), keep=frozenset({"X", "W", "Y"})
            ),
        )
    )


def _gemm() -> Einsum:
    op = gemm("g", 2, 2, 2)
    assert [t.name for t in op.tensors] == ["X", "W", "Y"]  # X[m,k], W[k,n], Y[m,n]
    return op


@pytest.mark.parametrize("multicast", [True, False])
def test_hand_counts_of_chips_unrolling_n(multicast: bool) -> None:
    """Chips unroll n. Each chip's GlobalBuffer holds X (2x2, all of it), its column of W (k=2) and
    its column of Y (m=2), loaded once. DRAM reads X once per chip without multicast (2 x 4 = 8)
    and once with multicast (4); W: each chip its own 2 words (4); Y: 4 words written, never read
    back. Each GlobalBuffer copy is written its tiles: X 4 + W 2 per chip, 12 in all."""
    op = _gemm()
    arch = chips_arch(2, 1, 1, multicast=(True, multicast))
    met = evaluate(op, arch, _chip_mapping("n"))
    assert met.valid, met.violations
    by = {(ts.level, ts.tensor): (ts.reads, ts.writes) for ts in met.tensors}
    assert by[("DRAM", "X")] == (4 if multicast else 8, 0)
    assert by[("DRAM", "W")] == (4, 0)
    assert by[("DRAM", "Y")] == (0, 4)
    gb = next(ls for ls in met.levels if ls.level == "GlobalBuffer")
    assert gb.instances == 2
    assert by[("GlobalBuffer", "X")][1] + by[("GlobalBuffer", "W")][1] == 12
    # GlobalBuffer: X, W and Y per chip (4 + 2 + 2 words) fit a chip's buffer, not half of it
    assert gb.occupancy_words == 8
    sim = simulate(op, arch, _chip_mapping("n"))
    idx = {name: i for i, name in enumerate(arch.level_names)}
    assert all(sim.counts[(idx[lv], t)] == v for (lv, t), v in by.items())


def test_hand_counts_of_chips_reducing_k() -> None:
    """Chips unroll k (a reduction): each chip sums its half of Y; the network adds the two halves
    on the way up, so DRAM is written Y's 4 words once, and no partial sum is read back."""
    op = _gemm()
    arch = chips_arch(2, 1, 1)
    met = evaluate(op, arch, _chip_mapping("k"))
    assert met.valid
    by = {(ts.level, ts.tensor): (ts.reads, ts.writes) for ts in met.tensors}
    assert by[("DRAM", "Y")] == (0, 4)
    assert by[("DRAM", "X")] == (4, 0)  # each chip its own column of X (k indexes X)
    # two chips of one PE each: 8 MACs in 4 cycles
    assert met.compute_cycles == 4
    assert met.utilisation == 1.0


def test_single_fanout_views_are_the_pe_array() -> None:
    arch = load_preset("edge")
    assert arch.fanouts == ()
    assert arch.axis_names == ("rows", "cols")
    assert arch.units == arch.pe_array.pes
    assert arch.fanout_levels == (arch.spatial_level,)
    assert all(
        arch.max_instances(i) == (arch.pe_array.pes if arch.is_private(i) else 1)
        for i in range(len(arch.levels))
    )


def _spec(**fanout: Any) -> dict[str, Any]:
    base = chips_arch().model_dump(mode="json")
    base["fanouts"] = [{"below": "DRAM", "axes": {"chip": {"size": 2}}, **fanout}]
    return base


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"below": "Nowhere"}, "fanouts[0].below names unknown level"),
        ({"below": "GlobalBuffer"}, "must be above the PE array's"),
        ({"axes": {"rows": {"size": 2}}}, "axis names must be unique"),
        ({"axes": {}}, "at least 1"),
    ],
)
def test_bad_fanouts_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Architecture.model_validate(_spec(**change))


def test_replicated_level_with_bandwidth_is_refused() -> None:
    spec = _spec()
    spec["levels"][1]["read_bandwidth"] = 16
    with pytest.raises(ValidationError, match="GlobalBuffer is replicated per instance of fanouts"):
        Architecture.model_validate(spec)


def test_reduction_needs_the_fanouts_spatial_reduction() -> None:
    op = _gemm()
    arch = Architecture.model_validate(_spec(spatial_reduction=False))
    assert "chip" not in arch.unroll_axes(op, "k")
    assert "chip" in arch.unroll_axes(op, "n")
    met = evaluate(op, arch, _chip_mapping("k"))
    assert any(v.rule.value == "spatial_reduction" for v in met.violations)
    only_output = Architecture.model_validate(
        _spec(axes={"chip": {"size": 2, "unrolls": [DimClass.OUTPUT.value]}})
    )
    assert any(
        v.rule.value == "axis_unrolls"
        for v in evaluate(op, only_output, _chip_mapping("k")).violations
    )


def test_spatial_loop_on_the_wrong_fanout_is_flagged() -> None:
    op = _gemm()
    m = _chip_mapping("n")
    moved = Mapping(
        levels=(
            m.levels[0],
            m.levels[1],
            LevelMapping(spatial=m.levels[3].spatial),
            LevelMapping(keep=m.levels[3].keep),
        )
    )
    met = evaluate(op, chips_arch(2, 1, 1), moved)
    assert any(v.rule.value == "spatial_level" for v in met.violations)


CASES = [
    (gemm("g", 4, 2, 2), dict(chips=2, rows=2, cols=1, top="DRAM", gb_bytes=16)),
    (
        gemm("g", 2, 4, 2),
        dict(chips=2, rows=1, cols=2, top="L2", multicast=(True, False), gb_bytes=12),
    ),
    (
        batched(2, 2, 2, 2),
        dict(chips=2, rows=2, cols=1, top="DRAM", multicast=(False, True), gb_bytes=16),
    ),
]


@cache
def _exhaustive_optima(case: int) -> dict[Objective, Any]:
    """Both objectives' optima from one enumeration of the case (minutes for the largest)."""
    op, kw = CASES[case]
    objectives = [Objective.LATENCY, Objective.ENERGY]
    return exhaustive_search_many(op, chips_arch(**kw), objectives, limit=3_000_000)


@pytest.mark.slow  # the exhaustive oracle enumerates up to 3e6 nests per case (minutes)
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("objective", [Objective.LATENCY, Objective.ENERGY])
def test_mip_matches_exhaustive_with_two_fanouts(case: int, objective: Objective) -> None:
    op, kw = CASES[case]
    arch = chips_arch(**kw)
    ex = _exhaustive_optima(case)[objective]
    res = solve_operator(
        op, arch, SolveSettings(objective=objective, time_limit_s=300.0, threads=1, padding=False)
    )
    assert res.status is SolveStatus.OPTIMAL, res
    assert res.mapping is not None and res.objective is not None and res.proven
    got = evaluate(op, arch, res.mapping)
    assert not got.violations, got.violations
    key = "latency_cycles" if objective is Objective.LATENCY else "energy_pj"
    mine, best = getattr(got, key), getattr(ex.metrics, key)
    assert abs(res.objective - mine) <= 1e-6 * mine  # the MIP's figure is the evaluator's
    assert abs(mine - best) <= 1e-9 * best, f"MIP {res.mapping}\nexhaustive {ex.mapping}"
