"""One sweep row from one typed solve report (:class:`cosamt.pipeline.SolveReport`).

Columns: the point's parameters (:data:`~cosamt.sweep.spec.KEY_COLUMNS`); ``wall_seconds``,
``cpu_seconds`` (of the process that solved it) and ``cache_hits`` of the point; per group
``NAME.FIELD`` for :data:`GROUP_FIELDS` and ``NAME.bytes.LEVEL`` (bytes read and written at each
memory level); every total and lower-bound figure as ``total.FIELD`` / ``lower_bound.FIELD``; and
the architecture's roofs as ``roof.clock_ghz``, ``roof.peak_macs_per_cycle`` and
``roof.bandwidth.LEVEL`` (read + write bytes per cycle).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from cosamt.report.solve_report import (
    bound_by,
    instance_json,
    level_bytes,
    roof_json,
    stationarity,
)
from cosamt.report.totals import bound_totals, model_totals
from cosamt.sweep.spec import KEY_COLUMNS, Key

if TYPE_CHECKING:
    from cosamt.pipeline import GroupResult, SolveReport

GROUP_FIELDS = (
    "latency_cycles",
    "energy_pj",
    "dram_bytes",
    "useful_macs",
    "lower_bound_cycles",
    "utilisation",
    "bound_by",
    "fusion",
    "stationarity",
    "source",
    "status",
    "gap",
    "seconds",
)
"""Per-group columns, in order."""

TIMING_COLUMNS = frozenset(
    {
        "wall_seconds",
        "cpu_seconds",
        "cache_hits",
        "total.solve_seconds",
        "total.chosen_solve_seconds",
    }
)
"""Columns that vary from run to run (besides every ``*.seconds``)."""

Row = dict[str, Any]


def flatten(report: SolveReport) -> Row:
    """The row of one solve report, read from its typed results (the same figures ``cosamt solve
    --json`` prints)."""
    r = report.resolved
    what = instance_json(report)
    row: Row = {c: what[c] for c in KEY_COLUMNS}
    for g in report.groups:
        row.update({f"{g.name}.{k}": v for k, v in group_fields(g).items()})
        row.update({f"{g.name}.bytes.{lv}": b for lv, b in level_bytes(g).items()})
    total = model_totals(report)
    row.update({f"total.{k}": v for k, v in asdict(total).items()})
    row.update({f"lower_bound.{k}": v for k, v in asdict(bound_totals(report, total)).items()})
    roof = roof_json(r.arch)
    row["roof.clock_ghz"] = roof["clock_ghz"]
    row["roof.peak_macs_per_cycle"] = roof["peak_macs_per_cycle"]
    row.update({f"roof.bandwidth.{lv}": bw for lv, bw in roof["bandwidth_bytes_per_cycle"].items()})
    return row


def group_fields(g: GroupResult) -> dict[str, Any]:
    m, s = g.metrics, g.solve
    fields = {
        "latency_cycles": m.latency_cycles,
        "energy_pj": m.energy_pj,
        "dram_bytes": m.dram_bytes,
        "useful_macs": m.useful_macs,
        "lower_bound_cycles": float(g.bound.latency_cycles),  # one type in Parquet
        "utilisation": m.utilisation,
        "bound_by": bound_by(g),
        "fusion": g.group.scheme.value,
        "stationarity": ";".join(f"{lv}={st}" for lv, st in stationarity(g).items()),
        "source": g.source,
        "status": s.status.value,
        "gap": s.gap,
        "seconds": s.seconds,
    }
    assert tuple(fields) == GROUP_FIELDS
    return fields


def row_key(row: Row) -> Key:
    """The point parameters of a row, as strings (CSV and JSON rows give the same key)."""
    return tuple(str(row[c]) for c in KEY_COLUMNS)


def is_timing(column: str) -> bool:
    return column in TIMING_COLUMNS or column.endswith(".seconds")


def without_timing(row: Row) -> Row:
    """The row minus the columns that vary from run to run: what two runs must agree on."""
    return {k: v for k, v in row.items() if not is_timing(k)}
