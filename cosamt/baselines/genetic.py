"""A genetic algorithm over the mapspace (SAMT's mapping explorer), scored by the evaluator.

Genes: per dimension, which of its legal slot assignments it uses (``exhaustive.dim_choices``);
per level, a random key per dimension whose ascending order is the loop order (outermost first);
per non-DRAM level, the set of tensors kept there. Each generation keeps the ``ELITE`` best
genomes, then fills the population with children of tournament-selected parents (tournament size
``TOURNAMENT``): uniform crossover per dimension, per level order and per level keep set, then
mutation (a prime factor of a dimension moves to another of its slots, two loops of a level swap,
a tensor's keep bit at a level flips). Illegal genomes (violations) rank below every legal one and
are never returned. The budget is ``effort`` evaluator calls (repeated genomes are not re-scored);
the population is ``effort // 10`` clamped to [4, 32]. Seeded and deterministic.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from cosamt.arch.spec import Architecture
from cosamt.baselines.common import BaselineResult, Best, MapSpace, ScoreKey
from cosamt.baselines.exhaustive import DimChoice
from cosamt.baselines.random_search import sample_factors
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum

ELITE = 2
TOURNAMENT = 3
CROSSOVER_RATE = 0.9
SWAP_RATE = 0.3
KEEP_FLIP_RATE = 0.2
MIN_POPULATION, MAX_POPULATION = 4, 32
WORST: ScoreKey = (float("inf"),)


@dataclass(frozen=True)
class Genome:
    factors: tuple[int, ...]  # per dim: index into the dim's legal slot assignments
    keys: tuple[tuple[float, ...], ...]  # per level: sort key per dim (ascending = outermost first)
    keeps: tuple[frozenset[str], ...]  # per non-DRAM level


class _Genetics:
    """Operators on genomes of one mapspace."""

    def __init__(self, space: MapSpace, rng: random.Random) -> None:
        self.space = space
        self.rng = rng
        self.index = {
            d: {(c.temporal, c.spatial): i for i, c in enumerate(space.choices[d])}
            for d in space.dims
        }
        self.holdable = [opts[-1] for opts in space.keeps]  # the last subset is the full set

    def random(self) -> Genome:
        fac = sample_factors(self.space, self.rng)
        dims = self.space.dims
        factors = (
            tuple(self.rng.randrange(len(self.space.choices[d])) for d in dims)
            if fac is None
            else tuple(self.space.choices[d].index(fac[d]) for d in dims)
        )
        keys = tuple(tuple(self.rng.random() for _ in dims) for _ in self.space.arch.levels)
        keeps = tuple(self.rng.choice(opts) for opts in self.space.keeps)
        return Genome(factors, keys, keeps)

    def decode(self, g: Genome) -> tuple[dict[str, DimChoice], list[list[str]]]:
        dims = self.space.dims
        fac = {d: self.space.choices[d][i] for d, i in zip(dims, g.factors, strict=True)}
        orders = [[d for _k, d in sorted(zip(keys, dims, strict=True))] for keys in g.keys]
        return fac, orders

    def crossover(self, a: Genome, b: Genome) -> Genome:
        pick = self.rng.random
        return Genome(
            tuple(x if pick() < 0.5 else y for x, y in zip(a.factors, b.factors, strict=True)),
            tuple(x if pick() < 0.5 else y for x, y in zip(a.keys, b.keys, strict=True)),
            tuple(x if pick() < 0.5 else y for x, y in zip(a.keeps, b.keeps, strict=True)),
        )

    def _move_prime(self, dim: str, idx: int) -> int:
        """Move one prime factor of ``dim`` to another of its slots (a redraw if that is illegal)."""
        choice = self.space.choices[dim][idx]
        slots = list(choice.temporal + choice.spatial)
        src = self.rng.choice([i for i, f in enumerate(slots) if f > 1] or [0])
        prime = next((p for p in range(2, slots[src] + 1) if slots[src] % p == 0), 1)
        dst = self.rng.randrange(len(slots))
        slots[src] //= prime
        slots[dst] *= prime
        n = len(choice.temporal)
        moved = self.index[dim].get((tuple(slots[:n]), tuple(slots[n:])))
        return moved if moved is not None else self.rng.randrange(len(self.space.choices[dim]))

    def mutate(self, g: Genome) -> Genome:
        rate = 1.0 / len(g.factors)
        factors = tuple(
            self._move_prime(d, i) if self.rng.random() < rate else i
            for d, i in zip(self.space.dims, g.factors, strict=True)
        )
        keys = tuple(self._swap(k) if self.rng.random() < SWAP_RATE else k for k in g.keys)
        keeps = tuple(
            self._flip(s, full) if self.rng.random() < KEEP_FLIP_RATE else s
            for s, full in zip(g.keeps, self.holdable, strict=True)
        )
        return Genome(factors, keys, keeps)

    def _swap(self, keys: tuple[float, ...]) -> tuple[float, ...]:
        i, j = self.rng.randrange(len(keys)), self.rng.randrange(len(keys))
        out = list(keys)
        out[i], out[j] = out[j], out[i]
        return tuple(out)

    def _flip(self, kept: frozenset[str], full: frozenset[str]) -> frozenset[str]:
        if not full:
            return kept
        return kept ^ {self.rng.choice(sorted(full))}


class _Population:
    """Fitness bookkeeping: every distinct decoded genome is evaluated once."""

    def __init__(
        self, op: Einsum, arch: Architecture, objective: Objective, gen: _Genetics
    ) -> None:
        self.op, self.arch, self.gen = op, arch, gen
        self.best = Best(objective)
        self.cache: dict[object, ScoreKey] = {}

    def fitness(self, g: Genome) -> ScoreKey:
        fac, orders = self.gen.decode(g)
        key = (g.factors, tuple(tuple(o) for o in orders), g.keeps)
        if key not in self.cache:
            mapping = self.gen.space.mapping(fac, orders, g.keeps)
            self.cache[key] = self.best.score(self.op, self.arch, mapping) or WORST
        return self.cache[key]

    def tournament(self, ranked: list[tuple[ScoreKey, Genome]]) -> Genome:
        entrants = [ranked[self.gen.rng.randrange(len(ranked))] for _ in range(TOURNAMENT)]
        return min(entrants, key=lambda e: e[0])[1]


def _next_generation(
    pop: _Population, ranked: list[tuple[ScoreKey, Genome]], size: int
) -> list[Genome]:
    gen = pop.gen
    children = [g for _s, g in ranked[:ELITE]]
    while len(children) < size:
        a, b = pop.tournament(ranked), pop.tournament(ranked)
        child = gen.crossover(a, b) if gen.rng.random() < CROSSOVER_RATE else a
        children.append(gen.mutate(child))
    return children


def genetic(
    op: Einsum, arch: Architecture, objective: Objective, seed: int, effort: int
) -> BaselineResult:
    """The best legal mapping the GA finds within ``effort`` evaluator calls."""
    start = time.perf_counter()
    gen = _Genetics(MapSpace.of(op, arch), random.Random(seed))
    pop = _Population(op, arch, Objective(objective), gen)
    size = max(MIN_POPULATION, min(MAX_POPULATION, effort // 10))
    population = [gen.random() for _ in range(size)]
    generations = 0
    stale = 0
    while pop.best.evaluated < effort and stale < 4 * size:
        before = pop.best.evaluated
        ranked = sorted(((pop.fitness(g), g) for g in population), key=lambda e: e[0])
        population = _next_generation(pop, ranked, size)
        generations += 1
        stale = stale + 1 if pop.best.evaluated == before else 0
    return pop.best.result(start, f"population {size}, {generations} generations")
