"""Figures from ``cosamt sweep`` results and ``cosamt compare --csv`` tables.

Every plotting function returns a :class:`matplotlib.figure.Figure` on the Agg canvas (no pyplot,
no global state); :func:`save_figures` writes them. Sweep figures: latency (time where the clock is
known) and energy against sequence length, per group (one instance) and for the whole model on
separate axes; the distance of the model's latency to its lower bound; a hierarchical roofline per
architecture (:mod:`cosamt.report.roofline`). Compare figure: each baseline's latency, energy and
DRAM traffic as a ratio to the MIP's, on a linear axis. Sizes are for a two-column paper (7 in
wide); units follow :mod:`cosamt.report.units`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from cosamt.errors import InputError, Problem
from cosamt.report import units
from cosamt.report.columns import group_names
from cosamt.report.roofline import (
    draw_roofline,
    has_roofs,
    level_legend_handles,
    roofline_levels,
)

CONFIG_COLUMNS = ("model", "phase", "batch", "arch", "objective")
"""A sweep panel: the point parameters other than the sequence length."""
SWEEP_COLUMNS = (
    *CONFIG_COLUMNS,
    "seq_len",
    "total.latency_cycles",
    "total.energy_pj",
    "lower_bound.latency_cycles",
)
MIP_METHOD = "mip"
COMPARE_COLUMNS = ("group", "method", "latency_cycles", "energy_pj", "dram_bytes", "seconds")
COMPARE_METRICS = (
    ("latency_cycles", "latency"),
    ("energy_pj", "energy"),
    ("dram_bytes", "DRAM traffic"),
)
FORMATS = ("png", "svg")
DPI = 200
PAPER_WIDTH_IN = 7.0  # two columns of a paper
FONT_SIZE = 7.0
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "*")
LINE_STYLES = ("-", "--", "-.", ":")
COLOURS = tuple(f"C{i}" for i in range(10))
RATIO_AXIS_CAP = 6.0
"""Ratio bars above this run off a linear axis capped here; their value is written on them."""


def read_results(path: Path) -> pd.DataFrame:
    """A sweep output (``.csv``, ``.parquet`` or its ``.jsonl`` journal) or a compare CSV."""
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        elif path.suffix == ".jsonl":
            df = pd.read_json(path, lines=True)
        else:
            df = pd.read_csv(path)
    except (OSError, ValueError, ImportError) as exc:
        raise InputError(str(path), [Problem("", f"cannot read results: {exc}")]) from None
    if df.empty:
        raise InputError(str(path), [Problem("", "no rows to plot")])
    return df


def is_compare(df: pd.DataFrame) -> bool:
    return "method" in df.columns and "group" in df.columns


def _require(df: pd.DataFrame, columns: tuple[str, ...], source: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            source,
            [
                Problem(
                    "",
                    f"missing column(s) {', '.join(missing)}; expected a "
                    "`cosamt sweep` output or a `cosamt compare --csv` table",
                )
            ],
        )


def _figure(rows: int, cols: int, height: float) -> tuple[Figure, list[list[Axes]]]:
    fig = Figure(figsize=(PAPER_WIDTH_IN, height * rows + 0.9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, [list(r) for r in axes]


def _style(fig: Figure) -> None:
    for ax in fig.axes:
        ax.tick_params(which="both", labelsize=FONT_SIZE)
        _readable_log_axes(ax)
        ax.title.set_fontsize(FONT_SIZE + 1)
        ax.xaxis.label.set_fontsize(FONT_SIZE)
        ax.yaxis.label.set_fontsize(FONT_SIZE)


def _describe(values: dict[str, Any]) -> str:
    """``gpt2, prefill, batch 1, edge, latency-optimal``: the given configuration fields."""
    words = {
        "batch": lambda v: f"batch {v}",
        "objective": lambda v: f"{v}-optimal",
    }
    return ", ".join(words.get(k, str)(v) for k, v in values.items())


def _varying(df: pd.DataFrame) -> list[str]:
    return [c for c in CONFIG_COLUMNS if df[c].nunique(dropna=False) > 1]


def _configs(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One (label, rows sorted by seq_len) per model/phase/batch/arch/objective, stable order; the
    label names only the fields that differ between panels (the rest go in :func:`_suptitle`)."""
    varying = _varying(df)
    out = []
    for values, sub in df.groupby(list(CONFIG_COLUMNS), sort=True, dropna=False):
        fields = dict(zip(CONFIG_COLUMNS, values, strict=True))
        out.append((_describe({k: fields[k] for k in varying}), sub.sort_values("seq_len")))
    return out


