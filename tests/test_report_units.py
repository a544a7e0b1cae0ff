"""The unit policy, the text tables at 100 columns, totals, and progress without a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cosamt.cli import app
from cosamt.cli.common import LineProgress
from cosamt.io.instance import parse_instance
from cosamt.pipeline import resolve, settings_for, solve_instance
from cosamt.report import units
from cosamt.report.solve_report import exploration_json, report_json
from cosamt.report.solve_table import print_explain, print_table, stationarity_rows

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 100
TINY: dict[str, Any] = {
    "model": {"name": "tiny", "n_layers": 2, "d_model": 64, "n_heads": 2, "d_ff": 128},
    "seq_len": 32,
    "arch": "edge",
    "options": {"threads": 1},
}


def test_bytes_use_binary_prefixes_and_whole_bytes_below_a_kib() -> None:
    assert units.nbytes(688) == "688 B"  # simba's PE buffer, not "0 KiB"
    assert units.nbytes(1023) == "1023 B"
    assert units.nbytes(512 * 1024) == "512 KiB"
    assert units.nbytes(1.5 * 2**20) == "1.5 MiB"
    assert units.nbytes(32 * 2**20) == "32 MiB"


def test_time_beside_cycles_and_energy_one_unit() -> None:
    # 2,506,752 cycles at 0.94 GHz = 2.6668 ms
    assert units.cycle_time(2_506_752, 0.94) == "2.51M cycles (2.667 ms)"
    assert units.cycle_time(2_506_752, None) == "2.51M cycles"
    assert units.seconds(25.6e-6) == "25.6 µs"
    # the largest value decides: 452.3e9 pJ is 452.3 mJ, and 232e9 pJ then prints as 232 (mJ)
    unit = units.energy_unit([452.3e9, 232e9, 5e6])
    assert unit.symbol == "mJ" and unit(232e9) == "232" and unit(5e6) == "0.005"
    assert units.energy_unit([999.0]).symbol == "pJ"
    assert units.energy(1.10455e10) == "11.05 mJ"


def test_line_progress_prints_periodically_with_eta() -> None:
    now = [0.0]
    stream = io.StringIO()
    progress = LineProgress("sweep", "points", stream, interval_s=10.0, clock=lambda: now[0])
    progress(1, 4)  # at 0 s: too early
    now[0] = 12.0
    progress(2, 4)  # 12 s for 2 points: 12 s to go
    now[0] = 15.0
    progress(3, 4)  # 3 s after the last line: quiet
    now[0] = 16.0
    progress(4, 4)  # done, after a line was printed: a last line
    assert stream.getvalue().splitlines() == [
        "sweep: 2/4 points done, 0:12 elapsed, ETA 0:12",
        "sweep: 4/4 points done, 0:16 elapsed",
    ]


def test_line_progress_is_quiet_on_short_runs() -> None:
    stream = io.StringIO()
    progress = LineProgress("solve", "groups", stream, interval_s=10.0, clock=lambda: 1.0)
    for done in range(1, 4):
        progress(done, 3, "qk")
    assert stream.getvalue() == ""


@pytest.fixture(scope="module")
def tiny_report() -> Any:
    inst = parse_instance(TINY)
    return solve_instance(resolve(inst), settings_for(inst))


def _render(report: Any, explain: bool = False) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=WIDTH, force_terminal=False, color_system=None)
    print_table(report, console, wall_seconds=1.5)
    if explain:
        print_explain(report, console)
    return buf.getvalue()


def test_solve_tables_fit_100_columns_without_truncating(tiny_report: Any) -> None:
    text = _render(tiny_report, explain=True)
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert "…" not in text
    for g in tiny_report.groups:  # whole names (possibly wrapped): every piece is in the table
        assert g.name.split("+")[0] in text
    # a view whose every partition was pruned by bound says so instead of an empty table
    views = [v for b in exploration_json(tiny_report) for v in b["views"].values()]
    pruned = sum(not v["partition"] for v in views)
    assert text.count("no partition can beat the chosen one") == pruned
    assert text.count("┏") == 4 + len(views) - pruned  # group, solver, stationarity, segments


def test_solve_summary_units_and_what_the_seconds_cover(tiny_report: Any) -> None:
    text = _render(tiny_report)
    data = report_json(tiny_report)
    t = data["total"]
    chosen = sum(g["mip"]["seconds"] for g in data["groups"])
    assert t["chosen_solve_seconds"] == pytest.approx(chosen)
    assert t["solve_seconds"] >= t["chosen_solve_seconds"]
    assert f"{chosen:.1f} s on the chosen groups" in text
    assert "with the rejected alternatives" in text and "wall 1.5 s" in text
    # one energy unit in the summary: the total's unit is also the bound's
    unit = units.energy_unit([t["energy_pj"], data["lower_bound"]["energy_pj"]])
    assert f"energy {unit(t['energy_pj'])} {unit.symbol}" in text
    assert f"energy {unit(data['lower_bound']['energy_pj'])} {unit.symbol}" in text
    assert " pJ" not in text or unit.symbol == "pJ"
    # time beside cycles: cycles / (0.94 GHz)
    ms = t["latency_cycles"] / 0.94e9 * 1e3
    assert units.seconds(ms / 1e3) in text


def test_stationarity_is_named_per_operator_and_level(tiny_report: Any) -> None:
    arch = tiny_report.resolved.arch
    fused = next(g for g in tiny_report.groups if g.group.fused)
    rows = stationarity_rows(fused, arch)
    assert [op for op, _ in rows] == [op.name for op in fused.group.ops]
    for (_op, by_level), m in zip(rows, fused.metrics.members, strict=True):
        assert by_level["PE latch"] == m.pe_stationarity.value
        assert set(by_level) == {"PE latch", "GlobalBuffer"}  # DRAM and Shared left out
    text = _render(tiny_report)
    assert "PE latch" in text and "I/N" not in text


def test_evaluate_prints_a_total_row() -> None:
    """The README's hand-derived FFN1 schedule: 2,506,752 cycles per layer, x12 layers."""
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(ROOT / "instances" / "gpt2_edge.json"),
            str(ROOT / "examples" / "gpt2_ffn1_edge.schedule.json"),
        ],
        env={"COLUMNS": str(WIDTH)},
    )
    assert result.exit_code == 0, result.output
    # the example schedules one operator of the block: its total is labelled partial
    total = next(line for line in result.stdout.splitlines() if line.startswith("│ partial total "))
    assert "partial schedule:" in result.stdout
    # 12 x 2,506,752 = 30,081,024 cycles = 32.0 ms at 0.94 GHz; 12 x 1.10455e10 pJ = 132.5 mJ
    assert "30.1M" in total and "32" in total and "132.5" in total
    assert "160,432,128" in result.stdout  # exact word counts per level
    assert max(len(line) for line in result.stdout.splitlines()) <= WIDTH
    js = json.loads(
        CliRunner()
        .invoke(
            app,
            [
                "evaluate",
                str(ROOT / "instances" / "gpt2_edge.json"),
                str(ROOT / "examples" / "gpt2_ffn1_edge.schedule.json"),
                "--json",
            ],
        )
        .stdout
    )
    assert js["total"]["latency_cycles"] == 12 * 2_506_752
    assert js["total"]["dram_bytes"] == 12 * 26_738_688


def test_presets_show_small_buffers_in_bytes() -> None:
    result = CliRunner().invoke(app, ["presets"], env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0
    # simba: per-PE input 128 B + weight 512 B + output 48 B = 688 B
    assert "688 B" in result.stdout and " 0 KiB" not in result.stdout
    assert "512 KiB" in result.stdout  # edge's 262,144 words x 2 B
    assert max(len(line) for line in result.stdout.splitlines()) <= WIDTH
