"""The solve pipeline: fusion exploration, infeasible fused candidates, bounds."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from support import agrees

from cosamt.io.instance import parse_instance
from cosamt.pipeline import (
    NoSchedule,
    SolveReport,
    resolve,
    settings_for,
    solve_group_result,
    solve_instance,
)

TINY_ARCH: dict[str, Any] = {
    "name": "tiny",
    "clock_ghz": 1,
    "word_bytes": 2,
    "mac_energy_pj": 1,
    "pe_array": {"rows": {"size": 4}, "cols": {"size": 4}, "below": "GlobalBuffer"},
    "levels": [
        # 96 words: a whole 128-key score row (FLAT) cannot fit, a tile of keys (online) can
        {
            "name": "GlobalBuffer",
            "capacity_bytes": 192,
            "read_energy_pj": 6,
            "write_energy_pj": 6,
            "read_bandwidth": 16,
            "write_bandwidth": 16,
        },
        {
            "name": "DRAM",
            "read_energy_pj": 200,
            "write_energy_pj": 200,
            "read_bandwidth": 8,
            "write_bandwidth": 8,
        },
    ],
    "vector_unit": {"lanes": 4, "energy_per_op_pj": 1},
}


@pytest.fixture(scope="module")
def tiny_report() -> SolveReport:
    model = {"name": "toy", "n_layers": 2, "d_model": 16, "n_heads": 2, "d_ff": 32}
    inst = parse_instance(
        {
            "model": model,
            "seq_len": 128,
            "arch": TINY_ARCH,
            "options": {"fusion": "all", "time_limit_s": 300},
        }
    )
    resolved = resolve(inst)
    return solve_instance(resolved, settings_for(inst))


def test_flat_that_cannot_fit_is_rejected_with_a_reason(tiny_report: SolveReport) -> None:
    attention = next(s for s in tiny_report.segments if s.name == "attention")
    by_label = {a.label: a for a in attention.alternatives}
    assert not by_label["flat"].feasible
    assert "infeasible" in by_label["flat"].note and "GlobalBuffer" in by_label["flat"].note
    assert by_label["online"].feasible  # tiling the keys makes the intermediates fit
    assert attention.chosen.feasible


def test_explorer_keeps_the_cheapest_feasible_alternative(tiny_report: SolveReport) -> None:
    for seg in tiny_report.segments:
        feasible = [a for a in seg.alternatives if a.feasible]
        best = min(a.latency_cycles for a in feasible)
        assert seg.chosen.latency_cycles == best


def test_every_solved_group_is_optimal_and_agrees(tiny_report: SolveReport) -> None:
    objective = tiny_report.settings.objective
    for seg in tiny_report.segments:
        for alt in seg.alternatives:
            for g in alt.groups:
                assert g.solve.status.value == "optimal", g.name
                assert not g.metrics.violations, g.name
                assert g.source == "mip" and agrees(g.agreement(objective)), g.name


def test_schedules_respect_their_segment_bounds(tiny_report: SolveReport) -> None:
    for seg in tiny_report.segments:
        bound = seg.bound
        chosen = seg.chosen
        assert chosen.latency_cycles >= bound.latency_cycles * (1 - 1e-9)
        assert chosen.energy_pj >= bound.energy_pj * (1 - 1e-9)


@pytest.mark.parametrize("scheme", ["flat", "online"])
def test_huge_groups_stay_exact(scheme: str) -> None:
    """FLAT's batch-64, 16K-token attention spans 2^43 iteration points: the secants of small values
    get coefficients below HiGHS's default 1e-9 cut-off, which it silently dropped, returning an
    "optimal" schedule 30x slower than the true one (streaming K per query row). The MIP must still
    equal the evaluator, and FLAT must keep one head's K and V on chip (vector-bound)."""
    from cosamt.fusion.schemes import segments
    from cosamt.pipeline import solve_group_result
    from cosamt.types import FusionChoice, Objective

    inst = parse_instance({"model": "flat-t5", "arch": "cloud", "batch": 64, "seq_len": 16384})
    resolved = resolve(inst)
    seg = next(s for s in segments(resolved.operators, FusionChoice.ALL) if s.name == "attention")
    group = next(c[0] for c in seg.candidates if len(c) == 1 and c[0].scheme.value == scheme)
    result = solve_group_result(group, resolved.arch, settings_for(inst))
    assert result.solve.status.value == "optimal"
    assert result.source == "mip" and agrees(result.agreement(Objective.LATENCY))
    assert result.metrics.bound_by == "vector"


