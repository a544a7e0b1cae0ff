"""TAS (Li & Chang, 2025): input- or weight-stationary chosen per projection from the sequence length.

The abstract states that TAS "selects the input or weight stationary in a tile granularity, based
on the input sequence length", with partial sums kept output-stationary. What is implemented here,
for a MAC operator seen as ``out[M, F] += x[M, R] * w[R, F]`` (``cosamt.search.common.roles``):

* Output-stationary partial sums. The reduction dims are the innermost loops at the buffer level
  (partial sums accumulate in the PE latch) and at the DRAM level (a partial-sum tile stays in the
  buffer until complete), and the buffer tile takes the whole reduction first when it fits, so no
  partial sum ever goes back to DRAM.
* The rule. With the whole reduction on chip and a buffer of B words, input-stationary reads ``x``
  once and ``w`` once per token tile (about ``M·R/B`` times); weight-stationary reads ``w`` once
  and ``x`` once per output-column tile (about ``F·R/B`` times). Both re-stream the same ``M·R·F·R/B``
  words, so the difference is which operand is read only once: input-stationary wins iff
  ``M·R <= R·F``, i.e. iff the sequence length (tokens ``M``, batch included) is at most the weight's
  output width ``F``. Short sequences therefore run input-stationary, long ones weight-stationary.
* Tile granularity. The stationary operand's tile is grown right after the reduction (largest
  divisors that fit, ``common.grow_tiles``), and the DRAM loops run the other operand's tiles
  innermost. A cosamt mapping is one uniform loop nest, so the choice is made once per operator
  (every tile of an operator has the same shape and the same choice).
* The PE array is output-stationary too: tokens on its rows, output columns on its columns (each
  PE accumulates its own output while the reduction runs; one operand word per row and per column
  feeds the array every cycle).
* Non-projection MAC operators (QKᵀ, A·V) use the same rule with the second operand in the
  weight's place; vector operators run the streaming mapping.
"""

from __future__ import annotations

import math
import time

from cosamt.arch.spec import Architecture
from cosamt.schedule.mapping import Mapping
from cosamt.search.common import BaselineResult, Roles, roles, single
from cosamt.search.fixed import Dataflow, stationary_mapping
from cosamt.search.streaming import streaming_schedule
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum, OpKind


def tas_choice(op: Einsum) -> Dataflow:
    """Input-stationary iff the tokens (M) are at most the weight's output width (F)."""
    rl = roles(op)
    tokens = math.prod(op.dims[d] for d in rl.m)
    width = math.prod(op.dims[d] for d in rl.f)
    return Dataflow.INPUT if tokens <= width else Dataflow.WEIGHT


def _tas_plan(rl: Roles, flow: Dataflow) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """(array preferences, buffer-tile growth order): an output-stationary array (tokens on the
    rows, output columns on the cols), the reduction first, then the stationary operand's dims."""
    prefs = {"rows": rl.m, "cols": rl.f}
    if flow is Dataflow.INPUT:
        return prefs, rl.r + rl.m + rl.shared + rl.f
    return prefs, rl.r + rl.f + rl.shared + rl.m


def tas_mapping(op: Einsum, arch: Architecture) -> tuple[Mapping, str]:
    if op.kind is OpKind.VECTOR:
        return streaming_schedule(op, arch), "streaming (vector operator)"
    rl = roles(op)
    flow = tas_choice(op)
    prefs, growth = _tas_plan(rl, flow)
    stationary = rl.x if flow is Dataflow.INPUT else rl.w
    mapping = stationary_mapping(op, arch, stationary, prefs, growth, inner_first=rl.r)
    return mapping, f"{flow.value}-stationary tiles, output-stationary partial sums"


def tas(op: Einsum, arch: Architecture, objective: Objective, seed: int, effort: int) -> BaselineResult:
    """TAS's rule-based schedule (seed and effort are ignored)."""
    start = time.perf_counter()
    mapping, note = tas_mapping(op, arch)
    return single(op, arch, mapping, start, note)
