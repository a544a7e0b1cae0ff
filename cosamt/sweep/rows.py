"""One sweep row from one solve report (the content of :func:`cosamt.report.solve_report.report_json`).

Columns: the point's parameters (:data:`~cosamt.sweep.spec.KEY_COLUMNS`); ``wall_seconds``,
``cpu_seconds`` (of the process that solved it) and ``cache_hits`` of the point; per group
``NAME.FIELD`` for :data:`GROUP_FIELDS` and ``NAME.bytes.LEVEL`` (bytes read and written at each
memory level); every total and lower-bound figure as ``total.FIELD`` / ``lower_bound.FIELD``; and
the architecture's roofs as ``roof.clock_ghz``, ``roof.peak_macs_per_cycle`` and
``roof.bandwidth.LEVEL`` (read + write bytes per cycle).
"""

from __future__ import annotations

from typing import Any

from cosamt.sweep.spec import KEY_COLUMNS, Key

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


def flatten(report: dict[str, Any]) -> Row:
    """The row of one ``report_json`` object."""
    inst = report["instance"]
    row: Row = {c: inst[c] for c in KEY_COLUMNS}
    for g in report["groups"]:
        row.update({f"{g['name']}.{k}": v for k, v in _group_fields(g).items()})
        row.update({f"{g['name']}.bytes.{lv}": b for lv, b in g["level_bytes"].items()})
    for section in ("total", "lower_bound"):
        row.update({f"{section}.{k}": v for k, v in report[section].items()})
    roof = report["roof"]
    row["roof.clock_ghz"] = roof["clock_ghz"]
    row["roof.peak_macs_per_cycle"] = roof["peak_macs_per_cycle"]
    row.update({f"roof.bandwidth.{lv}": bw for lv, bw in roof["bandwidth_bytes_per_cycle"].items()})
    return row


def _group_fields(g: dict[str, Any]) -> dict[str, Any]:
    mip = g["mip"]
    fields = {
        "latency_cycles": g["latency_cycles"],
        "energy_pj": g["energy_pj"],
        "dram_bytes": g["dram_bytes"],
        "useful_macs": g["useful_macs"],
        "lower_bound_cycles": float(g["lower_bound"]["latency_cycles"]),  # one type in Parquet
        "utilisation": g["utilisation"],
        "bound_by": g["bound_by"],
        "fusion": g["fusion"],
        "stationarity": ";".join(f"{lv}={s}" for lv, s in g["stationarity"].items()),
        "source": g["schedule_source"],
        "status": mip["status"],
        "gap": mip["gap"],
        "seconds": mip["seconds"],
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
