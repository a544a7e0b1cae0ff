"""A hierarchical roofline per architecture from sweep rows.

Throughput is useful MACs per second (per cycle where the clock is unknown); arithmetic intensity
is useful MACs per byte moved at one memory level. Roofs: the PE array (``peak`` MACs per cycle)
and, per memory level with a bandwidth, ``intensity x (read + write bytes per cycle)``. Both are
bounds on the evaluator's latency model: compute cycles >= MACs / PEs, and a level's cycles are
``max(reads / R, writes / W) >= (reads + writes) / (R + W)``, so every group's point lies on or
under every roof at its own intensity. Each group with MACs is one point per level (colour: group,
marker: level); the throughput its lower bound on latency allows is the dash above it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from cosamt.report.columns import group_names

ROOF_PREFIX = "roof.bandwidth."
LEVEL_MARKERS = ("o", "s", "^", "D", "v")
ROOF_STYLES = ("--", "-.", ":", (0, (5, 1, 1, 1)))


@dataclass(frozen=True)
class Roofs:
    """What an architecture allows: MACs per cycle, bytes per cycle per level, the clock."""

    peak_macs_per_cycle: float
    bandwidth: dict[str, float]  # level -> read + write bytes per cycle
    clock_ghz: float | None

    @property
    def scale(self) -> float:
        """Per-cycle figures times this are per second, in GMAC/s (1 when the clock is unknown)."""
        return self.clock_ghz if self.clock_ghz else 1.0


@dataclass(frozen=True)
class GroupPoint:
    """One operator group of one sweep point: its MACs, latency, bound and bytes per level."""

    group: str
    useful_macs: float
    latency_cycles: float
    lower_bound_cycles: float
    level_bytes: dict[str, float]

    def intensity(self, level: str) -> float:
        """Useful MACs per byte moved at ``level``."""
        moved = self.level_bytes.get(level, 0.0)
        return self.useful_macs / moved if moved else math.inf

    @property
    def macs_per_cycle(self) -> float:
        return self.useful_macs / self.latency_cycles

    @property
    def bound_macs_per_cycle(self) -> float:
        return self.useful_macs / self.lower_bound_cycles


def has_roofs(df: pd.DataFrame) -> bool:
    return "roof.peak_macs_per_cycle" in df.columns


def roofs_of(row: pd.Series) -> Roofs:
    bandwidth = {
        c[len(ROOF_PREFIX) :]: float(row[c])
        for c in row.index
        if c.startswith(ROOF_PREFIX) and pd.notna(row[c])
    }
    clock = row.get("roof.clock_ghz")
    return Roofs(
        float(row["roof.peak_macs_per_cycle"]),
        bandwidth,
        float(clock) if clock is not None and pd.notna(clock) else None,
    )


def group_points(row: pd.Series, levels: list[str]) -> list[GroupPoint]:
    """The groups of one sweep row that do MACs (vector-only groups have no intensity)."""
    points = []
    for name in group_names(row.index):
        macs = pd.to_numeric(row.get(f"{name}.useful_macs"), errors="coerce")
        if pd.isna(macs) or macs <= 0:
            continue
        moved = {
            lv: float(row[f"{name}.bytes.{lv}"]) for lv in levels if f"{name}.bytes.{lv}" in row
        }
        points.append(
            GroupPoint(
                name,
                float(macs),
                float(row[f"{name}.latency_cycles"]),
                float(row[f"{name}.lower_bound_cycles"]),
                moved,
            )
        )
    return points


def roof_line(roofs: Roofs, level: str, x: list[float]) -> list[float]:
    """Attainable throughput under one level's roof and the compute roof, at intensities ``x``."""
    return [min(roofs.peak_macs_per_cycle, xi * roofs.bandwidth[level]) * roofs.scale for xi in x]


def draw_roofline(ax: Axes, row: pd.Series, title: str, colours: dict[str, str]) -> None:
    """One architecture's roofline at one sweep point (``row``)."""
    roofs = roofs_of(row)
    levels = list(roofs.bandwidth)
    points = group_points(row, levels)
    xs = [p.intensity(lv) for p in points for lv in levels if math.isfinite(p.intensity(lv))]
    ridge = [roofs.peak_macs_per_cycle / bw for bw in roofs.bandwidth.values()]
    lo = min([*xs, *ridge], default=1.0) / 4
    hi = max([*xs, *ridge], default=1.0) * 4
    grid = [lo * (hi / lo) ** (k / 64) for k in range(65)]
    ax.axhline(roofs.peak_macs_per_cycle * roofs.scale, color="black", lw=1.2, label="compute roof")
    for i, lv in enumerate(levels):
        ax.plot(
            grid,
            roof_line(roofs, lv, grid),
            color="grey",
            lw=1.0,
            ls=ROOF_STYLES[i % len(ROOF_STYLES)],
            label=f"{lv} roof",
        )
    ax.text(
        0.98,
        0.03,
        "\n".join(f"{lv}: {bw:.4g} B/cycle" for lv, bw in roofs.bandwidth.items())
        + f"\nPEs: {roofs.peak_macs_per_cycle:g} MAC/cycle",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=6,
    )
    for p in points:
        colour = colours[p.group]
        x_outer = p.intensity(levels[-1]) if levels else 1.0
        ax.plot(
            [x_outer, x_outer],
            [p.macs_per_cycle * roofs.scale, p.bound_macs_per_cycle * roofs.scale],
            color=colour,
            lw=0.6,
            ls=":",
            label="_bound link",
        )
        ax.plot(
            [x_outer],
            [p.bound_macs_per_cycle * roofs.scale],
            marker="_",
            color=colour,
            ms=10,
            mew=1.5,
            ls="none",
            label=f"{p.group}|lower bound",
        )
        for i, lv in enumerate(levels):
            ax.plot(
                [p.intensity(lv)],
                [p.macs_per_cycle * roofs.scale],
                marker=LEVEL_MARKERS[i % len(LEVEL_MARKERS)],
                color=colour,
                ms=5,
                ls="none",
                label=f"{p.group}|{lv}",
            )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    unit = "GMAC/s" if roofs.clock_ghz else "MAC/cycle"
    ax.set(
        title=title,
        xlabel="arithmetic intensity (MAC/B)",
        ylabel=f"attainable throughput ({unit})",
    )
    ax.set_ylim(top=roofs.peak_macs_per_cycle * roofs.scale * 2)
    ax.grid(True, which="major", alpha=0.3)


def level_legend_handles(levels: list[str]) -> list[Line2D]:
    """Proxy artists: one marker per memory level, and the lower-bound marker."""
    handles = [
        Line2D(
            [],
            [],
            marker=LEVEL_MARKERS[i % len(LEVEL_MARKERS)],
            color="dimgrey",
            ls="none",
            label=f"intensity at {lv}",
        )
        for i, lv in enumerate(levels)
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="_",
            ms=10,
            mew=1.5,
            color="dimgrey",
            ls="none",
            label="throughput at the lower bound on latency",
        )
    )
    return handles


def roofline_levels(df: pd.DataFrame) -> list[str]:
    return list(
        dict.fromkeys(c[len(ROOF_PREFIX) :] for c in df.columns if c.startswith(ROOF_PREFIX))
    )


def _first(values: Any) -> float:
    return float(np.asarray(values, dtype=float).ravel()[0])


def point_labels(fig: Figure) -> dict[str, tuple[float, float]]:
    """``{panel title|group|level: (x, y)}`` of every roofline point (for checks and tests)."""
    return {
        f"{ax.get_title()}|{line.get_label()}": (
            _first(line.get_xdata()),
            _first(line.get_ydata()),
        )
        for ax in fig.axes
        for line in ax.get_lines()
        if "|" in str(line.get_label())
    }
