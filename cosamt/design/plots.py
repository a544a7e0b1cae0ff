"""Figures of a ``cosamt design --json`` output: the latency–area and energy–area fronts of the
solved designs, each labelled exact or not (``pareto_status``), and the best design marked (Agg
canvas, no pyplot)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from cosamt.errors import InputError, Problem

FRONTS = (
    ("pareto_latency_area", "latency_s", "weighted latency (s)"),
    ("pareto_energy_area", "energy_pj", "weighted energy (pJ)"),
)


def read_design_output(path: Path) -> dict[str, Any] | None:
    """The decoded ``cosamt design --json`` output, or None when ``path`` is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), [Problem("", f"cannot read results: {exc}")]) from None
    if isinstance(data, dict) and "exact" in data and isinstance(data["exact"], dict):
        data = data["exact"]  # a --compare output
    if not isinstance(data, dict) or not all(k in data for k, _m, _l in FRONTS):
        return None
    return data


def fronts_figure(data: dict[str, Any]) -> Figure:
    fig = Figure(figsize=(11, 4.4))
    FigureCanvasAgg(fig)
    best = data.get("best") or {}
    solved = {d["label"] for d in data.get("designs", []) if d["fate"] == "solved"}
    for i, (key, metric, label) in enumerate(FRONTS):
        ax = fig.add_subplot(1, 2, i + 1)
        front = data[key]
        exact = data.get("pareto_status", {}).get(key, {}).get("status") == "exact"
        ax.plot(
            [p["area_mm2"] for p in front],
            [p[metric] for p in front],
            "o-",
            label="exact front (proven)"
            if exact
            else f"front of the {len(solved)} solved designs (not proven)",
        )
        if best:
            ax.plot(
                [best["area_mm2"]], [best[metric]], "*", ms=14, label=f"best ({data['objective']})"
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_minor_formatter(NullFormatter())  # narrow ranges: no crowded minor labels
        ax.set(xlabel="area (mm²)", ylabel=label, title=f"{label.split()[1]}–area")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(str(data.get("name", "")), fontsize=9)
    fig.tight_layout()
    return fig
