"""One design point: its lower bound (no solve), and its exact evaluation (every workload of the mix
mapped by the MIP to proven optimality, solved groups cached by content across design points)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cosamt.arch.spec import Architecture
from cosamt.bounds import group_lower_bound
from cosamt.design.derive import DesignPoint, derive_arch, design_area
from cosamt.design.spec import DesignSpec, Workload
from cosamt.fusion.schemes import Group, segments
from cosamt.io.instance import parse_instance
from cosamt.pipeline import Resolved, SolveReport, resolve, settings_for, solve_instance
from cosamt.solve.solver import SolveSettings, SolveStatus
from cosamt.sweep.cache import SolveCache
from cosamt.sweep.store import replace_atomically
from cosamt.types import Objective

DESIGN_FORMAT = "cosamt-design-point/1"


# ---- content cache of solved groups, keyed by the parts of the architecture a group depends on ----
def arch_content(arch: Architecture, group: Group | None = None) -> dict[str, Any]:
    """The architecture minus its name and description; minus the vector unit for a group with no
    vector work (its MIP, schedule and metrics never read the vector unit)."""
    content = arch.model_dump(mode="json", exclude={"name", "description"})
    if group is not None and all(op.vector_ops == 0 for op in group.ops):
        content.pop("vector_unit")
    return content


class DesignCache(SolveCache):
    """:class:`SolveCache` whose key ignores design names and knobs a group does not depend on, so
    identical groups of different design points are solved once."""

    def key(self, group: Group, arch: Architecture, settings: SolveSettings) -> str:
        content = {
            "format": "cosamt-design-group/1",
            "group": group.signature(),
            "arch": arch_content(arch, group),
            "settings": asdict(settings),
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


# ---- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkloadResult:
    label: str
    weight: float
    objective: str  # the mapper's objective for these figures: latency or energy
    latency_cycles: float
    energy_pj: float
    bound: float  # proven lower bound on this objective (cycles or pJ) over every mapping
    all_optimal: bool
    bound_by: dict[str, float]  # latency cycles per resource that sets it (compute, DRAM, ...)
    solve_seconds: float


@dataclass(frozen=True)
class DesignResult:
    key: str
    label: str
    knobs: dict[str, Any]
    area_mm2: float
    clock_ghz: float
    objective: str
    latency_s: float  # weighted total of the reported mapping
    energy_pj: float
    value: float  # the objective of the reported mapping (s, pJ or pJ*s)
    bound: float  # proven lower bound on the objective of this design over every mapping
    all_optimal: bool
    workloads: tuple[WorkloadResult, ...]  # the reported mappings
    seconds: float
    group_solves: int = 0
    group_hits: int = 0
    from_cache: bool = False
    others: tuple[WorkloadResult, ...] = field(default=())  # EDP: the other objective's mappings

    @property
    def latency_cycles(self) -> float:
        return self.latency_s * self.clock_ghz * 1e9

    @property
    def edp(self) -> float:
        return self.latency_s * self.energy_pj

    @property
    def gap(self) -> float:
        return 0.0 if self.value <= 0 else max(0.0, (self.value - self.bound) / self.value)


def result_to_json(r: DesignResult) -> dict[str, Any]:
    return {"format": DESIGN_FORMAT, **asdict(r)}


def result_from_json(data: dict[str, Any]) -> DesignResult:
    fields = {k: v for k, v in data.items() if k != "format"}
    for name in ("workloads", "others"):
        fields[name] = tuple(WorkloadResult(**w) for w in fields.get(name, ()))
    return DesignResult(**fields)


# ---- building and bounding -----------------------------------------------------------------------
def resolved_workload(w: Workload, arch: Architecture) -> Resolved:
    data = {"model": w.model, "phase": w.phase.value, "batch": w.batch, "seq_len": w.seq_len}
    return resolve(parse_instance({**data, "arch": arch.model_dump(mode="json")}, w.label))


def _settings(spec: DesignSpec, resolved: Resolved, objective: Objective) -> SolveSettings:
    o = spec.options
    return settings_for(
        resolved.instance, objective=objective, time_limit_s=o.time_limit_s, threads=o.threads
    )


def static_bounds(spec: DesignSpec, arch: Architecture) -> tuple[list[float], list[float]]:
    """Per workload, lower bounds on latency (cycles) and energy (pJ) of any schedule with any
    fusion choice, from :mod:`cosamt.bounds` (no solve): per segment, the smallest over its
    candidate groupings of the sum over their groups, times each group's repeat count."""
    lat, en = [], []
    for w in spec.workloads:
        resolved = resolved_workload(w, arch)
        segs = segments(resolved.operators, spec.options.fusion)
        lat_w = en_w = 0.0
        for seg in segs:
            bounds = [
                [(g.count, group_lower_bound(g, arch)) for g in cand] for cand in seg.candidates
            ]
            lat_w += min(sum(c * b.latency_cycles for c, b in cand) for cand in bounds)
            en_w += min(sum(c * b.energy_pj for c, b in cand) for cand in bounds)
        lat.append(lat_w)
        en.append(en_w)
    return lat, en


