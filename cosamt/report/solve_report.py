"""``cosamt solve`` output: one JSON object, or a table for people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosamt.arch.spec import SHARED, Architecture
from cosamt.baselines.flat import shared_granularity
from cosamt.report.totals import totals_json

# What "optimal" is over (formulations/single_operator.md, "What the MIP does not model").
MAPSPACE = (
    "optimal over the MIP's mapspace: one temporal loop per dimension and level, spatial loops at "
    "the array's level, any bypass of the levels that may hold a tensor; sizes padded only where "
    "they have a prime factor above 7, to the nearest 7-smooth size within +12.5 % (padding on)"
)

if TYPE_CHECKING:  # report renders the pipeline's results; it needs no solver to do so
    from cosamt.pipeline import GroupResult, SolveReport


def granularity(g: GroupResult) -> str | None:
    return shared_granularity(g.group, g.mappings)


def stationarity(g: GroupResult) -> dict[str, str]:
    out = {}
    for op, m in zip(g.group.ops, g.metrics.members, strict=True):
        prefix = f"{op.name}." if g.group.fused else ""
        out[f"{prefix}PE"] = m.pe_stationarity.value
        for lv in m.levels[: len(m.levels) - (2 if g.group.fused else 1)]:
            out[f"{prefix}{lv.level}"] = lv.stationarity.value
    return out


def level_bytes(g: GroupResult) -> dict[str, int]:
    """Bytes read from and written to each memory level by the whole group (all its members and
    instances, each word at its width there); the fused group's virtual ``Shared`` level moves
    nothing and is left out."""
    out: dict[str, int] = {}
    for m in g.metrics.members:
        for lv in m.levels:
            if lv.level != SHARED:
                out[lv.level] = out.get(lv.level, 0) + lv.bytes_moved
    return out


def roof_json(arch: Architecture) -> dict[str, Any]:
    """What a roofline needs of the architecture: the clock, the MAC roof and, per level with a
    bandwidth, its read + write bytes per cycle (a level's ports run in parallel, so traffic T over
    ports R and W takes at least T / (R + W) cycles)."""
    return {
        "clock_ghz": arch.clock_ghz,
        "peak_macs_per_cycle": arch.units,
        "bandwidth_bytes_per_cycle": {
            lv.name: lv.read_bandwidth + lv.write_bandwidth
            for lv in arch.levels
            if lv.read_bandwidth is not None and lv.write_bandwidth is not None
        },
    }


def bound_by(g: GroupResult) -> str:
    return g.metrics.members[0].bound_by if not g.group.fused else g.metrics.bound_by


def group_json(g: GroupResult, report: SolveReport) -> dict[str, Any]:
    obj = report.settings.objective
    m, s = g.metrics, g.solve
    return {
        "name": g.name,
        "operators": [op.name for op in g.group.ops],
        "count": g.count,
        "fusion": g.group.scheme.value,
        "granularity": granularity(g),
        "schedule_source": g.source,
        "same_as": g.same_as,
        "stationarity": stationarity(g),
        "latency_cycles": m.latency_cycles,
        "energy_pj": m.energy_pj,
        "dram_bytes": m.dram_bytes,
        "useful_macs": m.useful_macs,
        "level_bytes": level_bytes(g),
        "utilisation": m.utilisation,
        "bound_by": bound_by(g),
        "padding": {op: dict(mp.padding) for op, mp in g.mappings.items() if mp.padding},
        "mip": {
            "status": s.status.value,
            "objective": s.objective,
            "bound": s.bound,
            "gap": s.gap,
            "seconds": s.seconds,
            "objective_kind": obj.value,
            "tiebreak": None if s.tiebreak is None else s.tiebreak.value,
            "tiebreak_gap": s.tiebreak_gap,
            "proven": s.proven,
            "solver_objective": s.mip_objective,
            "note": s.note,
        },
        "evaluator": {
            "latency_cycles": m.latency_cycles,
            "energy_pj": m.energy_pj,
            "agreement": g.agreement(obj),
            "violations": [v.to_json() for v in m.violations],
        },
        "lower_bound": {"latency_cycles": g.bound.latency_cycles, "energy_pj": g.bound.energy_pj},
    }


def explain_json(report: SolveReport) -> list[dict[str, Any]]:
    return [
        {
            "segment": seg.name,
            "alternatives": [
                {
                    "fusion": a.label,
                    "chosen": a.chosen,
                    "feasible": a.feasible,
                    "note": a.note,
                    "latency_cycles": a.latency_cycles if a.feasible else None,
                    "energy_pj": a.energy_pj if a.feasible else None,
                    "groups": [g.name for g in a.groups],
                    "all_optimal": all(g.solve.proven for g in a.groups),
                }
                for a in seg.alternatives
            ],
        }
        for seg in report.segments
    ]


def neighbours_json(report: SolveReport) -> list[dict[str, Any]]:
    """Per chosen group, its Pareto neighbour within the stated slack of its primary metric."""
    by = {g.name: g for g in report.groups}
    out = []
    for n in report.neighbours:
        chosen = by[n.group].metrics
        m = n.metrics
        out.append(
            {
                "group": n.group,
                "slack": n.slack,
                "status": n.result.status.value,
                "valid": n.valid,
                "latency_cycles": None if m is None else m.latency_cycles,
                "energy_pj": None if m is None else m.energy_pj,
                "latency_ratio": None if m is None else m.latency_cycles / chosen.latency_cycles,
                "energy_ratio": None if m is None else m.energy_pj / chosen.energy_pj,
                "note": n.note,
            }
        )
    return out


def _cost(cost: tuple[float, float] | None) -> dict[str, float] | None:
    return None if cost is None else {"objective": cost[0], "tiebreak": cost[1]}


def exploration_json(report: SolveReport) -> list[dict[str, Any]]:
    """``fusion: explore``, per block: the chosen partition, per cut the cheapest partition that
    does not cut there, the menu's cost, what was solved and pruned, and whether it is exact."""
    out = []
    for e in report.explorations:
        views = {}
        for view, part in e.partitions.items():
            cuts = []
            for k, step in enumerate(part.path[:-1]):
                cut = step.hi + 1
                alt = part.alternative(cut)
                cuts.append(
                    {
                        "after": step.group.name,
                        "before": part.path[k + 1].group.name,
                        "best_alternative": None
                        if alt is None
                        else {"cost": _cost(alt[0]), "crossing_group": alt[1].group.name},
                        # crossing candidates proven unable to beat the menu, left unsolved
                        "crossing_pruned": sum(
                            s.lo < cut <= s.hi and s.status in ("pruned", "over budget")
                            for s in part.steps
                        ),
                    }
                )
            views[view] = {
                "cost": _cost(part.cost),
                "partition": [
                    {"group": s.group.name, "fusion": s.group.scheme.value, "cost": _cost(s.cost)}
                    for s in part.path
                ],
                "cuts": cuts,
                "candidates": len(part.steps),
                "solved": sum(s.status == "solved" for s in part.steps),
                "pruned": sum(s.status == "pruned" for s in part.steps),
                "over_budget": sum(s.status == "over budget" for s in part.steps),
                "no_schedule": sum(s.status == "no schedule" for s in part.steps),
            }
        menu, cost = e.menu_cost, e.cost
        out.append(
            {
                "block": e.block,
                "chosen": e.chosen,
                "menu_cost": _cost(menu),
                "cost": _cost(cost),
                "gain_over_menu": None
                if menu is None or cost is None or not menu[0]
                else 1 - cost[0] / menu[0],
                "exact": e.exact,
                "unproven": list(e.unproven),
                "mips_solved": e.solved,
                "reused": e.reused,
                "seconds": e.seconds,
                "note": e.note,
                "views": views,
            }
        )
    return out


