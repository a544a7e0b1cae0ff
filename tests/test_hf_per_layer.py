"""Gemma's per-layer inputs and KV sharing (cosamt.workload.per_layer): tiny Gemma 4 configs,
MACs per block counted by hand from transformers' modelling code (prefill, batch 1, 8 tokens),
refusals naming their fields, and one tiny model solved end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import hf_cli_run, solved_operators
from typer.testing import CliRunner

from cosamt.cli import app
from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

M = 8
D, FF, P, TARGET = 64, 96, 8, 48


def macs_by_prefix(cfg: dict[str, Any], phase: Phase = Phase.PREFILL) -> dict[str, int]:
    model = config_from_dict(cfg, source="test")
    blocks = build_workload(model, phase, 1, M).blocks
    return {plan.prefix: model_macs(ops) for plan, ops in blocks}


def q_and_o(dh: int) -> int:  # q_proj and o_proj of 4 query heads
    return 2 * M * D * 4 * dh


def kv(dh: int) -> int:  # k_proj and v_proj of 2 KV heads
    return 2 * M * D * 2 * dh


def scores(m: int, n: int, dh: int) -> int:  # Q.K^T and P.V of 4 heads
    return 2 * 4 * m * n * dh


GATED_FFN = 3 * M * D * FF
PLE_LAYER = 2 * M * D * P  # per_layer_input_gate (d -> p), per_layer_projection (p -> d)


def gemma4(**extra: Any) -> dict[str, Any]:
    return {
        "model_type": "gemma4_text", "hidden_size": D, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 4,
        "intermediate_size": FF, "hidden_activation": "gelu_pytorch_tanh",
        "rms_norm_eps": 1e-6, "sliding_window": 4,
        "layer_types": ["sliding_attention", "full_attention"] * 2,
        "rope_parameters": {"sliding_attention": {"rope_type": "default"},
                            "full_attention": {"rope_type": "proportional"}},
        "per_layer_config": {"01": {"head_dim": 32}, "03": {"head_dim": 32}},
        "hidden_size_per_layer_input": P, "num_kv_shared_layers": 0, **extra,
    }  # fmt: skip


def test_per_layer_inputs_by_hand() -> None:
    """Gemma4TextModel.project_per_layer_inputs: per_layer_model_projection (d -> 4 layers x p)
    once per token; every Gemma4TextDecoderLayer its gate and projection."""
    local = q_and_o(16) + kv(16) + scores(M, 4, 16) + GATED_FFN + PLE_LAYER
    full = q_and_o(32) + kv(32) + scores(M, M, 32) + GATED_FFN + PLE_LAYER
    assert macs_by_prefix(gemma4()) == {
        "ple.": M * D * 4 * P,
        "local.": 2 * local,
        "global.": 2 * full,
    }


def test_per_layer_input_operators() -> None:
    model = config_from_dict(gemma4(), source="test")
    blocks = build_workload(model, Phase.PREFILL, 1, M).blocks
    front = {op.name: op for op in blocks[0][1]}
    assert list(front) == ["ple.model_proj", "ple.proj_norm", "ple.combine_inputs"]
    # The norm runs over each layer's p features (its weight p wide), the combine reads the
    # looked-up per-layer rows E.
    assert front["ple.proj_norm"].dims == {"b": 1, "m": M, "l": 4, "f": P}
    assert front["ple.proj_norm"].tensor("G").dims == ("f",)
    assert front["ple.combine_inputs"].tensor("E").dims == ("b", "m", "l", "f")
    layer = [op.name for op in blocks[1][1]]
    assert layer[-5:] == ["local.ple_gate", "local.ple_act", "local.ple_proj",
                          "local.ple_norm", "local.ple_residual"]  # fmt: skip
    act = next(op for op in blocks[1][1] if op.name == "local.ple_act")
    assert act.op == "geglu" and act.dims["f"] == P
    assert any("per-layer inputs (8 wide)" in a for a in build_workload(
        model, Phase.PREFILL, 1, M).assumptions)  # fmt: skip


def test_kv_shared_layers_by_hand() -> None:
    """The last two layers reuse K and V (kv_sharing_modes "reuse"): q_proj and o_proj only,
    attention over the producer's keys (a window of 4 on the sliding one)."""
    got = macs_by_prefix(gemma4(num_kv_shared_layers=2, hidden_size_per_layer_input=0))
    assert got == {
        "local.": q_and_o(16) + kv(16) + scores(M, 4, 16) + GATED_FFN,
        "global.": q_and_o(32) + kv(32) + scores(M, M, 32) + GATED_FFN,
        "local.kvshared.": q_and_o(16) + scores(M, 4, 16) + GATED_FFN,
        "global.kvshared.": q_and_o(32) + scores(M, M, 32) + GATED_FFN,
    }
    model = config_from_dict(gemma4(num_kv_shared_layers=2), source="test")
    ops = dict(build_workload(model, Phase.DECODE, 1, M).blocks)
    shared = next(o for plan, o in ops.items() if plan.prefix == "global.kvshared.")
    names = [op.name for op in shared]
    assert "global.kvshared.q_proj" in names and not any("qkv" in n for n in names)
    rope = next(op for op in shared if op.name.endswith("rope"))
    assert rope.dims["f"] == 4 * 32  # Q only: 4 heads x their 32 rotated features
    qk = next(op for op in shared if op.name.endswith(".qk"))
    assert qk.dims["n"] == M  # decode: the producer's cached keys


