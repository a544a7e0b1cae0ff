"""``cosamt solve`` for people: the schedule, the solver, stationarity, totals and the bound.

Every figure follows :mod:`cosamt.report.units`; the tables fit 100 columns (names wrap, never
truncate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cosamt.arch.spec import Architecture
from cosamt.report import units
from cosamt.report.solve_report import MAPSPACE, neighbours_json, report_json, status_text
from cosamt.types import AGREEMENT_TOLERANCE

if TYPE_CHECKING:  # report renders the pipeline's results; it needs no solver to do so
    from cosamt.pipeline import GroupResult, SolveReport

PE_LATCH = "PE latch"


def table(title: str, columns: list[str], left: int = 1) -> Table:
    """A table whose first ``left`` columns (names) are left-aligned and wrap instead of truncating."""
    t = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i < left else "right", overflow="fold")
    return t


def _name(g: dict[str, Any]) -> str:
    name = g["name"] + (f" (= {g['same_as']})" if g["same_as"] else "")
    if g["schedule_source"] != "mip":
        name += escape(f" [{g['schedule_source']}]")  # brackets are rich markup
    return name


def _fusion(g: dict[str, Any]) -> str:
    return g["fusion"] + (f" ({g['granularity']})" if g["granularity"] else "")


def schedule_table(data: dict[str, Any], arch: Architecture) -> Table:
    """Per group (one instance of it): latency in cycles and time, energy, DRAM, utilisation."""
    groups = data["groups"]
    energy = units.energy_unit(g["energy_pj"] for g in groups)
    time = units.time_unit(
        units.cycles_to_seconds(g["latency_cycles"], arch.clock_ghz) for g in groups
    )
    inst = data["instance"]
    t = table(
        f"{inst['model']} {inst['phase']}, {inst['seq_len']} tokens, batch {inst['batch']}, on "
        f"{inst['arch']} ({arch.clock_ghz:g} GHz): {inst['objective']}-optimal schedule, per group (count: instances per model)",
        ["group", "fusion", "count", "cycles", time.symbol, energy.symbol, "DRAM", "util"],
        left=2,
    )
    for g in groups:
        t.add_row(
            _name(g),
            _fusion(g),
            str(g["count"]),
            units.count(g["latency_cycles"]),
            time(units.cycles_to_seconds(g["latency_cycles"], arch.clock_ghz)),
            energy(g["energy_pj"]),
            units.nbytes(g["dram_bytes"]),
            f"{g['utilisation']:.2f}",
        )
    return t


def _agrees(agreement: float | None) -> str:
    if agreement is None:
        return "n/a"
    return "yes" if agreement <= AGREEMENT_TOLERANCE else f"NO ({agreement:.1e})"


def solver_table(data: dict[str, Any]) -> Table:
    """Per group: what bounds its latency, the MIP's status, gap and seconds, evaluator agreement."""
    t = table(
        "per group: bottleneck and solver (seconds: this group's MIP; 0 for a reused group)",
        ["group", "bound by", "status", "gap", "solve s", "evaluator agrees"],
        left=2,
    )
    for g in data["groups"]:
        mip = g["mip"]
        t.add_row(
            _name(g),
            g["bound_by"],
            status_text(mip),
            "-" if mip["gap"] is None else f"{mip['gap']:.1e}",
            f"{mip['seconds']:.2f}",
            _agrees(g["evaluator"]["agreement"]),
        )
    return t


def stationarity_rows(g: GroupResult, arch: Architecture) -> list[tuple[str, dict[str, str]]]:
    """Per operator of the group: {level name: the tensor role kept stationary there}; the PE's
    operand latch first, then each on-chip level (DRAM and a fused group's Shared level left out)."""
    on_chip = arch.level_names[: arch.dram_index]
    rows = []
    for op, m in zip(g.group.ops, g.metrics.members, strict=True):
        by_level = {PE_LATCH: m.pe_stationarity.value}
        by_level |= {lv.level: lv.stationarity.value for lv in m.levels if lv.level in on_chip}
        rows.append((op.name, by_level))
    return rows


def stationarity_table(report: SolveReport) -> Table:
    arch = report.resolved.arch
    levels = [PE_LATCH, *arch.level_names[: arch.dram_index]]
    t = table(
        "stationarity: the operand a level keeps while the loops above it run",
        ["group", "operator", *levels],
        left=2,
    )
    for g in report.groups:
        for i, (op, by_level) in enumerate(stationarity_rows(g, arch)):
            t.add_row(g.name if i == 0 else "", op, *(by_level.get(lv, "-") for lv in levels))
        t.add_section()
    return t


def summary_lines(
    data: dict[str, Any], arch: Architecture, wall_seconds: float | None
) -> list[str]:
    """Model totals, the lower bound and what the seconds cover, in one energy unit."""
    t, lb, inst = data["total"], data["lower_bound"], data["instance"]
    energy = units.energy_unit([t["energy_pj"], lb["energy_pj"]])
    rejected = t["solve_seconds"] - t["chosen_solve_seconds"]
    seconds = (
        f"solver: {t['chosen_solve_seconds']:.1f} s on the chosen groups, "
        f"{t['solve_seconds']:.1f} s with the rejected alternatives ({rejected:.1f} s)"
    )
    if wall_seconds is not None:
        seconds += f"; wall {wall_seconds:.1f} s"
    return [
        f"model total ({inst['layers']} layers): latency "
        f"{units.cycle_time(t['latency_cycles'], arch.clock_ghz)}, energy "
        f"{energy(t['energy_pj'])} {energy.symbol}, DRAM {units.nbytes(t['dram_bytes'])}",
        f"lower bound: latency {units.cycle_time(lb['latency_cycles'], arch.clock_ghz)} "
        f"(schedule {units.ratio(lb['latency_ratio'])}), energy {energy(lb['energy_pj'])} "
        f"{energy.symbol} (schedule {units.ratio(lb['energy_ratio'])})",
        seconds,
        f"{MAPSPACE}; solver {data['solver']}",
        "assumptions: " + "; ".join(data["assumptions"]),
        *menu_only_lines(data.get("exploration", [])),
        *([] if t["all_optimal"] else ["NOT all groups are proven optimal (see status)"]),
    ]


