"""Lower bounds of :mod:`cosamt.bounds` against hand formulas and exhaustive enumeration: every
legal mapping of a small GEMM costs at least the bound, and the on-chip access term makes the
bound strictly tighter than the old one (MACs plus compulsory DRAM words only); over the solver's
mapspace, the compute term counts only the PEs a schedule can keep busy at the operator's sizes."""

from __future__ import annotations

import itertools
import math

import pytest

from cosamt.arch.spec import Architecture, ArrayAxis, MemoryLevel, PEArray, VectorUnit
from cosamt.baselines.exhaustive import dim_choices, exhaustive_search
from cosamt.bounds import best_spatial, group_lower_bound, lower_bound
from cosamt.fusion.schemes import Group, Scheme
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum, Role, Tensor, gemm

E_MAC, E_GB, E_DRAM = 1.0, 6.0, 200.0


def arch(rows: int, cols: int, gb_bytes: int | None, dram_bw: float = 8) -> Architecture:
    return Architecture(
        name="t",
        clock_ghz=1,
        word_bytes=2,
        mac_energy_pj=E_MAC,
        pe_array=PEArray(rows=ArrayAxis(size=rows), cols=ArrayAxis(size=cols), below="GB"),
        levels=(
            MemoryLevel(
                name="GB", capacity_bytes=gb_bytes, read_energy_pj=E_GB, write_energy_pj=E_GB
            ),
            MemoryLevel(
                name="DRAM",
                read_energy_pj=E_DRAM,
                write_energy_pj=E_DRAM,
                read_bandwidth=dram_bw,
                write_bandwidth=dram_bw,
            ),
        ),
        vector_unit=VectorUnit(lanes=4, energy_per_op_pj=1),
    )


def old_bound(m: int, n: int, k: int) -> float:
    """MACs plus every word of X, W and Y once at DRAM: the bound before on-chip accesses."""
    return m * n * k * E_MAC + (m * k + k * n + m * n) * E_DRAM


def test_energy_bound_by_hand() -> None:
    # 8x8x8 GEMM on one PE with a 16-word buffer: W = 512 MACs, 192 compulsory DRAM words.
    b = lower_bound(gemm("g", 8, 8, 8), arch(1, 1, 32))
    w, compulsory = 512, 192
    chip = max(compulsory, 2 * w / math.sqrt(16 + 3) - 2 * (16 + 3))  # buffer + 3 latch words
    latch = max(compulsory, 2 * w / math.sqrt(3) - 2 * 3)  # the latches alone
    # DRAM: the compulsory words and the contraction's extra chip crossings; every further latch
    # crossing is at least a buffer access
    expected = w * E_MAC + compulsory * E_DRAM + (chip - compulsory) * E_DRAM
    expected += (latch - chip) * E_GB
    assert chip > compulsory and latch > chip
    assert b.energy_pj == pytest.approx(expected, rel=1e-12)
    assert b.energy_pj > old_bound(8, 8, 8)


def test_an_unbounded_buffer_gives_no_contraction_term_at_the_chip_boundary() -> None:
    b = lower_bound(gemm("g", 8, 8, 8), arch(1, 1, None))
    latch = 2 * 512 / math.sqrt(3) - 6
    assert b.traffic_words == 192  # compulsory only: the buffer may hold everything
    assert b.energy_pj == pytest.approx(512 + 192 * E_DRAM + (latch - 192) * E_GB, rel=1e-12)


@pytest.mark.parametrize(
    ("pes", "gb_bytes", "dims"),
    [((1, 1), 32, (8, 8, 8)), ((1, 1), 16, (4, 8, 16)), ((1, 2), 128, (16, 8, 8))],
)
def test_energy_bound_is_below_the_exhaustive_optimum(
    pes: tuple[int, int], gb_bytes: int, dims: tuple[int, int, int]
) -> None:
    op, a = gemm("g", *dims), arch(*pes, gb_bytes)
    best = exhaustive_search(op, a, Objective.ENERGY, limit=10**6)
    bound = lower_bound(op, a).energy_pj
    assert bound <= best.metrics.energy_pj
    assert bound > old_bound(*dims)  # strictly tighter than MACs + compulsory DRAM