def instance_json(report: SolveReport) -> dict[str, Any]:
    """What was solved: the model, phase, batch, length, architecture, objective and layers."""
    r = report.resolved
    inst = r.instance
    return {
        "model": r.model.name,
        "phase": inst.phase.value,
        "batch": inst.batch,
        "seq_len": inst.seq_len,
        "arch": r.arch.name,
        "objective": report.settings.objective.value,
        "layers": r.model.n_layers,
    }


def report_json(report: SolveReport) -> dict[str, Any]:
    return {
        "instance": instance_json(report),
        "fusion": report.fusion.value,
        "solver": report.solver,
        "mapspace": MAPSPACE,
        "roof": roof_json(report.resolved.arch),
        "groups": [group_json(g, report) for g in report.groups],
        "explain": explain_json(report),
        **({"exploration": exploration_json(report)} if report.explorations else {}),
        **({"pareto_neighbours": neighbours_json(report)} if report.neighbours else {}),
        **totals_json(report),
        "assumptions": workload_assumptions(report),
    }


def status_text(mip: dict[str, Any]) -> str:
    """The primary's status, and the tie-break's when it is not proven, with what it may cost."""
    text = str(mip["status"])
    tb = mip.get("tiebreak")
    if tb is None or tb == "optimal" or mip["status"] not in ("optimal", "feasible"):
        return text
    cost = mip.get("tiebreak_gap")
    return f"{text}, tie-break {tb}" + (f" (≤{cost:.0%} to gain)" if cost else " (gain unknown)")


def workload_assumptions(report: SolveReport) -> list[str]:
    """What the operators leave out or approximate (causal attention as the full matrix, ...)."""
    from cosamt.workload.transformer import assumptions

    inst = report.resolved.instance
    return assumptions(
        report.resolved.model, inst.phase, inst.batch, inst.seq_len, inst.options.lm_head
    )
