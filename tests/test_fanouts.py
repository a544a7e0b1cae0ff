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
    reg_bw: tuple[float | None, float | None] = (None, None),
    gb_bw: tuple[float | None, float | None] = (None, None),
    l2_bw: tuple[float | None, float | None] = (None, None),
    dram_bw: float = 8,
    hops: tuple[float, float] = (0.0, 0.0),
) -> Architecture:
    """Registers (per PE), GlobalBuffer (per chip, above the PE array), L2, DRAM; ``chips`` chips on
    axis ``chip`` below ``top`` (L2: the chips share L2; DRAM: each chip has its own L2).
    ``reg_bw`` / ``gb_bw`` / ``l2_bw``: (read, write) bytes per cycle of one instance of Registers /
    GlobalBuffer / L2; ``hops``: pJ per word delivered across the PE array / the chip fan-out."""
    mems = [
        MemoryLevel(
            name="Registers",
            read_energy_pj=1,
            write_energy_pj=1,
            read_bandwidth=reg_bw[0],
            write_bandwidth=reg_bw[1],
        ),
        MemoryLevel(
            name="GlobalBuffer",
            capacity_bytes=gb_bytes,
            read_energy_pj=6,
            write_energy_pj=7,
            read_bandwidth=gb_bw[0],
            write_bandwidth=gb_bw[1],
        ),
        MemoryLevel(
            name="L2",
            read_energy_pj=20,
            write_energy_pj=21,
            read_bandwidth=l2_bw[0],
            write_bandwidth=l2_bw[1],
        ),
        MemoryLevel(
            name="DRAM",
            read_energy_pj=200,
            write_energy_pj=200,
            read_bandwidth=dram_bw,
            write_bandwidth=dram_bw,
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
            hop_energy_pj=hops[0],
        ),
        fanouts=(
            FanOut(
                below=top,
                axes={"chip": ArrayAxis(size=chips)},
                multicast=multicast[1],
                hop_energy_pj=hops[1],
            ),
        ),
        levels=tuple(mems),
        vector_unit=VectorUnit(lanes=4, energy_per_op_pj=1),
    )


BANDWIDTHS: tuple[tuple[float | None, float | None], ...] = ((None, None), (2, 3), (1, None))


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
        reg_bw=draw(st.sampled_from(BANDWIDTHS)),
        gb_bw=draw(st.sampled_from(BANDWIDTHS)),
        hops=draw(st.sampled_from(((0.0, 0.0), (0.5, 3.0), (0.0, 1.0)))),
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
    op, arch, m = case
    sim = assert_trace_agrees(op, arch, m)
    # bandwidth per instance: each instance of a private or replicated level moves its share, the
    # words the trace counts at the level over the instances it enumerates (widths are 1 here)
    met = evaluate(op, arch, m)
    wb = arch.word_bytes
    for i, (lv, ls) in enumerate(zip(arch.levels, met.levels, strict=True)):
        per = sim.per_instance[i]
        assert ls.instances == len(per)
        for bw, got, k in (
            (lv.read_bandwidth, ls.read_cycles, 0),
            (lv.write_bandwidth, ls.write_cycles, 1),
        ):
            share = sum(rw[k] for rw in per.values()) / len(per)
            assert got == pytest.approx(share * wb / bw if bw else 0.0, rel=1e-12)
    # network energy: every word the trace delivers across a fan-out, once per destination
    hop = {arch.level_index(f.below): f.hop_energy_pj for f in arch.all_fanouts}
    expected = sum(
        words * sum(e for lvl, e in hop.items() if child < lvl <= parent)
        for (child, parent, _t), words in sim.crossing.items()
    )
    assert met.network_energy_pj == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_inputs_share_a_replicated_level_evenly() -> None:
    """Chips unroll n: every chip's GlobalBuffer is written the same words (its X and W fills and
    Y updates), so a chip's share is exactly what the trace counts at each chip."""
    op = _gemm()
    arch = chips_arch(2, 1, 1)
    sim = simulate(op, arch, _chip_mapping("n"))
    per = sim.per_instance[arch.level_index("GlobalBuffer")]
    assert len(per) == 2 and len(set(per.values())) == 1
    assert next(iter(per.values())) == (10, 8)  # the hand count of the next test


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


def test_hand_count_of_bandwidth_per_chip() -> None:
    """Chips unroll n; each chip runs m then k over its column (4 MAC steps). Per chip the
    GlobalBuffer is read X 4 (one word per step) + W 4 (k is innermost, so W's word changes every
    step) + Y 2 (its column sent to DRAM once) = 10 words and written X 4 + W 2 + Y 2 (one update
    per m, the k loop reduces in the latch) = 8. At 1 word (2 bytes) per cycle read and 2 words per
    cycle write per chip: 10 read cycles, 4 write cycles, and latency 10 (20 if both chips shared
    one port)."""
    op = _gemm()
    arch = chips_arch(2, 1, 1, gb_bw=(2, 4))
    met = evaluate(op, arch, _chip_mapping("n"))
    assert met.valid, met.violations
    gb = next(ls for ls in met.levels if ls.level == "GlobalBuffer")
    assert (gb.reads, gb.writes, gb.instances) == (20, 16, 2)
    assert (gb.read_cycles, gb.write_cycles) == (10, 4)
    assert met.compute_cycles == 4 and met.latency_cycles == 10


