"""cosamt sweep: expansion, durable rows, resume after SIGKILL, parallel and Dask runs, the cache.

The solved points use a tiny inline model (2 layers, d_model 64) on the edge preset: ~2 s a point.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cosamt.cli.sweep import app
from cosamt.errors import InputError
from cosamt.fusion.schemes import single
from cosamt.io.instance import load_instance, parse_instance
from cosamt.pipeline import resolve, settings_for, solve_instance
from cosamt.report.solve_report import report_json
from cosamt.sweep.cache import SolveCache, solve_instance_cached
from cosamt.sweep.rows import flatten, row_key, without_timing
from cosamt.sweep.run import ExecutorKind, RunOptions, SweepSummary, run_sweep
from cosamt.sweep.spec import KEY_COLUMNS, SweepSpec, expand, parse_names, parse_seq_lens
from cosamt.sweep.store import CsvStore, open_store
from cosamt.types import Objective, Phase

TINY = {
    "model": {"name": "tiny", "n_layers": 2, "d_model": 64, "n_heads": 2, "d_ff": 128},
    "phase": "prefill",
    "batch": 1,
    "seq_len": 16,
    "arch": "edge",
    # the menu: these tests are about the sweep's rows, resume and executors, not the explorer
    "options": {"objective": "latency", "fusion": "all", "time_limit_s": 300, "threads": 1},
}
SEQ_LENS = (16, 32)
Rows = dict[tuple[str, ...], dict[str, Any]]


def read_rows(path: Path) -> Rows:
    """CSV rows by key; fails on a duplicate key."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    by_key = {row_key(r): r for r in rows}
    assert len(by_key) == len(rows), "duplicate point in the output"
    return by_key


def comparable(rows: Rows) -> Rows:
    return {k: without_timing(r) for k, r in rows.items()}


def sweep(
    inst: Path, out: Path, seq_lens: tuple[int, ...] = SEQ_LENS, **options: Any
) -> SweepSummary:
    spec = SweepSpec(load_instance(inst), seq_lens, base_dir=inst.parent)
    return run_sweep(
        expand(spec),
        open_store(out, options.pop("resume", False)),
        RunOptions(**options),
        inst.parent,
    )


@dataclass(frozen=True)
class Baseline:
    instance: Path
    out: Path
    cache: Path
    rows: Rows


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inst") / "tiny.json"
    path.write_text(json.dumps(TINY))
    return path


