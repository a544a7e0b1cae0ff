"""Single families' odd structures (cosamt/workload/odds.py, hf_odds.py): tiny configs, MACs
against the formulas of tests/hf_odds_formulas.py (written from transformers' modelling code),
the new operators' shapes, and a solve end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hf_odds_formulas import (
    dots3_macs,
    hy_v4_macs,
    mistral_large4_macs,
    voxtral_realtime_macs,
)
from support import hf_cli_run, solved_operators

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

M = 8


def macs_by_kind(cfg: dict[str, Any], m: int = M) -> dict[str, int]:
    """MACs per kind of block (moe, dense), as tests/test_hf_corpus.py compares them."""
    model = config_from_dict(cfg, source="test")
    out: dict[str, int] = {}
    for plan, ops in build_workload(model, Phase.PREFILL, 1, m).blocks:
        kind = "moe" if plan.moe else "dense"
        out[kind] = out.get(kind, 0) + model_macs(ops)
    return out


def refused(cfg: dict[str, Any]) -> list[str]:
    with pytest.raises(InputError) as exc:
        config_from_dict(cfg, source="test")
    return [p.path for p in exc.value.problems]


def voxtral_realtime(**text: Any) -> dict[str, Any]:
    """A tiny VoxtralRealtimeConfig: the audio tower is not read, the text model is."""
    return {
        "model_type": "voxtral_realtime",
        "hidden_size": 64,
        "audio_config": {"model_type": "voxtral_realtime_encoder", "hidden_size": 32},
        "text_config": {
            "model_type": "voxtral_realtime_text", "hidden_size": 64, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 96,
            "num_hidden_layers": 2, "hidden_act": "silu", "rms_norm_eps": 1e-5,
            "rope_parameters": {"rope_theta": 1e6, "rope_type": "default"},
            "sliding_window": 4, "vocab_size": 100, **text,
        },
    }  # fmt: skip


def test_voxtral_realtime_macs_and_ada_norm_shapes() -> None:
    """The AdaRMSNorm MLP is one row per layer whatever the batch and tokens (t_cond is one
    embedding per forward); its scaling runs on every token; keys within the window."""
    cfg = voxtral_realtime()
    model = config_from_dict(cfg, source="test")
    blocks = build_workload(model, Phase.PREFILL, 1, M).blocks
    assert {"dense": sum(model_macs(ops) for _, ops in blocks)} == voxtral_realtime_macs(cfg, M)
    ops = {op.name: op for op in build_workload(model, Phase.PREFILL, 3, M).operators}
    assert ops["ada_down"].dims == {"b": 1, "m": 1, "e": 64, "f": 32}
    assert ops["ada_up"].dims == {"b": 1, "m": 1, "e": 32, "f": 64}
    assert ops["ada_scale"].dims == {"b": 3, "m": M, "f": 64}
    assert ops["qk"].dims["n"] == 4
    names = [op.name for op in build_workload(model, Phase.PREFILL, 1, M).operators]
    assert names.index("norm2") < names.index("ada_down") < names.index("ffn_gate")
    decode = {op.name: op for op in build_workload(model, Phase.DECODE, 1, M).operators}
    assert decode["ada_down"].macs == 64 * 32  # recomputed every step: one row again


def test_voxtral_realtime_cli_workload_and_solve(tmp_path: Path) -> None:
    operators, report = hf_cli_run(tmp_path, voxtral_realtime(), 6)
    names = {"ada_down", "ada_act", "ada_up", "ada_scale"}
    assert names <= {op["name"] for op in operators}
    assert report is not None and report["total"]["all_optimal"] is True
    assert names <= solved_operators(report)


def mistral_large4(**extra: Any) -> dict[str, Any]:
    """A tiny MistralLarge4TextConfig: 4 layers, the first dense, the last without rotary."""
    return {
        "model_type": "mistral_large4_text", "hidden_size": 64, "num_attention_heads": 4,
        "num_key_value_heads": 4, "num_hidden_layers": 4, "intermediate_size": 96,
        "moe_intermediate_size": 32, "n_routed_experts": 8, "num_experts_per_tok": 2,
        "n_shared_experts": 1, "kv_lora_rank": 16, "qk_nope_head_dim": 8,
        "qk_rope_head_dim": 8, "qk_head_dim": 16, "head_dim": 8, "v_head_dim": 16,
        "index_n_heads": 2, "index_head_dim": 16, "index_topk": 4, "hidden_act": "silu",
        "rms_norm_eps": 1e-5, "rope_parameters": {"rope_theta": 1e4, "rope_type": "default"},
        "no_rope_layers": [1, 1, 1, 0], "mlp_layer_types": ["dense", "sparse", "sparse", "sparse"],
        "layer_types": ["indexed_attention"] * 4, "indexer_types": ["full"] * 4,
        "kv_source_layers": [0, 1, 2, 3], "vocab_size": 100, **extra,
    }  # fmt: skip


def test_mistral_large4_macs_and_no_rope_layers() -> None:
    """MACs per kind equal the modelling-source formula; the NoPE layer's MLA has no rotated key
    part (kv_down to the latent only, kv_up to all qk_head_dim key features) and no rotary in
    attention or the indexer; the indexer's queries come from the hidden state's LayerNorm."""
    cfg = mistral_large4()
    assert macs_by_kind(cfg) == mistral_large4_macs(cfg, M)
    model = config_from_dict(cfg, source="test")
    blocks = {p.prefix: {op.name.removeprefix(p.prefix): op for op in ops}
              for p, ops in build_workload(model, Phase.PREFILL, 1, M).blocks}  # fmt: skip
    nope = next(ops for prefix, ops in blocks.items() if "rope" not in ops)
    rotary = blocks["dense."]
    assert "idx_rope" not in nope and "idx_rope" in rotary
    assert nope["kv_down"].dims["f"] == 16 and rotary["kv_down"].dims["f"] == 16 + 8
    assert nope["kv_up"].dims["f"] == 4 * (16 + 16) and rotary["kv_up"].dims["f"] == 4 * (8 + 16)
    assert rotary["q_proj"].dims == {"b": 1, "m": M, "e": 64, "f": 4 * 16}
    assert rotary["idx_q"].dims["e"] == 64 and "idx_q_norm" in rotary
    assert rotary["qk"].dims["n"] == 4 and rotary["idx_qk"].dims["n"] == M  # top-k of M keys
    assert "ffn_gate" in rotary and "expert_gate" in nope  # gated MLP and experts


def test_mistral_large4_refusals_name_the_field() -> None:
    assert refused(mistral_large4(indexer_types=["full", "shared", "full", "full"])) == [
        "hf_config.indexer_types"
    ]
    assert refused(mistral_large4(kv_source_layers=[0, 0, 2, 3])) == ["hf_config.kv_source_layers"]
    assert refused(mistral_large4(no_rope_layers=[1, 1, 0])) == ["hf_config.no_rope_layers"]
    # q_lora_rank is not read: MistralLarge4TextAttention has one q_proj.
    assert macs_by_kind(mistral_large4(q_lora_rank=8)) == macs_by_kind(mistral_large4())


def test_mistral_large4_cli_workload_and_solve(tmp_path: Path) -> None:
    operators, report = hf_cli_run(tmp_path, mistral_large4(), 6)
    names = {op["name"] for op in operators}
    assert {"dense.idx_q_norm", "dense.kv_up", "moe.idx_sum"} <= names
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"dense.idx_q_norm", "dense.kv_up"} <= solved_operators(report)


def dots3(**extra: Any) -> dict[str, Any]:
    """A tiny Dots3NoteTextConfig: layers 0 and 3 indexed, 1 and 2 sliding with their own MLA
    heads, latent and non-rotary QK width (per_layer_config, as the corpus's default states)."""
    wide = {"kv_lora_rank": 24, "num_attention_heads": 2, "num_key_value_heads": 2,
            "qk_nope_head_dim": 16}  # fmt: skip
    return {
        "model_type": "dots3_note_text", "hidden_size": 64, "num_attention_heads": 4,
        "num_key_value_heads": 4, "num_hidden_layers": 4, "intermediate_size": 96,
        "moe_intermediate_size": 32, "shared_experts_intermediate_size": 24,
        "n_routed_experts": 8, "num_experts_per_tok": 2, "n_shared_experts": 2,
        "q_lora_rank": 32, "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 8,
        "v_head_dim": 16, "head_dim": 24, "index_n_heads": 2, "index_head_dim": 16,
        "index_topk": 5, "sliding_window": 3, "hidden_act": "silu", "rms_norm_eps": 1e-5,
        "layer_types": ["indexed_attention", "sliding_attention", "sliding_attention",
                        "indexed_attention"],
        "mlp_layer_types": ["dense", "sparse", "sparse", "sparse"],
        "per_layer_config": {"01": wide, "02": wide}, "vocab_size": 100, **extra,
    }  # fmt: skip


def test_dots3_macs_windows_indexer_and_per_layer_mla() -> None:
    """The indexed layers read top-5 of the M keys their indexer scored; the sliding ones, with
    their own heads and latent, 3 keys and no indexer; every layer gates its heads (g_proj)."""
    cfg = dots3()
    assert macs_by_kind(cfg) == dots3_macs(cfg, M)
    model = config_from_dict(cfg, source="test")
    blocks = {p.prefix: {op.name.removeprefix(p.prefix): op for op in ops}
              for p, ops in build_workload(model, Phase.PREFILL, 1, M).blocks}  # fmt: skip
    assert set(blocks) == {"global.dense.", "global.moe.", "local.moe."}
    local, indexed = blocks["local.moe."], blocks["global.moe."]
    assert "idx_qk" not in local and indexed["idx_qk"].dims["n"] == M
    assert local["qk"].dims == {"b": 1, "h": 2, "m": M, "n": 3, "d": 16 + 8}
    assert indexed["qk"].dims == {"b": 1, "h": 4, "m": M, "n": 5, "d": 8 + 8}
    assert local["kv_down"].dims["f"] == 24 + 8 and local["kv_up"].dims["f"] == 2 * (16 + 16)
    assert local["attn_gate_proj"].dims["f"] == 2 and indexed["attn_gate_proj"].dims["f"] == 4
    assert indexed["ffn2"].dims["e"] == 2 * 24  # the shared experts


def test_dots3_refusals_name_the_field() -> None:
    per_layer = dots3()["per_layer_config"]
    assert refused(dots3(per_layer_config={**per_layer, "01": {"v_head_dim": 8}})) == [
        "hf_config.per_layer_config.01.v_head_dim"
    ]
    kv = {"num_attention_heads": 2, "num_key_value_heads": 1}
    assert refused(dots3(per_layer_config={**per_layer, "02": kv})) == [
        "hf_config.per_layer_config.02.num_key_value_heads"
    ]
    assert refused(dots3(layer_types=["indexed_attention", "full_attention"] * 2)) == [
        "hf_config.layer_types"
    ]


def test_dots3_cli_workload_and_solve(tmp_path: Path) -> None:
    operators, report = hf_cli_run(tmp_path, dots3(), 6)
    names = {op["name"] for op in operators}
    assert {"local.moe.kv_up", "global.moe.idx_sum", "local.moe.attn_gate"} <= names
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"local.moe.kv_up", "global.moe.idx_qk"} <= solved_operators(report)


