"""A solve report's model totals and their lower bounds, as typed values (what ``report_json``'s
``total`` and ``lower_bound`` sections print and the sweep's ``total.*`` / ``lower_bound.*``
columns hold)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cosamt.types import AGREEMENT_TOLERANCE

if TYPE_CHECKING:
    from cosamt.pipeline import SegmentResult, SolveReport

BOUND_NOTE = "per segment, the smallest bound over the groupings considered (fused or not)"


@dataclass(frozen=True)
class Totals:
    """The whole model: every chosen group times its count."""

    latency_cycles: float
    latency_ms: float
    energy_pj: float
    energy_mj: float
    dram_bytes: int
    chosen_solve_seconds: float  # the chosen groups' solves
    solve_seconds: float  # every group of every alternative solved
    all_optimal: bool  # every chosen group proven (both stages)
    all_agree: bool  # every MIP figure within AGREEMENT_TOLERANCE of the evaluator's


@dataclass(frozen=True)
class BoundTotals:
    latency_cycles: float
    energy_pj: float
    latency_ratio: float | None  # total / bound
    energy_ratio: float | None
    note: str = BOUND_NOTE


def model_totals(report: SolveReport) -> Totals:
    clock = report.resolved.arch.clock_ghz
    groups = report.groups
    latency = sum(g.metrics.latency_cycles * g.count for g in groups)
    energy = sum(g.metrics.energy_pj * g.count for g in groups)
    return Totals(
        latency_cycles=latency,
        latency_ms=latency / (clock * 1e6),
        energy_pj=energy,
        energy_mj=energy * 1e-9,
        dram_bytes=sum(g.metrics.dram_bytes * g.count for g in groups),
        chosen_solve_seconds=sum(g.solve.seconds for g in groups),
        solve_seconds=sum(
            g.solve.seconds for seg in report.segments for a in seg.alternatives for g in a.groups
        ),
        all_optimal=all(g.solve.proven for g in groups),
        all_agree=all(
            (g.agreement(report.settings.objective) or 0.0) <= AGREEMENT_TOLERANCE for g in groups
        ),
    )


def _executions(seg: SegmentResult) -> int:
    """How often a segment runs per model: its block's layer count (1 for the LM head)."""
    return next((g.count for a in seg.alternatives for g in a.groups), 0)


def bound_totals(report: SolveReport, totals: Totals) -> BoundTotals:
    # Each segment weighted by its own count: a model with several block types (MoE and dense
    # layers, encoder and decoder) or the LM head is not n_layers copies of every segment.
    latency = sum(seg.bound.latency_cycles * _executions(seg) for seg in report.segments)
    energy = sum(seg.bound.energy_pj * _executions(seg) for seg in report.segments)
    return BoundTotals(
        latency_cycles=latency,
        energy_pj=energy,
        latency_ratio=totals.latency_cycles / latency if latency else None,
        energy_ratio=totals.energy_pj / energy if energy else None,
    )


def totals_json(report: SolveReport) -> dict[str, Any]:
    total = model_totals(report)
    return {"total": asdict(total), "lower_bound": asdict(bound_totals(report, total))}
