"""Exact search over the declared space: enumerate, drop what breaks the area budget, order by a
proven lower bound, solve in that order, and discard every design whose bound cannot beat the best
solved one (formulations/design.md states the argument). Design points run in parallel processes."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from cosamt.design.derive import DesignPoint, design_area, enumerate_space
from cosamt.design.evaluate import DesignResult, design_lower_bound, evaluate_point
from cosamt.design.spec import DesignSpec, Pruning
from cosamt.interrupts import worker_init

ProgressFn = Callable[[int, int, str], None]  # (done, total, message)
RELATIVE_TOLERANCE = 1e-9  # bounds and values are floats summed in different orders


@dataclass(frozen=True)
class Candidate:
    point: DesignPoint
    area_mm2: float
    bound_latency_s: float
    bound_energy_pj: float
    bound: float  # on the objective


@dataclass(frozen=True)
class Outcome:
    """A design point of the space and what happened to it."""

    candidate: Candidate
    fate: str  # "solved", "pruned" (bound), "over_area", "over_power"
    result: DesignResult | None = None


@dataclass(frozen=True)
class SearchResult:
    spec: DesignSpec
    outcomes: tuple[Outcome, ...]
    best: DesignResult | None
    lower_bound: float  # proven over the whole space (within budget)
    seconds: float
    space_points: int

    @property
    def solved(self) -> list[DesignResult]:
        return [o.result for o in self.outcomes if o.result is not None]

    @property
    def evaluated_designs(self) -> int:
        return len(self.solved)

    @property
    def gap(self) -> float | None:
        if self.best is None:
            return None
        if self.best.value <= 0:
            return 0.0
        return max(0.0, (self.best.value - self.lower_bound) / self.best.value)

    @property
    def design_proven(self) -> bool:
        """No other feasible design can beat the best design's reported value (its identity is
        proven even when, for EDP, its own mapping has a gap)."""
        best = self.best
        if best is None:
            return False
        limit = best.value * (1 - RELATIVE_TOLERANCE)
        others = [r for r in self.solved if r is not best and power_ok(self.spec, r)]
        return best.all_optimal and all(r.bound >= limit for r in others)

    @property
    def status(self) -> str:
        if self.best is None:
            return "infeasible"
        exact = self.best.all_optimal and (self.gap or 0.0) <= 1e-6
        return "optimal" if exact else "feasible"


def candidates(spec: DesignSpec, points: Iterable[DesignPoint] | None = None) -> list[Candidate]:
    out = []
    for p in enumerate_space(spec.space) if points is None else points:
        area = design_area(p, spec.space).total_mm2
        lat, en, obj = design_lower_bound(spec, p)
        out.append(Candidate(p, area, lat, en, obj))
    return out


def power_ok(spec: DesignSpec, r: DesignResult) -> bool:
    limit = spec.budget.power_w
    return limit is None or r.latency_s <= 0 or r.energy_pj * 1e-12 / r.latency_s <= limit


def _dominated(c: Candidate, solved: list[tuple[Candidate, DesignResult]], rule: Pruning) -> bool:
    """True when a solved design proves ``c`` cannot be better (rule BEST), or cannot be better
    at no smaller area (rule FRONT)."""
    limit = c.bound * (1 + RELATIVE_TOLERANCE)
    return any(
        r.value <= limit and (rule is Pruning.BEST or s.area_mm2 <= c.area_mm2) for s, r in solved
    )


def search(
    spec: DesignSpec,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    jobs: int | None = None,
) -> SearchResult:
    """The provably best design of the space (and every design solved on the way)."""
    start = time.perf_counter()
    every = candidates(spec)
    within = [c for c in every if c.area_mm2 <= spec.budget.area_mm2]
    outcomes = [Outcome(c, "over_area") for c in every if c.area_mm2 > spec.budget.area_mm2]
    order = sorted(within, key=lambda c: (c.bound, c.area_mm2, c.point.label))
    solved: list[tuple[Candidate, DesignResult]] = []
    done = 0
    tasks = iter(order)

    def next_task() -> Candidate | None:
        nonlocal done
        for c in tasks:
            if _dominated(
                c, [(s, r) for s, r in solved if power_ok(spec, r)], spec.options.pruning
            ):
                outcomes.append(Outcome(c, "pruned"))
                done += 1
                continue
            return c
        return None

    for c, result in _run(next_task, spec, cache_dir, jobs or spec.options.jobs):
        done += 1
        solved.append((c, result))
        fate = "solved" if power_ok(spec, result) else "over_power"
        outcomes.append(Outcome(c, fate, result))
        if progress:
            progress(done, len(order), f"{result.label}: {result.value:.4g}")
    feasible = [r for _c, r in solved if power_ok(spec, r)]
    best = min(feasible, key=lambda r: (r.value, r.area_mm2, r.label), default=None)
    bounds = [r.bound for r in feasible] + [
        o.candidate.bound for o in outcomes if o.fate == "pruned"
    ]
    return SearchResult(
        spec,
        tuple(outcomes),
        best,
        min(bounds, default=float("inf")),
        time.perf_counter() - start,
        len(every),
    )


def _run(
    next_task: Callable[[], Candidate | None], spec: DesignSpec, cache_dir: Path | None, jobs: int
) -> Iterator[tuple[Candidate, DesignResult]]:
    """Evaluate candidates as ``next_task`` hands them out (it prunes against what has finished)."""
    if jobs == 1:
        while (c := next_task()) is not None:
            yield c, evaluate_point(spec, c.point, cache_dir)
        return
    # spawn: no fork of a process that may run threads (progress bar, solver)
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_init,  # SIGINT left to the parent; dies with the parent
    )
    running: dict[Future[DesignResult], Candidate] = {}
    try:
        while True:
            while len(running) < jobs and (c := next_task()) is not None:
                running[pool.submit(evaluate_point, spec, c.point, cache_dir)] = c
            if not running:
                return
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                yield running.pop(f), f.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
