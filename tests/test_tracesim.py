"""The analytical evaluator agrees, word for word, with a literal trace of tiny loop nests."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from support import assert_trace_agrees, make_arch, problems
from tracesim import simulate

from cosamt.arch.spec import Architecture
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping
from cosamt.workload.einsum import Einsum, gemm


def _agree(op: Einsum, arch: Architecture, m: Mapping) -> None:
    assert_trace_agrees(op, arch, m)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(3))
def test_evaluator_matches_trace_three_levels(case: tuple[Einsum, Architecture, Mapping]) -> None:
    _agree(*case)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(2))
def test_evaluator_matches_trace_two_levels(case: tuple[Einsum, Architecture, Mapping]) -> None:
    _agree(*case)


def _arch2() -> Architecture:
    return make_arch(2, 4, 4, True)


def test_trace_of_the_hand_example() -> None:
    """8x8x8 GEMM, GB [k 8], DRAM [m 8, n 8]: the simulator reproduces the hand count."""
    op = gemm("g", 8, 8, 8)
    m = Mapping(
        levels=(
            LevelMapping(temporal=(Loop("k", 8),), keep=frozenset("XWY")),
            LevelMapping(temporal=(Loop("m", 8), Loop("n", 8)), keep=frozenset("XWY")),
        )
    )
    sim = simulate(op, _arch2(), m)
    assert sim.counts[(1, "X")] == (64, 0)
    assert sim.counts[(1, "W")] == (512, 0)
    assert sim.counts[(1, "Y")] == (0, 64)
    assert sim.counts[(0, "X")] == (512, 64)
    assert sim.counts[(0, "W")] == (512, 512)
    assert sim.counts[(0, "Y")] == (64, 64)
    assert sim.steps == 512
    _agree(op, _arch2(), m)
