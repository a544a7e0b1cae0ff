"""The analytical evaluator on cases counted by hand (arithmetic in the comments), plus properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import make_arch, problems
from tracesim import simulate

from cosamt.arch.spec import Architecture
from cosamt.evaluate.evaluator import evaluate
from cosamt.evaluate.metrics import Metrics
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.schedule.violations import Rule
from cosamt.workload.einsum import gemm

ALL = frozenset("XWY")
NONE: frozenset[str] = frozenset()


def arch2(*, multicast: bool = True, gb_bytes: int = 1024) -> Architecture:
    return make_arch(2, 4, 4, multicast, gb_bytes)


def arch3() -> Architecture:
    return make_arch(3, 1, 1, True)


def rw(met: Metrics) -> dict[tuple[str, str], tuple[int, int]]:
    """(level, tensor) -> (reads, writes)."""
    return {(ts.level, ts.tensor): (ts.reads, ts.writes) for ts in met.tensors}


def lm(
    temporal: tuple[Loop, ...] = (),
    keep: frozenset[str] = ALL,
    spatial: tuple[SpatialLoop, ...] = (),
) -> LevelMapping:
    return LevelMapping(temporal=temporal, spatial=spatial, keep=keep)


def check_against_trace(op: Any, arch: Architecture, m: Mapping, met: Metrics) -> None:
    sim = simulate(op, arch, m)
    names = arch.level_names
    assert {(names[i], t): c for (i, t), c in sim.counts.items()} == rw(met)
    assert sim.steps == met.compute_cycles


# ---- (a) a 2-level GEMM --------------------------------------------------------------------------
A_MAPPING = Mapping(levels=(lm((Loop("k", 8),)), lm((Loop("m", 8), Loop("n", 8)))))


def test_a_two_level_gemm() -> None:
    op, arch = gemm("g", 8, 8, 8), arch2()
    met = evaluate(op, arch, A_MAPPING)
    assert met.valid, met.violations
    # Tiles at GB: X[m,k] = 1x8 = 8 words, W[k,n] = 8x1 = 8, Y[m,n] = 1x1 = 1.
    # GB <- DRAM, loops above GB = [m 8, n 8]:
    #   X (m,k): trailing n is irrelevant -> F = 8   -> DRAM reads 8*8 = 64,  GB writes 64
    #   W (k,n): n innermost is relevant  -> F = 64  -> DRAM reads 8*64 = 512, GB writes 512
    #   Y (m,n): F = 64 = R (each tile visited once) -> GB reads 1*64 = 64, DRAM writes 64, no read-back
    # latch <- GB, loops above the latch = [m 8, n 8, k 8] (one word per fill):
    #   X, W: k innermost relevant -> F = 512 -> GB reads 512 each
    #   Y: trailing k dropped -> F = 64 = R -> GB written 64 updates, read back 64 - 64 = 0
    assert rw(met) == {
        ("DRAM", "X"): (64, 0),
        ("DRAM", "W"): (512, 0),
        ("DRAM", "Y"): (0, 64),
        ("GlobalBuffer", "X"): (512, 64),
        ("GlobalBuffer", "W"): (512, 512),
        ("GlobalBuffer", "Y"): (64, 64),
    }
    assert met.compute_cycles == 8 * 8 * 8
    # DRAM traffic: (576 reads + 64 writes) * 2 bytes = 1280 bytes; read cycles 576*2/8 = 144 < 512.
    assert met.dram_bytes == 1280
    assert met.latency_cycles == 512
    # energy: 512 MACs * 1 + GB (1088 reads + 640 writes) * 6 + DRAM 640 * 200 = 512 + 10368 + 128000
    assert met.energy_pj == pytest.approx(138880)
    # occupancy at GB: 8 + 8 + 1 = 17 words
    assert met.levels[0].occupancy_words == 17
    check_against_trace(op, arch, A_MAPPING, met)


# ---- (b) spatial unrolling with and without multicast ---------------------------------------------
B_OUTPUT_STATIONARY = Mapping(
    levels=(
        lm((Loop("k", 4),), spatial=(SpatialLoop("m", 4, "rows"), SpatialLoop("n", 4, "cols"))),
        lm(),
    )
)
B_REDUCTION_SPATIAL = Mapping(
    levels=(
        lm((Loop("m", 4),), spatial=(SpatialLoop("k", 4, "rows"), SpatialLoop("n", 4, "cols"))),
        lm(),
    )
)


def test_b_spatial_multicast() -> None:
    op = gemm("g", 4, 4, 4)
    # m on rows, n on cols, k 4 in time: 16 PEs, 4 steps.
    # latch <- GB, loops above the latch = [k 4]:
    #   X (m,k): F = 4; with multicast one read per distinct tile: spatial loops indexing X = m 4
    #            -> GB reads 1 * 4 * 4 = 16 (each PE row shares its X word)
    #   W (k,n): likewise 16 (n 4 distinct tiles per step)
    #   Y (m,n): trailing k dropped -> F = 1 = R; D = m4*n4 = 16 -> GB written 16, no read-back
    # GB <- DRAM: no loops above GB, F = 1: X, W tiles are 4x4 = 16 words each, Y 16 words.
    met = evaluate(op, arch2(), B_OUTPUT_STATIONARY)
    assert met.valid, met.violations
    assert rw(met) == {
        ("GlobalBuffer", "X"): (16, 16),
        ("GlobalBuffer", "W"): (16, 16),
        ("GlobalBuffer", "Y"): (16, 16),
        ("DRAM", "X"): (16, 0),
        ("DRAM", "W"): (16, 0),
        ("DRAM", "Y"): (0, 16),
    }
    assert met.compute_cycles == 4
    check_against_trace(op, arch2(), B_OUTPUT_STATIONARY, met)
    # Without multicast every PE gets its own copy: D = 16 PEs -> GB reads X 1*4*16 = 64, W 64.
    # Outputs are still reduced/merged per tile: Y unchanged.
    met_nomc = evaluate(op, arch2(multicast=False), B_OUTPUT_STATIONARY)
    got = rw(met_nomc)
    assert got[("GlobalBuffer", "X")] == (64, 16) and got[("GlobalBuffer", "W")] == (64, 16)
    assert got[("GlobalBuffer", "Y")] == (16, 16)
    assert got[("DRAM", "X")] == (16, 0)
    check_against_trace(op, arch2(multicast=False), B_OUTPUT_STATIONARY, met_nomc)


def test_b_spatial_reduction_multicast() -> None:
    op = gemm("g", 4, 4, 4)
    # k on rows (reduced in the array), n on cols, m 4 in time.
    # latch <- GB, loops above the latch = [m 4]:
    #   X (m,k): F = 4, distinct tiles per step = k 4 -> GB reads 16 (no multicast: 16 PEs -> 64)
    #   W (k,n): trailing m irrelevant -> F = 1; D = k4*n4 = 16 -> GB reads 16 either way
    #   Y (m,n): F = 4 = R; the 4 k-PEs of a column are summed: D = n 4 -> GB written 1*4*4 = 16
    for multicast, x_reads in ((True, 16), (False, 64)):
        arch = arch2(multicast=multicast)
        met = evaluate(op, arch, B_REDUCTION_SPATIAL)
        assert met.valid, met.violations
        got = rw(met)
        assert got[("GlobalBuffer", "X")] == (x_reads, 16)
        assert got[("GlobalBuffer", "W")] == (16, 16)
        assert got[("GlobalBuffer", "Y")] == (16, 16)
        check_against_trace(op, arch, B_REDUCTION_SPATIAL, met)


# ---- (c) the reuse rule skips irrelevant loops across two levels ----------------------------------
def test_c_reuse_skips_irrelevant_loops_across_two_levels() -> None:
    op, arch = gemm("g", 6, 2, 4), arch3()
    # W[k,n] kept in Reg (and DRAM); GB keeps nothing. Reg tile of W: k 2 -> 2 words.
    # Loops above Reg, outermost first: DRAM [n 2, k 2, m 3], GB [m 2].
    # Both the GB loop (m 2) and DRAM's innermost (m 3) do not index W: both dropped,
    # F = n2 * k2 = 4 = R: each of W's 4 Reg tiles is loaded exactly once.
    # -> DRAM reads W 2 * 4 = 8 (= |W|), Reg writes 8.
    # latch <- Reg: loops above the latch end with k 2 (relevant) -> F = 2*2*3*2*2 = 48 -> Reg reads 48.
    m = Mapping(
        levels=(
            lm((Loop("k", 2),), keep=frozenset("W")),
            lm((Loop("m", 2),), keep=NONE),
            lm((Loop("n", 2), Loop("k", 2), Loop("m", 3))),
        )
    )
    met = evaluate(op, arch, m)
    assert met.valid, met.violations
    got = rw(met)
    assert got[("DRAM", "W")] == (8, 0)
    assert got[("Registers", "W")] == (48, 8)
    assert {(ts.level, ts.tensor): ts.fills for ts in met.tensors}[("Registers", "W")] == 4
    check_against_trace(op, arch, m, met)
    # Contrast: move m 3 outside k 2 at DRAM: [n 2, m 3, k 2] + GB [m 2] -> only m 2 is dropped,
    # F = 2*3*2 = 12 (R = 4): DRAM reads W 2 * 12 = 24.
    m2 = Mapping(levels=(m.levels[0], m.levels[1], lm((Loop("n", 2), Loop("m", 3), Loop("k", 2)))))
    met2 = evaluate(op, arch, m2)
    assert rw(met2)[("DRAM", "W")] == (24, 0)
    assert rw(met2)[("Registers", "W")] == (48, 24)
    check_against_trace(op, arch, m2, met2)


# ---- (d) output read-back ---------------------------------------------------------------------
def test_d_output_read_back() -> None:
    op, arch = gemm("g", 4, 4, 4), arch2()
    # DRAM [k 2, m 4] (a reduction loop outside the output-relevant m), GB [n 4, k 2].
    # Y tile at GB: m1 x n4 = 4 words.
    # GB <- DRAM: loops above GB = [k 2, m 4], m innermost relevant -> F = 8, R = 4 (distinct rows)
    #   DRAM written 4*8 = 32, DRAM reads back 4*(8-4) = 16 (second k half re-reads each row)
    #   GB reads 4*8 = 32 (sends updates), GB written 16 (read-backs)
    # latch <- GB: loops above the latch = [k 2, m 4, n 4, k 2], trailing k 2 dropped
    #   -> F = 2*4*4 = 32, R = 16: GB written 32 updates, GB reads 1*(32-16) = 16 back to the latch
    # Totals: GB Y reads 32 + 16 = 48, writes 16 + 32 = 48; DRAM Y reads 16, writes 32.
    m = Mapping(levels=(lm((Loop("n", 4), Loop("k", 2))), lm((Loop("k", 2), Loop("m", 4)))))
    met = evaluate(op, arch, m)
    assert met.valid, met.violations
    got = rw(met)
    assert got[("DRAM", "Y")] == (16, 32)
    assert got[("GlobalBuffer", "Y")] == (48, 48)
    check_against_trace(op, arch, m, met)
    # Swapping the DRAM loops ([m 4, k 2]) keeps each row in GB across k: no DRAM read-back.
    m_swapped = Mapping(levels=(m.levels[0], lm((Loop("m", 4), Loop("k", 2)))))
    assert rw(evaluate(op, arch, m_swapped))[("DRAM", "Y")] == (0, 16)


# ---- (e) factor-1 loops are ignored ---------------------------------------------------------------
def test_e_factor_one_loops_are_ignored() -> None:
    op, arch = gemm("g", 8, 8, 8), arch2()
    # Adding k 1 innermost at DRAM would, if counted, make X's last loop "relevant" and give
    # F = 8*8*1 = 64 fills (DRAM X reads 512 instead of 64); m 1 innermost at GB would make the
    # latch's last loop irrelevant for X/W. Neither changes anything.
    padded = Mapping(
        levels=(
            lm((Loop("n", 1), Loop("k", 8), Loop("m", 1))),
            lm((Loop("m", 8), Loop("k", 1), Loop("n", 8), Loop("k", 1))),
        )
    )
    base, met = evaluate(op, arch, A_MAPPING), evaluate(op, arch, padded)
    assert met.valid, met.violations
    assert rw(met) == rw(base)
    assert rw(met)[("DRAM", "X")] == (64, 0)
    assert met.energy_pj == base.energy_pj and met.latency_cycles == base.latency_cycles
    check_against_trace(op, arch, padded, met)


# ---- (f) violations ---------------------------------------------------------------------------
def test_f_capacity_overflow_is_named() -> None:
    # GB of 32 bytes = 16 words; the (a) tiles need 8 + 8 + 1 = 17 words.
    met = evaluate(gemm("g", 8, 8, 8), arch2(gb_bytes=32), A_MAPPING)
    assert not met.valid
    (v,) = met.violations
    assert (v.rule, v.level, v.found, v.expected) == (
        Rule.CAPACITY,
        "GlobalBuffer",
        "17 words",
        "at most 16 words",
    )
    assert str(v).startswith("GlobalBuffer: ") and "capacity is 16 words" in str(v)
    # 34 bytes = 17 words is exactly enough
    assert evaluate(gemm("g", 8, 8, 8), arch2(gb_bytes=34), A_MAPPING).valid


def test_f_factor_product_mismatch_is_named() -> None:
    # m loops multiply to 4 but m = 8.
    m = Mapping(levels=(lm((Loop("k", 8),)), lm((Loop("m", 4), Loop("n", 8)))))
    met = evaluate(gemm("g", 8, 8, 8), arch2(), m)
    assert not met.valid
    (v,) = met.violations
    assert (v.rule, v.dimension, v.found, v.expected) == (Rule.FACTOR_PRODUCT, "m", "4", "8")
    assert str(v) == "dimension m: loop factors multiply to 4, expected 8"


# ---- (g) monotonicity properties ---------------------------------------------------------------
def _with_level(arch: Architecture, i: int, **update: Any) -> Architecture:
    levels = list(arch.levels)
    levels[i] = levels[i].model_copy(update=update)
    return arch.model_copy(update={"levels": tuple(levels)})


@settings(max_examples=100, deadline=None)
@given(problems(3), st.sampled_from((1.0, 2.0, 8.0, 64.0)))
def test_g_halving_dram_bandwidth_never_lowers_latency(case: Any, bw: float) -> None:
    op, arch, m = case
    arch = _with_level(arch, -1, read_bandwidth=bw, write_bandwidth=bw)
    slow = _with_level(arch, -1, read_bandwidth=bw / 2, write_bandwidth=bw / 2)
    assert evaluate(op, slow, m).latency_cycles >= evaluate(op, arch, m).latency_cycles


@settings(max_examples=100, deadline=None)
@given(problems(3), st.data())
def test_g_raising_an_energy_never_lowers_energy(case: Any, data: st.DataObject) -> None:
    op, arch, m = case
    delta = data.draw(st.floats(0.01, 1000))
    what = data.draw(st.sampled_from(["mac", "read", "write"]))
    if what == "mac":
        hot = arch.model_copy(update={"mac_energy_pj": arch.mac_energy_pj + delta})
    else:
        i = data.draw(st.integers(0, len(arch.levels) - 1))
        key = f"{what}_energy_pj"
        hot = _with_level(arch, i, **{key: getattr(arch.levels[i], key) + delta})
    assert evaluate(op, hot, m).energy_pj >= evaluate(op, arch, m).energy_pj
