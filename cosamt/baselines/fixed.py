"""Fixed dataflows: the "traditional accelerator" with one stationarity for every operator.

A MAC operator is viewed as ``out[M, F] += x[M, R] * w[R, F]`` (``cosamt.baselines.common.roles``).
Each dataflow fixes which tensor stays put, at the PE (its operand latch) and in the on-chip buffer:

==============  ===============  ===================  ======================================
dataflow        stationary       PE array (rows/cols)  buffer-tile growth order
==============  ===============  ===================  ======================================
weight (WS)     ``w``            R / F                 R, F, then M and shared dims
input (IS)      ``x``            R / M                 R, M, then F and shared dims
output (OS)     ``out``          M / F                 M, F, then shared dims, then R
==============  ===============  ===================  ======================================

Rules, all documented and deterministic:

* Array: each axis takes its preferred dims first, then any other admissible dim (largest first),
  each with the largest divisor that fits the room left (``common.fill_array``).
* Buffer tiles (outermost on-chip level, every tensor kept): in the growth order above, each dim
  gets the largest divisor of what is left of it such that all three tiles still fit the buffer
  ("largest divisors that fit"); the rest of each dim runs from DRAM.
* Loop order at both the buffer and DRAM levels: the stationary tensor's dims outermost, the dims
  that do not index it innermost, so it stays in the PE latch and its buffer tile stays on chip
  while those loops run (output-stationary: the reduction loops innermost).
* Vector operators run the streaming mapping (``cosamt.baselines.streaming``): everything streams
  from DRAM to the vector unit, which touches each element once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from enum import StrEnum

from cosamt.arch.spec import Architecture
from cosamt.baselines.common import (
    Baseline,
    BaselineResult,
    Roles,
    fill_array,
    grow_tiles,
    holdable,
    make_mapping,
    roles,
    single,
    stationary_order,
    tile_level,
)
from cosamt.baselines.streaming import streaming_schedule
from cosamt.schedule.mapping import Mapping
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum, OpKind, Tensor


class Dataflow(StrEnum):
    WEIGHT = "weight"
    INPUT = "input"
    OUTPUT = "output"


def _plan(rl: Roles, flow: Dataflow) -> tuple[Tensor, dict[str, tuple[str, ...]], tuple[str, ...]]:
    """(stationary tensor, array preferences per axis, buffer-tile growth order)."""
    if flow is Dataflow.WEIGHT:
        return rl.w, {"rows": rl.r, "cols": rl.f}, rl.r + rl.f + rl.m + rl.shared
    if flow is Dataflow.INPUT:
        return rl.x, {"rows": rl.r, "cols": rl.m}, rl.r + rl.m + rl.f + rl.shared
    return rl.out, {"rows": rl.m, "cols": rl.f}, rl.m + rl.f + rl.shared + rl.r


def stationary_mapping(
    op: Einsum,
    arch: Architecture,
    stationary: Tensor,
    prefs: dict[str, tuple[str, ...]],
    growth: Sequence[str],
    dram_inner: Sequence[str] = (),
) -> Mapping:
    """Array filled by ``prefs``, buffer tiles grown in ``growth`` order, loop orders keeping
    ``stationary`` put at every level (at the DRAM level, ``dram_inner`` dims innermost of all)."""
    left = dict(op.dims)
    spatial = fill_array(op, arch, prefs, left)
    n = len(arch.levels)
    buf = tile_level(arch)
    temporal = [{d: 1 for d in op.dims} for _ in range(n)]
    keeps = [frozenset[str]() for _ in range(n)]
    if buf >= 0:
        keeps[buf] = holdable(op, arch, buf)
        temporal[buf] = grow_tiles(op, arch, buf, spatial, left, growth, keeps[buf])
    temporal[arch.dram_index] = dict(left)
    orders = [stationary_order(list(op.dims), stationary) for _ in range(n)]
    orders[arch.dram_index] = stationary_order(list(op.dims), stationary, dram_inner)
    return make_mapping(op, arch, temporal, orders, spatial, keeps)


def fixed_mapping(op: Einsum, arch: Architecture, flow: Dataflow) -> Mapping:
    if op.kind is OpKind.VECTOR:
        return streaming_schedule(op, arch)
    rl = roles(op)
    stationary, prefs, growth = _plan(rl, flow)
    return stationary_mapping(op, arch, stationary, prefs, growth)


def fixed(flow: Dataflow) -> Baseline:
    """The baseline for one fixed dataflow (seed and effort are ignored: the rule is deterministic)."""

    def run(
        op: Einsum, arch: Architecture, objective: Objective, seed: int, effort: int
    ) -> BaselineResult:
        start = time.perf_counter()
        note = (
            "streaming (vector operator)"
            if op.kind is OpKind.VECTOR
            else f"{flow.value}-stationary"
        )
        return single(op, arch, fixed_mapping(op, arch, flow), start, note)

    return run
