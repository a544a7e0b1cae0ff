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
        solve_seconds=_solve_seconds(report),
        # explore: optimal also needs every candidate the partition choice compared proven (a
        # block explore cannot read keeps the menu, over which its choice is exact; the report
        # says so per block)
        all_optimal=all(g.solve.proven for g in groups)
        and not any(e.unproven for e in report.explorations),
        all_agree=all(
            (g.agreement(report.settings.objective) or 0.0) <= AGREEMENT_TOLERANCE for g in groups
        ),
    )


def _executions(seg: SegmentResult) -> int:
    """How often a segment runs per model: its block's layer count (1 for the LM head)."""
    return next((g.count for a in seg.alternatives for g in a.groups), 0)


def bound_totals(report: SolveReport, totals: Totals) -> BoundTotals:
    latency, energy = _block_bounds(report)
    return BoundTotals(
        latency_cycles=latency,
        energy_pj=energy,
        latency_ratio=totals.latency_cycles / latency if latency else None,
        energy_ratio=totals.energy_pj / energy if energy else None,
    )


def _explored(report: SolveReport, seg: SegmentResult) -> bool:
    """A segment of a block that fusion explore chose (its figures are the block's)."""
    ops = {op for a in seg.alternatives for g in a.groups for op in g.group.source_ops}
    return bool(ops) and any(ops <= e.covers for e in report.explorations if e.bound is not None)


def _solve_seconds(report: SolveReport) -> float:
    """Every MIP's seconds: each segment's alternatives, an explored block's menu and candidates."""
    seconds = sum(e.solve_seconds for e in report.explorations if e.bound is not None)
    return seconds + sum(
        g.solve.seconds
        for seg in report.segments
        if not _explored(report, seg)
        for a in seg.alternatives
        for g in a.groups
    )


def _block_bounds(report: SolveReport) -> tuple[float, float]:
    """Per segment the smallest bound over its alternatives, weighted by how often it runs; an
    explored block (fusion explore) counts once per layer with its bound over every partition
    considered."""
    explored = [(e.bound, e.count) for e in report.explorations if e.bound is not None]
    latency = sum(b.latency_cycles * n for b, n in explored)
    energy = sum(b.energy_pj * n for b, n in explored)
    for seg in report.segments:
        if _explored(report, seg):
            continue
        latency += seg.bound.latency_cycles * _executions(seg)
        energy += seg.bound.energy_pj * _executions(seg)
    return latency, energy


def totals_json(report: SolveReport) -> dict[str, Any]:
    total = model_totals(report)
    return {"total": asdict(total), "lower_bound": asdict(bound_totals(report, total))}
