"""The time limit is a budget per operator group: a group stopped by it keeps the best schedule
found, is never called optimal, and reports its gap. No timed assertions: the first test stops
HiGHS at its first incumbent (what a deadline does, made deterministic), the second gives a group
a limit far below what any MIP needs and checks only what the result claims."""

from __future__ import annotations

import time
from typing import Any

import pytest

import cosamt.solve.solver as solver_module
from cosamt.arch.presets import load_preset
from cosamt.evaluate.evaluator import evaluate
from cosamt.fusion.schemes import single
from cosamt.pipeline import solve_group_result
from cosamt.solve.solver import SolveSettings, SolveStatus, solve_operator
from cosamt.workload.einsum import gemm

# Big enough that HiGHS cannot prove it at its first incumbent or before its first interrupt check.
OP = gemm("g", 1024, 768, 3072)
SETTINGS = SolveSettings(threads=1, time_limit_s=300, padding=False)


def _stop_at_first_incumbent(highs: Any, deadline: float) -> None:
    """Like solver._interrupt_at, but the 'deadline' is HiGHS's first improving solution."""
    import highspy

    kinds = highspy._core.cb.HighsCallbackType
    found = [False]

    def callback(kind: int, _message: str, _out: Any, data_in: Any, _user: Any) -> None:
        if kind == kinds.kCallbackMipImprovingSolution:
            found[0] = True
        elif found[0] or time.perf_counter() > deadline:
            data_in.user_interrupt = True

    highs.setCallback(callback, None)
    for kind in (
        kinds.kCallbackMipImprovingSolution,
        kinds.kCallbackMipInterrupt,
        kinds.kCallbackSimplexInterrupt,
        kinds.kCallbackIpmInterrupt,
    ):
        highs.startCallback(kind)


def test_a_stopped_solve_keeps_its_schedule_is_not_optimal_and_reports_its_gap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(solver_module, "_interrupt_at", _stop_at_first_incumbent)
    edge = load_preset("edge")
    res = solve_operator(OP, edge, SETTINGS)
    assert res.status is SolveStatus.FEASIBLE
    assert not res.proven
    assert res.objective is not None and res.bound is not None and res.gap is not None
    assert 0.0 <= res.bound <= res.objective
    assert res.gap == pytest.approx((res.objective - res.bound) / res.objective)
    # The schedule kept is the one certified: its evaluator latency is the reported objective.
    assert res.mapping is not None
    metrics = evaluate(OP, edge, res.mapping)
    assert metrics.valid and metrics.latency_cycles == res.objective
    # The tie-break stage was stopped the same way: not proven either.
    assert res.tiebreak is not SolveStatus.OPTIMAL


def test_a_tiny_group_time_limit_never_claims_optimality() -> None:
    edge = load_preset("edge")
    settings = SolveSettings(threads=1, time_limit_s=1e-3, padding=False)
    result = solve_group_result(single(OP), edge, settings)
    s = result.solve
    assert s.status is not SolveStatus.OPTIMAL and not s.proven
    assert result.metrics.valid  # a schedule is always returned: the MIP's or the streaming one
    if s.objective is not None:  # the MIP found one before the deadline: its gap is reported
        assert s.status is SolveStatus.FEASIBLE and s.gap is not None
    else:
        assert s.status is SolveStatus.NO_SOLUTION
        assert result.source.startswith("streaming fallback")
