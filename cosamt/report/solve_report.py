"""``cosamt solve`` output: one JSON object, or a table for people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from cosamt.baselines.flat import shared_granularity
from cosamt.types import AGREEMENT_TOLERANCE

if TYPE_CHECKING:  # report renders the pipeline's results; it needs no solver to do so
    from cosamt.pipeline import GroupResult, SolveReport


def granularity(g: GroupResult) -> str | None:
    return shared_granularity(g.group, g.mappings)


def _stationarity(g: GroupResult) -> dict[str, str]:
    out = {}
    for op, m in zip(g.group.ops, g.metrics.members, strict=True):
        prefix = f"{op.name}." if g.group.fused else ""
        out[f"{prefix}PE"] = m.pe_stationarity.value
        for lv in m.levels[: len(m.levels) - (2 if g.group.fused else 1)]:
            out[f"{prefix}{lv.level}"] = lv.stationarity.value
    return out


def _bound_by(g: GroupResult) -> str:
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
        "stationarity": _stationarity(g),
        "latency_cycles": m.latency_cycles,
        "energy_pj": m.energy_pj,
        "dram_bytes": m.dram_bytes,
        "utilisation": m.utilisation,
        "bound_by": _bound_by(g),
        "padding": {op: dict(mp.padding) for op, mp in g.mappings.items() if mp.padding},
        "mip": {
            "status": s.status.value,
            "objective": s.objective,
            "bound": s.bound,
            "gap": s.gap,
            "seconds": s.seconds,
            "objective_kind": obj.value,
            "tiebreak": None if s.tiebreak is None else s.tiebreak.value,
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
                    "all_optimal": all(g.solve.status.value == "optimal" for g in a.groups),
                }
                for a in seg.alternatives
            ],
        }
        for seg in report.segments
    ]


def totals(report: SolveReport) -> dict[str, Any]:
    arch = report.resolved.arch
    count = report.resolved.model.n_layers
    lat = sum(g.metrics.latency_cycles * g.count for g in report.groups)
    en = sum(g.metrics.energy_pj * g.count for g in report.groups)
    dram = sum(g.metrics.dram_bytes * g.count for g in report.groups)
    lb_lat = sum(seg.bound.latency_cycles for seg in report.segments) * count
    lb_en = sum(seg.bound.energy_pj for seg in report.segments) * count
    return {
        "total": {
            "latency_cycles": lat,
            "latency_ms": lat / (arch.clock_ghz * 1e6),
            "energy_pj": en,
            "energy_mj": en * 1e-9,
            "dram_bytes": dram,
            "solve_seconds": sum(
                g.solve.seconds
                for seg in report.segments
                for a in seg.alternatives
                for g in a.groups
            ),
            "all_optimal": all(g.solve.status.value == "optimal" for g in report.groups),
            "all_agree": all(
                (g.agreement(report.settings.objective) or 0.0) <= AGREEMENT_TOLERANCE
                for g in report.groups
            ),
        },
        "lower_bound": {
            "latency_cycles": lb_lat,
            "energy_pj": lb_en,
            "latency_ratio": lat / lb_lat if lb_lat else None,
            "energy_ratio": en / lb_en if lb_en else None,
            "note": "per segment, the smallest bound over the groupings considered (fused or not)",
        },
    }


def report_json(report: SolveReport) -> dict[str, Any]:
    r = report.resolved
    inst = r.instance
    return {
        "instance": {
            "model": r.model.name,
            "phase": inst.phase.value,
            "batch": inst.batch,
            "seq_len": inst.seq_len,
            "arch": r.arch.name,
            "objective": report.settings.objective.value,
            "layers": r.model.n_layers,
        },
        "fusion": report.fusion.value,
        "groups": [group_json(g, report) for g in report.groups],
        "explain": explain_json(report),
        **totals(report),
    }


def _si(x: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def print_explain(report: SolveReport, console: Console) -> None:
    """The fusion explorer's choice per segment and the alternatives it rejected."""
    table = Table(
        title=f"fusion explorer (allowed: {report.fusion.value}; objective: {report.settings.objective.value})"
    )
    for col in ("segment", "fusion", "latency cyc", "energy pJ", "vs chosen", "chosen"):
        table.add_column(col, justify="left" if col in ("segment", "fusion") else "right")
    for seg in explain_json(report):
        chosen = next(a for a in seg["alternatives"] if a["chosen"])
        for a in seg["alternatives"]:
            if not a["feasible"]:
                table.add_row(seg["segment"], a["fusion"], "-", "-", a["note"], "")
                continue
            key = "energy_pj" if report.settings.objective.value == "energy" else "latency_cycles"
            ratio = a[key] / chosen[key] if chosen[key] else float("nan")
            table.add_row(
                seg["segment"],
                a["fusion"],
                _si(a["latency_cycles"]),
                _si(a["energy_pj"]),
                f"{ratio:.3f}x",
                "*" if a["chosen"] else "",
            )
    console.print(table)


def print_table(report: SolveReport, console: Console) -> None:
    data = report_json(report)
    inst = data["instance"]
    table = Table(
        title=f"{inst['model']} {inst['phase']} L={inst['seq_len']} batch={inst['batch']} "
        f"on {inst['arch']} (objective: {inst['objective']}, x{inst['layers']} layers)"
    )
    for col in (
        "group",
        "fusion",
        "stationarity (PE/levels)",
        "latency cyc",
        "energy pJ",
        "DRAM B",
        "util",
        "bound by",
        "status",
        "gap",
        "solve s",
        "eval agrees",
    ):
        table.add_column(
            col,
            justify="right"
            if col not in ("group", "fusion", "stationarity (PE/levels)")
            else "left",
        )
    for g in data["groups"]:
        mip = g["mip"]
        agree = g["evaluator"]["agreement"]
        agree_txt = (
            "n/a"
            if agree is None
            else ("yes" if agree <= AGREEMENT_TOLERANCE else f"NO ({agree:.1e})")
        )
        name = g["name"] + (f" (= {g['same_as']})" if g["same_as"] else "")
        if g["schedule_source"] != "mip":
            name += f" [{g['schedule_source']}]"
        fusion = g["fusion"] + (f" ({g['granularity']})" if g["granularity"] else "")
        table.add_row(
            name,
            fusion,
            "/".join(v[0].upper() for v in g["stationarity"].values()),
            _si(g["latency_cycles"]),
            _si(g["energy_pj"]),
            _si(g["dram_bytes"]),
            f"{g['utilisation']:.2f}",
            g["bound_by"],
            mip["status"],
            "-" if mip["gap"] is None else f"{mip['gap']:.1e}",
            f"{mip['seconds']:.2f}",
            agree_txt,
        )
    console.print(table)
    t, lb = data["total"], data["lower_bound"]
    console.print(
        f"model total: latency {_si(t['latency_cycles'])} cycles ({t['latency_ms']:.3f} ms), "
        f"energy {t['energy_mj']:.4g} mJ, DRAM {_si(t['dram_bytes'])}B, solve {t['solve_seconds']:.1f} s"
    )
    console.print(
        f"lower bound: latency {_si(lb['latency_cycles'])} cycles (schedule is {lb['latency_ratio']:.3f}x), "
        f"energy {_si(lb['energy_pj'])} pJ (schedule is {lb['energy_ratio']:.3f}x)"
    )
    console.print(
        "stationarity letters: W weight, I input, O output, N none; per operator: PE, then each on-chip level"
    )
