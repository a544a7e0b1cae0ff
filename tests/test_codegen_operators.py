"""Every vector operator the workload layer emits runs through codegen: blocks of shipped configs
(Mixtral's MoE FFN with its softmax+topk router and combine, GPT-J's parallel block with its
three-input residual add, rotary embeddings, norms) and the FFN activations, shrunk to tiny sizes,
solved with one thread, then generated, run and checked against numpy and the evaluator's counts.
The hand-written references in this file check the numpy reference itself on tiny inputs."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from cosamt.arch.presets import load_preset
from cosamt.codegen.reference import apply
from cosamt.codegen.run import check_group
from cosamt.fusion.schemes import Group, epilogue, ffn_chain, segments, single
from cosamt.pipeline import solve_group_result
from cosamt.solve.solver import SolveSettings
from cosamt.workload.einsum import Einsum
from cosamt.workload.models import ModelConfig, get_model
from cosamt.workload.transformer import build_block

SETTINGS = SolveSettings(time_limit_s=20, threads=1)
TINY = {"d_model": 16, "n_heads": 2, "d_ff": 32, "n_layers": 1}


def _tiny(name: str, **changes: object) -> ModelConfig:
    model = get_model(name)
    update: dict[str, object] = {**TINY, "rotary_dim": 4 if model.rotary_dim else None}
    if model.n_kv_heads is not None:
        update["n_kv_heads"] = 1
    return model.model_copy(update={**update, **changes})


def _check(group: Group, tmp_path: Path) -> None:
    arch = load_preset("edge")
    result = solve_group_result(group, arch, SETTINGS)
    r = check_group(group, arch, result.mappings, tmp_path / group.name.replace("/", "_"))
    assert not r.reasons, r.reasons
    assert r.reduced is None, group.name
    assert r.values_match, (group.name, r.max_rel_error)
    assert r.counts_match, (group.name, r.mismatches)


def _vector_kinds(ops: list[Einsum]) -> set[str]:
    return {op.op for op in ops if op.op}


def test_mixtral_moe_block_operators(tmp_path: Path) -> None:
    model = _tiny("mixtral-8x7b", n_experts=4)
    ops = build_block(model, "prefill", 1, 4)
    assert _vector_kinds(ops) >= {"rmsnorm", "rope", "softmax", "softmax+topk", "swiglu"}
    assert {"combine", "add"} <= _vector_kinds(ops)
    for op in ops:
        if op.op:
            _check(single(op), tmp_path)


def test_parallel_block_operators(tmp_path: Path) -> None:
    ops = build_block(_tiny("gpt-j-6b"), "prefill", 1, 4)
    residual = next(op for op in ops if op.op == "add")
    assert len(residual.operands) == 3  # the stream, attention and FFN outputs
    for op in ops:
        if op.op:
            _check(single(op), tmp_path)


@pytest.mark.parametrize("name", ["mixtral-8x7b", "gpt-j-6b"])
def test_fused_candidates_of_new_blocks(name: str, tmp_path: Path) -> None:
    """Every fused candidate the explorer offers for the tiny block (attention: FLAT, online)."""
    ops = build_block(
        _tiny(name, **({"n_experts": 4} if name.startswith("mix") else {})), "prefill", 1, 4
    )
    for seg in segments(ops, "all"):
        for cand in seg.candidates:
            for group in cand:
                if group.fused:
                    _check(group, tmp_path)


def test_hand_fused_groups_with_new_operators(tmp_path: Path) -> None:
    """Groups the explorer does not form but the formulation accepts: rope fed on chip by a
    projection (its partner feature read from the GlobalBuffer tile), the router and its
    softmax+topk, the gated MoE expert chain, GPT-J's FFN chain."""
    mix = {op.name: op for op in build_block(_tiny("mixtral-8x7b", n_experts=4), "prefill", 1, 4)}
    gptj = {op.name: op for op in build_block(_tiny("gpt-j-6b"), "prefill", 1, 4)}
    rope = mix["rope"]
    # A projection whose output is exactly rope's input (qkv_proj also projects V, not rotated).
    proj = dataclasses.replace(mix["qkv_proj"], dims={**mix["qkv_proj"].dims, "f": rope.dims["f"]})
    experts = [mix[n] for n in ("expert_gate", "expert_up", "expert_act", "expert_down")]
    for group in (
        epilogue([proj, rope]),
        epilogue([mix["router"], mix["route"]]),
        ffn_chain(experts),
        ffn_chain([gptj[n] for n in ("ffn1", "act", "ffn2")]),
    ):
        assert group.on_chip
        _check(group, tmp_path)


@pytest.mark.parametrize(
    "activation", ["relu", "relu2", "gelu", "silu", "swiglu", "geglu", "reglu"]
)
def test_ffn_activations(activation: str, tmp_path: Path) -> None:
    ops = build_block(_tiny("llama3-8b", activation=activation), "prefill", 1, 4)
    act = next(op for op in ops if op.name == "act")
    assert act.op == activation
    _check(single(act), tmp_path)


# ---- the numpy reference against hand-computed values ------------------------------------------


def _op(ops: list[Einsum], kind: str) -> Einsum:
    return next(op for op in ops if op.op == kind)


def test_reference_rope_by_hand() -> None:
    ops = build_block(_tiny("llama3-8b"), "prefill", 1, 2)
    rope = _op(ops, "rope")
    f = rope.dims["f"]
    x = np.arange(2 * f, dtype=float).reshape(1, 2, f)
    y = apply(rope, {"X": x})
    assert np.array_equal(y[0, 0], x[0, 0])  # token 0: angle 0
    # token 1, pair p: angle 10000^(-2p/f)
    for p in range(f // 2):
        th = 10000.0 ** (-2 * p / f)
        a, b = x[0, 1, 2 * p], x[0, 1, 2 * p + 1]
        assert y[0, 1, 2 * p] == pytest.approx(a * math.cos(th) - b * math.sin(th))
        assert y[0, 1, 2 * p + 1] == pytest.approx(b * math.cos(th) + a * math.sin(th))


def test_reference_route_and_combine_by_hand() -> None:
    ops = build_block(_tiny("mixtral-8x7b", n_experts=4), "prefill", 1, 1)
    route, combine = _op(ops, "softmax+topk"), _op(ops, "combine")
    logits = np.array([[[1.0, 3.0, 2.0, 0.0]]])
    e = [math.exp(v) for v in (1.0, 3.0, 2.0, 0.0)]
    want = [0.0, e[1] / sum(e), e[2] / sum(e), 0.0]  # top-2: experts 1 and 2
    assert apply(route, {"X": logits})[0, 0].tolist() == pytest.approx(want)
    experts = np.arange(2 * 16, dtype=float).reshape(1, 1, 2, 16)
    got = apply(combine, {"E": experts})
    assert got[0, 0].tolist() == [float(i + 16 + i) for i in range(16)]


def test_reference_three_input_add_and_squared_relu() -> None:
    ops = build_block(_tiny("gpt-j-6b", activation="relu2"), "prefill", 1, 1)
    add = _op(ops, "add")
    a, b, c = (np.full((1, 1, 16), v) for v in (1.0, 2.0, 4.0))
    assert np.all(apply(add, {"A": a, "B": b, "C": c}) == 7.0)
    act = _op(ops, "relu2")
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0] + [0.0] * 27).reshape(1, 1, 32)
    assert apply(act, {"X": x})[0, 0, :5].tolist() == [0.0, 0.0, 0.0, 0.25, 9.0]
