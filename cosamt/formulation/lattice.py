"""Re-export of :mod:`cosamt.lattice` (divisors and padding are shared by the formulation and the
baselines; they live there once)."""

from cosamt.lattice import (
    divisors,
    lattice,
    padding_candidates,
    prime_factors,
    smoothness,
    solver_padding,
)

__all__ = [
    "divisors",
    "lattice",
    "padding_candidates",
    "prime_factors",
    "smoothness",
    "solver_padding",
]
