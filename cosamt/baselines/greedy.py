"""Greedy largest-tile: fill the PE array, then grow buffer tiles in a fixed dim order while they fit.

* Array: every axis takes the admissible dims, largest remaining first, each with the largest
  divisor that fits the room left (the rule of the streaming schedule).
* Buffer tiles: at the outermost on-chip level, every tensor it may hold is kept; in the operator's
  canonical dim order, each dim takes the largest divisor of what is left of it such that all tiles
  still fit (``common.grow_tiles``). What is left runs from DRAM.
* Loop order: the canonical dim order at every level (no stationarity reasoning).
* Vector operators get no spatial loops (they run on the vector unit) but the same buffer tiling.
"""

from __future__ import annotations

import time

from cosamt.arch.spec import Architecture
from cosamt.baselines.common import (
    BaselineResult,
    fill_array,
    grow_tiles,
    holdable,
    make_mapping,
    single,
    tile_level,
)
from cosamt.schedule.mapping import Mapping
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum


def greedy_mapping(op: Einsum, arch: Architecture) -> Mapping:
    left = dict(op.dims)
    spatial = fill_array(op, arch, {}, left)
    n = len(arch.levels)
    buf = tile_level(arch)
    temporal = [{d: 1 for d in op.dims} for _ in range(n)]
    keeps = [frozenset[str]() for _ in range(n)]
    if buf >= 0:
        keeps[buf] = holdable(op, arch, buf)
        temporal[buf] = grow_tiles(op, arch, buf, spatial, left, list(op.dims), keeps[buf])
    temporal[arch.dram_index] = dict(left)
    return make_mapping(op, arch, temporal, [list(op.dims)] * n, spatial, keeps)


def greedy(
    op: Einsum, arch: Architecture, objective: Objective, seed: int, effort: int
) -> BaselineResult:
    """The greedy largest-tile schedule (seed and effort are ignored)."""
    start = time.perf_counter()
    return single(
        op, arch, greedy_mapping(op, arch), start, "largest array fill, then largest tiles"
    )
