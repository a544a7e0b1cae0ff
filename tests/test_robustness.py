"""Issue 17's cases, one named test each: every input gets a right answer or a named refusal.

In-process (CliRunner) where no signal is involved; real processes and real signals for Ctrl-C,
SIGKILL and concurrent runs. Expected figures are not taken from cosamt's output: a solved case is
checked against the invariants (every schedule at or above its independent lower bound).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cosamt.arch.presets import load_preset
from cosamt.cli import app

REPO = Path(__file__).resolve().parent.parent
TINY: dict[str, Any] = {"name": "tiny", "n_layers": 1, "d_model": 16, "n_heads": 2, "d_ff": 32}
# the menu: these tests are about input handling, interrupts and resume, not the explorer
FAST_OPTIONS: dict[str, Any] = {"threads": 1, "time_limit_s": 30, "fusion": "all"}


def _edge() -> dict[str, Any]:
    return load_preset("edge").model_dump(mode="json")


def _instance(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"model": TINY, "seq_len": 8, "arch": "edge", "options": FAST_OPTIONS}
    base.update(changes)
    return base


def _write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _run(args: list[str]) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def _refused(result: Any, *needles: str, lines: int | None = None) -> None:
    """Exit 2, every stderr line an ``error:`` line naming something, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    text = result.stderr
    assert "Traceback" not in text and "╭" not in text, text
    got = text.strip().splitlines()
    assert got and all(line.startswith("error: ") for line in got), text
    if lines is not None:
        assert len(got) == lines, text
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"


def _arch(edit: Any) -> dict[str, Any]:
    arch = _edge()
    arch["name"] = "fuzzed"
    edit(arch)
    return arch


# ---- tracebacks or a hang ------------------------------------------------------------------------


def test_buffer_smaller_than_a_word_is_refused(tmp_path: Path) -> None:
    arch = _arch(lambda a: a["levels"][0].update(capacity_bytes=1))
    inst = _write(tmp_path / "i.json", _instance(arch=arch))
    _refused(_run(["solve", inst]), "GlobalBuffer", "holds no word", lines=1)


@pytest.mark.parametrize("model_type", [["gpt2"], {"a": 1}, 3])
def test_hf_config_model_type_of_wrong_type_is_refused(tmp_path: Path, model_type: Any) -> None:
    """(A missing model_type is not an error: the generic fields are read without it.)"""
    hf = _write(tmp_path / "config.json", {"model_type": model_type, "n_layer": 1})
    inst = _write(tmp_path / "i.json", _instance(model={"hf_config": hf.name}))
    _refused(_run(["solve", inst]), "hf_config.model_type", "expected a string", lines=1)


def test_a_sub_configs_model_type_of_wrong_type_is_refused(tmp_path: Path) -> None:
    """Sub-configs' model_type picks their readers too (an encoder_config of a speech model)."""
    cfg = {"model_type": "canary", "encoder_config": {"model_type": ["parakeet_encoder"]}}
    hf = _write(tmp_path / "config.json", cfg)
    inst = _write(tmp_path / "i.json", _instance(model={"hf_config": hf.name}))
    _refused(
        _run(["workload", inst]),
        "hf_config.encoder_config.model_type",
        "expected a string",
        lines=1,
    )