def _suptitle(fig: Figure, df: pd.DataFrame, extra: str = "") -> None:
    """What every panel shares, once, above them."""
    varying = _varying(df)
    first = df.iloc[0]
    text = _describe({c: first[c] for c in CONFIG_COLUMNS if c not in varying})
    fig.suptitle(text + (f"; {extra}" if extra else ""), fontsize=FONT_SIZE + 1)


def _title(label: str, what: str) -> str:
    return f"{label}: {what}" if label else what


def _readable_log_axes(ax: Axes) -> None:
    """Plain numbers at 1-2-5 steps on log axes (no 3 x 10^2 minor labels)."""
    for axis, base in ((ax.yaxis, 10.0), (ax.xaxis, None)):
        scale = axis.get_scale()
        if scale != "log":
            continue
        if base is not None:
            axis.set_major_locator(LogLocator(base=base, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())


def _scheme_series(sub: pd.DataFrame, group: str, metric: str) -> list[tuple[str, pd.Series]]:
    """(label, values) per fusion scheme the group used; values where another scheme ran are NaN."""
    values = pd.to_numeric(sub[f"{group}.{metric}"], errors="coerce")
    fusion_col = f"{group}.fusion"
    if fusion_col not in sub.columns:
        return [(group, values)]
    out = []
    for scheme in dict.fromkeys(sub[fusion_col].dropna().astype(str)):
        label = group if scheme == "none" else f"{group} ({scheme})"
        out.append((label, values.where(sub[fusion_col].astype(str) == scheme)))
    return out


def _clock(sub: pd.DataFrame) -> float | None:
    """The panel's clock in GHz (from ``roof.clock_ghz``), None if the rows do not carry it."""
    if "roof.clock_ghz" not in sub.columns:
        return None
    clocks = pd.to_numeric(sub["roof.clock_ghz"], errors="coerce").dropna().unique()
    return float(clocks[0]) if len(clocks) == 1 else None


def _column_unit(
    samples: list[tuple[list[float], float | None]], metric: str
) -> tuple[str, Callable[[float | None], units.Unit]]:
    """One unit for a column of axes, from (values, clock) per panel: the y label and, per clock,
    the unit in the metric's own terms (pJ, or cycles: a time unit is cycles x clock). Time (ms,
    µs) when every panel has a clock, else cycles; the largest unit keeping the top value >= 1."""
    if metric == "energy_pj":
        energy = units.energy_unit(v for vals, _c in samples for v in vals)
        return f"energy ({energy.symbol})", lambda _clock: energy
    clocks = [c for _v, c in samples]
    if any(c is None for c in clocks):
        cycles = units.Unit("cycles", 1.0)
        return "latency (cycles)", lambda _clock: cycles
    time = units.time_unit(
        units.cycles_to_seconds(v, c) for vals, c in samples if c is not None for v in vals
    )
    return f"latency ({time.symbol})", lambda c: units.Unit(
        time.symbol, time.scale * (c or 1.0) * 1e9
    )


def _draw_series(
    ax: Axes,
    x: list[float],
    series: list[tuple[str, pd.Series]],
    styles: dict[str, int],
    unit: units.Unit,
) -> None:
    for name, y in series:
        if not y.notna().any():
            continue
        k = styles.setdefault(name, len(styles))
        ax.plot(
            x,
            (y.to_numpy(dtype=float) / unit.scale).tolist(),
            color=COLOURS[k % len(COLOURS)],
            marker=MARKERS[k % len(MARKERS)],
            ls=LINE_STYLES[k % len(LINE_STYLES)],
            ms=4,
            mfc="none",  # hollow: a marker under another stays visible
            lw=1.1,
            label=name,
        )


METRIC_NAMES = {"latency_cycles": "latency", "energy_pj": "energy"}


def metric_vs_seq_len(df: pd.DataFrame, metric: str) -> Figure:
    """``metric`` (``latency_cycles`` or ``energy_pj``) against sequence length, log-log; per
    configuration two axes: each group (one instance, one line per group and fusion scheme) and
    the whole model (its total). Latency is shown as time when the rows carry the clock."""
    configs = _configs(df)
    fig, axes = _figure(len(configs), 2, height=2.3)
    styles: dict[str, int] = {}
    name = METRIC_NAMES[metric]
    panels = []
    for label, sub in configs:
        series = [
            s for group in group_names(sub.columns) for s in _scheme_series(sub, group, metric)
        ]
        total = pd.to_numeric(sub[f"total.{metric}"], errors="coerce")
        panels.append((label, sub, series, total, _clock(sub)))
    group_label, group_unit = _column_unit(
        [([float(v) for _n, y in ser for v in y.dropna()], c) for _l, _s, ser, _t, c in panels],
        metric,
    )
    model_label, model_unit = _column_unit(
        [(tot.dropna().tolist(), c) for _l, _s, _ser, tot, c in panels], metric
    )
    for (left, right), (label, sub, series, total, clock) in zip(axes, panels, strict=True):
        x = sub["seq_len"].astype(float).tolist()
        _draw_series(left, x, series, styles, group_unit(clock))
        _log_log(
            left, _title(label, f"{name} per group (one instance)"), "sequence length", group_label
        )
        right.plot(
            x,
            (total.to_numpy(dtype=float) / model_unit(clock).scale).tolist(),
            color="black",
            marker="s",
            ms=3.5,
            lw=1.5,
            label="model total",
        )
        _log_log(right, _title(label, f"model {name} (all layers)"), "sequence length", model_label)
    handles = {str(line.get_label()): line for ax in fig.axes for line in ax.get_lines()}
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="outside lower center",
        ncols=3,
        fontsize=FONT_SIZE,
        frameon=False,
    )
    _suptitle(fig, df)
    _style(fig)
    return fig