def hy_v4(**extra: Any) -> dict[str, Any]:
    """A tiny HYV4Config: 4 layers (dense, then MoE), layers 2 and 3 reusing layer 1's top-k."""
    return {
        "model_type": "hy_v4", "hidden_size": 64, "num_attention_heads": 4,
        "num_key_value_heads": 4, "num_hidden_layers": 4, "intermediate_size": 96,
        "moe_intermediate_size": 32, "n_routed_experts": 8, "num_experts_per_tok": 2,
        "n_shared_experts": 1, "q_lora_rank": 32, "kv_lora_rank": 16, "qk_nope_head_dim": 8,
        "qk_rope_head_dim": 8, "qk_head_dim": 16, "v_head_dim": 16, "head_dim": 8,
        "index_n_heads": 2, "index_head_dim": 16, "index_topk": 5, "hc_mult": 3,
        "hc_eps": 1e-6, "hc_magnitude": 2.0, "hidden_act": "silu", "rms_norm_eps": 1e-5,
        "layer_types": ["indexed_attention"] * 4, "indexer_types": ["full", "full", "shared", "shared"],
        "mlp_layer_types": ["dense", "sparse", "sparse", "sparse"], "swiglu_limit": 10.0,
        "vocab_size": 100, **extra,
    }  # fmt: skip


