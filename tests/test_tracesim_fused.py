"""A fused group's member, traced literally, agrees word for word with the evaluator.

The member runs on ``arch.with_shared_level()`` (GlobalBuffer, DRAM, virtual Shared level) with one
tensor declared on chip (a group intermediate): DRAM does not keep it, GlobalBuffer does, its tile
there is produced/consumed in place (``tests/tracesim.py``), and no DRAM-level loop iterates over its
dimensions. The Shared level carries the group's shared loops (a random subset of the dims).
"""

from __future__ import annotations

from typing import Any

import support
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tracesim import simulate

from cosamt.arch.spec import Architecture
from cosamt.evaluate.evaluator import evaluate
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.workload.einsum import Einsum, Role, batched, gemm

SIZES = (1, 2, 3, 4, 6)
PRIMES = {1: [], 2: [2], 3: [3], 4: [2, 2], 6: [2, 3]}
GB, DRAM, SHARED = 0, 1, 2


def make_arch(rows: int, cols: int, multicast: bool) -> Architecture:
    return support.make_arch(2, rows, cols, multicast, gb_bytes=1 << 20).with_shared_level()


@st.composite
def members(draw: Any) -> tuple[Einsum, Architecture, Mapping, frozenset[str]]:
    if draw(st.booleans()):
        op = gemm("g", *(draw(st.sampled_from(SIZES)) for _ in range(3)))
    else:
        op = batched(*(draw(st.sampled_from(SIZES)) for _ in range(4)))
    arch = make_arch(
        draw(st.sampled_from((1, 2, 4))), draw(st.sampled_from((1, 2, 4))), draw(st.booleans())
    )
    inter = draw(st.sampled_from(op.tensors))
    # A group shares loops only over dims that index its on-chip output (a shared loop over the
    # producer's reduction dim would hand the consumer partial sums; see the xfail test below).
    candidates = list(inter.dims) if inter.role is Role.OUTPUT else list(op.dims)
    shared_dims = draw(st.sets(st.sampled_from(candidates))) if candidates else set()
    temporal: dict[int, list[Loop]] = {GB: [], DRAM: [], SHARED: []}
    spatial: list[SpatialLoop] = []
    room = {"rows": arch.pe_array.rows.size, "cols": arch.pe_array.cols.size}
    for d, size in op.dims.items():
        for prime in PRIMES[size]:
            slots: list[tuple[str, Any]] = [("t", GB), ("s", "rows"), ("s", "cols")]
            if d not in inter.dims:
                slots.append(("t", DRAM))  # no DRAM loops over the intermediate's dims
            if d in shared_dims:
                slots += [("t", SHARED)] * 2
            kind, where = draw(st.sampled_from(slots))
            if kind == "s" and room[where] % prime == 0:
                room[where] //= prime
                spatial.append(SpatialLoop(d, prime, where))
                continue
            level = where if kind == "t" else GB
            same = [j for j, lp in enumerate(temporal[level]) if lp.dim == d]
            if same and draw(st.booleans()):  # merge with a loop of the same dim at this level
                j = same[0]
                temporal[level][j] = Loop(d, temporal[level][j].factor * prime)
            else:
                temporal[level].append(Loop(d, prime))
        if draw(st.integers(0, 4)) == 0:  # a factor-1 loop somewhere
            temporal[draw(st.sampled_from((GB, DRAM, SHARED)))].append(Loop(d, 1))
    names = [t.name for t in op.tensors]
    gb_keep = {t for t in names if draw(st.booleans())} | {inter.name}
    lms = (
        LevelMapping(
            temporal=tuple(draw(st.permutations(temporal[GB]))),
            spatial=tuple(draw(st.permutations(spatial))),
            keep=frozenset(gb_keep),
        ),
        LevelMapping(
            temporal=tuple(draw(st.permutations(temporal[DRAM]))),
            keep=frozenset(names) - {inter.name},
        ),
        LevelMapping(temporal=tuple(draw(st.permutations(temporal[SHARED])))),
    )
    return op, arch, Mapping(levels=lms), frozenset({inter.name})


