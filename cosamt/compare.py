"""MIP vs baselines on every unique segment of a block (the ``cosamt compare`` job).

A *segment* is a run of block operators the fusion explorer schedules as a unit: attention
(QKᵀ-softmax-·V), the FFN chain, a projection with its epilogue, or a lone operator. The MIP row is
the explorer's choice for the segment (fused or not, every candidate solved by the MIP); its search
seconds cover every candidate. The per-operator baselines schedule each operator of the segment
alone (unfused, as a traditional accelerator runs them) and are summed; ``flat`` is FLAT's
granularity rule on the fused attention segment (``cosamt.baselines.flat``) and does not
apply elsewhere. Identical segments are merged and counted. All figures come from the independent
evaluator; the ratio is the method's objective over the MIP's. ``total`` rows weight every segment
by how often it runs in the model.

Every method is evaluated with single buffering (the baselines' mapspace); the instance's
``double_buffering`` option is not used here.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cosamt.arch.spec import Architecture
from cosamt.baselines.flat import (
    FixedSharedSolver,
    FlatHeuristicUnavailable,
    flat_heuristic,
    shared_granularity,
)
from cosamt.baselines.registry import BASELINES, DEFAULT_EFFORT, BaselineUnavailable
from cosamt.errors import InputError, Problem
from cosamt.fusion.schemes import Group, Scheme, segments
from cosamt.invariants import check, report_violations
from cosamt.io.instance import Options
from cosamt.pipeline import Resolved, SegmentResult, solve_instance
from cosamt.schedule.mapping import Mapping
from cosamt.solve.solver import SolveSettings, solve_group
from cosamt.types import FusionChoice, Objective
from cosamt.workload.einsum import Einsum

MIP = "mip"
FLAT = "flat"
TOTAL = "total"
METHODS = (*BASELINES, FLAT)  # every baseline name ``--baselines`` accepts
CSV_COLUMNS = ("group", "method", "latency_cycles", "energy_pj", "dram_bytes", "seconds", "ratio")

ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CompareGroup:
    """One segment of the block (its operators), and the identical segments it stands for."""

    name: str
    ops: tuple[Einsum, ...]
    members: tuple[str, ...]  # segments with this schedule (identical ones merged)
    count: int  # runs in the whole model


@dataclass(frozen=True)
class MethodResult:
    method: str
    latency_cycles: float | None = None
    energy_pj: float | None = None
    dram_bytes: int | None = None
    seconds: float = 0.0
    evaluated: int | None = None
    note: str = ""
    skipped: str | None = None  # why the method could not run
    ratio: float | None = None  # objective / the MIP's objective

    def value(self, objective: Objective) -> float | None:
        if self.latency_cycles is None or self.energy_pj is None:
            return None
        if objective is Objective.ENERGY:
            return self.energy_pj
        if objective is Objective.EDP:
            return self.latency_cycles * self.energy_pj
        return self.latency_cycles


@dataclass(frozen=True)
class GroupComparison:
    group: CompareGroup
    methods: tuple[MethodResult, ...]


@dataclass(frozen=True)
class Comparison:
    objective: Objective
    effort: int
    seed: int
    fusion: FusionChoice
    groups: tuple[GroupComparison, ...]
    totals: tuple[MethodResult, ...] = field(default=())


# ---------------------------------------------------------------------------------------------
# The MIP: the fusion explorer's choice per segment


def mip_result(seg: SegmentResult) -> MethodResult:
    chosen = seg.chosen
    grans = []
    for g in chosen.groups:
        if g.group.fused:
            grans.append(
                f"{g.group.scheme.value} ({shared_granularity(g.group, g.mappings)})"
                if g.group.scheme in (Scheme.FLAT, Scheme.ONLINE)
                else g.group.scheme.value
            )
    statuses = dict.fromkeys(
        g.solve.status.value if g.source == "mip" else g.source for g in chosen.groups
    )
    return MethodResult(
        method=MIP,
        latency_cycles=chosen.latency_cycles,
        energy_pj=chosen.energy_pj,
        dram_bytes=sum(g.metrics.dram_bytes for g in chosen.groups),
        seconds=sum(g.solve.seconds for a in seg.alternatives for g in a.groups),
        note="; ".join([", ".join(grans) or "unfused", *statuses]),
    )


# ---------------------------------------------------------------------------------------------
# Baselines: per operator (summed over the segment), or FLAT's rule on fused attention


def operator_baseline(
    name: str, op: Einsum, arch: Architecture, objective: Objective, seed: int, effort: int
) -> MethodResult:
    try:
        res = BASELINES[name](op, arch, objective, seed, effort)
    except BaselineUnavailable as exc:
        return MethodResult(name, skipped=f"{op.name}: {exc}")
    m = res.metrics
    return MethodResult(
        name, m.latency_cycles, m.energy_pj, m.dram_bytes, res.seconds, res.evaluated, res.note
    )


def summed(name: str, parts: Sequence[MethodResult]) -> MethodResult:
    skipped = [p.skipped for p in parts if p.skipped is not None]
    if skipped:
        return MethodResult(name, skipped="; ".join(skipped))
    return MethodResult(
        method=name,
        latency_cycles=sum(p.latency_cycles or 0.0 for p in parts),
        energy_pj=sum(p.energy_pj or 0.0 for p in parts),
        dram_bytes=sum(p.dram_bytes or 0 for p in parts),
        seconds=sum(p.seconds for p in parts),
        evaluated=sum(p.evaluated or 0 for p in parts),
        note="; ".join(dict.fromkeys(p.note for p in parts if p.note)),
    )


def mip_with_shared(settings: SolveSettings) -> FixedSharedSolver:
    """The MIP as FLAT's rule uses it: the shared loops fixed, everything else optimised."""

    def solve(group: Group, arch: Architecture, shared: dict[str, int]) -> dict[str, Mapping]:
        return solve_group(group, arch, settings, shared_factors=shared).mappings

    return solve


