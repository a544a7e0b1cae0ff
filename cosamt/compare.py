"""MIP vs baselines on every unique operator group of a block (the ``cosamt compare`` job).

A *group* is what one schedule covers: today one operator (identical operators of the block are
merged into one group and solved once), later a fused group of several operators. Each method
schedules every operator of a group; the group's latency, energy and DRAM bytes are sums over its
operators, all figures come from the independent evaluator, and the ratio is the method's
objective over the MIP's. ``total`` rows weight every group by how often it runs in the model.

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
from cosamt.evaluate.evaluator import evaluate
from cosamt.evaluate.metrics import Metrics
from cosamt.pipeline import Resolved
from cosamt.search.baselines import BASELINES, DEFAULT_EFFORT, BaselineUnavailable
from cosamt.search.streaming import streaming_schedule
from cosamt.solve.solver import SolveResult, SolveSettings, solve_operator
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum

MIP = "mip"
TOTAL = "total"
CSV_COLUMNS = ("group", "method", "latency_cycles", "energy_pj", "dram_bytes", "seconds", "ratio")

OperatorSolver = Callable[[Einsum, Architecture, SolveSettings], SolveResult]
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CompareGroup:
    """Operators scheduled together (one today), and the block operators it stands for."""

    name: str
    ops: tuple[Einsum, ...]
    members: tuple[str, ...]  # block operators with this schedule (identical ones merged)
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
    groups: tuple[GroupComparison, ...]
    totals: tuple[MethodResult, ...] = field(default=())


# ---------------------------------------------------------------------------------------------
# Groups


def unique_groups(operators: Sequence[Einsum]) -> list[CompareGroup]:
    """One group per distinct operator signature, in block order, counting every identical one."""
    seen: dict[tuple[object, ...], CompareGroup] = {}
    for op in operators:
        key = op.signature()
        prev = seen.get(key)
        if prev is None:
            seen[key] = CompareGroup(op.name, (op,), (op.name,), op.count)
        else:
            seen[key] = replace(prev, members=(*prev.members, op.name), count=prev.count + op.count)
    return list(seen.values())


# ---------------------------------------------------------------------------------------------
# Running the methods on a group


def _summed(method: str, metrics: Sequence[Metrics], seconds: float, evaluated: int | None,
            note: str) -> MethodResult:
    return MethodResult(
        method=method,
        latency_cycles=sum(m.latency_cycles for m in metrics),
        energy_pj=sum(m.energy_pj for m in metrics),
        dram_bytes=sum(m.dram_bytes for m in metrics),
        seconds=seconds,
        evaluated=evaluated,
        note=note,
    )


def run_mip(group: CompareGroup, arch: Architecture, settings: SolveSettings,
            solver: OperatorSolver = solve_operator) -> MethodResult:
    metrics, seconds, notes = [], 0.0, []
    for op in group.ops:
        res = solver(op, arch, settings)
        seconds += res.seconds
        mapping = res.mapping
        if mapping is None:
            mapping = streaming_schedule(op, arch)
            notes.append(f"{op.name}: {res.status.value}, streaming fallback")
        else:
            notes.append(res.status.value)
        metrics.append(evaluate(op, arch, mapping))
    return _summed(MIP, metrics, seconds, None, "; ".join(dict.fromkeys(notes)))


def run_named_baseline(name: str, group: CompareGroup, arch: Architecture, objective: Objective,
                       seed: int, effort: int) -> MethodResult:
    metrics, seconds, evaluated, notes = [], 0.0, 0, []
    for op in group.ops:
        try:
            res = BASELINES[name](op, arch, objective, seed, effort)
        except BaselineUnavailable as exc:
            return MethodResult(name, skipped=str(exc))
        metrics.append(res.metrics)
        seconds += res.seconds
        evaluated += res.evaluated
        notes.append(res.note)
    return _summed(name, metrics, seconds, evaluated, "; ".join(dict.fromkeys(notes)))


def _with_ratios(methods: list[MethodResult], objective: Objective) -> tuple[MethodResult, ...]:
    ref = methods[0].value(objective)
    out = []
    for m in methods:
        v = m.value(objective)
        ratio = v / ref if v is not None and ref else None
        out.append(replace(m, ratio=ratio))
    return tuple(out)


def compare_group(group: CompareGroup, arch: Architecture, settings: SolveSettings,
                  baselines: Sequence[str], effort: int, seed: int,
                  solver: OperatorSolver = solve_operator) -> GroupComparison:
    """The MIP (first) and every named baseline on one group, with ratios to the MIP."""
    methods = [run_mip(group, arch, settings, solver)]
    methods += [run_named_baseline(b, group, arch, settings.objective, seed, effort) for b in baselines]
    return GroupComparison(group, _with_ratios(methods, settings.objective))


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
        evaluated=None if any(m.evaluated is None for _n, m in rows)
        else sum(m.evaluated or 0 for _n, m in rows),
    )


def totals(groups: Sequence[GroupComparison], objective: Objective) -> tuple[MethodResult, ...]:
    """Per method: every group weighted by its run count (seconds are search time, unweighted)."""
    if not groups:
        return ()
    names = [m.method for m in groups[0].methods]
    return _with_ratios([_total(name, groups, i) for i, name in enumerate(names)], objective)


def compare_instance(resolved: Resolved, settings: SolveSettings,
                     baselines: Sequence[str] = tuple(BASELINES), effort: int = DEFAULT_EFFORT,
                     seed: int = 0, progress: ProgressFn | None = None,
                     solver: OperatorSolver = solve_operator) -> Comparison:
    """The MIP and ``baselines`` on every unique operator of the block."""
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise KeyError(f"unknown baselines {unknown}; known: {', '.join(BASELINES)}")
    settings = replace(settings, double_buffering=False)
    groups = unique_groups(resolved.operators)
    done = []
    for i, group in enumerate(groups):
        if progress:
            progress(group.name, i, len(groups))
        done.append(compare_group(group, resolved.arch, settings, baselines, effort, seed, solver))
    if progress:
        progress("", len(groups), len(groups))
    return Comparison(settings.objective, effort, seed, tuple(done), totals(done, settings.objective))


# ---------------------------------------------------------------------------------------------
# Output


def _row(group: str, m: MethodResult) -> dict[str, Any]:
    return {
        "group": group,
        "method": m.method,
        "latency_cycles": m.latency_cycles,
        "energy_pj": m.energy_pj,
        "dram_bytes": m.dram_bytes,
        "seconds": m.seconds,
        "ratio": m.ratio,
    }


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
        "method": m.method,
        "latency_cycles": m.latency_cycles,
        "energy_pj": m.energy_pj,
        "dram_bytes": m.dram_bytes,
        "seconds": m.seconds,
        "ratio": m.ratio,
        "evaluated": m.evaluated,
        "note": m.note,
        "skipped": m.skipped,
    }


def to_json(c: Comparison) -> dict[str, Any]:
    return {
        "objective": c.objective.value,
        "effort": c.effort,
        "seed": c.seed,
        "columns": list(CSV_COLUMNS),
        "groups": [
            {"group": g.group.name, "operators": [op.name for op in g.group.ops],
             "members": list(g.group.members), "count": g.group.count,
             "methods": [_method_json(m) for m in g.methods]}
            for g in c.groups
        ],
        "total": [_method_json(m) for m in c.totals],
        "rows": rows(c),
    }


def geomean(values: Sequence[float]) -> float:
    """Geometric mean of positive values (nan if there are none)."""
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan
