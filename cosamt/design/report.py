"""``cosamt design`` output: the best design, its runner-ups, what binds each knob, Pareto fronts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from cosamt.design.derive import (
    KNOBS,
    DesignPoint,
    derive_arch,
    design_area,
    knob_values,
    point_from_indices,
)
from cosamt.design.evaluate import DesignResult, WorkloadResult
from cosamt.design.search import RELATIVE_TOLERANCE, Outcome, SearchResult
from cosamt.design.spec import DesignSpec
from cosamt.types import Objective

RUNNER_UPS = 5
UNITS = {"latency": "s", "energy": "pJ", "edp": "pJ*s"}


def pareto(results: Sequence[FrontPoint], metrics: Sequence[str]) -> list[FrontPoint]:
    """The points no other point beats on area and every metric (ties: the first kept)."""

    def values(r: FrontPoint) -> tuple[float, ...]:
        return (r.area_mm2, *(getattr(r, m) for m in metrics))

    front: list[FrontPoint] = []
    for r in sorted(results, key=lambda r: (values(r), r.label)):
        v = values(r)
        if not any(all(a <= b for a, b in zip(values(f), v, strict=True)) for f in front):
            front.append(r)
    return front


def point_of(spec: DesignSpec, r: DesignResult) -> DesignPoint:
    k = r.knobs
    dram = next(d for d in spec.space.dram if d.name == k["dram"])
    return DesignPoint(
        k["rows"], k["cols"], k["global_buffer_kib"], k["vector_lanes"], dram, k["clock_ghz"]
    )


def _indices(spec: DesignSpec, p: DesignPoint) -> list[int]:
    values = knob_values(spec.space)
    lanes = values["vector_lanes"]
    return [
        values["pe_array"].index((p.rows, p.cols)),
        values["global_buffer_kib"].index(p.buffer_kib),
        0 if lanes == [None] else lanes.index(p.lanes),
        [d.name for d in values["dram"]].index(p.dram.name),
        values["clock_ghz"].index(p.clock_ghz),
    ]


def _knob_text(knob: str, value: Any) -> str:
    if knob == "pe_array":
        return f"{value[0]}x{value[1]}"
    if knob == "dram":
        return str(value.name)
    return "one per column" if value is None else f"{value:g}"


def binds(search: SearchResult) -> dict[str, list[str]]:
    """Per knob, what happens one step either side of the best design (other knobs fixed): over
    the area budget, pruned by its bound, or solved and how much worse; plus the resources that set
    the best design's latency."""
    spec, best = search.spec, search.best
    if best is None:
        return {}
    values = knob_values(spec.space)
    by_key = {o.candidate.point.key(): o for o in search.outcomes}
    base = _indices(spec, point_of(spec, best))
    out: dict[str, list[str]] = {}
    for k, knob in enumerate(KNOBS):
        notes = []
        for idx in _neighbours(values, base, k):
            o = by_key[point_from_indices(values, idx).key()]
            notes.append(_fate_text(_knob_text(knob, values[knob][idx[k]]), o, search))
        out[knob] = notes or ["the only value"]
    out["latency set by"] = _bottlenecks(best)
    return out


def _neighbours(values: dict[str, list[Any]], base: list[int], k: int) -> list[tuple[int, ...]]:
    """Index tuples one step from ``base`` in knob ``k``. For the array, a step changes rows or
    cols alone (to the next listed value), so 128x256 is next to 64x256 and 128x128."""
    if KNOBS[k] != "pe_array":
        steps = [base[k] - 1, base[k] + 1]
        return [(*base[:k], i, *base[k + 1 :]) for i in steps if 0 <= i < len(values[KNOBS[k]])]
    shapes: list[tuple[int, int]] = values["pe_array"]
    rows, cols = shapes[base[k]]
    out = []
    for axis, fixed in ((0, cols), (1, rows)):
        line = sorted(s[axis] for s in shapes if s[1 - axis] == fixed)
        here = line.index((rows, cols)[axis])
        for j in (here - 1, here + 1):
            if 0 <= j < len(line):
                shape = (line[j], cols) if axis == 0 else (rows, line[j])
                out.append((*base[:k], shapes.index(shape), *base[k + 1 :]))
    return out


def _fate_text(text: str, o: Outcome, search: SearchResult) -> str:
    spec, best = search.spec, search.best
    assert best is not None
    if o.fate == "over_area":
        return (
            f"{text}: over the area budget ({o.candidate.area_mm2:.4g} > "
            f"{spec.budget.area_mm2:g} mm^2)"
        )
    if o.fate == "pruned":
        return (
            f"{text}: pruned, its lower bound {o.candidate.bound:.4g} is no better than "
            f"the best {best.value:.4g}"
        )
    assert o.result is not None
    worse = o.result.value / best.value - 1 if best.value else 0.0
    extra = " (over the power budget)" if o.fate == "over_power" else ""
    return f"{text}: solved, objective {worse:+.3%}{extra}"


def _bottlenecks(r: DesignResult) -> list[str]:
    total: dict[str, float] = {}
    for w in r.workloads:
        for res, cycles in w.bound_by.items():
            total[res] = total.get(res, 0.0) + w.weight * cycles
    s = sum(total.values()) or 1.0
    return [f"{res} {v / s:.1%}" for res, v in sorted(total.items(), key=lambda kv: -kv[1])]


def design_json(spec: DesignSpec, r: DesignResult, with_arch: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "label": r.label,
        "knobs": r.knobs,
        "area_mm2": r.area_mm2,
        "latency_cycles": r.latency_cycles,
        "latency_s": r.latency_s,
        "energy_pj": r.energy_pj,
        "edp_pj_s": r.edp,
        "objective_value": r.value,
        "objective_bound": r.bound,
        "gap": r.gap,
        "all_optimal": r.all_optimal,
        "seconds": r.seconds,
    }
    if with_arch:
        point = point_of(spec, r)
        out["arch"] = derive_arch(point, spec.space).model_dump(mode="json")
        out["area_breakdown_mm2"] = asdict(design_area(point, spec.space))
        out["workloads"] = [
            {
                **asdict(w),
                "instance": {
                    "model": s.model,
                    "phase": s.phase.value,
                    "batch": s.batch,
                    "seq_len": s.seq_len,
                    "options": {
                        "objective": w.objective,
                        "fusion": spec.options.fusion.value,
                        "time_limit_s": spec.options.time_limit_s,
                        "threads": spec.options.threads,
                    },
                },
            }
            for w, s in zip(r.workloads, spec.workloads, strict=True)
        ]
    return out


@dataclass(frozen=True)
class FrontPoint:
    """One mapping of one solved design, placed on a front."""

    label: str
    area_mm2: float
    latency_s: float
    energy_pj: float
    clock_ghz: float
    proven: bool  # the front's metric is this design's proven optimum over its mappings

    @property
    def latency_cycles(self) -> float:
        return self.latency_s * self.clock_ghz * 1e9


def _point(r: DesignResult, runs: tuple[WorkloadResult, ...], proven: bool) -> FrontPoint:
    lat = sum(w.weight * w.latency_cycles for w in runs) / (r.clock_ghz * 1e9)
    energy = sum(w.weight * w.energy_pj for w in runs)
    return FrontPoint(r.label, r.area_mm2, lat, energy, r.clock_ghz, proven)


def front_point(r: DesignResult, metric: str | None) -> FrontPoint:
    """The design's mapping solved for ``metric`` ("latency" or "energy") when there is one (then
    the metric is the design's proven optimum if every group was), else its reported mapping."""
    for runs in (r.workloads, r.others):
        if runs and metric is not None and all(w.objective == metric for w in runs):
            return _point(r, runs, all(w.all_optimal for w in runs))
    return _point(r, r.workloads, False)


def front_status(search: SearchResult, metric: str, front: list[FrontPoint]) -> dict[str, Any]:
    """Whether the (area, ``metric``) front of the solved designs is the exact front of the whole
    feasible space: every front point's metric is proven, and every other design within budget is
    weakly dominated by a front point in (area, lower bound on its metric). Designs not so
    dominated are ``undecided``: they may lie on the true front."""
    attr = f"{metric}_s" if metric == "latency" else f"{metric}_pj"
    on_front = {p.label for p in front}
    undecided = 0
    for o in search.outcomes:
        if o.fate in ("over_area", "over_power") or o.candidate.point.label in on_front:
            continue
        low = o.candidate.bound_latency_s if metric == "latency" else o.candidate.bound_energy_pj
        if o.result is not None:
            q = front_point(o.result, metric)
            low = getattr(q, attr) if q.proven else low
        limit = low * (1 + RELATIVE_TOLERANCE)
        if not any(p.area_mm2 <= o.candidate.area_mm2 and getattr(p, attr) <= limit for p in front):
            undecided += 1
    exact = undecided == 0 and all(p.proven for p in front)
    return {
        "status": "exact" if exact else "among_evaluated",
        "undecided_designs": undecided,
        "unproven_points": sum(not p.proven for p in front),
    }


def fronts(search: SearchResult) -> dict[str, Any]:
    """The latency–area, energy–area and 3-D fronts of the solved designs, each with its status."""
    solved = [o.result for o in search.outcomes if o.fate == "solved" and o.result is not None]
    out: dict[str, Any] = {}
    status: dict[str, Any] = {}
    for key, metric in (("pareto_latency_area", "latency"), ("pareto_energy_area", "energy")):
        attr = "latency_s" if metric == "latency" else "energy_pj"
        front = pareto([front_point(r, metric) for r in solved], (attr,))
        out[key] = _front_json(front)
        status[key] = front_status(search, metric, front)
    out["pareto"] = _front_json(pareto([front_point(r, None) for r in solved], METRICS_3D))
    status["pareto"] = {
        "status": "among_evaluated",
        "note": "reported mappings of the solved designs; a design's own latency-energy "
        "trade-off over its mappings is not enumerated",
    }
    out["pareto_status"] = status
    return out


METRICS_3D = ("latency_s", "energy_pj")


