"""Figures from ``cosamt sweep`` results and ``cosamt compare --csv`` tables.

Every plotting function returns a :class:`matplotlib.figure.Figure` on the Agg canvas (no pyplot,
no global state); :func:`save_figures` writes them. Sweep figures: latency and energy against
sequence length (one line per group and the total, log-log, one panel per model/arch/phase/batch/
objective), and the roofline view (total latency against its lower bound). Compare figure: MIP
against baselines, grouped bars per operator group.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cosamt.errors import InputError, Problem
from cosamt.sweep.rows import group_names

CONFIG_COLUMNS = ("model", "phase", "batch", "arch", "objective")
"""A sweep panel: the point parameters other than the sequence length."""
SWEEP_COLUMNS = (
    *CONFIG_COLUMNS,
    "seq_len",
    "total.latency_cycles",
    "total.energy_pj",
    "lower_bound.latency_cycles",
)
COMPARE_COLUMNS = ("group", "method", "latency_cycles", "energy_pj", "dram_bytes", "seconds")
COMPARE_METRICS = (
    ("latency_cycles", "latency (cycles)"),
    ("energy_pj", "energy (pJ)"),
    ("dram_bytes", "DRAM traffic (B)"),
)
FORMATS = ("png", "svg")
LINE_STYLES = ("-", "--", ":")  # after the 10 colours of the default cycle


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


def _figure(
    panels: int, width: float = 5.5, height: float = 4.2, max_cols: int = 3
) -> tuple[Figure, list[Axes]]:
    cols = min(panels, max_cols)
    rows = math.ceil(panels / cols)
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(rows, cols, squeeze=False).flat)
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes[:panels]


def _configs(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One (title, rows sorted by seq_len) per model/arch/phase/batch/objective, in a stable order."""
    out = []
    for values, sub in df.groupby(list(CONFIG_COLUMNS), sort=True, dropna=False):
        model, phase, batch, arch, objective = values
        title = f"{model} {phase} batch {batch} on {arch} ({objective})"
        out.append((title, sub.sort_values("seq_len")))
    return out


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


def metric_vs_seq_len(df: pd.DataFrame, metric: str, label: str) -> Figure:
    """``metric`` (a per-group field such as ``latency_cycles``) against sequence length, log-log:
    one line per group and fusion scheme (a group that changes scheme with the length gets one
    line per scheme) and the model total."""
    configs = _configs(df)
    fig, axes = _figure(len(configs), width=7.0)
    for ax, (title, sub) in zip(axes, configs, strict=True):
        x = sub["seq_len"].to_numpy(dtype=float)
        series = [
            s for group in group_names(sub.columns) for s in _scheme_series(sub, group, metric)
        ]
        for i, (name, y) in enumerate(series):
            if y.notna().any():
                ax.plot(
                    x,
                    y.to_numpy(dtype=float),
                    marker="o",
                    ms=3,
                    lw=1,
                    ls=LINE_STYLES[i // 10 % 3],
                    label=name,
                )
        total = pd.to_numeric(sub[f"total.{metric}"]).to_numpy(dtype=float)
        ax.plot(x, total, color="black", marker="s", lw=2, label="total")
        _log_log(ax, title, "sequence length", label)
        ax.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def roofline(df: pd.DataFrame) -> Figure:
    """Left: total latency against its lower bound per point, with the bound itself (y = x).
    Right: the ratio schedule / lower bound against sequence length."""
    fig, (left, right) = _figure(2)
    lows: list[float] = []
    for title, sub in _configs(df):
        lb = pd.to_numeric(sub["lower_bound.latency_cycles"]).to_numpy(dtype=float)
        lat = pd.to_numeric(sub["total.latency_cycles"]).to_numpy(dtype=float)
        left.plot(lb, lat, marker="o", lw=1, label=title)
        right.plot(sub["seq_len"].to_numpy(dtype=float), lat / lb, marker="o", lw=1, label=title)
        lows += [float(lb.min()), float(lb.max())]
    span = [min(lows), max(lows)]
    left.plot(span, span, color="grey", ls="--", lw=1, label="lower bound (y = x)")
    _log_log(
        left,
        "schedule vs lower bound",
        "lower bound on latency (cycles)",
        "latency (cycles)",
        xbase=10,
    )
    right.set_xscale("log", base=2)
    right.set(
        title="distance to the bound", xlabel="sequence length", ylabel="latency / lower bound"
    )
    right.axhline(1.0, color="grey", ls="--", lw=1)
    for ax in (left, right):
        ax.legend(fontsize="x-small")
    return fig


def compare_bars(df: pd.DataFrame) -> Figure:
    """MIP against baselines: per metric, grouped bars (one bar per method) per operator group."""
    groups = list(dict.fromkeys(df["group"].astype(str)))
    methods = list(dict.fromkeys(df["method"].astype(str)))
    fig_width = min(18.0, max(6.0, 0.12 * len(groups) * len(methods)))
    fig, axes = _figure(len(COMPARE_METRICS), width=fig_width, height=3.4, max_cols=1)
    width = 0.8 / len(methods)
    for ax, (metric, label) in zip(axes, COMPARE_METRICS, strict=True):
        table = df.pivot_table(index="group", columns="method", values=metric, aggfunc="first")
        for i, method in enumerate(methods):
            heights = [
                float(table.at[g, method]) if method in table and g in table.index else math.nan
                for g in groups
            ]
            ax.bar(
                [k + (i - (len(methods) - 1) / 2) * width for k in range(len(groups))],
                heights,
                width,
                label=method,
            )
        ax.set_xticks(range(len(groups)), groups, rotation=45, ha="right")
        ax.set_yscale("log")
        ax.set(title=label, ylabel=label)
        ax.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def _log_log(ax: Axes, title: str, xlabel: str, ylabel: str, xbase: int = 2) -> None:
    ax.set_xscale("log", base=xbase)
    ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(True, which="major", alpha=0.3)


def figures(df: pd.DataFrame, source: str = "") -> dict[str, Figure]:
    """The figures for a results table, by file stem."""
    if is_compare(df):
        _require(df, COMPARE_COLUMNS, source)
        return {"compare": compare_bars(df)}
    _require(df, SWEEP_COLUMNS, source)
    return {
        "latency_vs_seq_len": metric_vs_seq_len(df, "latency_cycles", "latency (cycles)"),
        "energy_vs_seq_len": metric_vs_seq_len(df, "energy_pj", "energy (pJ)"),
        "roofline": roofline(df),
    }


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
        fig.savefig(path, format=fmt, dpi=150)
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