def flat_result(
    ops: Sequence[Einsum], arch: Architecture, settings: SolveSettings, fusion: FusionChoice
) -> MethodResult:
    """FLAT's granularity rule on the segment's FLAT-fused attention group."""
    if fusion not in (FusionChoice.FLAT, FusionChoice.ALL):
        return MethodResult(FLAT, skipped=f"fusion restricted to {fusion.value}")
    group = next(
        (
            g
            for seg in segments(ops, FusionChoice.FLAT)
            for cand in seg.candidates
            for g in cand
            if g.scheme is Scheme.FLAT
        ),
        None,
    )
    if group is None:
        return MethodResult(FLAT, skipped="applies to attention only")
    try:
        res = flat_heuristic(
            group, arch, mip_with_shared(settings), double_buffering=settings.double_buffering
        )
    except FlatHeuristicUnavailable as exc:
        return MethodResult(FLAT, skipped=str(exc))
    m = res.metrics
    return MethodResult(
        FLAT,
        m.latency_cycles,
        m.energy_pj,
        m.dram_bytes,
        res.seconds,
        None,
        f"granularity {res.granularity.label}",
    )


def _with_ratios(methods: list[MethodResult], objective: Objective) -> tuple[MethodResult, ...]:
    ref = methods[0].value(objective)
    out = []
    for m in methods:
        v = m.value(objective)
        ratio = v / ref if v is not None and ref else None
        out.append(replace(m, ratio=ratio))
    return tuple(out)


def _total(method: str, groups: Sequence[GroupComparison], index: int) -> MethodResult:
    rows = [(g.group.count, g.methods[index]) for g in groups]
    skipped = [g.group.name for g in groups if g.methods[index].skipped is not None]
    if skipped:
        return MethodResult(method, skipped=f"skipped on {', '.join(skipped)}")
    return MethodResult(
        method=method,
        latency_cycles=sum(n * (m.latency_cycles or 0.0) for n, m in rows),
        energy_pj=sum(n * (m.energy_pj or 0.0) for n, m in rows),
        dram_bytes=sum(n * (m.dram_bytes or 0) for n, m in rows),
        seconds=sum(m.seconds for _n, m in rows),
        evaluated=None
        if any(m.evaluated is None for _n, m in rows)
        else sum(m.evaluated or 0 for _n, m in rows),
    )


def totals(groups: Sequence[GroupComparison], objective: Objective) -> tuple[MethodResult, ...]:
    """Per method: every segment weighted by its run count (seconds are search time, unweighted)."""
    if not groups:
        return ()
    names = [m.method for m in groups[0].methods]
    return _with_ratios([_total(name, groups, i) for i, name in enumerate(names)], objective)