def test_unknown_solver_gives_one_line_and_no_traceback(tmp_path: Path) -> None:
    inst = _write(tmp_path / "i.json", _instance())
    proc = subprocess.run(
        [sys.executable, "-m", "cosamt.cli", "solve", str(inst), "--solver", "nosuch"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --solver: solver 'nosuch' is not installed or not known to Pyomo"
    ]


def test_plot_out_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    results = _write(tmp_path / "r.csv", "model,phase\n")
    target = _write(tmp_path / "F", "x")
    _refused(_run(["plot", results, "--out-dir", target]), "--out-dir", "not a directory")


def test_export_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    inst = _write(tmp_path / "i.json", _instance())
    sched = _write(tmp_path / "s.json", {"groups": []})
    target = _write(tmp_path / "F", "x")
    _refused(_run(["export", inst, sched, "--out", target]), "--out", "not a directory", lines=1)


def test_sweep_huge_seq_len_is_refused_at_once(tmp_path: Path) -> None:
    inst = _write(tmp_path / "i.json", _instance())
    result = _run(
        ["sweep", inst, "--seq-lens", "99999999999999999999", "--out", tmp_path / "o.csv"]
    )
    _refused(result, "--seq-lens", "4194304", lines=1)
    digits = "9" * 5000  # int() of this would fail past Python's 4300-digit limit
    _refused(_run(["sweep", inst, "--seq-lens", digits, "--out", tmp_path / "o.csv"]), "--seq-lens")


# ---- answers that contradicted themselves ---------------------------------------------------------


def _solve_json(tmp_path: Path, inst: dict[str, Any]) -> dict[str, Any]:
    path = _write(tmp_path / "i.json", inst)
    result = _run(["solve", path, "--json", "--fusion", "none"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_one_word_buffer_schedule_is_not_below_its_bound(tmp_path: Path) -> None:
    arch = _arch(lambda a: a["levels"][0].update(capacity_bytes=2))  # one 2-byte word
    data = _solve_json(tmp_path, _instance(arch=arch))
    total, bound = data["total"], data["lower_bound"]
    assert total["latency_cycles"] >= bound["latency_cycles"] * (1 - 1e-9)
    assert total["energy_pj"] >= bound["energy_pj"] * (1 - 1e-9)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"model": {**TINY, "d_model": 2**40, "n_heads": 1}}, "model.d_model"),
        ({"seq_len": 10**12}, "seq_len"),
        ({"seq_len": 2**63}, "seq_len"),
        ({"batch": 2**63}, "batch"),
        # each within its own limit, together past 2**64 iterations of one operator
        (
            {"seq_len": 2**22, "batch": 2**16, "model": {**TINY, "d_model": 1024}},
            "more than 2**64",
        ),
    ],
    ids=["d_model_2^40", "seq_len_1e12", "seq_len_2^63", "batch_2^63", "product_past_2^64"],
)
def test_sizes_whose_figures_would_not_be_exact_are_refused(
    tmp_path: Path, changes: dict[str, Any], needle: str
) -> None:
    inst = _write(tmp_path / "i.json", _instance(**changes))
    _refused(_run(["solve", inst]), needle, lines=1)


# ---- accepted without a word ----------------------------------------------------------------------


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def edit(arch: dict[str, Any]) -> None:
        node: Any = arch
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (("options", "time_limit_s"), math.inf, "options.time_limit_s"),
        (("arch", "levels", 0, "read_bandwidth"), math.inf, "arch.levels[0].read_bandwidth"),
        (("arch", "clock_ghz"), math.inf, "arch.clock_ghz"),
        (("arch", "mac_energy_pj"), math.inf, "arch.mac_energy_pj"),
        (("arch", "mac_energy_pj"), math.nan, "arch.mac_energy_pj"),
    ],
    ids=["time_limit_inf", "read_bandwidth_inf", "clock_inf", "mac_energy_inf", "mac_energy_nan"],
)
def test_non_finite_numbers_are_refused(
    tmp_path: Path, path: tuple[Any, ...], value: float, needle: str
) -> None:
    inst = _instance(arch=_arch(lambda a: None), options=dict(FAST_OPTIONS))
    node: Any = inst
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    # json.dumps writes Infinity/NaN (not JSON, but Python's parser reads them back)
    raw = _write(tmp_path / "i.json", json.dumps(inst))
    _refused(_run(["solve", raw]), needle, "finite", lines=1)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (_set(("levels", 1, "read_bandwidth"), 1e-300), "arch.levels[1].read_bandwidth"),
        (_set(("pe_array", "rows", "size"), 10**9), "arch.pe_array.rows.size"),
        (_set(("levels", 0, "name"), ""), "arch.levels[0].name"),
        (_set(("levels", 0, "name"), "Shared"), "reserved"),
    ],
    ids=["dram_bandwidth_1e-300", "pe_rows_1e9", "level_named_empty", "level_named_Shared"],
)
def test_meaningless_architectures_are_refused(tmp_path: Path, edit: Any, needle: str) -> None:
    inst = _write(tmp_path / "i.json", _instance(arch=_arch(edit)))
    _refused(_run(["solve", inst]), needle)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--time-limit", "-1"], "--time-limit (options.time_limit_s)"),
        (["--time-limit", "0"], "--time-limit (options.time_limit_s)"),
        (["--time-limit", "nan"], "finite"),
        (["--threads", "0"], "--threads (options.threads)"),
    ],
    ids=["time_limit_-1", "time_limit_0", "time_limit_nan", "threads_0"],
)
def test_bad_solver_flags_are_refused(tmp_path: Path, args: list[str], needle: str) -> None:
    inst = _write(tmp_path / "i.json", _instance())
    _refused(_run(["solve", inst, *args]), needle, lines=1)


