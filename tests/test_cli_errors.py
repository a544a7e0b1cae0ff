"""Bad input through the command line: one line per problem on stderr, exit code 2, no traceback.

Every case writes its files to ``tmp_path`` and runs ``cosamt solve`` / ``cosamt evaluate``
in-process (CliRunner); a few also run the installed entry point in a subprocess to make sure no
(rich) traceback reaches the terminal. None of them gets as far as a MIP solve.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import FFN1_SCHEDULE
from typer.testing import CliRunner

from cosamt.arch.presets import load_preset
from cosamt.cli import app

GOOD_INSTANCE: dict[str, Any] = {"model": "gpt2", "seq_len": 64, "arch": "edge"}

# ffn1 of GPT-2 at seq_len 64 (b=1, m=64, e=768, f=3072) on the edge preset (32x32 PEs, 256 Ki words).
GOOD_SCHEDULE: dict[str, Any] = FFN1_SCHEDULE

TINY_MODEL: dict[str, Any] = {
    "name": "tiny",
    "n_layers": 2,
    "d_model": 64,
    "n_heads": 4,
    "d_ff": 256,
}


def _edge_arch() -> dict[str, Any]:
    return load_preset("edge").model_dump(mode="json")


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    out.update(changes)
    return out


def _arch_with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    arch = _edge_arch()
    node: Any = arch
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return arch


def _bad_schedule(edit: Any) -> dict[str, Any]:
    sched = copy.deepcopy(GOOD_SCHEDULE)
    edit(sched)
    return sched


def _write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _run(args: list[str]) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stderr, result.exception


def _assert_clean(code: int, stderr: str, exc: BaseException | None, *needles: str) -> None:
    assert code == 2, f"exit code {code}; stderr:\n{stderr}\nexception: {exc!r}"
    assert isinstance(exc, SystemExit), f"unexpected exception {exc!r}"
    assert "Traceback" not in stderr and "╭" not in stderr
    lines = stderr.strip().splitlines()
    assert lines, "no error message"
    assert all(line.startswith("error: ") for line in lines), stderr
    for needle in needles:
        assert needle in stderr, f"{needle!r} not in:\n{stderr}"


# ---- instance files -------------------------------------------------------------------------

# (id, file content, command-line extras, needles that must appear: the path and a key phrase)
INSTANCE_CASES: list[tuple[str, Any, list[str], tuple[str, ...]]] = [
    (
        "malformed-json",
        '{"model": "gpt2",\n  "seq_len": }',
        [],
        ("malformed JSON", "line 2 column"),
    ),
    ("top-level-array", [GOOD_INSTANCE], [], ("expected a JSON object",)),
    ("top-level-string", '"gpt2"', [], ("expected a JSON object",)),
    (
        "unknown-model",
        _with(GOOD_INSTANCE, model="gpt9"),
        [],
        ("model: unknown model 'gpt9'", "gpt2-large", "llama3-8b"),
    ),
    (
        "unknown-preset",
        _with(GOOD_INSTANCE, arch="edgy"),
        [],
        ("arch: unknown preset 'edgy'", "cloud", "gemmini"),
    ),
    ("empty-model-name", _with(GOOD_INSTANCE, model=""), [], ("model: ", "at least 1 character")),
    ("model-wrong-type", _with(GOOD_INSTANCE, model=5), [], ("model: ", "expected a model name")),
    ("arch-wrong-type", _with(GOOD_INSTANCE, arch=[1]), [], ("arch: ", "expected a preset name")),
    ("unknown-key-top", _with(GOOD_INSTANCE, seqlen=64), [], ("seqlen: unknown key",)),
    (
        "unknown-key-options",
        _with(GOOD_INSTANCE, options={"threads": 2, "timelimit": 5}),
        [],
        ("options.timelimit: unknown key",),
    ),
    (
        "unknown-key-inline-arch",
        _with(GOOD_INSTANCE, arch=_arch_with(("levels", 0, "size"), 4)),
        [],
        ("arch.levels[0].size: unknown key",),
    ),
    (
        "unknown-key-inline-model",
        _with(GOOD_INSTANCE, model=_with(TINY_MODEL, layers=3)),
        [],
        ("model.layers: unknown key",),
    ),
    ("seq_len-zero", _with(GOOD_INSTANCE, seq_len=0), [], ("seq_len: ", "greater than 0")),
    ("seq_len-negative", _with(GOOD_INSTANCE, seq_len=-8), [], ("seq_len: ", "greater than 0")),
    ("seq_len-float", _with(GOOD_INSTANCE, seq_len=64.5), [], ("seq_len: ", "valid integer")),
    ("seq_len-string", _with(GOOD_INSTANCE, seq_len="64"), [], ("seq_len: ", "valid integer")),
    ("seq_len-missing", {"model": "gpt2", "arch": "edge"}, [], ("seq_len: required key missing",)),
    ("batch-zero", _with(GOOD_INSTANCE, batch=0), [], ("batch: ", "greater than 0")),
    ("batch-negative", _with(GOOD_INSTANCE, batch=-1), [], ("batch: ", "greater than 0")),
    ("batch-float", _with(GOOD_INSTANCE, batch=1.5), [], ("batch: ", "valid integer")),
    ("batch-string", _with(GOOD_INSTANCE, batch="one"), [], ("batch: ", "valid integer")),
    (
        "inline-model-zero-dim",
        _with(GOOD_INSTANCE, model=_with(TINY_MODEL, d_model=0)),
        [],
        ("model.d_model: ", "greater than 0"),
    ),
    (
        "inline-model-float-dim",
        _with(GOOD_INSTANCE, model=_with(TINY_MODEL, d_ff=256.5)),
        [],
        ("model.d_ff: ", "valid integer"),
    ),
    (
        "inline-model-heads-divide",
        _with(GOOD_INSTANCE, model=_with(TINY_MODEL, n_heads=3)),
        [],
        ("model: n_heads (3) must divide d_model (64)",),
    ),
    (
        "inline-arch-negative-capacity",
        _with(GOOD_INSTANCE, arch=_arch_with(("levels", 0, "capacity_bytes"), -1024)),
        [],
        ("arch.levels[0].capacity_bytes: ", "greater than 0"),
    ),
    (
        "phase-unknown",
        _with(GOOD_INSTANCE, phase="train"),
        [],
        ("phase: ", "'prefill' or 'decode'"),
    ),
    (
        "decode-on-encoder",
        _with(GOOD_INSTANCE, model="bert-base", phase="decode"),
        [],
        ("phase: decode needs a causal decoder", "bert-base"),
    ),
    (
        "hf-config-missing",
        _with(GOOD_INSTANCE, model={"hf_config": "no-such-config.json"}),
        [],
        ("model.hf_config: cannot read", "no-such-config.json"),
    ),
    (
        "hf-config-unknown-key",
        _with(GOOD_INSTANCE, model={"hf_config": "x.json", "nme": "x"}),
        [],
        ("model.nme: unknown key",),
    ),
    (
        "seq_len-override-zero",
        GOOD_INSTANCE,
        ["--seq-len", "0"],
        ("--seq-len (seq_len)", "greater than 0"),
    ),
    (
        "batch-override-negative",
        GOOD_INSTANCE,
        ["--batch", "-2"],
        ("--batch (batch)", "greater than 0"),
    ),
]


@pytest.mark.parametrize(
    ("command", "content", "extra", "needles"),
    [
        pytest.param(cmd, c, e, n, id=f"{cmd}-{i}")
        for cmd in ("solve", "evaluate")
        for i, c, e, n in INSTANCE_CASES
        if cmd == "solve" or not e
    ],  # overrides are options of solve
)
def test_bad_instance(
    tmp_path: Path, command: str, content: Any, extra: list[str], needles: tuple[str, ...]
) -> None:
    inst = _write(tmp_path / "inst.json", content)
    if command == "solve":
        args = ["solve", str(inst), "--json", *extra]
    else:
        args = ["evaluate", str(inst), str(_write(tmp_path / "sched.json", GOOD_SCHEDULE))]
    code, stderr, exc = _run(args)
    _assert_clean(code, stderr, exc, *needles)
    if not any(n.startswith("--") for n in needles):
        assert all(f"{tmp_path}" in line for line in stderr.strip().splitlines()), (
            "the file is named"
        )


def test_instance_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    for args in (["solve", str(missing)], ["evaluate", str(missing), str(missing)]):
        code, stderr, exc = _run(args)
        _assert_clean(code, stderr, exc, f"{missing}: cannot read file", "No such file")


@pytest.mark.parametrize(
    ("content", "phrase"),
    [(b"\xff\xfe{}", "not a UTF-8 text file"), (b"[" * 100_000, "malformed JSON")],
    ids=["binary", "deep"],
)
def test_unreadable_instance(tmp_path: Path, content: bytes, phrase: str) -> None:
    inst = tmp_path / "inst.json"
    inst.write_bytes(content)
    code, stderr, exc = _run(["solve", str(inst)])
    _assert_clean(code, stderr, exc, f"{inst}: {phrase}")


def test_instance_path_is_a_directory(tmp_path: Path) -> None:
    code, stderr, exc = _run(["solve", str(tmp_path)])
    _assert_clean(code, stderr, exc, f"{tmp_path}: cannot read file")


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    arch = _arch_with(("levels", 0, "capacity_bytes"), -1)
    arch["pe_array"]["rows"]["size"] = 0
    bad = {
        "model": _with(TINY_MODEL, n_layers=0, colour="red"),
        "seq_len": 0,
        "batch": "2",
        "arch": arch,
        "phase": "train",
        "options": {"threads": 0},
        "extra": True,
    }
    code, stderr, exc = _run(["solve", str(_write(tmp_path / "inst.json", bad))])
    expected = [
        "model.n_layers: ",
        "model.colour: unknown key",
        "seq_len: ",
        "batch: ",
        "arch.levels[0].capacity_bytes: ",
        "arch.pe_array.rows.size: ",
        "phase: ",
        "options.threads: ",
        "extra: unknown key",
    ]
    _assert_clean(code, stderr, exc, *expected)
    lines = stderr.strip().splitlines()
    assert len(lines) == len(expected), stderr
    # No duplicate complaints from the other branches of the ``str | object`` unions.
    assert (
        "Architecture" not in stderr
        and "ModelConfig" not in stderr
        and "function-after" not in stderr
    )
    assert "hf_config" not in stderr and "should be a valid string" not in stderr


def test_unknown_model_and_preset_are_reported_together(tmp_path: Path) -> None:
    code, stderr, exc = _run(
        ["solve", str(_write(tmp_path / "i.json", _with(GOOD_INSTANCE, model="x", arch="y")))]
    )
    _assert_clean(code, stderr, exc, "model: unknown model 'x'", "arch: unknown preset 'y'")
    assert len(stderr.strip().splitlines()) == 2


def test_workload_refuses_a_feature_by_name(tmp_path: Path) -> None:
    _write(
        tmp_path / "config.json",
        # LSH attention in a family not read for it (Reformer's own reader models it).
        {"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 4, "intermediate_size": 128, "hidden_act": "relu",
         "num_hashes": 2},
    )  # fmt: skip
    inst = _write(tmp_path / "inst.json", _with(GOOD_INSTANCE, model={"hf_config": "config.json"}))
    code, stderr, exc = _run(["workload", str(inst)])
    _assert_clean(
        code,
        stderr,
        exc,
        "hf_config.num_hashes: LSH attention (num_hashes) is not modelled",
    )


@pytest.mark.parametrize("command", ["solve", "evaluate"])
def test_hf_config_malformed(tmp_path: Path, command: str) -> None:
    _write(tmp_path / "config.json", '{"model_type": "gpt2",\n "n_embd": 768,,}')
    inst = _write(tmp_path / "inst.json", _with(GOOD_INSTANCE, model={"hf_config": "config.json"}))
    sched = _write(tmp_path / "sched.json", GOOD_SCHEDULE)
    args = ["solve", str(inst)] if command == "solve" else ["evaluate", str(inst), str(sched)]
    code, stderr, exc = _run(args)
    _assert_clean(code, stderr, exc, "config.json: malformed JSON", "line 2 column")


def test_hf_config_bad_keys(tmp_path: Path) -> None:
    _write(tmp_path / "config.json", {"model_type": "gpt2", "n_embd": 0, "n_layer": 12})
    inst = _write(tmp_path / "inst.json", _with(GOOD_INSTANCE, model={"hf_config": "config.json"}))
    code, stderr, exc = _run(["solve", str(inst)])
    _assert_clean(
        code,
        stderr,
        exc,
        "hf_config.n_embd: must be a positive integer",
        "hf_config.num_attention_heads: attention heads missing (looked for num_attention_heads, n_head",
    )


# ---- schedule files -------------------------------------------------------------------------


def _level(sched: dict[str, Any], i: int) -> dict[str, Any]:
    level: dict[str, Any] = sched["groups"][0]["levels"][i]
    return level


def _overflow(s: dict[str, Any]) -> None:
    _level(s, 0)["temporal"] = []
    _level(s, 1)["temporal"][0] = ["f", 96]  # the whole 768 x 3072 weight in the 256 Ki-word buffer


SCHEDULE_CASES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("malformed-json", '{"groups": [\n  {"name": }]}', ("malformed JSON", "line 2 column")),
    ("top-level-array", [GOOD_SCHEDULE], ("expected a JSON object",)),
    (
        "unknown-key",
        _bad_schedule(lambda s: _level(s, 1).update(stationary="W")),
        ("groups[0].levels[1].stationary: unknown key",),
    ),
    ("unknown-key-top", _bad_schedule(lambda s: s.update(version=2)), ("version: unknown key",)),
    (
        "unknown-level",
        _bad_schedule(lambda s: _level(s, 1).update(level="L2")),
        ("groups[0].levels[1].level: unknown level 'L2'", "GlobalBuffer"),
    ),
    (
        "unknown-dimension",
        _bad_schedule(lambda s: _level(s, 1)["temporal"].append(["k", 1])),
        ("groups[0].levels[1].temporal[3]: unknown dimension 'k'",),
    ),
    (
        "unknown-spatial-dimension",
        _bad_schedule(lambda s: _level(s, 1)["spatial"].append(["z", 1, "rows"])),
        ("groups[0].levels[1].spatial[2]: unknown dimension 'z'",),
    ),
    (
        "unknown-tensor",
        _bad_schedule(lambda s: _level(s, 1)["keep"].append("Q")),
        ("groups[0].levels[1].keep[3]: unknown tensor 'Q'",),
    ),
    (
        "unknown-operator",
        _bad_schedule(lambda s: s["groups"][0].update(operators=["ffn9"])),
        ("groups[0].operators[0]: unknown operator 'ffn9'", "ffn1"),
    ),
    (
        "factor-zero",
        _bad_schedule(lambda s: _level(s, 1)["temporal"].__setitem__(0, ["f", 0])),
        ("groups[0].levels[1].temporal[0][1]: ", "greater than 0"),
    ),
    (
        "factor-string",
        _bad_schedule(lambda s: _level(s, 1)["temporal"].__setitem__(0, ["f", "4"])),
        ("groups[0].levels[1].temporal[0][1]: ", "valid integer"),
    ),
    (
        "bad-axis",
        _bad_schedule(lambda s: _level(s, 1)["spatial"].__setitem__(0, ["m", 32, "diag"])),
        ("groups[0].levels[1].spatial[0][2]: ", "unknown axis 'diag'; axes are ['rows', 'cols']"),
    ),
    (
        "factor-product",
        _bad_schedule(lambda s: _level(s, 1)["temporal"].__setitem__(0, ["f", 3])),
        ("groups[0]: dimension f: loop factors multiply to 2304, expected 3072",),
    ),
    (
        "buffer-overflow",
        _bad_schedule(_overflow),
        ("groups[0].levels[1]: GlobalBuffer: ", "need 2605056 words", "capacity is 262144 words"),
    ),
    (
        "axis-overflow",
        _bad_schedule(
            lambda s: (
                _level(s, 1)["spatial"].__setitem__(0, ["m", 64, "rows"]),
                _level(s, 1)["temporal"].__setitem__(1, ["m", 1]),
            )
        ),
        (
            "groups[0].levels[1].spatial: PE array rows: spatial factors multiply to 64, "
            "the axis has 32 PEs",
        ),
    ),
    (
        "wrong-architecture",
        _bad_schedule(lambda s: s.update(arch="cloud")),
        ("arch: schedule is for 'cloud', instance uses 'edge'",),
    ),
    ("no-groups-key", {"format": "cosamt-schedule/1"}, ("groups: required key missing",)),
]


@pytest.mark.parametrize(
    ("content", "needles"), [pytest.param(c, n, id=i) for i, c, n in SCHEDULE_CASES]
)
def test_bad_schedule(tmp_path: Path, content: Any, needles: tuple[str, ...]) -> None:
    inst = _write(tmp_path / "inst.json", GOOD_INSTANCE)
    sched = _write(tmp_path / "sched.json", content)
    code, stderr, exc = _run(["evaluate", str(inst), str(sched)])
    _assert_clean(code, stderr, exc, *needles)
    assert all(line.startswith(f"error: {sched}: ") for line in stderr.strip().splitlines()), stderr


@pytest.mark.parametrize(
    ("content", "needles"), [pytest.param(c, n, id=i) for i, c, n in SCHEDULE_CASES]
)
def test_export_reports_a_bad_schedule_like_evaluate(
    tmp_path: Path, content: Any, needles: tuple[str, ...]
) -> None:
    inst = _write(tmp_path / "inst.json", GOOD_INSTANCE)
    sched = _write(tmp_path / "sched.json", content)
    code, stderr, exc = _run(["export", str(inst), str(sched), "--out", str(tmp_path / "af")])
    _assert_clean(code, stderr, exc, *needles)
    assert not (tmp_path / "af").exists()  # nothing half-written


def test_schedule_file_not_found(tmp_path: Path) -> None:
    inst = _write(tmp_path / "inst.json", GOOD_INSTANCE)
    code, stderr, exc = _run(["evaluate", str(inst), str(tmp_path / "nope.json")])
    _assert_clean(code, stderr, exc, "nope.json: cannot read file")


def test_schedule_problems_are_reported_together(tmp_path: Path) -> None:
    def edit(s: dict[str, Any]) -> None:
        _level(s, 1)["keep"].append("Q")
        _level(s, 1)["temporal"].append(["k", 2])
        s["groups"].append(copy.deepcopy(s["groups"][0]) | {"name": "x", "operators": ["nope"]})

    inst = _write(tmp_path / "inst.json", GOOD_INSTANCE)
    sched = _write(tmp_path / "sched.json", _bad_schedule(edit))
    code, stderr, exc = _run(["evaluate", str(inst), str(sched)])
    _assert_clean(
        code, stderr, exc, "unknown tensor 'Q'", "unknown dimension 'k'", "unknown operator 'nope'"
    )
    assert len(stderr.strip().splitlines()) == 3


# ---- the real entry point: nothing but the error lines reaches the terminal ----------------------


@pytest.mark.parametrize("case", ["instance", "schedule"])
def test_subprocess_has_no_traceback(tmp_path: Path, case: str) -> None:
    if case == "instance":
        inst = _write(
            tmp_path / "inst.json", _with(GOOD_INSTANCE, model="bert-base", phase="decode")
        )
        args = ["solve", str(inst)]
    else:
        inst = _write(tmp_path / "inst.json", GOOD_INSTANCE)
        args = ["evaluate", str(inst), str(_write(tmp_path / "s.json", _bad_schedule(_overflow)))]
    proc = subprocess.run(
        [sys.executable, "-m", "cosamt.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "40", "PATH": ""},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr and "╭" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"error: {inst if case == 'instance' else tmp_path}"
    )
