"""What users would otherwise run over the same hardware knobs, each with the MIP mapper inside:
random hardware sampling and a genetic algorithm (SAMT's explorer extended to hardware). Both draw
only designs within the area budget, count distinct evaluated designs, and stop at a design-count or
a wall-time budget."""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cosamt.design.derive import KNOBS, DesignPoint, design_area, knob_values, point_from_indices
from cosamt.design.evaluate import DesignResult, evaluate_point
from cosamt.design.search import power_ok
from cosamt.design.spec import DesignSpec
from cosamt.interrupts import worker_init

Genome = tuple[int, ...]
MAX_DRAWS = 10_000  # attempts to draw a design within the area budget


@dataclass(frozen=True)
class Budget:
    designs: int | None = None
    seconds: float | None = None
    both: bool = False  # stop when every given limit is reached (default: when any is)


@dataclass
class Trace:
    """Evaluated designs in order, with the wall time at which each finished."""

    method: str
    results: list[DesignResult] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def best_within(
        self, spec: DesignSpec, designs: int | None, seconds: float | None
    ) -> DesignResult | None:
        """The best power-feasible design among the first ``designs`` or within ``seconds``."""
        picked = [
            r
            for i, (r, t) in enumerate(zip(self.results, self.times, strict=True))
            if (designs is None or i < designs) and (seconds is None or t <= seconds)
        ]
        ok = [r for r in picked if power_ok(spec, r)]
        return min(ok, key=lambda r: (r.value, r.area_mm2), default=None)


class _Evaluator:
    """Evaluates batches of design points (in processes when jobs > 1), keeping one trace."""

    def __init__(self, spec: DesignSpec, cache_dir: Path | None, jobs: int, method: str) -> None:
        self.spec, self.cache_dir, self.jobs = spec, cache_dir, jobs
        self.trace = Trace(method)
        self.seen: dict[str, DesignResult] = {}
        self.start = time.perf_counter()
        self.pool = (
            ProcessPoolExecutor(
                max_workers=jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker_init,  # SIGINT to the parent; dies with the parent
            )
            if jobs > 1
            else None
        )

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def evaluate(self, points: list[DesignPoint]) -> list[DesignResult]:
        new = list({p.key(): p for p in points if p.key() not in self.seen}.values())
        results: Iterator[DesignResult]
        if self.pool is None:
            results = (evaluate_point(self.spec, p, self.cache_dir) for p in new)
        else:
            results = self.pool.map(
                evaluate_point, [self.spec] * len(new), new, [self.cache_dir] * len(new)
            )
        for p, r in zip(new, results, strict=True):
            self.seen[p.key()] = r
            self.trace.results.append(r)
            self.trace.times.append(self.elapsed())
        return [self.seen[p.key()] for p in points]

    def close(self) -> Trace:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self.trace.seconds = self.elapsed()
        return self.trace


def _within_budget(spec: DesignSpec, p: DesignPoint) -> bool:
    return design_area(p, spec.space).total_mm2 <= spec.budget.area_mm2


def _draw(spec: DesignSpec, rng: random.Random, sizes: list[int]) -> Genome:
    values = knob_values(spec.space)
    for _ in range(MAX_DRAWS):
        g = tuple(rng.randrange(n) for n in sizes)
        if _within_budget(spec, point_from_indices(values, g)):
            return g
    raise ValueError("no design within the area budget found by random draws")


def _exhausted(ev: _Evaluator, budget: Budget, feasible: int) -> bool:
    count = len(ev.trace.results)
    reached = [
        budget.designs is not None and count >= budget.designs,
        budget.seconds is not None and ev.elapsed() >= budget.seconds,
    ]
    given = [budget.designs is not None, budget.seconds is not None]
    done = all(r for r, g in zip(reached, given, strict=True) if g) if budget.both else any(reached)
    return count >= feasible or done


def _sizes(spec: DesignSpec) -> list[int]:
    values = knob_values(spec.space)
    return [len(values[k]) for k in KNOBS]


def feasible_count(spec: DesignSpec) -> int:
    from cosamt.design.derive import enumerate_space

    return sum(_within_budget(spec, p) for p in enumerate_space(spec.space))


def random_search(
    spec: DesignSpec, budget: Budget, seed: int = 0, cache_dir: Path | None = None, jobs: int = 1
) -> Trace:
    """Distinct random designs within the area budget, ``jobs`` at a time, until the budget ends."""
    rng = random.Random(f"random-{seed}")  # not the genetic algorithm's stream for the same seed
    values, sizes, total = knob_values(spec.space), _sizes(spec), feasible_count(spec)
    ev = _Evaluator(spec, cache_dir, jobs, "random")
    try:
        while not _exhausted(ev, budget, total):
            batch: dict[str, DesignPoint] = {}
            want = (
                jobs
                if budget.designs is None or budget.both
                else budget.designs - len(ev.trace.results)
            )
            want = max(1, min(jobs, want))
            while len(batch) < want and len(ev.seen) + len(batch) < total:
                p = point_from_indices(values, _draw(spec, rng, sizes))
                if p.key() not in ev.seen:
                    batch[p.key()] = p
            ev.evaluate(list(batch.values()))
    finally:
        trace = ev.close()
    return trace


def genetic_search(
    spec: DesignSpec,
    budget: Budget,
    seed: int = 0,
    cache_dir: Path | None = None,
    jobs: int = 1,
    population: int = 8,
    mutation: float = 0.3,
) -> Trace:
    """SAMT-style genetic algorithm over knob indices: tournament selection of two, uniform
    crossover, per-knob mutation to a neighbouring or random value, elitism of one; children over
    the area budget are redrawn. Fitness is the design's objective with the MIP mapper inside."""
    rng = random.Random(f"genetic-{seed}")
    values, sizes, total = knob_values(spec.space), _sizes(spec), feasible_count(spec)
    ev = _Evaluator(spec, cache_dir, jobs, "genetic")

    def fitness(g: Genome) -> float:
        r = ev.seen[point_from_indices(values, g).key()]
        return r.value if power_ok(spec, r) else float("inf")

    def child(pop: list[Genome]) -> Genome:
        a, b = (min(rng.sample(pop, 2), key=fitness) for _ in range(2))
        for _ in range(MAX_DRAWS):
            g = [x if rng.random() < 0.5 else y for x, y in zip(a, b, strict=True)]
            for k, n in enumerate(sizes):
                if n > 1 and rng.random() < mutation:
                    g[k] = (
                        min(n - 1, max(0, g[k] + rng.choice((-1, 1))))
                        if rng.random() < 0.7
                        else rng.randrange(n)
                    )
            if _within_budget(spec, point_from_indices(values, tuple(g))):
                return tuple(g)
        return _draw(spec, rng, sizes)

    try:
        pop = [_draw(spec, rng, sizes) for _ in range(population)]
        if budget.designs is not None and not budget.both:
            pop = list(dict.fromkeys(pop))[: budget.designs]
        # the first generation ``jobs`` at a time, so that a budget smaller than the population
        # is not overrun (the designs and their order are the same)
        first_generation = True
        for i in range(0, len(pop), jobs):
            if i and _exhausted(ev, budget, total):
                first_generation = False
                break
            ev.evaluate([point_from_indices(values, g) for g in pop[i : i + jobs]])
        stale = 0
        while first_generation and not _exhausted(ev, budget, total) and stale < 50:
            before = len(ev.trace.results)
            elite = min(pop, key=fitness)
            kids = [child(pop) for _ in range(population - 1)]
            if budget.designs is not None and not budget.both:
                room = budget.designs - len(ev.trace.results)
                fresh = [k for k in kids if point_from_indices(values, k).key() not in ev.seen]
                kids = [k for k in kids if k not in fresh] + fresh[:room]
            ev.evaluate([point_from_indices(values, g) for g in kids])
            pop = [elite, *kids]
            stale = stale + 1 if len(ev.trace.results) == before else 0
    finally:
        trace = ev.close()
    return trace
