"""cosamt plot: the figures show exactly the data, and the files are written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from matplotlib.container import BarContainer
from typer.testing import CliRunner

from cosamt.cli.sweep import app
from cosamt.errors import InputError
from cosamt.report.plots import (
    compare_bars,
    figures,
    line_data,
    metric_vs_seq_len,
    roofline,
    save_figures,
)

SEQ = [128, 256, 512]
TITLE = "gpt2 prefill batch 1 on {arch} (latency)"


def sweep_rows() -> pd.DataFrame:
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


def test_latency_lines_are_the_data() -> None:
    df = sweep_rows()
    lines = line_data(metric_vs_seq_len(df, "latency_cycles", "latency"))
    for a, arch in enumerate(("edge", "cloud")):
        title = TITLE.format(arch=arch)
        assert lines[f"{title}|qk"] == (SEQ, [10.0 * n + a for n in SEQ])
        assert lines[f"{title}|total"] == (SEQ, [20.0 * n + a for n in SEQ])
        x, y = lines[f"{title}|av[flat] (flat)"]
        assert x == SEQ and pd.isna(y[0]) and y[1:] == [5.0 * n for n in SEQ[1:]]
        _, chain = lines[f"{title}|ffn (ffn_chain)"]
        _, unfused = lines[f"{title}|ffn"]
        assert chain[:2] == [4.0 * n for n in SEQ[:2]] and pd.isna(chain[2])
        assert pd.isna(unfused[0]) and pd.isna(unfused[1]) and unfused[2] == 4.0 * SEQ[2]


def test_energy_lines_and_log_axes() -> None:
    fig = metric_vs_seq_len(sweep_rows(), "energy_pj", "energy")
    lines = line_data(fig)
    assert lines[f"{TITLE.format(arch='cloud')}|av[flat] (flat)"][1][1:] == [
        2.0 * n + 1 for n in SEQ[1:]
    ]
    assert all(
        ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in fig.axes if ax.get_visible()
    )


def test_roofline_is_latency_against_its_bound() -> None:
    lines = line_data(roofline(sweep_rows()))
    for a, arch in enumerate(("edge", "cloud")):
        title = TITLE.format(arch=arch)
        lb = [15.0 * n + a for n in SEQ]
        lat = [20.0 * n + a for n in SEQ]
        assert lines[f"schedule vs lower bound|{title}"] == (lb, lat)
        assert lines[f"distance to the bound|{title}"] == (
            SEQ,
            [x / y for x, y in zip(lat, lb, strict=True)],
        )
    x, y = lines["schedule vs lower bound|lower bound (y = x)"]
    assert x == y == [15.0 * 128, 15.0 * 512 + 1]


def test_compare_bars_are_the_data() -> None:
    df = compare_rows()
    fig = compare_bars(df)
    latency_ax = fig.axes[0]
    bars = [c for c in latency_ax.containers if isinstance(c, BarContainer)]
    assert [b.get_label() for b in bars] == ["mip", "weight-stationary", "output-stationary"]
    for bar, method in zip(bars, ("mip", "weight-stationary", "output-stationary"), strict=True):
        expected = df[df["method"] == method]["latency_cycles"].tolist()
        assert [rect.get_height() for rect in bar.patches] == expected
    assert [t.get_text() for t in latency_ax.get_xticklabels()] == ["qkv_proj", "attention", "ffn"]


def test_figures_pick_the_schema() -> None:
    assert set(figures(sweep_rows())) == {"latency_vs_seq_len", "energy_vs_seq_len", "roofline"}
    assert set(figures(compare_rows())) == {"compare"}
    with pytest.raises(InputError, match="missing column"):
        figures(sweep_rows().drop(columns=["lower_bound.latency_cycles"]))


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_save_figures_writes_files(tmp_path: Path, fmt: str) -> None:
    results = tmp_path / "sweep.csv"
    sweep_rows().to_csv(results, index=False)
    paths = save_figures(results, tmp_path / "figs", fmt)
    assert sorted(p.name for p in paths) == sorted(
        f"{n}.{fmt}" for n in ("energy_vs_seq_len", "latency_vs_seq_len", "roofline")
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
