"""From an instance to solved, evaluated and bounded operator groups (the ``cosamt solve`` job)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cosamt.arch.presets import resolve_arch
from cosamt.arch.spec import Architecture
from cosamt.bounds import LowerBound, lower_bound
from cosamt.evaluate.evaluator import evaluate
from cosamt.evaluate.metrics import Metrics
from cosamt.io.instance import HFConfigRef, Instance
from cosamt.schedule.file import ScheduleFile, group_from_mapping
from cosamt.schedule.mapping import Mapping
from cosamt.search.streaming import streaming_schedule
from cosamt.solve.solver import SolveResult, SolveSettings, SolveStatus, solve_operator
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum
from cosamt.workload.models import ModelConfig, get_model, load_hf_config
from cosamt.workload.transformer import build_block

AGREEMENT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Resolved:
    instance: Instance
    model: ModelConfig
    arch: Architecture
    operators: tuple[Einsum, ...]


def resolve(instance: Instance, base_dir: Path | None = None) -> Resolved:
    """Turn names and references into a model config, an architecture and the block's operators."""
    if isinstance(instance.model, str):
        model = get_model(instance.model)
    elif isinstance(instance.model, HFConfigRef):
        path = Path(instance.model.hf_config)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        model = load_hf_config(path, instance.model.name)
    else:
        model = instance.model
    arch = resolve_arch(instance.arch)
    ops = build_block(model, instance.phase, instance.batch, instance.seq_len)
    return Resolved(instance, model, arch, tuple(ops))


def settings_for(instance: Instance, **overrides: Any) -> SolveSettings:
    o = instance.options
    base = SolveSettings(
        objective=o.objective,
        time_limit_s=o.time_limit_s,
        threads=o.threads,
        mip_gap=o.mip_gap,
        double_buffering=o.double_buffering,
        padding=o.padding,
    )
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class GroupResult:
    name: str
    op: Einsum
    solve: SolveResult
    mapping: Mapping
    metrics: Metrics
    bound: LowerBound
    source: str  # "mip", or "streaming fallback" when the solver returned no schedule
    same_as: str | None = None  # an identical operator solved earlier in the block

    @property
    def count(self) -> int:
        return self.op.count

    def mip_value(self, objective: Objective) -> float | None:
        return self.solve.objective

    def evaluator_value(self, objective: Objective) -> float:
        m = self.metrics
        if objective is Objective.ENERGY:
            return m.energy_pj
        if objective is Objective.EDP:
            return m.energy_pj * m.latency_cycles
        return m.latency_cycles

    def agreement(self, objective: Objective) -> float | None:
        """Relative difference between the MIP objective and the evaluator's figure."""
        mip = self.solve.objective
        if mip is None or self.source != "mip":
            return None
        ev = self.evaluator_value(objective)
        return abs(mip - ev) / max(abs(ev), 1e-30)


@dataclass(frozen=True)
class SolveReport:
    resolved: Resolved
    settings: SolveSettings
    groups: tuple[GroupResult, ...]

    def schedule(self) -> ScheduleFile:
        arch = self.resolved.arch
        return ScheduleFile(
            arch=arch.name,
            groups=tuple(group_from_mapping(g.name, g.op, arch, g.mapping) for g in self.groups),
        )


ProgressFn = Callable[[str, int, int], None]


def solve_instance(
    resolved: Resolved, settings: SolveSettings, progress: ProgressFn | None = None
) -> SolveReport:
    """Solve every operator of the block; identical operators are solved once."""
    arch = resolved.arch
    done: dict[tuple[object, ...], GroupResult] = {}
    groups: list[GroupResult] = []
    for i, op in enumerate(resolved.operators):
        if progress:
            progress(op.name, i, len(resolved.operators))
        key = op.signature()
        if key in done:
            prev = done[key]
            cached = replace(prev.solve, seconds=0.0)
            groups.append(replace(prev, name=op.name, op=op, solve=cached, same_as=prev.name))
            continue
        res = solve_operator(op, arch, settings)
        if res.mapping is not None:
            mapping, source = res.mapping, "mip"
        else:
            mapping, source = streaming_schedule(op, arch), "streaming fallback"
        metrics = evaluate(op, arch, mapping, double_buffering=settings.double_buffering)
        group = GroupResult(op.name, op, res, mapping, metrics, lower_bound(op, arch), source)
        done[key] = group
        groups.append(group)
    if progress:
        progress("", len(resolved.operators), len(resolved.operators))
    return SolveReport(resolved, settings, tuple(groups))


def status_ok(report: SolveReport) -> bool:
    return all(g.solve.status is SolveStatus.OPTIMAL for g in report.groups)
