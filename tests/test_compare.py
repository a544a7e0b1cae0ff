"""The MIP against every baseline, and ``cosamt compare``'s outputs.

The fusion explorer's MIP searches a superset of every baseline's mapspace (per operator, it may
also pad; per segment, it may fuse, with the granularity free where FLAT's rule fixes it) and is
solved to proven optimality, and every method is scored by the same evaluator: on every shipped
instance, for every unique segment and every baseline, the MIP's objective must be no worse
(relative 1e-6). The default run shrinks the instances (sequence length 64, batch 1) and the search
effort; the full-size version is marked slow.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cosamt.arch.presets import load_preset
from cosamt.baselines.flat import budget_words, flat_heuristic, footprint_words
from cosamt.baselines.registry import BASELINES, run_baseline
from cosamt.cli.compare import compare
from cosamt.compare import (
    CSV_COLUMNS,
    FLAT,
    METHODS,
    MIP,
    TOTAL,
    Comparison,
    compare_instance,
    mip_with_shared,
    operator_baseline,
)
from cosamt.evaluate.evaluator import evaluate
from cosamt.fusion.schemes import Scheme, segments
from cosamt.io.instance import parse_instance, read_json
from cosamt.pipeline import Resolved, resolve, settings_for
from cosamt.solve.solver import solve_operator
from cosamt.types import FusionChoice, Objective
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor, gemm
from cosamt.workload.models import get_model

REL = 1e-6
INSTANCES = sorted((Path(__file__).parent.parent / "instances").glob("*.json"))
SMALL_EFFORT = 60
FULL_EFFORT = 1000


def _resolved(path: Path, small: bool) -> Resolved:
    data = read_json(path)
    if small:
        # A vision model's tokens are fixed by its image and patch size: keep them.
        fixed = isinstance(data["model"], str) and get_model(data["model"]).image_tokens
        data = {**data, "seq_len": data["seq_len"] if fixed else 64, "batch": 1}
    return resolve(parse_instance(data, str(path)), path.parent)


def _check_never_worse(resolved: Resolved, effort: int) -> Comparison:
    objective = resolved.instance.options.objective
    c = compare_instance(resolved, settings_for(resolved.instance), METHODS, effort, 0)
    ran = set()
    for gc in c.groups:
        mip = gc.methods[0]
        assert mip.method == MIP
        best = mip.value(objective)
        assert best is not None
        for m in gc.methods[1:]:
            if m.skipped is not None:
                allowed = m.method == "exhaustive" or (
                    m.method == FLAT and gc.group.name != "attention"
                )
                assert allowed, f"{gc.group.name}: {m.method} skipped: {m.skipped}"
                continue
            value = m.value(objective)
            assert value is not None
            assert best <= value * (1 + REL), (
                f"{resolved.instance.model} {gc.group.name}: {m.method} {value} beats the MIP {best}"
            )
            ran.add(m.method)
    assert ran >= set(METHODS) - {"exhaustive"}  # FLAT's rule ran on attention
    return c


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem)
def test_mip_never_worse_than_any_baseline(path: Path) -> None:
    _check_never_worse(_resolved(path, small=True), SMALL_EFFORT)


@pytest.mark.slow
@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem)
def test_mip_never_worse_than_any_baseline_full_size(path: Path) -> None:
    _check_never_worse(_resolved(path, small=False), FULL_EFFORT)


# ---------------------------------------------------------------------------------------------
# FLAT's granularity rule


def _attention(path: Path, seq_len: int) -> tuple[Resolved, object]:
    data = {**read_json(path), "seq_len": seq_len}
    resolved = resolve(parse_instance(data, str(path)), path.parent)
    group = next(
        g
        for seg in segments(resolved.operators, FusionChoice.FLAT)
        for cand in seg.candidates
        for g in cand
        if g.scheme is Scheme.FLAT
    )
    return resolved, group


@pytest.mark.parametrize(
    ("seq_len", "label", "m_factor"),
    [
        # edge: 512 KiB = 262,144 words, half for the scores: 131,072. A head's scores at 512 tokens
        # are 262,144 words (too many); 256 rows x 512 keys = 131,072 fit: two row blocks per head.
        (512, "row x256", 2),
        # 64 tokens: a batch element's scores are 12 heads x 64 x 64 = 49,152 words: batch fits.
        (64, "batch", 1),
    ],
)
def test_flat_rule_picks_the_coarsest_granularity_that_fits(
    seq_len: int, label: str, m_factor: int
) -> None:
    resolved, group = _attention(INSTANCES[0].parent / "gpt2_edge.json", seq_len)
    settings = settings_for(resolved.instance)
    res = flat_heuristic(group, resolved.arch, mip_with_shared(settings))  # type: ignore[arg-type]
    assert res.granularity.label == label
    assert res.budget_words == budget_words(resolved.arch, False) == 131_072
    assert res.footprint_words == footprint_words(group, res.granularity.shared_factors) <= 131_072  # type: ignore[arg-type]
    assert not res.metrics.violations
    shared = {lp.dim: lp.factor for lp in res.mappings["qk"].levels[-1].temporal}
    assert shared.get("m", 1) == m_factor
    assert shared.get("b", 1) == 1 and shared.get("h", 1) == (1 if label == "batch" else 12)


# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# Each baseline: deterministic for a fixed seed, legal, and the exhaustive one is the MIP's optimum

EDGE = load_preset("edge")
NORM = Einsum(
    name="norm",
    dims={"m": 16, "f": 24},
    tensors=(
        Tensor("X", ("m", "f"), Role.INPUT),
        Tensor("G", ("f",), Role.WEIGHT),
        Tensor("Y", ("m", "f"), Role.OUTPUT),
    ),
    kind=OpKind.VECTOR,
    ops_per_point=8,
    op="layernorm",
)
OPS = {
    "gemm": gemm("g", 48, 96, 64),
    "qk": Einsum(
        name="qk",
        dims={"h": 2, "m": 16, "n": 16, "d": 8},
        tensors=(
            Tensor("Q", ("h", "m", "d"), Role.INPUT),
            Tensor("K", ("h", "n", "d"), Role.INPUT),
            Tensor("S", ("h", "m", "n"), Role.OUTPUT),
        ),
    ),
    "norm": NORM,
}


@pytest.mark.parametrize("name", list(BASELINES))
@pytest.mark.parametrize("op_name", list(OPS))
def test_baseline_deterministic_and_legal(name: str, op_name: str) -> None:
    op = OPS[op_name]
    if name == "exhaustive" and op_name != "norm":
        pytest.skip("mapspace too large for a quick exhaustive run")
    first = run_baseline(name, op, EDGE, Objective.LATENCY, seed=7, effort=80)
    again = run_baseline(name, op, EDGE, Objective.LATENCY, seed=7, effort=80)
    assert first.mapping == again.mapping
    assert first.metrics.latency_cycles == again.metrics.latency_cycles
    assert first.evaluated == again.evaluated >= 1
    assert not evaluate(op, EDGE, first.mapping).violations
    assert first.metrics == evaluate(op, EDGE, first.mapping)


def test_exhaustive_equals_mip_on_a_tiny_operator() -> None:
    op = gemm("tiny", 2, 4, 6)
    inst = parse_instance({"model": "gpt2", "seq_len": 8, "arch": "edge"})
    settings = settings_for(inst, padding=False)
    mip = solve_operator(op, EDGE, settings).objective
    assert mip is not None
    results = [operator_baseline(name, op, EDGE, Objective.LATENCY, 0, 100) for name in BASELINES]
    by = {m.method: m for m in results}
    assert by["exhaustive"].skipped is None
    assert by["exhaustive"].latency_cycles == pytest.approx(mip, rel=REL)
    assert all(
        m.latency_cycles is not None and m.latency_cycles >= mip * (1 - REL) for m in results
    )


# ---------------------------------------------------------------------------------------------
# The command: CSV and JSON columns

TINY = {
    "model": {"name": "tiny", "n_layers": 2, "d_model": 32, "n_heads": 2, "d_ff": 64},
    "seq_len": 16,
    "arch": "edge",
}
CHOSEN = ["fixed-ws", "tas", "random", "exhaustive", "flat"]


def _app() -> typer.Typer:
    from cosamt.cli import app

    if any(c.name == "compare" for c in app.registered_commands):
        return app
    local = typer.Typer()
    local.command("compare")(compare)
    local.command("noop")(lambda: None)  # two commands: the subcommand name is required
    return local


def _invoke(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    res = CliRunner().invoke(
        _app(), ["compare", str(path), "--baselines", ",".join(CHOSEN), "--effort", "40", *args]
    )
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture(scope="module")
def compare_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("compare")
    code, stdout, _ = _invoke(tmp, "--json", "--csv", str(tmp / "out.csv"))
    assert code == 0
    return {"json": stdout, "csv": (tmp / "out.csv").read_text(encoding="utf-8")}


def test_csv_has_documented_columns_and_rows(compare_outputs: dict[str, str]) -> None:
    table = list(csv.DictReader(io.StringIO(compare_outputs["csv"])))
    assert tuple(table[0]) == CSV_COLUMNS
    methods = [MIP, *CHOSEN]
    groups = list(dict.fromkeys(r["group"] for r in table))
    assert groups[-1] == TOTAL
    for g in groups:
        assert [r["method"] for r in table if r["group"] == g] == methods
    assert all(r["ratio"] == "1.0" for r in table if r["method"] == MIP)


def test_json_matches_csv(compare_outputs: dict[str, str]) -> None:
    doc = json.loads(compare_outputs["json"])
    assert doc["columns"] == list(CSV_COLUMNS)
    assert all(list(r) == list(CSV_COLUMNS) for r in doc["rows"])
    assert len(doc["rows"]) == len(list(csv.DictReader(io.StringIO(compare_outputs["csv"]))))
    assert [m["method"] for m in doc["total"]] == [MIP, *CHOSEN]
    for g in doc["groups"]:
        assert g["count"] >= 2 and g["members"][0] == g["group"]
        assert {m["method"] for m in g["methods"] if m["skipped"] is None} >= {
            MIP,
            "fixed-ws",
            "tas",
        }


def test_table_and_unknown_baseline(tmp_path: Path) -> None:
    code, stdout, _ = _invoke(tmp_path)
    assert code == 0 and "total" in stdout and "fixed-ws" in stdout
    path = tmp_path / "tiny.json"
    res = CliRunner().invoke(_app(), ["compare", str(path), "--baselines", "fixed-ws,nope"])
    assert res.exit_code == 2
    assert res.stderr.strip().count("\n") == 0 and "nope" in res.stderr