@pytest.fixture(scope="session")
def baseline(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """One sequential sweep with a fresh cache; the reference rows of the other tests."""
    folder = tmp_path_factory.mktemp("baseline")
    out, cache = folder / "rows.csv", folder / "cache"
    sweep(tiny, out, cache_dir=cache)
    return Baseline(tiny, out, cache, read_rows(out))


# ---- spec -------------------------------------------------------------------------------------


def test_expansion_is_the_cartesian_product() -> None:
    base = parse_instance({"model": "gpt2", "seq_len": 8, "arch": "edge"})
    spec = SweepSpec(
        base, (32, 64), presets=("edge", "cloud"), objectives=(Objective.LATENCY, Objective.ENERGY)
    )
    points = expand(spec)
    assert len(points) == 8
    assert len({p.key for p in points}) == 8
    assert {p.key for p in points} == {
        ("gpt2", "prefill", "1", str(n), arch, obj)
        for n in (32, 64)
        for arch in ("edge", "cloud")
        for obj in ("latency", "energy")
    }
    for p in points:  # the instance is the point: its values give its key
        assert (p.instance.seq_len, p.instance.arch, p.instance.options.objective.value) == (
            int(p.key[3]),
            p.key[4],
            p.key[5],
        )


def test_expansion_defaults_and_overrides(tiny: Path) -> None:
    base = load_instance(tiny)
    only = expand(SweepSpec(base, (16,)))
    assert [p.key for p in only] == [("tiny", "prefill", "1", "16", "edge", "latency")]
    swapped = expand(SweepSpec(base, (8,), models=("gpt2", "bert-base"), phases=(Phase.PREFILL,)))
    assert [p.key[0] for p in swapped] == ["gpt2", "bert-base"]


def test_decode_of_an_encoder_names_the_point() -> None:
    base = parse_instance({"model": "bert-base", "seq_len": 8, "arch": "edge"})
    with pytest.raises(InputError) as info:
        expand(SweepSpec(base, (8,), phases=(Phase.DECODE,)))
    assert "phase=decode" in info.value.lines()[0]


@pytest.mark.parametrize("text", ["128,abc", "0", "1.5", "", "64,,128", "-8"])
def test_bad_seq_lens_name_the_option(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_seq_lens(text)
    assert [p.path for p in info.value.problems] == ["--seq-lens"]


def test_seq_lens_and_names_are_deduplicated() -> None:
    assert parse_seq_lens("128, 256,128") == (128, 256)
    assert parse_names("gpt2,gpt2", "--models", ["gpt2"]) == ("gpt2",)


# ---- command line errors ----------------------------------------------------------------------


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["sweep", *args])


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--seq-lens", "16,x"], "--seq-lens"),
        (["--seq-lens", "16", "--models", "gpt2,gpt9"], "--models"),
        (["--seq-lens", "16", "--presets", "huge"], "--presets"),
        (["--seq-lens", "16", "--phases", "train"], "--phases"),
        (["--seq-lens", "16", "--objective", "speed"], "--objective"),
        (["--seq-lens", "16", "--executor", "dask"], "--scheduler"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tiny: Path, tmp_path: Path, args: list[str], option: str
) -> None:
    result = run_cli(str(tiny), "--out", str(tmp_path / "r.csv"), *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and lines[0].startswith("error:")
    assert not (tmp_path / "r.csv").exists()


def test_bad_output_suffix(tiny: Path, tmp_path: Path) -> None:
    result = run_cli(str(tiny), "--seq-lens", "16", "--out", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 2 and "--out" in result.stderr


def test_existing_output_needs_resume(baseline: Baseline) -> None:
    before = baseline.out.read_bytes()
    result = run_cli(str(baseline.instance), "--seq-lens", "16", "--out", str(baseline.out))
    assert result.exit_code == 2
    assert "--out" in result.stderr and "--resume" in result.stderr
    assert baseline.out.read_bytes() == before


# ---- rows -------------------------------------------------------------------------------------


def test_rows_are_complete_and_unique(baseline: Baseline) -> None:
    rows = baseline.rows
    assert set(rows) == {("tiny", "prefill", "1", str(n), "edge", "latency") for n in SEQ_LENS}
    for row in rows.values():
        assert all(
            row[c] for c in (*KEY_COLUMNS, "total.latency_cycles", "lower_bound.latency_cycles")
        )
        # the group holding the K/V projection: qkv_proj, or kv_proj in explore's split view,
        # alone or fused with its neighbours
        (proj,) = {
            k.removesuffix(".status")
            for k, v in row.items()
            if k.endswith(".status") and v and {"qkv_proj", "kv_proj"} & set(k[:-7].split("+"))
        }
        for field in (
            "latency_cycles",
            "energy_pj",
            "dram_bytes",
            "fusion",
            "stationarity",
            "gap",
            "seconds",
        ):
            assert row[f"{proj}.{field}"] != ""
        assert row[f"{proj}.status"] == "optimal" and "PE=" in row[f"{proj}.stationarity"]
        assert float(row["total.latency_cycles"]) >= float(row["lower_bound.latency_cycles"])


def _row_from_json(report: dict[str, Any]) -> dict[str, Any]:
    """A sweep row read off ``cosamt solve --json`` output (a second route to flatten's)."""
    row = {c: report["instance"][c] for c in KEY_COLUMNS}
    for g in report["groups"]:
        name, mip = g["name"], g["mip"]
        row |= {
            f"{name}.latency_cycles": g["latency_cycles"],
            f"{name}.energy_pj": g["energy_pj"],
            f"{name}.dram_bytes": g["dram_bytes"],
            f"{name}.useful_macs": g["useful_macs"],
            f"{name}.lower_bound_cycles": float(g["lower_bound"]["latency_cycles"]),
            f"{name}.utilisation": g["utilisation"],
            f"{name}.bound_by": g["bound_by"],
            f"{name}.fusion": g["fusion"],
            f"{name}.stationarity": ";".join(f"{k}={v}" for k, v in g["stationarity"].items()),
            f"{name}.source": g["schedule_source"],
            f"{name}.status": mip["status"],
            f"{name}.gap": mip["gap"],
            f"{name}.seconds": mip["seconds"],
        }
        row |= {f"{name}.bytes.{lv}": b for lv, b in g["level_bytes"].items()}
    for section in ("total", "lower_bound"):
        row |= {f"{section}.{k}": v for k, v in report[section].items()}
    roof = report["roof"]
    row |= {
        "roof.clock_ghz": roof["clock_ghz"],
        "roof.peak_macs_per_cycle": roof["peak_macs_per_cycle"],
    }
    row |= {f"roof.bandwidth.{lv}": bw for lv, bw in roof["bandwidth_bytes_per_cycle"].items()}
    return row


def test_a_row_is_the_solve_report(baseline: Baseline) -> None:
    """The sweep row (built from the typed report) holds what ``cosamt solve --json`` prints for a
    plain ``solve_instance``, and a cached solve gives the same row."""
    inst = parse_instance({**TINY, "seq_len": 16})
    report = solve_instance(resolve(inst), settings_for(inst))
    typed = flatten(report)
    assert typed == _row_from_json(json.loads(json.dumps(report_json(report))))
    expected = {k: str(v) if v is not None else "" for k, v in typed.items()}
    row = baseline.rows[("tiny", "prefill", "1", "16", "edge", "latency")]
    assert without_timing(expected) == {k: row[k] for k in without_timing(expected)}
    cache = SolveCache(baseline.cache)
    cached = solve_instance_cached(resolve(inst), settings_for(inst), cache)
    assert cache.hits > 0 and cache.misses == 0
    assert without_timing(flatten(cached)) == without_timing(typed)


# ---- cache ------------------------------------------------------------------------------------


def test_cache_hit_avoids_solving(baseline: Baseline, tmp_path: Path) -> None:
    out = tmp_path / "again.csv"
    sweep(baseline.instance, out, cache_dir=baseline.cache)
    rows = read_rows(out)
    assert comparable(rows) == comparable(baseline.rows)
    for row in rows.values():
        assert int(row["cache_hits"]) > 0 and float(row["total.solve_seconds"]) == 0.0
        assert all(float(v) == 0.0 for k, v in row.items() if k.endswith(".seconds"))
    inst = parse_instance({**TINY, "seq_len": 32})
    cache = SolveCache(baseline.cache)
    solve_instance_cached(resolve(inst), settings_for(inst), cache)
    assert cache.hits > 0 and cache.misses == 0


def test_cache_key_depends_on_settings(tmp_path: Path) -> None:
    inst = parse_instance(TINY)
    resolved = resolve(inst)
    group, cache = single(resolved.operators[0]), SolveCache(tmp_path)
    settings = settings_for(inst)
    assert cache.key(group, resolved.arch, settings) == cache.key(
        group, resolved.arch, settings_for(inst)
    )
    energy = settings_for(inst, objective=Objective.ENERGY)
    assert cache.key(group, resolved.arch, settings) != cache.key(group, resolved.arch, energy)
    # a solve without its tie-break (the explorer's first pass) is never served for a full one
    first = replace(settings, tiebreak=False)
    assert cache.key(group, resolved.arch, settings) != cache.key(group, resolved.arch, first)


# ---- parallel ---------------------------------------------------------------------------------


def test_two_jobs_give_the_same_rows(baseline: Baseline, tmp_path: Path) -> None:
    out = tmp_path / "jobs2.csv"
    summary = sweep(baseline.instance, out, jobs=2)
    assert summary.solved == len(SEQ_LENS)
    assert comparable(read_rows(out)) == comparable(baseline.rows)


def _dask_rows(
    baseline: Baseline, out: Path, seq_lens: tuple[int, ...], processes: bool, workers: int
) -> Rows:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None
    ) as cluster:
        sweep(
            baseline.instance,
            out,
            seq_lens,
            executor=ExecutorKind.DASK,
            scheduler=cluster.scheduler_address,
        )
    return read_rows(out)


def test_dask_gives_the_same_rows(baseline: Baseline, tmp_path: Path) -> None:
    rows = _dask_rows(baseline, tmp_path / "dask.csv", SEQ_LENS[:1], processes=False, workers=1)
    assert comparable(rows) == {k: v for k, v in comparable(baseline.rows).items() if k in rows}


@pytest.mark.slow
def test_dask_worker_processes_give_the_same_rows(baseline: Baseline, tmp_path: Path) -> None:
    rows = _dask_rows(baseline, tmp_path / "dask2.csv", SEQ_LENS, processes=True, workers=2)
    assert comparable(rows) == comparable(baseline.rows)


# ---- durability -------------------------------------------------------------------------------


def _data_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") - 1 if path.exists() else 0


def test_resume_after_sigkill(baseline: Baseline, tmp_path: Path) -> None:
    """Kill a real sweep process after its first row, tear its last line, resume: every point
    exactly once, the rows written before the kill untouched."""
    out = tmp_path / "killed.csv"
    seq_lens = "16,24"  # 16 is in the baseline cache: its row comes at once, then 24 is solving
    cmd = [
        sys.executable,
        "-m",
        "cosamt.cli.sweep",
        "sweep",
        str(baseline.instance),
        "--seq-lens",
        seq_lens,
        "--out",
        str(out),
        "--cache",
        str(baseline.cache),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _data_lines(out) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    kept = out.read_bytes()
    assert _data_lines(out) == 1
    with out.open("ab") as f:  # a kill in the middle of a write leaves a partial line
        f.write(kept.splitlines(keepends=True)[-1][:37])
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            str(baseline.instance),
            "--seq-lens",
            seq_lens,
            "--out",
            str(out),
            "--resume",
            "--cache",
            str(baseline.cache),
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_bytes()
    assert text.endswith(b"\n") and text.count(b"\n") == 3
    rows = read_rows(out)
    before = list(csv.DictReader(io.StringIO(kept.decode())))
    assert before and all(rows[row_key(r)] == {**rows[row_key(r)], **r} for r in before)
    assert set(rows) == {("tiny", "prefill", "1", str(n), "edge", "latency") for n in (16, 24)}
    header = text.splitlines()[0].split(b",")
    assert all(len(r) == len(header) and None not in r for r in rows.values())


def test_resume_skips_finished_points(baseline: Baseline, tmp_path: Path) -> None:
    out = tmp_path / "copy.csv"
    out.write_bytes(b"".join(baseline.out.read_bytes().splitlines(keepends=True)[:2]))
    summary = sweep(baseline.instance, out, resume=True, cache_dir=baseline.cache)
    assert (summary.skipped, summary.solved) == (1, len(SEQ_LENS) - 1)
    assert comparable(read_rows(out)) == comparable(baseline.rows)


def test_parquet_output_and_journal(baseline: Baseline, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "rows.parquet"
    sweep(baseline.instance, out, cache_dir=baseline.cache)
    table = pq.read_table(out).to_pylist()
    journal = [
        json.loads(line) for line in (tmp_path / "rows.parquet.jsonl").read_text().splitlines()
    ]
    assert table == journal
    as_text = {
        row_key(r): {k: "" if v is None else str(v) for k, v in without_timing(r).items()}
        for r in table
    }
    assert as_text == comparable(baseline.rows)
    out.unlink()  # as if killed after the journal write, before the Parquet write
    again = sweep(baseline.instance, out, resume=True, cache_dir=baseline.cache)
    assert (again.skipped, again.solved) == (len(SEQ_LENS), 0)
    assert pq.read_table(out).to_pylist() == journal


def test_csv_header_widens_atomically(tmp_path: Path) -> None:
    out = tmp_path / "wide.csv"
    store = open_store(out, resume=False)
    key = dict(zip(KEY_COLUMNS, ("m", "prefill", 1, 8, "edge", "latency"), strict=True))
    store.append({**key, "a.latency_cycles": 1.5})
    store.append({**key, "seq_len": 16, "b.latency_cycles": 2.5, "a.latency_cycles": None})
    reopened = CsvStore(out)
    reopened.load()
    assert reopened.header == [*KEY_COLUMNS, "a.latency_cycles", "b.latency_cycles"]
    assert [
        (r["seq_len"], r["a.latency_cycles"], r["b.latency_cycles"]) for r in reopened.rows()
    ] == [("8", "1.5", ""), ("16", "", "2.5")]


def test_a_foreign_csv_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "other.csv"
    out.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="no column 'model'"):
        open_store(out, resume=True)