def bound_gap(df: pd.DataFrame) -> Figure:
    """The model's latency over its lower bound against sequence length, one line per
    configuration (distinct colour, marker and line style, so equal ratios stay visible)."""
    fig, ((ax,),) = _figure(1, 1, height=2.6)
    for k, (label, sub) in enumerate(_configs(df)):
        lb = pd.to_numeric(sub["lower_bound.latency_cycles"]).to_numpy(dtype=float)
        lat = pd.to_numeric(sub["total.latency_cycles"]).to_numpy(dtype=float)
        ax.plot(
            sub["seq_len"].astype(float).tolist(),
            (lat / lb).tolist(),
            color=COLOURS[k % len(COLOURS)],
            marker=MARKERS[k % len(MARKERS)],
            ls=LINE_STYLES[k % len(LINE_STYLES)],
            ms=4,
            lw=1.0,
            mfc="none",
            label=label,
        )
    ax.axhline(1.0, color="grey", ls="--", lw=1, label="lower bound (ratio 1)")
    ax.set_xscale("log", base=2)
    ax.set(
        title="model latency relative to its lower bound",
        xlabel="sequence length",
        ylabel="latency / lower bound",
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=FONT_SIZE, frameon=False)
    _suptitle(fig, df)
    _style(fig)
    return fig


def roofline(df: pd.DataFrame, seq_len: int | None = None) -> Figure:
    """A roofline per configuration at one sequence length (default: each one's largest); rows
    without the ``roof.*`` columns (older sweeps) are left out."""
    configs = _configs(df[pd.to_numeric(df["roof.peak_macs_per_cycle"], errors="coerce").notna()])
    cols = min(len(configs), 3)
    rows = math.ceil(len(configs) / cols)
    fig, axes = _figure(rows, cols, height=2.6)
    flat = [ax for r in axes for ax in r]
    for ax in flat[len(configs) :]:
        ax.set_visible(False)
    groups = [g for _l, sub in configs for g in group_names(sub.columns)]
    colours = {g: COLOURS[k % len(COLOURS)] for k, g in enumerate(dict.fromkeys(groups))}
    for ax, (label, sub) in zip(flat, configs, strict=False):
        n = seq_len if seq_len is not None else int(sub["seq_len"].max())
        row = sub[sub["seq_len"] == n].iloc[0]
        draw_roofline(ax, row, _title(label, f"{n} tokens"), colours)
    drawn = {
        str(line.get_label()).split("|")[0]
        for ax in fig.axes
        for line in ax.get_lines()
        if "|" in str(line.get_label())
    }
    handles = [
        Line2D([], [], color=c, marker="o", ls="none", label=g)
        for g, c in colours.items()
        if g in drawn
    ]
    roofs = {
        line.get_label(): line
        for ax in fig.axes
        for line in ax.get_lines()
        if str(line.get_label()).endswith("roof")
    }
    handles += [*level_legend_handles(roofline_levels(df)), *roofs.values()]
    fig.legend(
        handles=handles, loc="outside lower center", ncols=3, fontsize=FONT_SIZE, frameon=False
    )
    _suptitle(
        fig,
        df,
        "one point per operator group and memory level (intensity: MACs per byte moved there)",
    )
    _style(fig)
    return fig


