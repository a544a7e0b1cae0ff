"""The registry of baseline schedulers ``cosamt compare`` runs beside the MIP.

Every baseline has the signature ``(op, arch, objective, seed, effort) -> BaselineResult``, searches
the MIP's single-operator mapspace without padding (or builds one mapping by a documented rule),
scores every candidate with the independent evaluator, rejects candidates with violations, never
imports Pyomo, and is deterministic for a fixed seed. ``effort`` is a budget of evaluator calls:

* ``random``: ``effort`` legal random mappings (``random_search``);
* ``genetic``: about ``effort`` evaluations (``genetic``);
* ``exhaustive``: the whole mapspace, refused (``BaselineUnavailable``) when it has more than
  ``max(effort, EXHAUSTIVE_MIN_LIMIT)`` candidates;
* ``fixed-ws``, ``fixed-is``, ``fixed-os``, ``tas``, ``greedy``: one rule-based mapping (seed and
  effort are ignored).

A baseline that cannot produce a legal schedule raises ``BaselineUnavailable`` with the reason.
"""

from __future__ import annotations

import math
import time

from cosamt.arch.spec import Architecture
from cosamt.baselines.common import Baseline, BaselineResult, BaselineUnavailable
from cosamt.baselines.exhaustive import (
    NoLegalMapping,
    SearchSpaceTooLarge,
    dim_choices,
    exhaustive_search,
    keep_options,
)
from cosamt.baselines.fixed import Dataflow, fixed
from cosamt.baselines.genetic import genetic
from cosamt.baselines.greedy import greedy
from cosamt.baselines.random_search import random_search
from cosamt.baselines.tas import tas
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum

__all__ = ["BASELINES", "DEFAULT_EFFORT", "BaselineResult", "BaselineUnavailable", "run_baseline"]

DEFAULT_EFFORT = 1000
EXHAUSTIVE_MIN_LIMIT = 10_000


def space_lower_bound(op: Einsum, arch: Architecture) -> int:
    """A cheap lower bound on the mapspace's size: keep patterns x the factorisations with no
    spatial factor (they always fit the array; each has at least one loop order)."""
    temporal_only = [
        sum(1 for c in dim_choices(op, arch, d) if all(f == 1 for f in c.spatial)) for d in op.dims
    ]
    return math.prod(temporal_only) * math.prod(len(k) for k in keep_options(op, arch))


def exhaustive(
    op: Einsum, arch: Architecture, objective: Objective, seed: int, effort: int
) -> BaselineResult:
    """The exhaustive optimum, when the mapspace has at most ``max(effort, 10 000)`` candidates."""
    start = time.perf_counter()
    limit = max(effort, EXHAUSTIVE_MIN_LIMIT)
    at_least = space_lower_bound(op, arch)
    if at_least > limit:
        raise BaselineUnavailable(
            f"mapspace has at least {at_least:.3g} candidates, more than the limit of {limit:,} "
            "(raise --effort)"
        )
    try:
        res = exhaustive_search(op, arch, objective, limit=limit)
    except SearchSpaceTooLarge as exc:
        raise BaselineUnavailable(
            f"mapspace has {exc.size:.3g} candidates, more than the limit of {exc.limit:,} "
            "(raise --effort)"
        ) from None
    except NoLegalMapping as exc:
        raise BaselineUnavailable(str(exc)) from None
    return BaselineResult(
        res.mapping,
        res.metrics,
        time.perf_counter() - start,
        res.evaluated,
        f"optimum of {res.space_size:,} candidates",
    )


BASELINES: dict[str, Baseline] = {
    "random": random_search,
    "genetic": genetic,
    "fixed-ws": fixed(Dataflow.WEIGHT),
    "fixed-is": fixed(Dataflow.INPUT),
    "fixed-os": fixed(Dataflow.OUTPUT),
    "tas": tas,
    "greedy": greedy,
    "exhaustive": exhaustive,
}


def run_baseline(
    name: str,
    op: Einsum,
    arch: Architecture,
    objective: Objective,
    seed: int = 0,
    effort: int = DEFAULT_EFFORT,
) -> BaselineResult:
    """Run one registered baseline (``KeyError`` names the known ones)."""
    if name not in BASELINES:
        raise KeyError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")
    return BASELINES[name](op, arch, Objective(objective), seed, effort)
