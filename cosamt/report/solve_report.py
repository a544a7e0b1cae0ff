"""``cosamt solve`` output: one JSON object, or a table for people."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from cosamt.pipeline import AGREEMENT_TOLERANCE, GroupResult, SolveReport


def _stationarity(g: GroupResult) -> dict[str, str]:
    out = {"PE": g.metrics.pe_stationarity.value}
    for lv in g.metrics.levels[:-1]:
        out[lv.level] = lv.stationarity.value
    return out


def group_json(g: GroupResult, report: SolveReport) -> dict[str, Any]:
    obj = report.settings.objective
    m, s = g.metrics, g.solve
    return {
        "name": g.name,
        "operators": [g.op.name],
        "count": g.count,
        "fusion": "none",
        "schedule_source": g.source,
        "same_as": g.same_as,
        "stationarity": _stationarity(g),
        "latency_cycles": m.latency_cycles,
        "energy_pj": m.energy_pj,
        "dram_bytes": m.dram_bytes,
        "utilisation": m.utilisation,
        "bound_by": m.bound_by,
        "padding": dict(g.mapping.padding),
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
            "violations": list(m.violations),
        },
        "lower_bound": {"latency_cycles": g.bound.latency_cycles, "energy_pj": g.bound.energy_pj},
    }


def totals(report: SolveReport) -> dict[str, Any]:
    arch = report.resolved.arch
    lat = sum(g.metrics.latency_cycles * g.count for g in report.groups)
    en = sum(g.metrics.energy_pj * g.count for g in report.groups)
    dram = sum(g.metrics.dram_bytes * g.count for g in report.groups)
    lb_lat = sum(g.bound.latency_cycles * g.count for g in report.groups)
    lb_en = sum(g.bound.energy_pj * g.count for g in report.groups)
    return {
        "total": {
            "latency_cycles": lat,
            "latency_ms": lat / (arch.clock_ghz * 1e6),
            "energy_pj": en,
            "energy_mj": en * 1e-9,
            "dram_bytes": dram,
            "solve_seconds": sum(g.solve.seconds for g in report.groups),
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
        "groups": [group_json(g, report) for g in report.groups],
        **totals(report),
    }


def _si(x: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def print_table(report: SolveReport, console: Console) -> None:
    data = report_json(report)
    inst = data["instance"]
    table = Table(
        title=f"{inst['model']} {inst['phase']} L={inst['seq_len']} batch={inst['batch']} "
        f"on {inst['arch']} (objective: {inst['objective']}, x{inst['layers']} layers)"
    )
    for col in (
        "operator",
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
            col, justify="right" if col not in ("operator", "stationarity (PE/levels)") else "left"
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
        table.add_row(
            name,
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
        "stationarity letters: W weight, I input, O output, N none; PE first, then each on-chip level"
    )