def unique_segments(
    report_segments: Sequence[SegmentResult], ops: Sequence[Einsum], fusion: FusionChoice
) -> list[tuple[CompareGroup, SegmentResult]]:
    """The explorer's segments with their operators; identical segments merged and counted."""
    by_name = {op.name: op for op in ops}
    seen: dict[tuple[object, ...], tuple[CompareGroup, SegmentResult]] = {}
    for seg, res in zip(segments(ops, fusion), report_segments, strict=True):
        seg_ops = tuple(by_name[g.name] for g in seg.candidates[0])
        key = tuple(op.signature() for op in seg_ops)
        if key in seen:
            prev, first = seen[key]
            seen[key] = (
                replace(
                    prev, members=(*prev.members, seg.name), count=prev.count + seg_ops[0].count
                ),
                first,
            )
        else:
            seen[key] = (CompareGroup(seg.name, seg_ops, (seg.name,), seg_ops[0].count), res)
    return list(seen.values())


def _segment_fusion(options: Options) -> FusionChoice:
    """The instance's fusion, or the menu when it is ``explore`` by default only: the baselines
    schedule the menu's segments (the report states the fusion it used)."""
    if options.fusion is FusionChoice.EXPLORE and "fusion" not in options.model_fields_set:
        return FusionChoice.ALL
    return options.fusion


def compare_instance(
    resolved: Resolved,
    settings: SolveSettings,
    baselines: Sequence[str] = METHODS,
    effort: int = DEFAULT_EFFORT,
    seed: int = 0,
    progress: ProgressFn | None = None,
    fusion: FusionChoice | None = None,
) -> Comparison:
    """The fusion explorer's MIP schedules and ``baselines`` on every unique segment of the block."""
    unknown = [b for b in baselines if b not in METHODS]
    if unknown:
        raise KeyError(f"unknown baselines {unknown}; known: {', '.join(METHODS)}")
    choice = fusion or _segment_fusion(resolved.instance.options)
    if choice is FusionChoice.EXPLORE:
        raise InputError(
            "",
            [
                Problem(
                    "fusion",
                    "compare runs the baselines on the menu's segments: use all, "
                    "flat, online or none (explore's groups are not segments)",
                )
            ],
        )
    settings = replace(settings, double_buffering=False)
    report = solve_instance(resolved, settings, progress, choice)
    check(resolved, report_violations(report))  # a bug, not bad input: exit 1
    arch, objective = resolved.arch, settings.objective
    per_op: dict[tuple[object, ...], MethodResult] = {}

    def on_op(name: str, op: Einsum) -> MethodResult:
        key = (name, op.signature())
        if key not in per_op:
            per_op[key] = operator_baseline(name, op, arch, objective, seed, effort)
        return per_op[key]

    pairs = unique_segments(report.segments, resolved.operators, choice)
    done = []
    for i, (group, seg) in enumerate(pairs):
        if progress:
            progress(f"baselines: {group.name}", i, len(pairs))
        methods = [mip_result(seg)]
        for name in baselines:
            if name == FLAT:
                methods.append(flat_result(group.ops, arch, settings, choice))
            else:
                methods.append(summed(name, [on_op(name, op) for op in group.ops]))
        done.append(GroupComparison(group, _with_ratios(methods, objective)))
    if progress:
        progress("", len(pairs), len(pairs))
    return Comparison(objective, effort, seed, choice, tuple(done), totals(done, objective))


# ---------------------------------------------------------------------------------------------
# Output


def _row(group: str, m: MethodResult) -> dict[str, Any]:
    return {"group": group, **{k: getattr(m, k) for k in CSV_COLUMNS[1:]}}


def rows(c: Comparison) -> list[dict[str, Any]]:
    """One row per group and method, then the ``total`` rows (the CSV columns)."""
    out = [_row(g.group.name, m) for g in c.groups for m in g.methods]
    return out + [_row(TOTAL, m) for m in c.totals]


def to_csv(c: Comparison) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows(c):
        writer.writerow({k: "" if v is None else v for k, v in r.items()})
    return buf.getvalue()


def _method_json(m: MethodResult) -> dict[str, Any]:
    return {
        **{k: getattr(m, k) for k in CSV_COLUMNS[1:]},
        "evaluated": m.evaluated,
        "note": m.note,
        "skipped": m.skipped,
    }


def to_json(c: Comparison) -> dict[str, Any]:
    return {
        "objective": c.objective.value,
        "effort": c.effort,
        "seed": c.seed,
        "fusion": c.fusion.value,
        "columns": list(CSV_COLUMNS),
        "groups": [
            {
                "group": g.group.name,
                "operators": [op.name for op in g.group.ops],
                "members": list(g.group.members),
                "count": g.group.count,
                "methods": [_method_json(m) for m in g.methods],
            }
            for g in c.groups
        ],
        "total": [_method_json(m) for m in c.totals],
        "rows": rows(c),
    }


def geomean(values: Sequence[float]) -> float:
    """Geometric mean of positive values (nan if there are none)."""
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan
