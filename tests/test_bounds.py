"""Lower bounds of :mod:`cosamt.bounds` against hand formulas and exhaustive enumeration: every
legal mapping of a small GEMM costs at least the bound, and the on-chip access term makes the
bound strictly tighter than the old one (MACs plus compulsory DRAM words only)."""

from __future__ import annotations

import math

import pytest

from cosamt.arch.spec import Architecture, ArrayAxis, MemoryLevel, PEArray, VectorUnit
from cosamt.baselines.exhaustive import exhaustive_search
from cosamt.bounds import lower_bound
from cosamt.types import Objective
from cosamt.workload.einsum import gemm

E_MAC, E_GB, E_DRAM = 1.0, 6.0, 200.0


def arch(rows: int, cols: int, gb_bytes: int | None) -> Architecture:
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
                read_bandwidth=8,
                write_bandwidth=8,
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