def test_hand_count_of_bandwidth_per_pe() -> None:
    """A 2x1 PE array unrolls m (one chip, no chip loop). Registers (per PE) keep W: k2 n2 sit
    above them at GlobalBuffer, n outermost, and Registers hold one word of W per PE (k, n fixed);
    each PE's copy is filled 4 times = 4 words written per PE (the two PEs share one multicast
    read). Registers read W once per MAC: 1 word per step, 4 steps = 4 reads per PE. At 0.5 words
    (1 byte) per cycle per PE each way: 8 cycles read, 8 write; latency 8, not 16."""
    op = _gemm()
    arch = chips_arch(2, 2, 1, reg_bw=(1, 1))
    names = frozenset({"X", "W", "Y"})
    m = Mapping(
        levels=(
            LevelMapping(keep=frozenset({"W"})),
            LevelMapping(
                temporal=(Loop("n", 2), Loop("k", 2)),
                spatial=(SpatialLoop("m", 2, "rows"),),
                keep=names,
            ),
            LevelMapping(),
            LevelMapping(keep=names),
        )
    )
    met = evaluate(op, arch, m)
    assert met.valid, met.violations
    reg = next(ls for ls in met.levels if ls.level == "Registers")
    assert (reg.reads, reg.writes, reg.instances) == (8, 8, 2)
    assert (reg.read_cycles, reg.write_cycles) == (8, 8)
    assert met.latency_cycles == 8
    sim = simulate(op, arch, m)
    assert set(sim.per_instance[0].values()) == {(4, 4)}


def test_mip_latency_is_the_evaluators_with_bandwidth_per_instance() -> None:
    """One word per cycle each way on every instance of Registers (per PE), GlobalBuffer and L2
    (per chip): the MIP's proven optimum is the evaluator's latency of the schedule it returns,
    and no faster than the 64 MACs on 4 units (16 cycles)."""
    op = gemm("g", 4, 4, 4)
    arch = chips_arch(2, 2, 1, top="DRAM", reg_bw=(2, 2), gb_bw=(2, 2), l2_bw=(2, 2))
    res = solve_operator(
        op, arch, SolveSettings(objective=Objective.LATENCY, threads=1, padding=False)
    )
    assert res.status is SolveStatus.OPTIMAL and res.proven and res.mapping is not None
    got = evaluate(op, arch, res.mapping)
    assert not got.violations, got.violations
    assert res.objective is not None
    assert abs(res.objective - got.latency_cycles) <= 1e-6 * got.latency_cycles
    assert got.latency_cycles >= 16


def test_hand_count_of_network_energy() -> None:
    """Chips unroll n (the mapping of the bandwidth hand count). Across the chip fan-out (DRAM to
    each chip's GlobalBuffer) each chip receives X 4 + W 2 words and sends Y 2: 16 words over 2
    chips, at 3 pJ = 48 pJ; the multicast X costs per chip. Across each chip's 1x1 PE array
    (GlobalBuffer to the latch) a PE receives X 4 + W 4 and sends Y 2: 20 words on 2 chips at
    0.5 pJ = 10 pJ. The energy is the hop-free energy plus 58 pJ."""
    op = _gemm()
    m = _chip_mapping("n")
    base = evaluate(op, chips_arch(2, 1, 1), m)
    met = evaluate(op, chips_arch(2, 1, 1, hops=(0.5, 3.0)), m)
    assert met.network_energy_pj == pytest.approx(16 * 3.0 + 20 * 0.5)
    assert met.energy_pj == pytest.approx(base.energy_pj + 58)
    assert base.network_energy_pj == 0 and "network_energy_pj" not in base.to_json()


def test_mip_energy_is_the_evaluators_with_network_energy() -> None:
    """With hop energies on both fan-outs the MIP's proven minimum energy is the evaluator's
    energy of its schedule, network energy included, and costs more than the hop-free optimum."""
    op = gemm("g", 4, 4, 2)
    settings = SolveSettings(objective=Objective.ENERGY, threads=1, padding=False)
    plain = solve_operator(op, chips_arch(2, 2, 1), settings)
    arch = chips_arch(2, 2, 1, hops=(0.5, 4.0))
    res = solve_operator(op, arch, settings)
    assert res.status is SolveStatus.OPTIMAL and res.proven and res.mapping is not None
    got = evaluate(op, arch, res.mapping)
    assert not got.violations and got.network_energy_pj > 0
    assert res.objective is not None and plain.objective is not None
    assert abs(res.objective - got.energy_pj) <= 1e-6 * got.energy_pj
    assert res.objective > plain.objective


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
    # bandwidth per instance on the per-PE Registers and the per-chip GlobalBuffer
    (
        gemm("g", 4, 2, 2),
        dict(chips=2, rows=2, cols=1, top="DRAM", gb_bytes=16, reg_bw=(2, 1), gb_bw=(1, 2)),
    ),
    # network energy per word crossing each fan-out
    (
        gemm("g", 2, 4, 2),
        dict(chips=2, rows=1, cols=2, top="L2", gb_bytes=12, hops=(0.5, 4.0)),
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