def menu_only_lines(blocks: list[dict[str, Any]]) -> list[str]:
    """``fusion: explore``: the blocks it could not explore, whose fusion is the menu's."""
    return [
        f"fusion of block {b['block'] or 'block'} chosen over the menu only: {b['note']}"
        for b in blocks
        if b["note"]
    ]


def print_table(report: SolveReport, console: Console, wall_seconds: float | None = None) -> None:
    data = report_json(report)
    arch = report.resolved.arch
    console.print(schedule_table(data, arch))
    console.print(solver_table(data))
    console.print(stationarity_table(report))
    for line in summary_lines(data, arch, wall_seconds):
        console.print(line, highlight=False, markup=False)


def print_explain(report: SolveReport, console: Console) -> None:
    """The fusion explorer's choice per segment and the alternatives it rejected."""
    data = report_json(report)
    alts = [a for seg in data["explain"] for a in seg["alternatives"] if a["feasible"]]
    energy = units.energy_unit(a["energy_pj"] for a in alts)
    t = table(
        f"fusion explorer (allowed: {report.fusion.value}; objective: "
        f"{report.settings.objective.value}); per segment, one layer",
        ["segment", "fusion", "cycles", energy.symbol, "vs chosen", "chosen"],
        left=2,
    )
    key = "energy_pj" if report.settings.objective.value == "energy" else "latency_cycles"
    for seg in data["explain"]:
        chosen = next(a for a in seg["alternatives"] if a["chosen"])
        for a in seg["alternatives"]:
            if not a["feasible"]:
                t.add_row(seg["segment"], a["fusion"], "-", "-", a["note"], "")
                continue
            ratio = a[key] / chosen[key] if chosen[key] else None
            t.add_row(
                seg["segment"],
                a["fusion"],
                units.count(a["latency_cycles"]),
                energy(a["energy_pj"]),
                units.ratio(ratio),
                "*" if a["chosen"] else "",
            )
    console.print(t)
    if report.explorations:
        print_exploration(data["exploration"], console)


def print_exploration(blocks: list[dict[str, Any]], console: Console) -> None:
    """``fusion: explore``: per block and view the chosen partition and, per cut, the cheapest
    partition that does not cut there (objective, one layer)."""
    for b in blocks:
        menu = b["menu_cost"]["objective"] if b["menu_cost"] else None
        exact = "exact" if b["exact"] else "NOT exact: " + (b["note"] or ", ".join(b["unproven"]))
        console.print(
            f"explore {b['block'] or 'block'}: chosen {b['chosen']}, objective "
            f"{units.count(b['cost']['objective']) if b['cost'] else '-'} vs menu "
            f"{units.count(menu) if menu is not None else '-'}; {b['mips_solved']} MIPs solved, "
            f"{b['reused']} reused, {b['seconds']:.1f} s; partition choice {exact}"
        )
        for view, v in b["views"].items():
            title = (
                f"view {view}: partition cost {units.count(v['cost']['objective']) if v['cost'] else '-'}"
                f" ({v['candidates']} candidates: {v['solved']} solved, {v['pruned']} pruned by "
                f"bound, {v['over_budget']} proven over budget by the solver, "
                f"{v['no_schedule']} without schedule)"
            )
            if not v["partition"]:  # every way through the view pruned: nothing to tabulate
                console.print(f"{title}: no partition can beat the chosen one")
                continue
            t = table(
                title,
                ["group / cut", "fusion", "objective", "best alternative", "its cost"],
                left=1,
            )
            for k, g in enumerate(v["partition"]):
                t.add_row(g["group"], g["fusion"], units.count(g["cost"]["objective"]), "", "")
                if k < len(v["cuts"]):
                    c = v["cuts"][k]
                    alt = c["best_alternative"]
                    t.add_row(
                        f"  | cut {c['after']} / {c['before']}",
                        "",
                        "",
                        _no_alternative(c["crossing_pruned"])
                        if alt is None
                        else f"not cutting: {alt['crossing_group']}",
                        "-" if alt is None else units.count(alt["cost"]["objective"]),
                    )
            console.print(t)


def _no_alternative(pruned: int) -> str:
    if pruned:
        return f"no solved candidate crosses ({pruned} pruned: cannot beat the menu)"
    return "no candidate crosses"


def print_neighbours(report: SolveReport, console: Console) -> None:
    """``--pareto-slack``: per chosen group, the best other metric within the slack."""
    rows = neighbours_json(report)
    if not rows:
        return
    slack = rows[0]["slack"]
    primary = report.settings.objective.value
    t = table(
        f"Pareto neighbour per group: the best {'latency' if primary == 'energy' else 'energy'} "
        f"with {primary} within {slack:.1%} of the chosen schedule's",
        ["group", "status", "cycles", "× cycles", "energy pJ", "× energy", "note"],
        left=1,
    )
    for r in rows:
        if r["latency_cycles"] is None:
            t.add_row(r["group"], r["status"], "-", "-", "-", "-", r["note"])
            continue
        t.add_row(
            r["group"],
            r["status"] if r["valid"] else "invalid",
            units.count(r["latency_cycles"]),
            f"{r['latency_ratio']:.4f}",
            f"{r['energy_pj']:.4g}",
            f"{r['energy_ratio']:.4f}",
            r["note"],
        )
    console.print(t)
