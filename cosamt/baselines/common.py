"""What every baseline search shares: its result, the mapspace view, nest building and scoring.

The mapspace is the exact MIP's single-operator mapspace without padding (see
``cosamt.baselines.exhaustive``): per dimension an ordered factorisation over its slots (a temporal loop
at every memory level plus each PE-array axis that may unroll it), per level an order of the
non-trivial temporal loops, per non-DRAM level a set of kept tensors (DRAM keeps everything).
Every candidate is scored by the independent evaluator; candidates with violations are rejected.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cosamt.arch.spec import AXES, Architecture
from cosamt.baselines.exhaustive import DimChoice, dim_choices, keep_options, objective_key
from cosamt.evaluate.evaluator import evaluate
from cosamt.evaluate.metrics import Metrics
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum, Role, Tensor

ScoreKey = tuple[float, ...]


class BaselineUnavailable(Exception):
    """The baseline cannot produce a schedule for this operator (the reason is the message)."""


@dataclass(frozen=True)
class BaselineResult:
    mapping: Mapping
    metrics: Metrics
    seconds: float  # wall-clock search time
    evaluated: int  # evaluator calls spent
    note: str = ""  # how the schedule was chosen (dataflow, rule, budget)


Baseline = Callable[[Einsum, Architecture, Objective, int, int], BaselineResult]


# ---------------------------------------------------------------------------------------------
# Building loop nests


def make_mapping(
    op: Einsum,
    arch: Architecture,
    temporal: Sequence[dict[str, int]],
    orders: Sequence[Sequence[str]],
    spatial: Sequence[SpatialLoop],
    keeps: Sequence[frozenset[str]],
) -> Mapping:
    """A mapping from per-level temporal factors, per-level dim orders (outermost first; factor-1
    loops are dropped), the spatial loops (each placed at its axis's level) and per-level keeps for
    the non-DRAM levels (DRAM keeps every tensor)."""
    everything = frozenset(t.name for t in op.tensors)
    levels = []
    for k in range(len(arch.levels)):
        loops = tuple(Loop(d, temporal[k][d]) for d in orders[k] if temporal[k].get(d, 1) > 1)
        keep = everything if k == arch.dram_index else keeps[k]
        here = tuple(sp for sp in spatial if arch.axis_level(sp.axis) == k)
        levels.append(LevelMapping(temporal=loops, spatial=here, keep=keep))
    return Mapping(levels=tuple(levels))


def holdable(op: Einsum, arch: Architecture, level: int) -> frozenset[str]:
    """Tensors ``level`` may keep (its ``holds`` roles and ``holds_tensors``; vector operators never
    use PE-private levels)."""
    if level >= arch.dram_index:
        return frozenset(t.name for t in op.tensors)
    return frozenset(t.name for t in op.tensors if arch.may_keep(level, op, t))


def tiles_fit(
    op: Einsum, arch: Architecture, level: int, extent: dict[str, int], kept: frozenset[str]
) -> bool:
    """Do the kept tiles fit every capacity group of ``level``, given each dim's tile extent there?"""
    # in words of word_bytes: a role with its own width at the level weighs bytes / word_bytes
    tiles = {
        t.name: math.prod(extent[d] for d in t.dims) * arch.width(level, t.role) for t in op.tensors
    }
    return all(
        sum(tiles[t.name] for t in op.tensors if t.name in kept and buf.takes(t)) <= buf.words
        for buf in arch.levels[level].capacity_groups(arch.word_bytes)
    )


def can_unroll(op: Einsum, arch: Architecture, axis: str, dim: str) -> bool:
    return axis in arch.unroll_axes(op, dim)


def divisors_desc(n: int) -> list[int]:
    return [d for d in range(n, 0, -1) if n % d == 0]


def fill_array(
    op: Einsum, arch: Architecture, prefs: dict[str, tuple[str, ...]], left: dict[str, int]
) -> list[SpatialLoop]:
    """Unroll dims on each array axis: first the axis's preferred dims in order, then any other
    admissible dim (largest remaining first), each with the largest divisor of what is left of it
    that fits the room left on the axis. ``left`` is reduced in place."""
    spatial: list[SpatialLoop] = []
    for axis in AXES:
        room = arch.pe_array.axis(axis).size
        preferred = list(prefs.get(axis, ()))
        rest = sorted((d for d in op.dims if d not in preferred), key=lambda d: -left[d])
        for d in preferred + rest:
            if not can_unroll(op, arch, axis, d):
                continue
            f = next(x for x in divisors_desc(left[d]) if x <= room)
            if f > 1:
                spatial.append(SpatialLoop(d, f, axis))
                left[d] //= f
                room //= f
    return spatial


def grow_tiles(
    op: Einsum,
    arch: Architecture,
    level: int,
    spatial: Sequence[SpatialLoop],
    left: dict[str, int],
    priority: Sequence[str],
    kept: frozenset[str],
) -> dict[str, int]:
    """Temporal factors at ``level``: for each dim in ``priority``, the largest divisor of what is
    left of it such that every kept tile (including the spatial factors below) still fits.
    ``left`` is reduced in place."""
    below = {d: 1 for d in op.dims}
    for sp in spatial:
        if level >= arch.axis_level(sp.axis):
            below[sp.dim] *= sp.factor
    chosen = {d: 1 for d in op.dims}
    for d in priority:
        for f in divisors_desc(left[d]):
            trial = {x: below[x] * (f if x == d else chosen[x]) for x in op.dims}
            if tiles_fit(op, arch, level, trial, kept):
                chosen[d] = f
                left[d] //= f
                break
    return chosen


def tile_level(arch: Architecture) -> int:
    """The outermost on-chip level: where rule-based baselines place their buffer tiles (-1: none)."""
    return arch.dram_index - 1


# ---------------------------------------------------------------------------------------------
# Operand roles for dataflow rules (GEMM-like views of any MAC Einsum)


@dataclass(frozen=True)
class Roles:
    """A MAC operator seen as ``out[M, F] += in[M, R] * w[R, F]`` (shared dims such as batch or head
    index all three). ``w`` is the weight tensor, or the last operand when there is none (K in QKᵀ,
    V in A·V); ``x`` is the other operand."""

    x: Tensor
    w: Tensor
    out: Tensor
    m: tuple[str, ...]  # output dims not indexing w (tokens)
    f: tuple[str, ...]  # output dims not indexing x
    r: tuple[str, ...]  # reduction dims
    shared: tuple[str, ...]  # dims indexing both operands and the output


def roles(op: Einsum) -> Roles:
    ops = op.operands
    w = next((t for t in ops if t.role is Role.WEIGHT), ops[-1])
    x = next((t for t in ops if t is not w), w)
    out = op.output
    m = tuple(d for d in out.dims if d not in w.dims)
    f = tuple(d for d in out.dims if d not in x.dims)
    r = op.reduction_dims
    shared = tuple(d for d in op.dims if d not in m + f + r)
    return Roles(x, w, out, m, f, r, shared)


def stationary_order(
    dims: Sequence[str], tensor: Tensor, inner_first: Sequence[str] = ()
) -> list[str]:
    """Loop order (outermost first) that keeps ``tensor`` stationary: its dims outside, the dims
    that do not index it inside; ``inner_first`` dims go innermost of all."""
    outer = [d for d in dims if d in tensor.dims and d not in inner_first]
    inner = [d for d in dims if d not in tensor.dims and d not in inner_first]
    return outer + inner + [d for d in dims if d in inner_first]


# ---------------------------------------------------------------------------------------------
# The mapspace as sampled by random search and the genetic algorithm


@dataclass(frozen=True)
class MapSpace:
    op: Einsum
    arch: Architecture
    dims: tuple[str, ...]
    choices: dict[str, list[DimChoice]]  # legal slot assignments per dim
    keeps: list[list[frozenset[str]]]  # keep options per non-DRAM level

    @classmethod
    def of(cls, op: Einsum, arch: Architecture) -> MapSpace:
        return cls(
            op,
            arch,
            tuple(op.dims),
            {d: dim_choices(op, arch, d) for d in op.dims},
            keep_options(op, arch),
        )

    def fits_array(self, fac: dict[str, DimChoice]) -> bool:
        sizes = [self.arch.axis_size(a) for a in self.arch.axis_names]
        return all(
            math.prod(fac[d].spatial[j] for d in self.dims) <= s for j, s in enumerate(sizes)
        )

    def mapping(
        self,
        fac: dict[str, DimChoice],
        orders: Sequence[Sequence[str]],
        keeps: Sequence[frozenset[str]],
    ) -> Mapping:
        n = len(self.arch.levels)
        temporal = [{d: fac[d].temporal[k] for d in self.dims} for k in range(n)]
        spatial = [
            SpatialLoop(d, fac[d].spatial[j], a)
            for j, a in enumerate(self.arch.axis_names)
            for d in self.dims
            if fac[d].spatial[j] > 1
        ]
        return make_mapping(self.op, self.arch, temporal, orders, spatial, [*keeps, frozenset()])


# ---------------------------------------------------------------------------------------------
# Scoring


@dataclass
class Best:
    """The best legal candidate seen so far under an objective (ties keep the first)."""

    objective: Objective
    key: ScoreKey | None = None
    mapping: Mapping | None = None
    metrics: Metrics | None = None
    evaluated: int = 0

    def score(self, op: Einsum, arch: Architecture, mapping: Mapping) -> ScoreKey | None:
        """Evaluate ``mapping``; None if it is illegal. Keeps it if it is the best so far."""
        metrics = evaluate(op, arch, mapping)
        self.evaluated += 1
        if metrics.violations:
            return None
        key = objective_key(self.objective)(metrics)
        if self.key is None or key < self.key:
            self.key, self.mapping, self.metrics = key, mapping, metrics
        return key

    def result(self, start: float, note: str) -> BaselineResult:
        if self.mapping is None or self.metrics is None:
            raise BaselineUnavailable(
                f"no legal mapping among {self.evaluated} evaluated candidates"
            )
        return BaselineResult(
            self.mapping, self.metrics, time.perf_counter() - start, self.evaluated, note
        )


def single(
    op: Einsum, arch: Architecture, mapping: Mapping, start: float, note: str
) -> BaselineResult:
    """The result of a rule-based baseline: its one mapping, which must be legal."""
    metrics = evaluate(op, arch, mapping)
    if metrics.violations:
        raise BaselineUnavailable(
            f"{note}: the rule's mapping is illegal ({metrics.violations[0]})"
        )
    return BaselineResult(mapping, metrics, time.perf_counter() - start, 1, note)