def _agree(op: Einsum, arch: Architecture, m: Mapping, on_chip: frozenset[str]) -> None:
    sim = support.assert_trace_agrees(op, arch, m, on_chip)
    # nothing of the intermediate reaches DRAM, in either count
    assert all(k != (DRAM, t) for t in on_chip for k in sim.counts)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members())
def test_fused_member_matches_trace(
    case: tuple[Einsum, Architecture, Mapping, frozenset[str]],
) -> None:
    _agree(*case)


def _gemm_member(shared: tuple[Loop, ...], gb: tuple[Loop, ...], on_chip: str = "Y") -> Mapping:
    """GlobalBuffer keeps X, W and Y; DRAM keeps all but the on-chip one and has no loops."""
    return Mapping(
        levels=(
            LevelMapping(temporal=gb, keep=frozenset("XWY")),
            LevelMapping(keep=frozenset("XWY") - {on_chip}),
            LevelMapping(temporal=shared),
        )
    )


def test_on_chip_output_by_hand() -> None:
    """Y[m,n] = X[m,k] W[k,n], 4x4x2, Y on chip. Shared [m 2], GB [n 4, k 2, m 2], 1x1 array.

    Per shared iteration (m half): GB's tile of Y is 2x4, produced in place (nothing from DRAM);
    the latch sends one update per MAC (16 per half); m is innermost and indexes Y, so k is counted
    and every Y element is revisited after k moved on: read-backs = updates - distinct = 16 - 8 per
    half. X: DRAM -> GB once per shared iteration (tile 2x2, 2 halves = 8 words = |X|). W: GB's
    tile is all of W (k 2 x n 4 = 8 words) and the shared m does not index it (innermost
    irrelevant run): loaded once, 8 DRAM reads.
    """
    op = gemm("g", 4, 4, 2)
    arch = make_arch(1, 1, True)
    m = _gemm_member((Loop("m", 2),), (Loop("n", 4), Loop("k", 2), Loop("m", 2)))
    sim = simulate(op, arch, m, on_chip=frozenset("Y"))
    assert sim.counts[(GB, "Y")] == (2 * (16 - 8), 2 * 16)  # read-backs, updates
    assert sim.counts[(DRAM, "X")] == (8, 0)
    assert sim.counts[(DRAM, "W")] == (8, 0)
    assert (DRAM, "Y") not in sim.counts
    _agree(op, arch, m, frozenset("Y"))


def test_on_chip_input_revisited_from_nowhere() -> None:
    """X on chip, shared [m 2, n 2] (n does not index X), GB [m 2, n 2, k 2]: X's GB tile (2x2) is
    re-produced in place for every shared iteration, moving nothing. The latch's fills of X: k is
    innermost and indexes X, so every loop counts: 2·2·2·2·2 = 32 one-word reads of GB. DRAM never
    sees X. W (GB tile k2 x n2) is reloaded whenever the shared n moves: 4 x 4 = 16 DRAM reads."""
    op = gemm("g", 4, 4, 2)
    arch = make_arch(1, 1, True)
    m = _gemm_member((Loop("m", 2), Loop("n", 2)), (Loop("m", 2), Loop("n", 2), Loop("k", 2)), "X")
    _agree(op, arch, m, frozenset("X"))
    sim = simulate(op, arch, m, on_chip=frozenset("X"))
    assert sim.counts[(GB, "X")] == (32, 0)
    assert sim.counts[(DRAM, "W")] == (16, 0)
    assert (DRAM, "X") not in sim.counts


def test_shared_reduction_loop_over_on_chip_output_is_flagged() -> None:
    """Y on chip, shared [k 2, m 2]: after the first k half, Y's GB tile for m=0 is discarded
    (handed to the consumer) with only half its sum; the trace sees no read-back when k moves on,
    the evaluator counts them, and ``check`` accepts the mapping. Either way the schedule computes
    the wrong thing, so ``check`` should reject it."""
    op = gemm("g", 4, 4, 2)
    arch = make_arch(1, 1, True)
    m = _gemm_member((Loop("k", 2), Loop("m", 2)), (Loop("m", 2), Loop("n", 4)))
    met = evaluate(op, arch, m, on_chip=frozenset("Y"))
    assert not met.valid