def assistant(**extra: Any) -> dict[str, Any]:
    text = gemma4(model_type="gemma4_unified_text", hidden_size_per_layer_input=None,
                  num_kv_shared_layers=4)  # fmt: skip
    return {"model_type": "gemma4_unified_assistant", "backbone_hidden_size": TARGET,
            "use_ordered_embeddings": False, "text_config": text, **extra}  # fmt: skip


def test_assistant_reads_its_targets_kv() -> None:
    """Gemma4UnifiedAssistantForCausalLM: pre_projection (2 x target -> d), every layer only Q
    against the target's K and V, post_projection (d -> target)."""
    assert macs_by_prefix(assistant()) == {
        "asst.": M * 2 * TARGET * D,
        "local.": 2 * (q_and_o(16) + scores(M, 4, 16) + GATED_FFN),
        "global.": 2 * (q_and_o(32) + scores(M, M, 32) + GATED_FFN),
        "asst_out.": M * D * TARGET,
    }
    model = config_from_dict(assistant(), source="test")
    assert model.assistant_target_width == TARGET
    assert any("drafting assistant" in a for a in model.assumptions + tuple(
        build_workload(model, Phase.DECODE, 1, M).assumptions))  # fmt: skip


@pytest.mark.parametrize(
    ("cfg", "path"),
    [
        (gemma4(num_kv_shared_layers=4), "num_kv_shared_layers"),  # no producer in the model
        (gemma4(num_kv_shared_layers=5), "num_kv_shared_layers"),
        (gemma4(layer_types=["sliding_attention"] * 3 + ["full_attention"],
                per_layer_config={}, num_kv_shared_layers=1), "num_kv_shared_layers"),
        (gemma4(num_kv_shared_layers=2, use_double_wide_mlp=True), "use_double_wide_mlp"),
        (gemma4(num_kv_shared_layers=2, per_layer_config={"01": {"head_dim": 32}}),
         "per_layer_config.03"),  # reuses layer 1's K and V at another head dim
        (gemma4(hidden_size_per_layer_input=-1), "hidden_size_per_layer_input"),
        (assistant(use_ordered_embeddings=True), "use_ordered_embeddings"),
    ],
)  # fmt: skip
def test_refusals_name_fields(cfg: dict[str, Any], path: str) -> None:
    with pytest.raises(InputError) as exc:
        config_from_dict(cfg, source="test")
    assert [p.path for p in exc.value.problems] == [f"hf_config.{path}"]


def test_other_types_still_refuse_per_layer_inputs() -> None:
    cfg = {**gemma4(), "model_type": "llama", "layer_types": None, "per_layer_config": None}
    with pytest.raises(InputError) as exc:
        config_from_dict(cfg, source="test")
    assert "hf_config.hidden_size_per_layer_input" in [p.path for p in exc.value.problems]


def test_tiny_gemma4_solves(tmp_path: Path) -> None:
    """Per-layer inputs (a norm over layers x features), KV-shared layers: through ``cosamt
    workload`` and scheduled by ``cosamt solve`` (every group proven optimal, the evaluator
    agreeing, else exit 1)."""
    cfg = gemma4(num_kv_shared_layers=2, hidden_size=16, intermediate_size=16)
    operators, report = hf_cli_run(tmp_path, cfg, 4)
    names = {op["name"] for op in operators}
    assert {"ple.proj_norm", "global.kvshared.q_proj", "local.ple_act"} <= names
    assert report is not None and report["total"]["all_optimal"] is True
    scheduled = solved_operators(report)
    assert {"ple.combine_inputs", "local.kvshared.qk", "global.ple_residual"} <= scheduled


A, RANK = 3, 4


def gemma3n(**extra: Any) -> dict[str, Any]:
    return {
        "model_type": "gemma3n_text", "hidden_size": D, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 4,
        "intermediate_size": [FF] * 4, "hidden_activation": "gelu_pytorch_tanh",
        "rms_norm_eps": 1e-6, "sliding_window": 4,
        "layer_types": ["sliding_attention", "full_attention"] * 2,
        "rope_parameters": {"sliding_attention": {"rope_type": "default"},
                            "full_attention": {"rope_type": "default"}},
        "hidden_size_per_layer_input": P, "num_kv_shared_layers": 2, "altup_num_inputs": A,
        "altup_active_idx": 0, "laurel_rank": RANK, "altup_correct_scale": True,
        "activation_sparsity_pattern": [0.95, 0.95, 0.0, 0.0], **extra,
    }  # fmt: skip


