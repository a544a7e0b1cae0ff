"""Exhaustive search over the single-operator mapspace, scored by the independent evaluator.

A reference for the exact MIP on small problems: it enumerates the same mapspace as
``cosamt.formulation.single_operator`` (without padding), but rebuilds that space from the
architecture and operator alone and scores every candidate with ``cosamt.evaluate.evaluate``.
It imports neither Pyomo nor the formulation.

The mapspace:

* Factors. Every dimension's size is split into an ordered product of divisors over its slots: a
  temporal loop at every memory level, plus each spatial axis (the PE array's at ``pe_array.below``,
  every further fan-out's at its ``below``) whose ``unrolls`` admit the dimension's class (reduction
  dims, those not indexing the output, also need the fan-out's ``spatial_reduction``). Vector
  operators get no spatial slots. Products of spatial factors on an axis must not exceed its size.
* Orders. At every level, every order of the non-trivial (factor > 1) temporal loops. Factor-1
  loops are dropped by the reuse rule and are not listed.
* Keeps. A tensor may be kept at a non-DRAM level whose ``holds`` lists its role or whose
  ``holds_tensors`` its name (not at PE-private levels for vector operators); DRAM keeps every
  tensor.

Candidates with violations are skipped. Capacity does not depend on loop order, so a
(factors, keeps) pair whose kept tiles overflow a buffer is rejected before its orders are
enumerated; that rejection mirrors the evaluator's capacity rule exactly and only ever removes
candidates the evaluator would flag.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from cosamt.arch.spec import Architecture
from cosamt.evaluate.evaluator import evaluate
from cosamt.evaluate.metrics import Metrics
from cosamt.lattice import divisors
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum, Tensor

DEFAULT_LIMIT = 2_000_000


class SearchSpaceTooLarge(Exception):
    """The mapspace has more candidates than the caller allowed."""

    def __init__(self, op: str, arch: str, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"exhaustive search of {op} on {arch}: the mapspace has {size:,} candidate mappings "
            f"(factorisations x loop orders x keep patterns), more than the limit of {limit:,}; "
            "raise `limit` or use a smaller problem"
        )


class NoLegalMapping(Exception):
    """Every candidate of the mapspace violates the architecture (e.g. no tile fits anywhere)."""


@dataclass(frozen=True)
class ExhaustiveResult:
    mapping: Mapping
    metrics: Metrics
    evaluated: int  # mappings scored by the evaluator
    seconds: float
    space_size: int = 0  # candidates in the mapspace (before capacity rejection)


# ---------------------------------------------------------------------------------------------
# The mapspace, rebuilt from the architecture and the operator


@dataclass(frozen=True)
class _Slot:
    level: int
    axis: str | None = None  # None: temporal loop at ``level``; else a spatial axis


def _slots(op: Einsum, arch: Architecture, dim: str) -> list[_Slot]:
    out = [_Slot(k) for k in range(len(arch.levels))]
    return out + [_Slot(arch.axis_level(a), a) for a in arch.unroll_axes(op, dim)]


def ordered_factorisations(n: int, parts: int) -> list[tuple[int, ...]]:
    """Every tuple of ``parts`` positive integers whose product is ``n`` (deterministic order)."""
    if parts == 0:
        return [()] if n == 1 else []
    if parts == 1:
        return [(n,)]
    return [(d, *rest) for d in divisors(n) for rest in ordered_factorisations(n // d, parts - 1)]


def _holdable(op: Einsum, arch: Architecture, t: Tensor) -> list[int]:
    return [i for i in range(len(arch.levels) - 1) if arch.may_keep(i, op, t)]


@dataclass(frozen=True)
class _DimChoice:
    """One ordered factorisation of a dimension: its temporal factor per level and spatial per axis."""

    temporal: tuple[int, ...]  # per level
    spatial: tuple[int, ...]  # per axis of arch.axis_names (1 if the axis cannot unroll the dim)


def _dim_choices(op: Einsum, arch: Architecture, dim: str) -> list[_DimChoice]:
    slots = _slots(op, arch, dim)
    n = len(arch.levels)
    out = []
    for fs in ordered_factorisations(op.dims[dim], len(slots)):
        temporal = [1] * n
        axes = arch.axis_names
        spatial = [1] * len(axes)
        for s, f in zip(slots, fs, strict=True):
            if s.axis is None:
                temporal[s.level] = f
            else:
                spatial[axes.index(s.axis)] = f
        if all(f <= arch.axis_size(a) for a, f in zip(axes, spatial, strict=True)):
            out.append(_DimChoice(tuple(temporal), tuple(spatial)))
    return out


def _keep_subsets(op: Einsum, arch: Architecture) -> list[list[frozenset[str]]]:
    """Per non-DRAM level, every subset of the tensors it may keep (deterministic order)."""
    out = []
    for i in range(len(arch.levels) - 1):
        names = [t.name for t in op.tensors if i in _holdable(op, arch, t)]
        subsets = [
            frozenset(c) for r in range(len(names) + 1) for c in itertools.combinations(names, r)
        ]
        out.append(subsets)
    return out


def space_size(op: Einsum, arch: Architecture) -> int:
    """Candidates in the mapspace: array-fitting factorisations x loop orders x keep patterns.

    Counted by dynamic programming over dimensions (state: non-trivial loops per level and
    spatial product per axis), without enumerating anything."""
    n = len(arch.levels)
    sizes = [arch.axis_size(a) for a in arch.axis_names]
    states: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {((0,) * n, (1,) * len(sizes)): 1}
    for d in op.dims:
        nxt: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
        for ch in _dim_choices(op, arch, d):
            for (loops, used), cnt in states.items():
                used2 = tuple(u * f for u, f in zip(used, ch.spatial, strict=True))
                if any(u > s for u, s in zip(used2, sizes, strict=True)):
                    continue
                loops2 = tuple(c + (f > 1) for c, f in zip(loops, ch.temporal, strict=True))
                nxt[(loops2, used2)] = nxt.get((loops2, used2), 0) + cnt
        states = nxt
    orders = sum(
        cnt * math.prod(math.factorial(c) for c in loops) for (loops, _u), cnt in states.items()
    )
    keeps = math.prod(len(s) for s in _keep_subsets(op, arch))
    return orders * keeps


# ---------------------------------------------------------------------------------------------
# Enumeration


def _assignments(op: Einsum, arch: Architecture) -> Iterator[dict[str, _DimChoice]]:
    dims = list(op.dims)
    sizes = [arch.axis_size(a) for a in arch.axis_names]
    per_dim = [_dim_choices(op, arch, d) for d in dims]
    for combo in itertools.product(*per_dim):
        for j in range(len(sizes)):
            if math.prod(ch.spatial[j] for ch in combo) > sizes[j]:
                break
        else:
            yield dict(zip(dims, combo, strict=True))


def _tile(t: Tensor, fac: dict[str, _DimChoice], level: int, axis_levels: list[int]) -> int:
    """Words of t's tile at ``level``: every factor of t's dims at levels <= level (``axis_levels``:
    the level of each spatial axis's loops)."""
    out = 1
    for d in t.dims:
        ch = fac[d]
        out *= math.prod(ch.temporal[: level + 1])
        out *= math.prod(f for f, k in zip(ch.spatial, axis_levels, strict=True) if k <= level)
    return out


def _feasible_keeps(
    op: Einsum, arch: Architecture, fac: dict[str, _DimChoice], subsets: list[list[frozenset[str]]]
) -> list[list[frozenset[str]]]:
    """Per non-DRAM level, the keep subsets whose tiles fit every capacity group of the level."""
    out = []
    wb = arch.word_bytes
    axis_levels = [arch.axis_level(a) for a in arch.axis_names]
    for i, options in enumerate(subsets):
        groups = arch.levels[i].capacity_groups(wb)
        # in words of word_bytes (role_bytes widths weigh bytes / word_bytes), as the evaluator
        tiles = {t.name: _tile(t, fac, i, axis_levels) * arch.width(i, t.role) for t in op.tensors}
        ok = [
            s
            for s in options
            if all(
                sum(tiles[t.name] for t in op.tensors if t.name in s and buf.takes(t)) <= buf.words
                for buf in groups
            )
        ]
        out.append(ok)
    return out


def _level_orders(
    dims: list[str], fac: dict[str, _DimChoice], level: int
) -> list[tuple[Loop, ...]]:
    loops = [Loop(d, fac[d].temporal[level]) for d in dims if fac[d].temporal[level] > 1]
    return list(itertools.permutations(loops))


def _spatial_loops(
    arch: Architecture, dims: list[str], fac: dict[str, _DimChoice], level: int
) -> tuple[SpatialLoop, ...]:
    """The spatial loops at ``level``: those on the axes of the fan-out below it."""
    return tuple(
        SpatialLoop(d, fac[d].spatial[j], a)
        for j, a in enumerate(arch.axis_names)
        for d in dims
        if fac[d].spatial[j] > 1 and arch.axis_level(a) == level
    )


def _quantise(x: float) -> float:
    return float(f"{x:.12g}")


def objective_key(objective: Objective) -> Callable[[Metrics], tuple[float, ...]]:
    """Lexicographic key: the primary objective (rounded to 12 significant digits so that float
    noise does not decide ties), then the other metric."""
    if objective is Objective.LATENCY:
        return lambda m: (_quantise(m.latency_cycles), _quantise(m.energy_pj))
    if objective is Objective.ENERGY:
        return lambda m: (_quantise(m.energy_pj), _quantise(m.latency_cycles))
    if objective is Objective.EDP:
        return lambda m: (
            _quantise(m.latency_cycles * m.energy_pj),
            _quantise(m.latency_cycles),
            _quantise(m.energy_pj),
        )
    raise ValueError(f"unknown objective {objective!r}")


def exhaustive_search(
    op: Einsum, arch: Architecture, objective: Objective, *, limit: int = DEFAULT_LIMIT
) -> ExhaustiveResult:
    """The best legal mapping of ``op`` on ``arch`` for ``objective`` by exhaustive enumeration.

    Raises ``SearchSpaceTooLarge`` before enumerating if the mapspace exceeds ``limit`` candidates,
    and ``NoLegalMapping`` if every candidate has a violation. Ties keep the first candidate in
    enumeration order, so the result is deterministic."""
    return exhaustive_search_many(op, arch, (objective,), limit=limit)[Objective(objective)]


def exhaustive_search_many(
    op: Einsum, arch: Architecture, objectives: Iterable[Objective], *, limit: int = DEFAULT_LIMIT
) -> dict[Objective, ExhaustiveResult]:
    """``exhaustive_search`` for several objectives in one enumeration (each result reports the
    whole enumeration's ``evaluated`` and ``seconds``)."""
    start = time.perf_counter()
    objs = list(dict.fromkeys(Objective(o) for o in objectives))
    keys = [objective_key(o) for o in objs]
    total = space_size(op, arch)
    if total > limit:
        raise SearchSpaceTooLarge(op.name, arch.name, total, limit)
    n = len(arch.levels)
    dims = list(op.dims)
    subsets = _keep_subsets(op, arch)
    all_names = frozenset(t.name for t in op.tensors)
    best: list[tuple[tuple[float, ...], Mapping, Metrics] | None] = [None] * len(objs)
    evaluated = 0
    for fac in _assignments(op, arch):
        keeps = _feasible_keeps(op, arch, fac, subsets)
        if any(not k for k in keeps):
            continue
        keeps.append([all_names])  # DRAM keeps everything
        orders = [_level_orders(dims, fac, k) for k in range(n)]
        spatial = [_spatial_loops(arch, dims, fac, k) for k in range(n)]
        for keep_combo in itertools.product(*keeps):
            for order_combo in itertools.product(*orders):
                mapping = Mapping(
                    levels=tuple(
                        LevelMapping(
                            temporal=order_combo[k],
                            spatial=spatial[k],
                            keep=keep_combo[k],
                        )
                        for k in range(n)
                    )
                )
                metrics = evaluate(op, arch, mapping)
                evaluated += 1
                if metrics.violations:
                    continue
                for j, key in enumerate(keys):
                    k_ = key(metrics)
                    b = best[j]
                    if b is None or k_ < b[0]:
                        best[j] = (k_, mapping, metrics)
    seconds = time.perf_counter() - start
    out: dict[Objective, ExhaustiveResult] = {}
    for o, b in zip(objs, best, strict=True):
        if b is None:
            raise NoLegalMapping(
                f"no legal mapping of {op.name} on {arch.name} among {total:,} candidates"
            )
        out[o] = ExhaustiveResult(
            mapping=b[1], metrics=b[2], evaluated=evaluated, seconds=seconds, space_size=total
        )
    return out


# ---------------------------------------------------------------------------------------------
# Public views of the mapspace, shared with the other baselines (random, genetic, ...)

DimChoice = _DimChoice


def dim_choices(op: Einsum, arch: Architecture, dim: str) -> list[DimChoice]:
    """Every legal slot assignment of ``dim``'s factors (each spatial factor fits its axis alone)."""
    return _dim_choices(op, arch, dim)


def keep_options(op: Einsum, arch: Architecture) -> list[list[frozenset[str]]]:
    """Per non-DRAM level, every subset of the tensors it may keep."""
    return _keep_subsets(op, arch)