def test_best_spatial_by_hand() -> None:
    # 8 x 8 x 8 on 12 x 14 PEs: each axis takes a power of two, at most 8 of 12 and 8 of 14
    a = arch(12, 14, 1024)
    assert best_spatial(gemm("g", 8, 8, 8), a) == 64
    # 12 x 12 x 1 (k = 1 leaves the rows only m or n): 12 rows x 12 cols of the 14
    assert best_spatial(gemm("g", 12, 12, 1), a) == 144
    # a prime dimension above both axes unrolls nowhere: 17 x 1 x 1 keeps one PE busy
    assert best_spatial(gemm("g", 17, 1, 1), a) == 1


def exhaustive_best_spatial(op: Einsum, a: Architecture) -> int:
    """The largest spatial product over the exhaustive baseline's own factorisations (each
    dimension's choices, every axis within its size)."""
    best = 0
    sizes = [a.axis_size(x) for x in a.axis_names]
    for combo in itertools.product(*(dim_choices(op, a, d) for d in op.dims)):
        used = [math.prod(c.spatial[j] for c in combo) for j in range(len(sizes))]
        if all(u <= s for u, s in zip(used, sizes, strict=True)):
            best = max(best, math.prod(used))
    return best


@pytest.mark.parametrize(
    ("pes", "dims"),
    [((3, 5), (4, 6, 6)), ((12, 14), (8, 6, 9)), ((5, 7), (10, 7, 3)), ((4, 4), (2, 3, 5))],
)
def test_best_spatial_is_the_mapspace_s(pes: tuple[int, int], dims: tuple[int, int, int]) -> None:
    op, a = gemm("g", *dims), arch(*pes, 1024)
    assert best_spatial(op, a) == exhaustive_best_spatial(op, a)


@pytest.mark.parametrize(
    ("pes", "gb_bytes", "dims"),
    [((3, 5), 64, (4, 6, 6)), ((4, 3), 64, (8, 4, 2)), ((5, 7), 128, (6, 7, 4))],
)
def test_mapspace_latency_bound_is_below_the_exhaustive_optimum(
    pes: tuple[int, int], gb_bytes: int, dims: tuple[int, int, int]
) -> None:
    """On arrays the sizes do not fill, the mapspace bound (points over the best spatial product)
    is strictly above MACs / PEs, and still at most the exhaustive latency optimum (DRAM fast
    enough that compute sets the bound)."""
    op, a = gemm("g", *dims), arch(*pes, gb_bytes, dram_bw=64)
    best = exhaustive_search(op, a, Objective.LATENCY, limit=10**6)
    bound = lower_bound(op, a, padding=False)
    assert bound.latency_cycles <= best.metrics.latency_cycles
    assert bound.latency_cycles > lower_bound(op, a).latency_cycles
    assert bound.compute_cycles == math.prod(dims) / exhaustive_best_spatial(op, a)


def test_fused_group_compute_adds_the_members_best_spatial() -> None:
    """Two chained GEMMs fused: the members' compute cycles add up (group_latency), each at least
    its points over its best spatial product: each of 144 MACs keeps at most 4 x 6 of 5 x 7 PEs
    busy (no product of their factors is 5 or 7), so 6 + 6 cycles against 288 / 35."""
    a = arch(5, 7, 1024)
    first = gemm("a", 6, 4, 6)  # Y[m,n] += X[m,k] W[k,n]: m 6, n 4, k 6
    second = Einsum(
        name="b",
        dims={"m": 6, "n": 6, "k": 4},
        tensors=(
            Tensor("Y", ("m", "k"), Role.INPUT),
            Tensor("W2", ("k", "n"), Role.WEIGHT),
            Tensor("Z", ("m", "n"), Role.OUTPUT),
        ),
    )
    group = Group("a+b", Scheme.CHAIN, (first, second), frozenset({"m"}), frozenset({"Y"}))
    assert exhaustive_best_spatial(first, a) == exhaustive_best_spatial(second, a) == 24
    assert group_lower_bound(group, a, padding=False).compute_cycles == pytest.approx(12.0)
    assert group_lower_bound(group, a).compute_cycles == pytest.approx(288 / 35)