def test_gemma3n_by_hand() -> None:
    """Gemma3nTextDecoderLayer: AltUp predict (router d -> A, coefficients A -> A^2, the A
    copies mixed: d x A x A per token), LAuReL (d -> rank -> d), attention, the gated MLP,
    AltUp correct (router d -> A, coefficients A -> A), the per-layer input's gate and
    projection; Gemma3nTextModel: per_layer_model_projection, and A - 1 copies made (d -> d)
    before the layers and merged after."""
    altup = M * D * A + M * A**3 + M * D * A * A + M * D * A + M * A * A
    laurel = 2 * M * D * RANK
    around = altup + laurel + GATED_FFN + PLE_LAYER
    got = macs_by_prefix(gemma3n())
    assert got == {
        "ple.": M * D * 4 * P,
        "altup_in.": (A - 1) * M * D * D,
        "local.sparse.": q_and_o(16) + kv(16) + scores(M, 4, 16) + around,
        "global.sparse.": q_and_o(16) + kv(16) + scores(M, M, 16) + around,
        "local.kvshared.": q_and_o(16) + scores(M, 4, 16) + around,
        "global.kvshared.": q_and_o(16) + scores(M, M, 16) + around,
        "altup_out.": (A - 1) * M * D * D,
    }


def test_gemma3n_operators() -> None:
    model = config_from_dict(gemma3n(), source="test")
    assert model.altup is not None and model.altup.inputs == A
    blocks = {plan.prefix: ops for plan, ops in build_workload(model, Phase.PREFILL, 1, M).blocks}
    sparse = {op.name: op for op in blocks["local.sparse."]}
    predict = sparse["local.sparse.altup_predict"]
    assert predict.dims == {"j": A, "b": 1, "m": M, "f": D, "i": A}
    assert predict.tensor("C").dims == ("b", "m", "i", "j")  # per-token coefficients: an input
    names = list(sparse)
    assert names.index("local.sparse.ffn_sparsify") == names.index("local.sparse.ffn_gate") + 1
    assert "local.kvshared.ffn_sparsify" not in {op.name for op in blocks["local.kvshared."]}
    residual = sparse["local.sparse.ple_residual"]  # added to every copy but the first
    assert residual.dims["j"] == A - 1
    notes = build_workload(model, Phase.PREFILL, 1, M).assumptions
    assert any("AltUp with 3 copies" in a for a in notes)
    assert any("activation sparsity on 2 of 4 layers" in a for a in notes)


@pytest.mark.parametrize(
    ("cfg", "path"),
    [
        (gemma3n(intermediate_size=[FF, FF, 2 * FF, FF]), "intermediate_size"),
        (gemma3n(altup_num_inputs=1), "altup_num_inputs"),
        (gemma3n(altup_active_idx=3), "altup_active_idx"),
        (gemma3n(activation_sparsity_pattern=[0.95]), "activation_sparsity_pattern"),
        (gemma3n(num_kv_shared_layers=4), "num_kv_shared_layers"),
    ],
)
def test_gemma3n_refusals_name_fields(cfg: dict[str, Any], path: str) -> None:
    with pytest.raises(InputError) as exc:
        config_from_dict(cfg, source="test")
    assert [p.path for p in exc.value.problems] == [f"hf_config.{path}"]


def test_tiny_gemma3n_solves(tmp_path: Path) -> None:
    """AltUp's copies (four-dimensional operators), the sparse gate, KV-shared layers:
    scheduled by ``cosamt solve`` in prefill and decode, every group proven optimal."""
    cfg = gemma3n(hidden_size=16, intermediate_size=16, head_dim=8)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    runner = CliRunner()
    for phase in ("prefill", "decode"):
        inst = tmp_path / f"{phase}.json"
        options = {"time_limit_s": 120, "threads": 1, "fusion": "none"}
        inst.write_text(json.dumps({"model": {"hf_config": "config.json"}, "seq_len": 4,
                                    "phase": phase, "arch": "edge", "options": options}))  # fmt: skip
        solved = runner.invoke(app, ["solve", str(inst), "--json"])
        assert solved.exit_code == 0, solved.stdout
        data = json.loads(solved.stdout)
        assert data["total"]["all_optimal"] is True
        scheduled = {op for g in data["groups"] for op in g["operators"]}
        assert {"altup_in.expand_scale", "local.sparse.altup_predict",
                "global.kvshared.altup_correct", "altup_out.copies_mean"} <= scheduled  # fmt: skip


def test_mistral_large4_default_kv_sources_are_not_sharing() -> None:
    """MistralLarge4TextConfig's default kv_source_layers is every layer its own (no sharing):
    accepted (its no-rotary MLA layers and its indexer without a query latent are modelled:
    tests/test_hf_odds.py); a layer reading another's latent KV is refused by the key, and a
    stated q_lora_rank is not read (the code has no Q-LoRA), stated."""
    base = json.loads((Path(__file__).parent / "data" / "hf_corpus" /
                       "mistral_large4_text.json").read_text())  # fmt: skip
    model = config_from_dict({**base, "q_lora_rank": 1536}, source="test")
    assert model.q_lora_rank is None and any("q_lora_rank ignored" in a for a in model.assumptions)
    shared = {**base, "kv_source_layers": [0, 0, *range(2, 72)]}
    with pytest.raises(InputError) as exc:
        config_from_dict(shared, source="test")
    assert [p.path for p in exc.value.problems] == ["hf_config.kv_source_layers"]