def compare_ratios(df: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """``{metric: {method: {group: value / the MIP's value}}}`` for every baseline and group the
    table has (the MIP itself left out: its ratio is 1 by definition)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for metric, _label in COMPARE_METRICS:
        table = df.pivot_table(index="group", columns="method", values=metric, aggfunc="first")
        out[metric] = {
            method: {
                g: float(table.at[g, method]) / float(table.at[g, MIP_METHOD])
                for g in table.index
                if pd.notna(table.at[g, method])
                and pd.notna(table.at[g, MIP_METHOD])
                and float(table.at[g, MIP_METHOD]) > 0
            }
            for method in dict.fromkeys(df["method"].astype(str))
            if method != MIP_METHOD and method in table.columns
        }
    return out


def compare_bars(df: pd.DataFrame) -> Figure:
    """Each baseline relative to the MIP (method / MIP), per segment and metric, as grouped bars
    on a linear axis with the MIP at 1; bars above :data:`RATIO_AXIS_CAP` carry their value."""
    groups = list(dict.fromkeys(df["group"].astype(str)))
    ratios = compare_ratios(df)
    methods = list(next(iter(ratios.values())))
    fig, axes = _figure(len(COMPARE_METRICS), 1, height=1.9)
    width = 0.8 / max(len(methods), 1)
    for (ax,), (metric, label) in zip(axes, COMPARE_METRICS, strict=True):
        top = 1.0
        for i, method in enumerate(methods):
            heights = [ratios[metric][method].get(g, math.nan) for g in groups]
            xs = [k + (i - (len(methods) - 1) / 2) * width for k in range(len(groups))]
            ax.bar(
                xs,
                heights,
                width,
                label=method,
                color=COLOURS[i % len(COLOURS)],
                hatch=("", "//", "..", "xx")[i // len(COLOURS) % 4],
            )
            for x, h in zip(xs, heights, strict=True):
                if h > RATIO_AXIS_CAP:
                    ax.text(
                        x,
                        RATIO_AXIS_CAP,
                        f"{h:.3g}",
                        rotation=90,
                        ha="center",
                        va="top",
                        fontsize=FONT_SIZE - 1,
                        color="white",
                    )
            top = max([top, *(h for h in heights if not math.isnan(h))])
        ax.axhline(1.0, color="black", lw=1.0, ls="--", label="MIP (= 1)")
        ax.set_ylim(0, min(top, RATIO_AXIS_CAP) * 1.05)
        ax.set_xticks(range(len(groups)), groups)
        ax.set(title=f"{label} relative to the MIP", ylabel="method / MIP")
        ax.grid(True, axis="y", alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(
        handles, names, loc="outside lower center", ncols=5, fontsize=FONT_SIZE, frameon=False
    )
    _style(fig)
    return fig


def _log_log(ax: Axes, title: str, xlabel: str, ylabel: str, xbase: int = 2) -> None:
    ax.set_xscale("log", base=xbase)
    ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(True, which="major", alpha=0.3)


def figures(df: pd.DataFrame, source: str = "") -> dict[str, Figure]:
    """The figures for a results table, by file stem (the roofline needs the ``roof.*`` columns
    that sweeps write since they carry the architecture's roofs)."""
    if is_compare(df):
        _require(df, COMPARE_COLUMNS, source)
        return {"compare": compare_bars(df)}
    _require(df, SWEEP_COLUMNS, source)
    figs = {
        "latency_vs_seq_len": metric_vs_seq_len(df, "latency_cycles"),
        "energy_vs_seq_len": metric_vs_seq_len(df, "energy_pj"),
        "bound_gap": bound_gap(df),
    }
    if has_roofs(df):
        figs["roofline"] = roofline(df)
    return figs


def save_figures(results: Path, out_dir: Path, fmt: str = "png") -> list[Path]:
    """Write every figure of ``results`` to ``out_dir/NAME.fmt``; the paths written."""
    if fmt not in FORMATS:
        raise InputError(
            "", [Problem("--format", f"expected one of {', '.join(FORMATS)}, got {fmt!r}")]
        )
    from cosamt.design.plots import fronts_figure, read_design_output

    design = read_design_output(results) if results.suffix == ".json" else None
    if design is not None:
        figs = {"design_fronts": fronts_figure(design)}
    else:
        figs = figures(read_results(results), str(results))
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figs.items():
        path = out_dir / f"{name}.{fmt}"
        fig.savefig(path, format=fmt, dpi=DPI)
        paths.append(path)
    return paths


def line_data(fig: Figure) -> dict[str, tuple[list[Any], list[Any]]]:
    """``{label: (x, y)}`` of every labelled line of a figure (for checks and tests)."""
    return {
        f"{ax.get_title()}|{line.get_label()}": (list(line.get_xdata()), list(line.get_ydata()))  # type: ignore[arg-type]
        for ax in fig.axes
        for line in ax.get_lines()
        if not str(line.get_label()).startswith("_")
    }