def test_changing_the_thread_count_between_solves() -> None:
    """HiGHS sizes one process-wide scheduler on its first solve; a later solve with another thread
    count used to fail with an error status (reported as no solution). Found when the sweep tests
    (threads=1) ran after others (threads=2) in one pytest process."""
    from cosamt.arch.presets import load_preset
    from cosamt.solve.solver import SolveSettings, solve_operator
    from cosamt.workload.einsum import gemm

    arch = load_preset("edge")
    op = gemm("g", 32, 32, 32)
    for threads in (2, 1, 2):
        result = solve_operator(op, arch, SolveSettings(threads=threads, time_limit_s=300))
        assert result.status.value == "optimal", threads


def _figures(report: SolveReport) -> list[tuple[object, ...]]:
    return [
        (
            seg.name,
            a.label,
            a.chosen,
            a.note,
            g.name,
            g.same_as,
            g.source,
            g.solve.status,
            g.metrics.latency_cycles,
            g.metrics.energy_pj,
        )
        for seg in report.segments
        for a in seg.alternatives
        for g in a.groups
    ]


def _explored(report: SolveReport) -> list[tuple[object, ...]]:
    return [
        (
            e.block,
            e.chosen,
            e.solved,
            e.reused,
            tuple(
                (view, tuple((s.lo, s.hi, s.group.name, s.status, s.cost) for s in part.steps))
                for view, part in e.partitions.items()
            ),
        )
        for e in report.explorations
    ]


def test_explored_batches_in_processes_give_the_same_report() -> None:
    # explore with jobs 2 solves the unpruned edges into each cut point side by side: the same
    # candidates solved, pruned and chosen as one after another, the same figures
    model = {"name": "toy", "n_layers": 1, "d_model": 16, "n_heads": 2, "d_ff": 32}
    options = {"fusion": "explore", "max_group": 3, "time_limit_s": 300}
    inst = parse_instance({"model": model, "seq_len": 64, "arch": TINY_ARCH, "options": options})
    resolved = resolve(inst)
    one = solve_instance(resolved, settings_for(inst))
    two = solve_instance(resolved, settings_for(inst, jobs=2))
    assert one.explorations and _explored(two) == _explored(one)
    assert _figures(two) == _figures(one)


def test_groups_solved_in_processes_give_the_same_report(tiny_report: SolveReport) -> None:
    # jobs 2: every distinct group in one of two spawned processes; a rejected fused candidate
    # (FLAT here, which cannot fit) crosses the process boundary as its reason.
    inst = tiny_report.resolved.instance
    parallel = solve_instance(tiny_report.resolved, settings_for(inst, jobs=2))
    assert _figures(parallel) == _figures(tiny_report)
    assert all(g.solve.proven for g in parallel.groups)


def test_a_fused_group_stops_at_its_budget(tiny_report: SolveReport) -> None:
    """The explorer's cutoff: just under the group's optimum the MIP proves nothing fits the budget
    (no schedule returned); just over it, the same optimum as without a budget."""
    result = next(g for g in tiny_report.groups if g.group.fused and g.solve.proven)
    arch, settings = tiny_report.resolved.arch, tiny_report.settings
    latency = result.metrics.latency_cycles
    with pytest.raises(NoSchedule) as cut:
        solve_group_result(result.group, arch, replace(settings, cutoff=latency * (1 - 1e-3)))
    assert cut.value.proven and cut.value.budget == latency * (1 - 1e-3)
    again = solve_group_result(result.group, arch, replace(settings, cutoff=latency * (1 + 1e-3)))
    assert again.solve.proven and again.metrics.latency_cycles == latency
    assert again.metrics.energy_pj == result.metrics.energy_pj  # the tie-break is not cut