def test_hy_v4_macs_hyper_connections_and_shared_indexer() -> None:
    """The shared layers run no indexer but still attend over top-5 keys; each sublayer mixes
    the 3 streams (a GEMM to 6 gates and a contraction over the streams); the head collapses
    them once after the layers."""
    cfg = hy_v4()
    assert macs_by_kind(cfg) == hy_v4_macs(cfg, M)
    model = config_from_dict(cfg, source="test")
    plans = build_workload(model, Phase.PREFILL, 1, M).blocks
    blocks = {p.prefix: {op.name.removeprefix(p.prefix): op for op in ops} for p, ops in plans}
    assert list(blocks) == ["dense.", "moe.", "moe.g3.", "hc_head."]
    shared, full = blocks["moe.g3."], blocks["moe."]
    assert "idx_qk" not in shared and shared["qk"].dims["n"] == 5 and full["idx_qk"].dims["n"] == M
    assert full["attn_hc_mix"].dims == {"b": 1, "m": M, "e": 3 * 64, "f": 6}
    assert full["ffn_hc_pre"].dims == {"b": 1, "m": M, "f": 64, "n": 3}
    assert full["attn_hc_post"].dims == {"b": 1, "m": M, "n": 3, "f": 64}
    assert "residual1" not in full and "expert_sum" in full  # routed + shared, then the post
    assert blocks["hc_head."]["mix"].dims["f"] == 3 and plans[-1][0].count == 1
    assert full["attn_gate_proj"].dims["f"] == 4 * 16  # HYV4Attention.gate_proj


def test_hy_v4_refusals_name_the_field() -> None:
    assert refused(hy_v4(hc_mult=1)) == ["hf_config.hc_mult"]
    assert refused(hy_v4(indexer_types=["shared", "full", "full", "full"])) == [
        "hf_config.indexer_types"
    ]


def test_hy_v4_cli_workload_and_solve(tmp_path: Path) -> None:
    operators, report = hf_cli_run(tmp_path, hy_v4(), 6)
    names = {"moe.attn_hc_mix", "moe.attn_hc_pre", "moe.ffn_hc_post", "hc_head.pre"}
    assert names <= {op["name"] for op in operators}
    assert report is not None and report["total"]["all_optimal"] is True
    assert names <= solved_operators(report)