def weighted(spec: DesignSpec, values: list[float]) -> float:
    return sum(w.weight * v for w, v in zip(spec.workloads, values, strict=True))


def objective_value(objective: Objective, latency_s: float, energy_pj: float) -> float:
    if objective is Objective.LATENCY:
        return latency_s
    if objective is Objective.ENERGY:
        return energy_pj
    return latency_s * energy_pj


def design_lower_bound(spec: DesignSpec, point: DesignPoint) -> tuple[float, float, float]:
    """(latency s, energy pJ, objective) lower bounds of a design point, without solving."""
    arch = derive_arch(point, spec.space)
    lat, en = static_bounds(spec, arch)
    lat_s = weighted(spec, lat) / (point.clock_ghz * 1e9)
    energy = weighted(spec, en)
    return lat_s, energy, objective_value(spec.objective, lat_s, energy)


# ---- exact evaluation -----------------------------------------------------------------------------
def _metric(objective: Objective, latency: float, energy: float) -> float:
    return latency if objective is Objective.LATENCY else energy


def _report_bound(report: SolveReport, arch: Architecture, objective: Objective) -> float:
    """Proven lower bound on the objective over every fusion choice and schedule: per segment, the
    smallest over its alternatives of the sum of their groups' MIP bounds (or the static bound of an
    alternative with no schedule)."""
    total = 0.0
    segs = segments(report.resolved.operators, report.fusion)
    for seg, res in zip(segs, report.segments, strict=True):
        per_alt = []
        for cand, alt in zip(seg.candidates, res.alternatives, strict=True):
            if not alt.feasible:
                lbs = [(g.count, group_lower_bound(g, arch)) for g in cand]
                per_alt.append(
                    sum(c * _metric(objective, b.latency_cycles, b.energy_pj) for c, b in lbs)
                )
                continue
            s = 0.0
            for g in alt.groups:
                value = _metric(objective, g.metrics.latency_cycles, g.metrics.energy_pj)
                static = _metric(objective, g.bound.latency_cycles, g.bound.energy_pj)
                mip = g.solve.bound if g.source == "mip" and g.solve.bound is not None else 0.0
                s += g.count * min(value, max(static, mip))
            per_alt.append(s)
        total += min(per_alt)
    return total


def _all_optimal(report: SolveReport) -> bool:
    return all(
        g.solve.status is SolveStatus.OPTIMAL
        for seg in report.segments
        for alt in seg.alternatives
        for g in alt.groups
    ) and all(
        alt.feasible or alt.note.startswith("infeasible")
        for seg in report.segments
        for alt in seg.alternatives
    )


def solve_workload(
    spec: DesignSpec,
    w: Workload,
    arch: Architecture,
    objective: Objective,
    cache: SolveCache | None,
) -> WorkloadResult:
    resolved = resolved_workload(w, arch)
    settings = _settings(spec, resolved, objective)
    report = solve_instance(
        resolved, settings, None, spec.options.fusion, None if cache is None else cache.solve_group
    )
    bound_by: dict[str, float] = {}
    for g in report.groups:
        bound_by[g.metrics.bound_by] = (
            bound_by.get(g.metrics.bound_by, 0.0) + g.count * g.metrics.latency_cycles
        )
    return WorkloadResult(
        label=w.label,
        weight=w.weight,
        objective=objective.value,
        latency_cycles=sum(g.count * g.metrics.latency_cycles for g in report.groups),
        energy_pj=sum(g.count * g.metrics.energy_pj for g in report.groups),
        bound=_report_bound(report, arch, objective),
        all_optimal=_all_optimal(report),
        bound_by=bound_by,
        solve_seconds=sum(
            g.solve.seconds for seg in report.segments for a in seg.alternatives for g in a.groups
        ),
    )


