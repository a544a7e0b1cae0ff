"""The library calls behind the CLI (cosamt.api): same checks, no CLI needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cosamt.api import check_solver, evaluate_schedule, find_operator, load_resolved
from cosamt.errors import InputError

INSTANCE = {"model": "gpt2", "seq_len": 64, "arch": "edge"}


def _write(path: Path, content: Any) -> Path:
    path.write_text(json.dumps(content))
    return path


def test_evaluate_schedule_matches_and_evaluates(
    tmp_path: Path, ffn1_schedule: dict[str, Any]
) -> None:
    resolved = load_resolved(_write(tmp_path / "i.json", INSTANCE))
    (scheduled,) = evaluate_schedule(resolved, _write(tmp_path / "s.json", ffn1_schedule))
    assert (scheduled.path, scheduled.group.name) == ("groups[0]", "ffn1")
    assert scheduled.metrics.valid
    # 64 x 768 x 3072 MACs on the full 32 x 32 array
    assert scheduled.metrics.members[0].compute_cycles == 64 * 768 * 3072 / 1024


def test_overrides_are_applied_and_blamed_on_the_flag(tmp_path: Path) -> None:
    path = _write(tmp_path / "i.json", INSTANCE)
    assert load_resolved(path, seq_len=128, batch=None).instance.seq_len == 128
    with pytest.raises(InputError) as exc:
        load_resolved(path, seq_len=0)
    assert exc.value.source == "command line"
    assert exc.value.problems[0].path == "--seq-len (seq_len)"


def test_unknown_solver_and_operator_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--solver: solver 'no-such-solver'"):
        check_solver("no-such-solver")
    resolved = load_resolved(_write(tmp_path / "i.json", INSTANCE))
    with pytest.raises(InputError, match="operator: unknown operator 'ffn9'"):
        find_operator(resolved, "ffn9")
