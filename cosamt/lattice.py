"""Prime factorisations and the lattices of attainable divisor products (pure Python)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import cache


@cache
def prime_factors(n: int) -> tuple[tuple[int, int], ...]:
    """((prime, multiplicity), ...) in increasing prime order."""
    out: list[tuple[int, int]] = []
    p = 2
    while p * p <= n:
        k = 0
        while n % p == 0:
            n //= p
            k += 1
        if k:
            out.append((p, k))
        p += 1
    if n > 1:
        out.append((n, 1))
    return tuple(out)


def divisors(n: int) -> list[int]:
    """All divisors of n, increasing."""
    divs = [1]
    for p, k in prime_factors(n):
        divs = [d * p**e for d in divs for e in range(k + 1)]
    return sorted(divs)


def lattice(sizes: Iterable[int], limit: int | None = None) -> list[int]:
    """Divisors of the product of ``sizes`` (at most ``limit``): every value a product of loop
    factors drawn from those dimensions can take."""
    values = divisors(math.prod(sizes))
    return [v for v in values if limit is None or v <= limit]


def smoothness(n: int) -> int:
    """Largest prime factor: the smaller, the more ways a dimension can be tiled."""
    return max((p for p, _ in prime_factors(n)), default=1)


def solver_padding(size: int) -> list[int]:
    """The sizes the single-operator solve tries for a dimension (``solve_operator``): the size
    itself and at most one padded size (the mapspace the explorer's bounds hold over)."""
    return padding_candidates(size, count=1)


def padding_candidates(
    size: int, max_overhead: float = 0.125, max_prime: int = 7, count: int = 2
) -> list[int]:
    """``size`` itself plus up to ``count`` nearby sizes whose prime factors are all <= max_prime.

    Only offered when ``size`` has a prime factor above ``max_prime``: 197 -> [197, 200, 210]."""
    if smoothness(size) <= max_prime:
        return [size]
    out = [size]
    limit = math.floor(size * (1 + max_overhead))
    for cand in range(size + 1, limit + 1):
        if smoothness(cand) <= max_prime:
            out.append(cand)
            if len(out) > count:
                break
    return out
