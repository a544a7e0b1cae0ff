"""FLAT's granularity heuristic for fused attention (a baseline for ``cosamt compare``).

FLAT (Kao et al., ASPLOS 2023) fuses QKᵀ-softmax-·V and picks the *granularity* of the fused loop:
batch (one batch element's attention per iteration), head (one query head), or row (a block of query
rows of one head, the whole row of scores on chip). The rule used here, our reading of FLAT's: the
coarsest granularity whose scores of one iteration (S, with P written over it) take at most half of
the outermost on-chip buffer, leaving the other half for tiles of Q, K, V and O (streamed when a
head's K and V do not fit, as at long sequences); for row granularity the largest block of rows
that fits. The shared loops are then fixed to that granularity and the MIP schedules everything
else (operand tiles, loop orders, spatial unrolling), so the baseline isolates one question: how
much does choosing the granularity jointly with the rest of the mapping gain over FLAT's rule?
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from cosamt.arch.spec import Architecture
from cosamt.evaluate.group import GroupMetrics, evaluate_group
from cosamt.fusion.schemes import Group, Scheme
from cosamt.schedule.mapping import Mapping

# Schedules a group with its shared loops fixed (dim -> factor); no mapping when it finds none.
# compare.py passes the MIP, so this module (like every baseline) never imports Pyomo.
FixedSharedSolver = Callable[[Group, Architecture, dict[str, int]], dict[str, Mapping]]


@dataclass(frozen=True)
class Granularity:
    label: str  # "batch", "head" or "row x<rows>"
    shared_factors: dict[str, int]  # shared loop factor per dimension (others 1)


@dataclass(frozen=True)
class FlatHeuristicResult:
    granularity: Granularity
    mappings: dict[str, Mapping]
    metrics: GroupMetrics
    seconds: float
    footprint_words: int
    budget_words: int


MAX_ATTEMPTS = 3  # granularities tried (the first that fits nearly always solves)


class FlatHeuristicUnavailable(Exception):
    """No granularity fits, or the group is not FLAT-fused attention (the message says which)."""


def granularities(group: Group) -> list[Granularity]:
    """Batch, head, then row blocks from the largest to a single row."""
    sizes = group.ops[0].dims
    batch: dict[str, int] = {"b": sizes["b"]} if "b" in sizes else {}
    head: dict[str, int] = {**batch, **{d: sizes[d] for d in ("h", "r") if d in sizes}}
    rows = sizes["m"]
    out = [Granularity("batch", batch), Granularity("head", head)]
    for t in (t for t in range(rows - 1, 0, -1) if rows % t == 0):
        out.append(Granularity(f"row x{t}", {**head, "m": rows // t}))
    return out


def footprint_words(group: Group, factors: dict[str, int]) -> int:
    """Words of the intermediates of one shared iteration (in-place ones share their input's space)."""
    in_place = {t for ts in group.in_place.values() for t in ts}
    tiles: dict[str, int] = {}
    for op in group.ops:
        for t in op.tensors:
            if t.name in group.on_chip and t.name not in in_place:
                tiles[t.name] = math.prod(op.dims[d] // factors.get(d, 1) for d in t.dims)
    return sum(tiles.values())


def budget_words(arch: Architecture, double_buffering: bool) -> int:
    """Half the outermost on-chip buffer in words (a quarter with double buffering)."""
    top = arch.levels[arch.dram_index - 1]
    if top.capacity_bytes is None:
        raise FlatHeuristicUnavailable(f"{top.name} has no capacity")
    return top.capacity_bytes // arch.word_bytes // (4 if double_buffering else 2)


def flat_heuristic(
    group: Group, arch: Architecture, solve: FixedSharedSolver, *, double_buffering: bool = False
) -> FlatHeuristicResult:
    """Fix the shared loops to the coarsest granularity that fits, then schedule the rest with
    ``solve`` (the MIP, in ``cosamt compare``). If it finds no schedule at that granularity, the
    next finer one is tried."""
    if group.scheme is not Scheme.FLAT:
        raise FlatHeuristicUnavailable("applies to FLAT-fused attention only")
    if arch.dram_index == 0:
        raise FlatHeuristicUnavailable("the architecture has no on-chip buffer")
    cap = budget_words(arch, double_buffering)
    start = time.perf_counter()
    fitting = [
        (g, w)
        for g in granularities(group)
        if (w := footprint_words(group, g.shared_factors)) <= cap
    ]
    if not fitting:
        one_row = footprint_words(group, granularities(group)[-1].shared_factors)
        raise FlatHeuristicUnavailable(
            f"one row of scores needs {one_row:,} words, more than half the buffer ({cap:,})"
        )
    for gran, words in fitting[:MAX_ATTEMPTS]:
        mappings = solve(group, arch, gran.shared_factors)
        if mappings:
            metrics = evaluate_group(group, arch, mappings, double_buffering=double_buffering)
            return FlatHeuristicResult(
                gran, mappings, metrics, time.perf_counter() - start, words, cap
            )
    raise FlatHeuristicUnavailable(
        f"the MIP found no schedule at the {MAX_ATTEMPTS} coarsest granularities that fit"
    )


GRANULARITY = {"b": "batch", "h": "head", "r": "head", "m": "row", "n": "key tile"}


def shared_granularity(group: Group, mappings: dict[str, Mapping]) -> str | None:
    """FLAT's granularity of a fused schedule: the finest shared dimension it actually tiles
    ("whole" if none; None for a single operator)."""
    if not group.fused:
        return None
    first = mappings[group.ops[0].name]
    tiled = {lp.dim for lp in first.levels[-1].temporal if lp.factor > 1}
    for dim in ("n", "m", "r", "h", "b"):
        if dim in tiled:
            return GRANULARITY[dim]
    return "whole"
