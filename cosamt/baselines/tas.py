"""TAS (Li & Chang, 2025): input- or weight-stationary chosen per projection from the sequence length.

The abstract states that TAS "selects the input or weight stationary in a tile granularity, based
on the input sequence length", with partial sums kept output-stationary. What is implemented here,
for a MAC operator seen as ``out[M, F] += x[M, R] * w[R, F]`` (``cosamt.baselines.common.roles``):

* Output-stationary partial sums. The reduction dims are the innermost DRAM-level loops (a
  partial-sum tile stays in the buffer until it is complete) and the buffer tile takes the whole
  reduction first when it fits, so no partial sum ever goes back to DRAM. Inside the buffer the
  chosen operand is also what the PE latch keeps.
* The rule. With the whole reduction on chip and a buffer of B words, input-stationary reads ``x``
  once and ``w`` once per token tile (about ``M·R/B`` times); weight-stationary reads ``w`` once
  and ``x`` once per output-column tile (about ``F·R/B`` times). Both re-stream the same ``M·R·F·R/B``
  words, so the difference is which operand is read only once: input-stationary wins iff
  ``M·R <= R·F``, i.e. iff the sequence length (tokens ``M``, batch included) is at most the weight's
  output width ``F``. Short sequences therefore run input-stationary, long ones weight-stationary.
* Tile granularity. The stationary operand's tile is grown right after the reduction (largest
  divisors that fit, ``common.grow_tiles``), and the DRAM loops run the other operand's tiles
  innermost. The closed-form rule assumes the reduction and a large stationary tile fit on chip;
  when they do not (FFN2's 3072-wide reduction, ViT's prime 197 tokens), TAS's choice follows the
  external memory access of the actual tiles: both tilings are built and the one with fewer DRAM
  words (by the evaluator) is kept, the rule's choice winning ties. A cosamt mapping is one uniform
  loop nest, so the choice is made once per operator (all its tiles have the same shape).
* The PE array unrolls the reduction on its rows and the stationary operand's other dims (tokens
  for input-stationary, output columns for weight-stationary) on its columns, as the fixed
  dataflows do (``cosamt.baselines.fixed``); TAS differs from them in the per-operator choice and in
  keeping partial sums on chip.
* Non-projection MAC operators (QKᵀ, A·V) use the same rule with the second operand in the
  weight's place; vector operators run the streaming mapping.
"""

from __future__ import annotations

import math
import time

from cosamt.arch.spec import Architecture
from cosamt.baselines.common import BaselineResult, Roles, roles, single
from cosamt.baselines.fixed import Dataflow, stationary_mapping
from cosamt.baselines.streaming import streaming_schedule
from cosamt.evaluate.evaluator import evaluate
from cosamt.schedule.mapping import Mapping
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum, OpKind


def tas_choice(op: Einsum) -> Dataflow:
    """Input-stationary iff the tokens (M) are at most the weight's output width (F)."""
    rl = roles(op)
    tokens = math.prod(op.dims[d] for d in rl.m)
    width = math.prod(op.dims[d] for d in rl.f)
    return Dataflow.INPUT if tokens <= width else Dataflow.WEIGHT


def _tas_plan(rl: Roles, flow: Dataflow) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """(array preferences, buffer-tile growth order): the reduction on the rows and the stationary
    operand's other dims on the columns; tiles grow the reduction first, then the stationary
    operand's dims."""
    if flow is Dataflow.INPUT:
        return {"rows": rl.r, "cols": rl.m}, rl.r + rl.m + rl.shared + rl.f
    return {"rows": rl.r, "cols": rl.f}, rl.r + rl.f + rl.shared + rl.m


def _tiling(op: Einsum, arch: Architecture, flow: Dataflow) -> Mapping:
    rl = roles(op)
    prefs, growth = _tas_plan(rl, flow)
    stationary = rl.x if flow is Dataflow.INPUT else rl.w
    return stationary_mapping(op, arch, stationary, prefs, growth, dram_inner=rl.r)


def tas_mapping(op: Einsum, arch: Architecture) -> tuple[Mapping, str]:
    """TAS's schedule and a note naming the stationarity it chose."""
    if op.kind is OpKind.VECTOR:
        return streaming_schedule(op, arch), "streaming (vector operator)"
    rule = tas_choice(op)
    order = [rule, Dataflow.WEIGHT if rule is Dataflow.INPUT else Dataflow.INPUT]
    scored = []
    for flow in order:
        mapping = _tiling(op, arch, flow)
        metrics = evaluate(op, arch, mapping)
        if not metrics.violations:
            scored.append((metrics.dram_bytes, order.index(flow), flow, mapping))
    if not scored:
        return _tiling(op, arch, rule), f"{rule.value}-stationary tiles (illegal)"
    _words, _i, flow, mapping = min(scored, key=lambda s: (s[0], s[1]))
    how = (
        "sequence-length rule"
        if flow is rule
        else "EMA of the tiles overrides the closed-form rule"
    )
    return mapping, f"{flow.value}-stationary tiles, output-stationary partial sums ({how})"


def tas(
    op: Einsum, arch: Architecture, objective: Objective, seed: int, effort: int
) -> BaselineResult:
    """TAS's rule-based schedule (seed and effort are ignored)."""
    start = time.perf_counter()
    mapping, note = tas_mapping(op, arch)
    return single(op, arch, mapping, start, note)