def test_sweep_negative_time_limit_is_refused(tmp_path: Path) -> None:
    inst = _write(tmp_path / "i.json", _instance())
    result = _run(
        ["sweep", inst, "--seq-lens", "8", "--time-limit", "-1", "--out", tmp_path / "o.csv"]
    )
    _refused(result, "--time-limit", lines=1)
    assert not (tmp_path / "o.csv").exists()


def _first_group_schedule(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    inst = _write(tmp_path / "i.json", _instance())
    assert _run(["solve", inst, "--fusion", "none", "--out", tmp_path / "s.json"]).exit_code == 0
    return inst, json.loads((tmp_path / "s.json").read_text())


def test_partial_duplicate_and_empty_schedules(tmp_path: Path) -> None:
    inst, sched = _first_group_schedule(tmp_path)
    n_ops = len(sched["groups"])
    partial = _write(tmp_path / "one.json", {**sched, "groups": sched["groups"][:1]})
    result = _run(["evaluate", inst, partial, "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["complete"] is False
    assert len(data["missing_operators"]) == n_ops - 1
    text = _run(["evaluate", inst, partial]).stdout
    assert "partial schedule" in text

    whole = _run(["evaluate", inst, tmp_path / "s.json", "--json"])
    assert json.loads(whole.stdout)["complete"] is True

    twice = _write(tmp_path / "twice.json", {**sched, "groups": [sched["groups"][0]] * 2})
    _refused(
        _run(["evaluate", inst, twice]), "groups[1].operators[0]", "already scheduled", lines=1
    )

    empty = _write(tmp_path / "empty.json", {**sched, "groups": []})
    _refused(_run(["evaluate", inst, empty]), "groups", lines=1)


# ---- output paths, checked before any work --------------------------------------------------------


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any solve or comparison fails the test: the refusal must come first."""

    def boom(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("work started before the output path was checked")

    monkeypatch.setattr("cosamt.pipeline.solve_instance", boom)
    monkeypatch.setattr("cosamt.compare.compare_instance", boom)
    monkeypatch.setattr("cosamt.sweep.run.run_sweep", boom)


@pytest.mark.usefixtures("no_work")
def test_solve_out_is_checked_before_the_solve(tmp_path: Path) -> None:
    inst = _write(tmp_path / "i.json", _instance())
    _refused(_run(["solve", inst, "--out", tmp_path]), "--out", "is a directory", lines=1)
    missing = tmp_path / "nope" / "s.json"
    _refused(_run(["solve", inst, "--out", missing]), "--out", "does not exist", lines=1)


@pytest.mark.usefixtures("no_work")
def test_compare_csv_into_missing_folder_is_refused_first(tmp_path: Path) -> None:
    inst = _write(tmp_path / "i.json", _instance())
    result = _run(["compare", inst, "--csv", tmp_path / "nope" / "c.csv"])
    _refused(result, "--csv", "does not exist", lines=1)


@pytest.mark.usefixtures("no_work")
def test_sweep_out_into_missing_folder_is_refused_like_solve(tmp_path: Path) -> None:
    inst = _write(tmp_path / "i.json", _instance())
    result = _run(["sweep", inst, "--seq-lens", "8", "--out", tmp_path / "nope" / "o.csv"])
    _refused(result, "--out", "does not exist", lines=1)
    assert not (tmp_path / "nope").exists()


# ---- invariants: a violation is a bug, exit 1, instance saved --------------------------------------


def test_bound_violation_exits_1_with_the_instance_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    import cosamt.pipeline as pipeline

    real = pipeline.group_lower_bound

    def inflated(group: Any, arch: Any) -> Any:  # a "bound" no schedule can meet
        b = real(group, arch)
        return replace(b, latency_cycles=b.latency_cycles * 1e6 + 1)

    monkeypatch.setattr(pipeline, "group_lower_bound", inflated)
    monkeypatch.chdir(tmp_path)
    inst = _write(tmp_path / "i.json", _instance())
    result = _run(["solve", inst, "--fusion", "none", "--out", tmp_path / "s.json"])
    assert result.exit_code == 1, result.stderr
    assert "below its lower bound" in result.stderr
    saved = list(tmp_path.glob("cosamt-bug-*.json"))
    assert len(saved) == 1
    data = json.loads(saved[0].read_text())
    assert data["instance"]["model"]["name"] == "tiny" and data["violations"]
    assert not (tmp_path / "s.json").exists()  # no output from a run that failed its checks


# ---- concurrency: locks and atomic writes ---------------------------------------------------------


def test_concurrent_writers_of_one_cache_entry_never_collide(tmp_path: Path) -> None:
    from cosamt.io.outputs import write_atomically

    target = tmp_path / "entry.json"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(50):
                text = json.dumps({"writer": n, "i": i, "pad": "x" * 1000})
                write_atomically(target, lambda tmp, t=text: tmp.write_text(t))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads(target.read_text())["i"] == 49  # whole, never half
    assert [p.name for p in tmp_path.iterdir()] == ["entry.json"]  # no temporary left


def test_an_output_locked_by_another_run_is_refused(tmp_path: Path) -> None:
    from cosamt.io.outputs import output_lock

    inst = _write(tmp_path / "i.json", _instance())
    out = tmp_path / "o.csv"
    with output_lock(out, "--out"):  # as a concurrent sweep would hold it
        result = _run(["sweep", inst, "--seq-lens", "8", "--no-cache", "--out", out])
    _refused(result, "--out", "another cosamt run is writing", lines=1)
    assert not out.exists()


def test_resume_drops_duplicate_rows(tmp_path: Path) -> None:
    inst = _write(tmp_path / "i.json", _instance())
    out = tmp_path / "o.csv"
    assert _run(["sweep", inst, "--seq-lens", "4,8", "--no-cache", "--out", out]).exit_code == 0
    lines = out.read_text().splitlines()
    out.write_text("\n".join([*lines, lines[1], lines[2]]) + "\n")  # two runs' worth of rows
    result = _run(["sweep", inst, "--seq-lens", "4,8", "--no-cache", "--resume", "--out", out])
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines() == lines


# ---- real processes, real signals -----------------------------------------------------------------

BIG = REPO / "instances" / "flat_bert_edge.json"  # about 20 s of solving: still busy at the signal


def _cosamt(*args: Any, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cosamt.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def _wait_for(predicate: Any, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _interrupt(proc: subprocess.Popen[str], after: float) -> tuple[int, str, str, float]:
    time.sleep(after)
    assert proc.poll() is None, "finished before the signal: choose a bigger instance"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err, time.monotonic() - sent


def test_ctrl_c_during_solve_stops_with_130_and_no_output(tmp_path: Path) -> None:
    proc = _cosamt("solve", BIG, "--threads", "1", "--out", tmp_path / "s.json", cwd=tmp_path)
    code, out, err, took = _interrupt(proc, 4.0)
    assert code == 130
    assert err.strip().splitlines() == ["interrupted: stopped; no partial output was written"]
    assert out == ""
    assert not (tmp_path / "s.json").exists()
    assert not list(tmp_path.glob(".s.json.*.tmp"))
    assert took < 5  # "promptly": the solve had about 15 s left


@pytest.mark.slow  # about 4 s of real processes
def test_ctrl_c_during_compare_stops_with_130(tmp_path: Path) -> None:
    proc = _cosamt("compare", BIG, "--csv", tmp_path / "c.csv", cwd=tmp_path)
    code, _out, err, _took = _interrupt(proc, 4.0)
    assert code == 130
    assert err.strip().splitlines() == ["interrupted: stopped; no partial output was written"]
    assert not (tmp_path / "c.csv").exists()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def _sweep(tmp_path: Path, *extra: Any) -> subprocess.Popen[str]:
    inst = REPO / "instances" / "gpt2_edge.json"
    return _cosamt(
        "sweep", inst, "--seq-lens", "512,1024,2048,4096", "--jobs", "2", "--threads", "1",
        "--out", tmp_path / "o.csv", *extra, cwd=tmp_path,
    )  # fmt: skip


def _cache_entries_whole(tmp_path: Path) -> None:
    for entry in (tmp_path / "o.csv.cache").rglob("*"):
        if entry.is_file():
            assert not entry.name.endswith(".tmp"), entry
            json.loads(entry.read_text())


def test_ctrl_c_during_sweep_stops_workers_and_leaves_whole_files(tmp_path: Path) -> None:
    proc = _sweep(tmp_path)
    assert _wait_for(lambda: len(_children(proc.pid)) >= 2, 30)
    workers = _children(proc.pid)
    code, _out, err, _took = _interrupt(proc, 3.0)
    assert code == 130
    assert err.strip().splitlines() == ["interrupted: stopped; no partial output was written"]
    assert _wait_for(lambda: not any(_alive(w) for w in workers), 5)
    _cache_entries_whole(tmp_path)
    csv = tmp_path / "o.csv"
    if csv.exists():
        assert csv.read_text().endswith("\n")


@pytest.mark.slow  # about 4 s of real processes
def test_sigkilled_sweep_leaves_no_workers(tmp_path: Path) -> None:
    proc = _sweep(tmp_path)
    assert _wait_for(lambda: len(_children(proc.pid)) >= 2, 30)
    time.sleep(2.0)
    workers = _children(proc.pid)
    proc.kill()
    proc.communicate(timeout=10)
    assert _wait_for(lambda: not any(_alive(w) for w in workers), 10), "workers outlived it"


@pytest.mark.slow  # about 4 s of real processes
def test_two_sweeps_on_one_output(tmp_path: Path) -> None:
    first = _sweep(tmp_path)
    assert _wait_for(lambda: (tmp_path / ".o.csv.lock").exists(), 30)
    time.sleep(1.0)
    second = _sweep(tmp_path)
    _out, err = second.communicate(timeout=60)
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=30)
    assert second.returncode == 2
    assert len(err.strip().splitlines()) == 1 and "another cosamt run is writing" in err


# ---- the whole-solve time limit -------------------------------------------------------------------


def test_spent_solve_time_limit_labels_every_group_and_keeps_the_invariants() -> None:
    from cosamt.invariants import report_violations
    from cosamt.io.instance import parse_instance
    from cosamt.pipeline import resolve, settings_for, solve_instance
    from cosamt.solve.solver import SolveStatus

    options = {**FAST_OPTIONS, "solve_time_limit_s": 1e-6}  # spent before the first MIP
    inst = parse_instance(_instance(options=options))
    report = solve_instance(resolve(inst), settings_for(inst))
    assert report.groups
    for g in report.groups:
        assert not g.group.fused  # fused candidates were skipped, with a note
        assert g.source == "streaming fallback (time limit)"
        assert g.solve.status is SolveStatus.NO_SOLUTION
    assert report_violations(report) == []


@pytest.mark.slow
def test_solve_time_limit_cuts_a_long_solve_short(tmp_path: Path) -> None:
    result = _run(["solve", BIG, "--threads", "1", "--solve-time-limit", "2", "--json"])
    assert result.exit_code == 0, result.stderr
    sources = [g["schedule_source"] for g in json.loads(result.stdout)["groups"]]
    assert "streaming fallback (time limit)" in sources  # the full solve takes about 20 s
    assert sources[0] == "mip"


def test_fuzzer_find_scale_of_exactly_one_solves(tmp_path: Path) -> None:
    """Found by tests/test_fuzz.py: on gemmini a one-token tiny model gave an operator whose latency
    scale is exactly 1.0; Pyomo then refused the formulation (RuntimeError, exit 1)."""
    options = {**FAST_OPTIONS, "fusion": "none"}
    data = _solve_json(tmp_path, _instance(seq_len=1, arch="gemmini", options=options))
    assert data["total"]["latency_cycles"] >= data["lower_bound"]["latency_cycles"] * (1 - 1e-9)


@pytest.mark.slow  # about 10 s of real processes
def test_ctrl_c_during_design_stops_with_130_and_its_workers_end(tmp_path: Path) -> None:
    spec = REPO / "examples" / "design_edge.json"
    arch = tmp_path / "best.json"
    proc = _cosamt("design", spec, "--jobs", "2", "--out-arch", arch, cwd=tmp_path)
    assert _wait_for(lambda: len(_children(proc.pid)) >= 2, 30), "no worker processes started"
    workers = _children(proc.pid)
    code, _out, err, took = _interrupt(proc, 2.0)
    assert code == 130
    assert err.strip().splitlines() == ["interrupted: stopped; no partial output was written"]
    assert not arch.exists() and took < 5
    assert _wait_for(lambda: not any(_alive(p) for p in workers), 5), "workers outlived the parent"


def test_a_long_fused_group_gets_a_folder_a_file_system_takes(tmp_path: Path) -> None:
    """A fused group's name joins its operators' (explore on a layer-grouped model: 300+
    characters); export and codegen name its folder after it. Cut to at most 200 bytes with a hash
    of the whole, so two long names differing in their last operator stay apart."""
    from cosamt.io.outputs import group_folder

    ops = [f"local.kvshared.op{i}" for i in range(20)]
    long_a, long_b = "+".join(ops), "+".join([*ops[:-1], "local.kvshared.other"])
    assert len(long_a) > 255
    folders = {group_folder(long_a), group_folder(long_b)}
    assert len(folders) == 2 and all(len(f.encode()) <= 200 for f in folders)
    for folder in folders:
        (tmp_path / folder).mkdir()  # OSError "File name too long" before the cut
    assert group_folder("qk+softmax+av") == "qk_softmax_av"