def _front_json(front: Sequence[FrontPoint]) -> list[dict[str, Any]]:
    return [
        {
            "label": r.label,
            "area_mm2": r.area_mm2,
            "latency_cycles": r.latency_cycles,
            "latency_s": r.latency_s,
            "energy_pj": r.energy_pj,
            "proven": r.proven,
        }
        for r in front
    ]


def search_json(search: SearchResult) -> dict[str, Any]:
    spec = search.spec
    solved = [o.result for o in search.outcomes if o.fate == "solved" and o.result is not None]
    ranked = sorted(solved, key=lambda r: (r.value, r.area_mm2, r.label))
    fates = [o.fate for o in search.outcomes]
    return {
        "name": spec.name,
        "status": search.status,
        "objective": spec.objective.value,
        "objective_unit": UNITS[spec.objective.value],
        "gap": search.gap,
        "best_design_proven": search.design_proven,
        "lower_bound": search.lower_bound,
        "best": None if search.best is None else design_json(spec, search.best, with_arch=True),
        "runner_ups": [design_json(spec, r) for r in ranked[1 : 1 + RUNNER_UPS]],
        "binds": binds(search),
        **fronts(search),
        "space_points": search.space_points,
        "evaluated_designs": search.evaluated_designs,
        "from_cache": sum(1 for r in search.solved if r.from_cache),
        "pruned": fates.count("pruned"),
        "over_area": fates.count("over_area"),
        "over_power": fates.count("over_power"),
        "group_solves": sum(r.group_solves for r in search.solved),
        "group_cache_hits": sum(r.group_hits for r in search.solved),
        "seconds": search.seconds,
        "designs": [
            {
                "label": o.candidate.point.label,
                "fate": o.fate,
                "area_mm2": o.candidate.area_mm2,
                "bound": o.candidate.bound,
                "value": None if o.result is None else o.result.value,
            }
            for o in search.outcomes
        ],
    }


def _fmt(objective: Objective, v: float) -> str:
    return f"{v:.5g} {UNITS[objective.value]}"


def print_search(search: SearchResult, console: Console) -> None:
    spec, best = search.spec, search.best
    console.print(
        f"[bold]{spec.name}[/]: {search.space_points} design points, "
        f"{search.evaluated_designs} solved, "
        f"{sum(o.fate == 'pruned' for o in search.outcomes)} pruned by bounds, "
        f"{sum(o.fate == 'over_area' for o in search.outcomes)} over the area budget "
        f"({spec.budget.area_mm2:g} mm^2 at {spec.budget.node_nm} nm); {search.seconds:.1f} s"
    )
    if best is None:
        console.print("no design of the space fits the budget")
        return
    gap = search.gap or 0.0
    console.print(
        f"status [bold]{search.status}[/] ({spec.objective.value}, gap {gap:.3g}; lower bound "
        f"{_fmt(spec.objective, search.lower_bound)})"
    )
    if search.design_proven:
        console.print("no other design of the space can beat the best design's value (proven)")
    console.print(f"best design [bold]{best.label}[/]  area {best.area_mm2:.4g} mm^2")
    for k, v in best.knobs.items():
        console.print(f"  {k:18} {v}")
    t = Table(
        "workload", "weight", "latency (cycles)", "latency (ms)", "energy (mJ)", "EDP (mJ*ms)"
    )
    for w in best.workloads:
        ms = w.latency_cycles / (best.clock_ghz * 1e6)
        t.add_row(
            w.label,
            f"{w.weight:g}",
            f"{w.latency_cycles:.5g}",
            f"{ms:.5g}",
            f"{w.energy_pj * 1e-9:.5g}",
            f"{ms * w.energy_pj * 1e-9:.5g}",
        )
    ms = best.latency_s * 1e3
    t.add_row(
        "weighted total",
        "",
        f"{best.latency_cycles:.5g}",
        f"{ms:.5g}",
        f"{best.energy_pj * 1e-9:.5g}",
        f"{ms * best.energy_pj * 1e-9:.5g}",
    )
    console.print(t)
    console.print("[bold]what binds each knob[/] (one step either side, other knobs fixed)")
    for knob, notes in binds(search).items():
        console.print(f"  {knob}: " + "; ".join(notes))
    solved = sorted(
        (o.result for o in search.outcomes if o.fate == "solved" and o.result is not None),
        key=lambda r: (r.value, r.area_mm2, r.label),
    )
    if len(solved) > 1:
        console.print("[bold]runner-ups[/]")
        for r in solved[1 : 1 + RUNNER_UPS]:
            console.print(
                f"  {r.label:40} area {r.area_mm2:8.4g} mm^2  {_fmt(spec.objective, r.value)} "
                f"({r.value / best.value - 1:+.3%})"
            )
    for key, st in fronts(search)["pareto_status"].items():
        if key == "pareto":
            continue
        name = key.removeprefix("pareto_").replace("_", "-")
        text = (
            "exact over the whole space (proven)"
            if st["status"] == "exact"
            else f"among the solved designs only ({st['undecided_designs']} designs undecided, "
            f'{st["unproven_points"]} points not proven optimal; options.pruning = "front" '
            "proves the objective's front)"
        )
        console.print(f"{name} front: {text}")
