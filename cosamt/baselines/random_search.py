"""Random sampling of the mapspace (Timeloop's random mapper): the best of N legal random mappings.

A sample draws, independently: per dimension one ordered factorisation uniformly among the
dimension's legal slot assignments (``exhaustive.dim_choices``; a draw whose spatial factors
overflow an array axis is redrawn), per level a uniformly random loop order, and per non-DRAM
level a uniformly random subset of the tensors it may keep. Samples the evaluator flags (a tile
that overflows a buffer, for instance) are rejected and resampled, up to ``ATTEMPTS_PER_SAMPLE``
draws per requested sample in all. Seeded and deterministic.
"""

from __future__ import annotations

import random
import time

from cosamt.arch.spec import Architecture
from cosamt.baselines.common import BaselineResult, Best, MapSpace
from cosamt.baselines.exhaustive import DimChoice
from cosamt.schedule.mapping import Mapping
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum

ATTEMPTS_PER_SAMPLE = 20
ARRAY_REDRAWS = 1000


def sample_factors(space: MapSpace, rng: random.Random) -> dict[str, DimChoice] | None:
    """A uniformly drawn factorisation per dim whose spatial factors fit the array (None if
    ``ARRAY_REDRAWS`` draws all overflow it)."""
    for _ in range(ARRAY_REDRAWS):
        fac = {d: rng.choice(space.choices[d]) for d in space.dims}
        if space.fits_array(fac):
            return fac
    return None


def sample_orders(space: MapSpace, rng: random.Random) -> list[list[str]]:
    return [rng.sample(space.dims, len(space.dims)) for _ in space.arch.levels]


def sample_keeps(space: MapSpace, rng: random.Random) -> list[frozenset[str]]:
    return [rng.choice(options) for options in space.keeps]


def sample_mapping(space: MapSpace, rng: random.Random) -> Mapping | None:
    fac = sample_factors(space, rng)
    if fac is None:
        return None
    return space.mapping(fac, sample_orders(space, rng), sample_keeps(space, rng))


def random_search(
    op: Einsum, arch: Architecture, objective: Objective, seed: int, effort: int
) -> BaselineResult:
    """The best of ``effort`` legal random mappings (fewer if the attempt cap is reached)."""
    start = time.perf_counter()
    rng = random.Random(seed)
    space = MapSpace.of(op, arch)
    best = Best(Objective(objective))
    valid = attempts = 0
    while valid < effort and attempts < effort * ATTEMPTS_PER_SAMPLE:
        attempts += 1
        mapping = sample_mapping(space, rng)
        if mapping is not None and best.score(op, arch, mapping) is not None:
            valid += 1
    return best.result(start, f"{valid} legal of {attempts} sampled mappings")
