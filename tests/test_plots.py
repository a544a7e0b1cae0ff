"""cosamt plot: the figures show exactly the data, and the files are written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer
from typer.testing import CliRunner

from cosamt.cli.sweep import app
from cosamt.errors import InputError
from cosamt.report.plots import (
    RATIO_AXIS_CAP,
    bound_gap,
    compare_bars,
    figures,
    line_data,
    metric_vs_seq_len,
    roofline,
    save_figures,
)
from cosamt.report.roofline import point_labels

SEQ = [128, 256, 512]
CLOCK = {"edge": 1.0, "cloud": 2.0}  # GHz
LABEL = "{arch}"  # only the architecture differs between panels: the rest is the suptitle


def sweep_rows(clock: bool = True) -> pd.DataFrame:
    """Two architectures x three lengths; ``av[flat]`` is chosen only at the longer lengths."""
    rows: list[dict[str, Any]] = []
    for a, arch in enumerate(("edge", "cloud")):
        for i, n in enumerate(SEQ):
            row: dict[str, Any] = {
                "model": "gpt2",
                "phase": "prefill",
                "batch": 1,
                "seq_len": n,
                "arch": arch,
                "objective": "latency",
                "qk.latency_cycles": 10.0 * n + a,
                "qk.energy_pj": 3.0 * n,
                "qk.fusion": "none",
            }
            if i > 0:
                row.update(
                    {
                        "av[flat].latency_cycles": 5.0 * n,
                        "av[flat].energy_pj": 2.0 * n + a,
                        "av[flat].fusion": "flat",
                    }
                )
            row.update(
                {
                    "ffn.latency_cycles": 4.0 * n,
                    "ffn.energy_pj": 1.0 * n,
                    "ffn.fusion": "ffn_chain" if i < 2 else "none",
                }
            )
            row.update(
                {
                    "total.latency_cycles": 20.0 * n + a,
                    "total.energy_pj": 7.0 * n,
                    "lower_bound.latency_cycles": 15.0 * n + a,
                }
            )
            if clock:
                row["roof.clock_ghz"] = CLOCK[arch]
            rows.append(row)
    return pd.DataFrame(rows)


def compare_rows() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "group": g,
                "method": m,
                "latency_cycles": 100.0 * (k + 1) * (j + 1),
                "energy_pj": 7.0 * (k + 1) + j,
                "dram_bytes": 1000 * (k + 1) + j,
                "seconds": 0.1,
            }
            for k, g in enumerate(("qkv_proj", "attention", "ffn"))
            for j, m in enumerate(("mip", "weight-stationary", "output-stationary"))
        ]
    )


def _axes_by_title(fig: Any) -> dict[str, Any]:
    return {ax.get_title(): ax for ax in fig.axes}


def test_latency_is_time_per_group_and_model_on_separate_axes() -> None:
    df = sweep_rows()
    fig = metric_vs_seq_len(df, "latency_cycles")
    lines = line_data(fig)
    axes = _axes_by_title(fig)
    for a, arch in enumerate(("edge", "cloud")):
        per_group = f"{arch}: latency per group (one instance)"
        model = f"{arch}: model latency (all layers)"
        # cycles / (GHz * 1e9) in µs: 1280 cycles at 1 GHz are 1.28 µs
        us = [1e6 / (CLOCK[arch] * 1e9) * c for c in (10.0 * n + a for n in SEQ)]
        assert lines[f"{per_group}|qk"][0] == SEQ
        assert lines[f"{per_group}|qk"][1] == pytest.approx(us)
        assert axes[per_group].get_ylabel() == "latency (µs)"
        total_us = [1e6 / (CLOCK[arch] * 1e9) * (20.0 * n + a) for n in SEQ]
        assert lines[f"{model}|model total"][1] == pytest.approx(total_us)
        assert f"{per_group}|model total" not in lines and f"{model}|qk" not in lines
        x, y = lines[f"{per_group}|av[flat] (flat)"]
        assert x == SEQ and pd.isna(y[0])
        assert y[1:] == pytest.approx([5.0 * n / CLOCK[arch] / 1e3 for n in SEQ[1:]])
        _, chain = lines[f"{per_group}|ffn (ffn_chain)"]
        _, unfused = lines[f"{per_group}|ffn"]
        assert pd.isna(chain[2]) and pd.isna(unfused[0]) and pd.isna(unfused[1])
        assert unfused[2] == pytest.approx(4.0 * SEQ[2] / CLOCK[arch] / 1e3)


def test_latency_without_a_clock_stays_in_cycles() -> None:
    fig = metric_vs_seq_len(sweep_rows(clock=False), "latency_cycles")
    lines = line_data(fig)
    key = "edge: latency per group (one instance)|qk"
    assert lines[key][1] == [10.0 * n for n in SEQ]
    assert {ax.get_ylabel() for ax in fig.axes} == {"latency (cycles)"}


def test_energy_lines_units_titles_and_styles() -> None:
    fig = metric_vs_seq_len(sweep_rows(), "energy_pj")
    lines = line_data(fig)
    title = "cloud: energy per group (one instance)"
    # 2n + 1 pJ, largest 1025 pJ: the axis is in nJ
    assert lines[f"{title}|av[flat] (flat)"][1][1:] == pytest.approx(
        [(2.0 * n + 1) / 1e3 for n in SEQ[1:]]
    )
    assert _axes_by_title(fig)[title].get_ylabel() == "energy (nJ)"
    assert all(
        "(latency)" not in ax.get_title() for ax in fig.axes
    )  # the metric, not the objective
    assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in fig.axes)
    # overlapping series stay distinguishable: no two series of a panel share colour and marker
    for ax in fig.axes:
        looks = [(line.get_color(), line.get_marker()) for line in ax.get_lines()]
        assert len(looks) == len(set(looks))
    width, _height = fig.get_size_inches()
    assert width == 7.0
    assert fig.get_suptitle() == "gpt2, prefill, batch 1, latency-optimal"


def test_bound_gap_is_latency_over_its_bound() -> None:
    lines = line_data(bound_gap(sweep_rows()))
    for a, arch in enumerate(("edge", "cloud")):
        lat = [20.0 * n + a for n in SEQ]
        lb = [15.0 * n + a for n in SEQ]
        key = f"model latency relative to its lower bound|{arch}"
        assert lines[key] == (SEQ, [x / y for x, y in zip(lat, lb, strict=True)])


def roofline_row() -> pd.DataFrame:
    """One point on a 4 x 4 array at 0.5 GHz, a buffer of 32 and a DRAM of 8 read+write B/cycle:
    ``mm`` does 1024 MACs in 128 cycles (bound 64) moving 512 B at the buffer and 256 at DRAM;
    ``norm`` does no MACs."""
    return pd.DataFrame(
        [
            {
                "model": "m",
                "phase": "prefill",
                "batch": 1,
                "seq_len": 64,
                "arch": "a",
                "objective": "latency",
                "roof.clock_ghz": 0.5,
                "roof.peak_macs_per_cycle": 16,
                "roof.bandwidth.Buffer": 32.0,
                "roof.bandwidth.DRAM": 8.0,
                "mm.latency_cycles": 128.0,
                "mm.energy_pj": 1.0,
                "mm.useful_macs": 1024,
                "mm.lower_bound_cycles": 64.0,
                "mm.bytes.Buffer": 512,
                "mm.bytes.DRAM": 256,
                "norm.latency_cycles": 10.0,
                "norm.energy_pj": 1.0,
                "norm.useful_macs": 0,
                "norm.lower_bound_cycles": 10.0,
                "norm.bytes.Buffer": 40,
                "norm.bytes.DRAM": 40,
                "total.latency_cycles": 138.0,
                "total.energy_pj": 1.0,
                "lower_bound.latency_cycles": 74.0,
            }
        ]
    )


def test_roofline_points_roofs_and_bound_are_the_data() -> None:
    fig = roofline(roofline_row())
    (ax,) = [a for a in fig.axes if a.get_visible()]
    title = ax.get_title()
    points = point_labels(fig)
    # 1024 MACs / 128 cycles = 8 MAC/cycle = 4 GMAC/s at 0.5 GHz; bound 1024 / 64 x 0.5 = 8
    assert points[f"{title}|mm|Buffer"] == (1024 / 512, 4.0)
    assert points[f"{title}|mm|DRAM"] == (1024 / 256, 4.0)
    assert points[f"{title}|mm|lower bound"] == (4.0, 8.0)
    assert not any("|norm|" in k for k in points)  # no MACs, no intensity
    lines = {str(line.get_label()): line for line in ax.get_lines()}
    compute = np.asarray(lines["compute roof"].get_ydata(), dtype=float)
    assert compute.tolist() == [8.0, 8.0]  # 16 MAC/cycle x 0.5 GHz
    x = [float(v) for v in np.asarray(lines["DRAM roof"].get_xdata(), dtype=float)]
    y = [float(v) for v in np.asarray(lines["DRAM roof"].get_ydata(), dtype=float)]
    assert y == pytest.approx([min(16, xi * 8.0) * 0.5 for xi in x])
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "attainable throughput (GMAC/s)"
    assert "DRAM: 8 B/cycle" in ax.texts[0].get_text()
    assert title == "64 tokens"


@pytest.mark.parametrize("model", ["tiny"])
def test_solved_groups_lie_under_every_roof(model: str) -> None:
    """A real solve: each group's throughput is at most the compute roof and, per level, its
    intensity times the level's bandwidth (the evaluator's latency model implies both)."""
    from cosamt.io.instance import parse_instance
    from cosamt.pipeline import resolve, settings_for, solve_instance
    from cosamt.report.roofline import group_points, roofs_of
    from cosamt.report.solve_report import report_json
    from cosamt.sweep.rows import flatten

    inst = parse_instance(
        {
            "model": {"name": model, "n_layers": 2, "d_model": 64, "n_heads": 2, "d_ff": 128},
            "seq_len": 32,
            "arch": "edge",
            "options": {"threads": 1},
        }
    )
    report = solve_instance(resolve(inst), settings_for(inst))
    data = report_json(report)
    row = pd.Series(flatten(report))
    roofs = roofs_of(row)
    assert roofs.peak_macs_per_cycle == 32 * 32 and set(roofs.bandwidth) == {"GlobalBuffer", "DRAM"}
    points = group_points(row, list(roofs.bandwidth))
    assert len(points) == len(data["groups"]) >= 2
    for p in points:
        g = next(g for g in data["groups"] if g["name"] == p.group)
        assert p.level_bytes["DRAM"] == g["dram_bytes"]  # the level's bytes are its traffic
        assert p.macs_per_cycle <= roofs.peak_macs_per_cycle * (1 + 1e-9)
        assert p.macs_per_cycle <= p.bound_macs_per_cycle * (1 + 1e-9)
        for level, bw in roofs.bandwidth.items():
            assert p.macs_per_cycle <= p.intensity(level) * bw * (1 + 1e-9), (p.group, level)


def test_compare_bars_are_ratios_to_the_mip_on_a_linear_axis() -> None:
    df = compare_rows()
    fig = compare_bars(df)
    latency_ax, energy_ax, _dram_ax = fig.axes
    bars = [c for c in latency_ax.containers if isinstance(c, BarContainer)]
    assert [b.get_label() for b in bars] == ["weight-stationary", "output-stationary"]
    # latency 100 (k+1)(j+1): method j is (j+1) times the MIP on every group
    for bar, j in zip(bars, (1, 2), strict=True):
        assert [rect.get_height() for rect in bar.patches] == pytest.approx([j + 1] * 3)
    energy_bars = [c for c in energy_ax.containers if isinstance(c, BarContainer)]
    assert [r.get_height() for r in energy_bars[0].patches] == pytest.approx(
        [(7.0 * (k + 1) + 1) / (7.0 * (k + 1)) for k in range(3)]
    )
    assert latency_ax.get_yscale() == "linear" and latency_ax.get_ylim()[0] == 0
    assert latency_ax.get_title() == "latency relative to the MIP"
    assert latency_ax.get_ylabel() == "method / MIP"
    assert [t.get_text() for t in latency_ax.get_xticklabels()] == ["qkv_proj", "attention", "ffn"]


def test_compare_bars_beyond_the_cap_carry_their_value() -> None:
    df = compare_rows()
    df.loc[(df["group"] == "ffn") & (df["method"] == "output-stationary"), "latency_cycles"] = (
        3000.0
    )
    ax = compare_bars(df).axes[0]
    assert ax.get_ylim()[1] == pytest.approx(RATIO_AXIS_CAP * 1.05)
    assert [t.get_text() for t in ax.texts] == ["10"]  # 3000 / 300


def test_figures_pick_the_schema() -> None:
    assert set(figures(sweep_rows())) == {"latency_vs_seq_len", "energy_vs_seq_len", "bound_gap"}
    assert "roofline" in figures(pd.concat([sweep_rows(), roofline_row()], ignore_index=True))
    assert set(figures(compare_rows())) == {"compare"}
    with pytest.raises(InputError, match="missing column"):
        figures(sweep_rows().drop(columns=["lower_bound.latency_cycles"]))


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_save_figures_writes_files(tmp_path: Path, fmt: str) -> None:
    results = tmp_path / "sweep.csv"
    sweep_rows().to_csv(results, index=False)
    paths = save_figures(results, tmp_path / "figs", fmt)
    assert sorted(p.name for p in paths) == sorted(
        f"{n}.{fmt}" for n in ("bound_gap", "energy_vs_seq_len", "latency_vs_seq_len")
    )
    magic = b"\x89PNG" if fmt == "png" else b"<?xml"
    assert all(p.read_bytes().startswith(magic) for p in paths)


def test_plot_command(tmp_path: Path) -> None:
    compare = tmp_path / "compare.csv"
    compare_rows().to_csv(compare, index=False)
    result = CliRunner().invoke(app, ["plot", str(compare), "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "compare_plots" / "compare.svg").stat().st_size > 0


def test_plot_command_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(app, ["plot", str(bad)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing column" in lines[0]
    missing = CliRunner().invoke(app, ["plot", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