def _totals(
    spec: DesignSpec, rs: tuple[WorkloadResult, ...], clock_ghz: float
) -> tuple[float, float]:
    lat_s = weighted(spec, [r.latency_cycles for r in rs]) / (clock_ghz * 1e9)
    return lat_s, weighted(spec, [r.energy_pj for r in rs])


def evaluate_point(
    spec: DesignSpec, point: DesignPoint, cache_dir: Path | None = None
) -> DesignResult:
    """Map every workload on the design to proven optimality and total the weighted mix. For EDP
    both the latency- and the energy-optimal mappings are solved: L* x E* bounds the design's EDP
    from below, and the better of the two mappings' EDPs is reported."""
    start = time.perf_counter()
    design_cache = None if cache_dir is None else DesignCache(cache_dir / "groups")
    stored = _load_point(spec, point, cache_dir)
    if stored is not None:
        return stored
    arch = derive_arch(point, spec.space)
    area = design_area(point, spec.space).total_mm2
    objectives = (
        (Objective.LATENCY, Objective.ENERGY)
        if spec.objective is Objective.EDP
        else (spec.objective,)
    )
    runs = [
        tuple(solve_workload(spec, w, arch, obj, design_cache) for w in spec.workloads)
        for obj in objectives
    ]
    clock = point.clock_ghz
    candidates = []
    for rs in runs:
        lat_s, energy = _totals(spec, rs, clock)
        candidates.append((objective_value(spec.objective, lat_s, energy), lat_s, energy, rs))
    best = min(range(len(candidates)), key=lambda i: candidates[i][0])
    value, lat_s, energy, chosen = candidates[best]
    bounds = [weighted(spec, [r.bound for r in rs]) for rs in runs]
    if spec.objective is Objective.LATENCY:
        bound = bounds[0] / (clock * 1e9)
    elif spec.objective is Objective.ENERGY:
        bound = bounds[0]
    else:
        bound = bounds[0] / (clock * 1e9) * bounds[1]
    result = DesignResult(
        key=point.key(),
        label=point.label,
        knobs=point.knobs(),
        area_mm2=area,
        clock_ghz=clock,
        objective=spec.objective.value,
        latency_s=lat_s,
        energy_pj=energy,
        value=value,
        bound=min(bound, value),
        all_optimal=all(r.all_optimal for rs in runs for r in rs),
        workloads=chosen,
        seconds=time.perf_counter() - start,
        group_solves=0 if design_cache is None else design_cache.misses,
        group_hits=0 if design_cache is None else design_cache.hits,
        others=runs[1 - best] if len(runs) == 2 else (),
    )
    _store_point(spec, point, cache_dir, result)
    return result


# ---- design-level content cache (resume) ----------------------------------------------------------
def point_cache_key(spec: DesignSpec, point: DesignPoint) -> str:
    content = {
        "format": DESIGN_FORMAT,
        "arch": arch_content(derive_arch(point, spec.space)),
        "area": design_area(point, spec.space).total_mm2,
        "workloads": [w.model_dump(mode="json") for w in spec.workloads],
        "objective": spec.objective.value,
        "options": spec.options.model_dump(
            mode="json", include={"fusion", "time_limit_s", "threads"}
        ),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _point_path(spec: DesignSpec, point: DesignPoint, cache_dir: Path) -> Path:
    return cache_dir / "designs" / f"{point_cache_key(spec, point)}.json"


def _load_point(
    spec: DesignSpec, point: DesignPoint, cache_dir: Path | None
) -> DesignResult | None:
    if cache_dir is None:
        return None
    try:
        data = json.loads(_point_path(spec, point, cache_dir).read_text(encoding="utf-8"))
        result = result_from_json(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return replace(result, key=point.key(), label=point.label, knobs=point.knobs(), from_cache=True)


def _store_point(
    spec: DesignSpec, point: DesignPoint, cache_dir: Path | None, result: DesignResult
) -> None:
    if cache_dir is None:
        return
    path = _point_path(spec, point, cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result_to_json(result))
    replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
