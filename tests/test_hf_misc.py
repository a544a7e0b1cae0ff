"""Dory's looped layers, NeoMME's per-layer windows and gated output, FNet's Fourier mixing
(cosamt/workload/hf_misc.py, cosamt/workload/fourier.py): MACs against the formulas of
tests/hf_misc_formulas.py (written from transformers 5.24's modelling code) where the windows
matter, the refusals, and the CLI round trip."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hf_misc_formulas import (
    convbert_macs,
    dory_macs,
    fnet_macs,
    mllama_macs,
    neomme_macs,
    nystromformer_macs,
    recurrent_gemma_macs,
    rwkv_macs,
    xlnet_macs,
    yoso_macs,
    zamba2_macs,
    zamba_macs,
)
from support import hf_cli_run, solved_operators

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

CORPUS = Path(__file__).parent / "data" / "hf_corpus"


def corpus(model_type: str) -> dict[str, Any]:
    return dict(json.loads((CORPUS / f"{model_type}.json").read_text()))


def macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
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


def test_dory_counts_the_layers_as_they_run() -> None:
    """2048 tokens: the sliding layers see 1024 keys, the full ones 2048; 20 recurrent layers
    run twice between 8 input and 8 output layers (DoryConfig halves the released counts)."""
    cfg = corpus("dory")
    model = config_from_dict(cfg, source="test")
    assert model.n_layers == 8 + 2 * 20 + 8
    assert {g.window: g.count for g in model.layer_groups or ()} == {True: 42, False: 14}
    assert macs(cfg, 2048) == dory_macs(cfg, 2048)
    # Three loops: the recurrent layers once more.
    assert macs({**cfg, "n_recurrent_loops": 3}, 2048) == dory_macs(
        {**cfg, "n_recurrent_loops": 3}, 2048
    )
    names = {op.name for op in build_workload(model, Phase.DECODE, 1, 4096).operators}
    assert {"local.attn_gate_proj", "global.attn_sub_norm", "local.ffn_sub_norm"} <= names


def test_dory_refusals_name_the_field() -> None:
    cfg = corpus("dory")
    assert "hf_config.n_recurrent_layers" in refused({**cfg, "n_recurrent_layers": 30})
    assert "hf_config.recurrent_kv_cache_mode" in refused(
        {**cfg, "recurrent_kv_cache_mode": "shared"}
    )
    blocks = ["sliding_attention"] * len(cfg["layer_types"])
    blocks[-1] = "mlp"
    assert "hf_config.layer_types" in refused({**cfg, "layer_types": blocks})


def test_neomme_windows_per_layer() -> None:
    """3000 tokens: the per_layer_config windows of 1024 (2049 keys), the config's 256 where
    per_layer_config leaves a sliding layer out (513 keys), all 3000 on the full layers."""
    cfg = corpus("neomme")
    model = config_from_dict(cfg, source="test")
    keys = sorted(plan.n for plan, _ in build_workload(model, Phase.PREFILL, 1, 3000).blocks)
    assert keys == [513, 2049, 3000]
    assert macs(cfg, 3000) == neomme_macs(cfg, 3000)
    assert macs(cfg, 700) == neomme_macs(cfg, 700)  # the long windows span every token
    assert not model.decoder  # a bidirectional encoder: no decode phase
    with pytest.raises(InputError):
        build_workload(model, Phase.DECODE, 1, 64)


def test_neomme_refusals_name_the_field() -> None:
    cfg = corpus("neomme")
    full_windowed = copy.deepcopy(cfg)
    full_windowed["per_layer_config"]["05"] = {"sliding_window": 64}
    assert "hf_config.per_layer_config.05.sliding_window" in refused(full_windowed)
    other = copy.deepcopy(cfg)
    other["per_layer_config"]["01"] = {"head_dim": 32}
    assert "hf_config.per_layer_config.01" in refused(other)


def test_fnet_fourier_mixing() -> None:
    cfg = corpus("fnet")
    for m in (16, 512):
        assert macs(cfg, m) == fnet_macs(cfg, m)
    model = config_from_dict(cfg, source="test")
    ops = {op.name: op for op in build_workload(model, Phase.PREFILL, 1, 128).operators}
    assert "qk" not in ops and ops["fourier_seq"].dims == {"b": 1, "m": 128, "n": 128, "c": 2,
                                                            "f": 768}  # fmt: skip
    assert "hf_config.hidden_act" in refused({**cfg, "hidden_act": "tanh"})


def test_mllama_cross_attention_layers() -> None:
    """The 8 cross-attention layers read 4 tiles x (32^2 + 1) = 4100 vision tokens: their K/V
    projected in prefill only; in decode each new token's query attends to all of them."""
    cfg = corpus("mllama")
    model = config_from_dict(cfg, source="test")
    assert model.cross_tokens == 4100
    assert macs(cfg, 300) == mllama_macs(cfg, 300)
    ops = {op.name: op for op in build_workload(model, Phase.DECODE, 1, 512).operators}
    assert "cross.xkv_proj" not in ops and "cross.rope" not in ops
    assert ops["cross.xqk"].dims["n"] == 4100 and ops["attn.qk"].dims["n"] == 512
    assert ops["cross.xqk"].count == 8 and ops["attn.qk"].count == 32
    # The text model alone does not state the vision tokens.
    assert "hf_config.cross_attention_layers" in refused(cfg["text_config"])
    text = {**cfg["text_config"], "cross_attention_layers": [3, 40]}  # 40 layers: 0 to 39
    assert refused({**cfg, "text_config": text}) == ["hf_config.cross_attention_layers"]


def test_rwkv_time_and_channel_mixing() -> None:
    """No attention: the WKV recurrence is vector work per channel and token, the same per
    token in decode (no KV cache grows); attention_hidden_size and intermediate_size default
    to hidden and 4 x hidden (RwkvSelfAttention, RwkvFeedForward)."""
    cfg = corpus("rwkv")
    assert macs(cfg, 64) == rwkv_macs(cfg, 64)
    bare = {k: v for k, v in cfg.items() if k not in ("attention_hidden_size", "intermediate_size")}
    bare["hidden_size"] = 512
    assert macs(bare, 8) == rwkv_macs(bare, 8)
    model = config_from_dict(cfg, source="test")
    short, long = (
        {op.name: op for op in build_workload(model, Phase.DECODE, 1, n).operators}
        for n in (16, 4096)
    )
    assert "qk" not in short and short["wkv"].vector_ops == 23 * 4096
    assert {k: v.vector_ops + v.macs for k, v in short.items()} == {
        k: v.vector_ops + v.macs for k, v in long.items()
    }
    assert "hf_config.attention_hidden_size" in refused({**cfg, "attention_hidden_size": -1})


def test_recurrent_gemma_blocks() -> None:
    """26 layers of (recurrent, recurrent, attention): 18 RG-LRU blocks, 8 local-attention
    layers whose keys stop at the 2048-token window (4096 tokens here)."""
    cfg = corpus("recurrent_gemma")
    model = config_from_dict(cfg, source="test")
    assert {g.mixer: g.count for g in model.layer_groups or ()} == {"rglru": 18, "attention": 8}
    for m in (16, 4096):
        assert macs(cfg, m) == recurrent_gemma_macs(cfg, m)
    ops = {op.name: op for op in build_workload(model, Phase.DECODE, 1, 8192).operators}
    assert ops["attn.qk"].dims["n"] == 2048 and "rec.qk" not in ops
    assert ops["rec.rg_gates"].macs == 2 * 10 * 256 * 256
    assert "hf_config.block_types" in refused({**cfg, "block_types": ["recurrent", "mlp"]})


def test_convbert_mixed_attention() -> None:
    """6 attention heads and 6 span-convolution heads of 64 features (12 // head_ratio 2);
    every span operator per token, so it grows linearly with the tokens, attention's scores
    quadratically."""
    cfg = corpus("convbert")
    for m in (16, 512):
        assert macs(cfg, m) == convbert_macs(cfg, m)
    model = config_from_dict(cfg, source="test")
    ops = {op.name: op for op in build_workload(model, Phase.PREFILL, 1, 64).operators}
    assert ops["span_conv"].macs == 64 * 6 * 64 * 9 and ops["qk"].macs == 6 * 64 * 64 * 64
    assert ops["out_proj"].dims["e"] == 768
    assert "hf_config.num_groups" in refused({**cfg, "num_groups": 2})
    assert "hf_config.conv_kernel_size" in refused({**cfg, "conv_kernel_size": 8})


def test_nystromformer_default_is_exact_attention_with_a_value_conv() -> None:
    """num_landmarks == segment_means_seq_len (64): the code's exact softmax branch at any
    length, plus the 65-tap per-head convolution over V; other landmark counts refused."""
    cfg = corpus("nystromformer")
    for m in (16, 256):
        assert macs(cfg, m) == nystromformer_macs(cfg, m)
    ops = {
        op.name: op
        for op in build_workload(config_from_dict(cfg, source="t"), Phase.PREFILL, 1, 256).operators
    }
    assert ops["qk"].dims["n"] == 256 and ops["value_conv"].macs == 256 * 768 * 65
    assert "hf_config.num_landmarks" in refused({**cfg, "num_landmarks": 32})
    assert macs({**cfg, "conv_kernel_size": None}, 32) == nystromformer_macs(
        {**cfg, "conv_kernel_size": None}, 32
    )


def test_yoso_expectation_kernel() -> None:
    """use_expectation: the collision kernel on every score (8 ops, no softmax), the MACs
    BERT's; conv_window adds the per-head convolution over V; the LSH path is refused."""
    cfg = corpus("yoso")
    windowed = {**cfg, "conv_window": 5}
    for c in (cfg, windowed):
        assert macs(c, 128) == yoso_macs(c, 128)
    model = config_from_dict(cfg, source="t")
    ops = {op.name: op for op in build_workload(model, Phase.PREFILL, 1, 128).operators}
    assert "softmax" not in ops and ops["score_kernel"].vector_ops == 8 * 12 * 128 * 128
    assert "hf_config.use_expectation" in refused({**cfg, "use_expectation": False})


def test_zamba_shared_block_and_mamba_layers() -> None:
    """13 hybrid layers (the shared block over the 2 x 3712 concatenation, its linear, Mamba)
    and 63 Mamba-only layers; the configuration class's default layers_block_type when absent;
    decode: the hybrid layers attend to their cache, the Mamba layers have none."""
    cfg = corpus("zamba")
    for m in (16, 300):
        assert macs(cfg, m) == zamba_macs(cfg, m)
    bare = {k: v for k, v in cfg.items() if k != "layers_block_type"}
    assert macs(bare, 16) == zamba_macs(cfg, 16)  # attn_layer_period 6, offset 4: the same list
    model = config_from_dict(cfg, source="t")
    ops = {op.name: op for op in build_workload(model, Phase.DECODE, 1, 1024).operators}
    assert ops["shared.dense.qk"].dims["n"] == 1024 and ops["shared.dense.qk"].count == 13
    assert ops["shared.dense.shared_qkv_proj"].dims["e"] == 2 * 3712
    assert "mamba.qk" not in ops and ops["mamba.ssm_in_proj"].count == 63
    assert "hf_config.attention_hidden_size" in refused({**cfg, "attention_hidden_size": 3712})
    assert "hf_config.hidden_mamba_act" in refused({**cfg, "hidden_mamba_act": "gelu"})


def test_zamba2_adapters_and_mamba2() -> None:
    """9 hybrid layers of 54, each with its adapter of rank 128 on the shared MLP's gate and
    up projection; Mamba-2 mixers; rotary and q/k/v adapters refused by name."""
    cfg = corpus("zamba2")
    for m in (16, 300):
        assert macs(cfg, m) == zamba2_macs(cfg, m)
    ops = {
        op.name: op
        for op in build_workload(config_from_dict(cfg, source="t"), Phase.PREFILL, 1, 16).operators
    }
    assert ops["shared.dense.mlp_adapter_up"].macs == 16 * 128 * 2 * 10240
    assert ops["shared.dense.mlp_adapter_up"].count == 9 and ops["mamba.ssm_write"].count == 45
    assert "hf_config.use_mem_rope" in refused({**cfg, "use_mem_rope": True})
    flag = "use_shared_attention_adapter"
    assert f"hf_config.{flag}" in refused({**cfg, flag: True})


def test_xlnet_content_stream() -> None:
    """The relative positions (klen + qlen = 2 m) give a second score per query and position,
    added to QK^T before softmax; no decode phase (generation's query stream not modelled);
    uni-directional attention and bi_data refused by name."""
    cfg = corpus("xlnet")
    for m in (16, 200):
        assert macs(cfg, m) == xlnet_macs(cfg, m)
    model = config_from_dict(cfg, source="t")
    ops = {op.name: op for op in build_workload(model, Phase.PREFILL, 1, 100).operators}
    assert ops["rel_qk"].dims["p"] == 200 and ops["rel_k_proj"].dims["m"] == 200
    names = [op.name for op in build_workload(model, Phase.PREFILL, 1, 8).operators]
    assert names.index("qk") < names.index("rel_shift_add") < names.index("softmax")
    with pytest.raises(InputError):
        build_workload(model, Phase.DECODE, 1, 64)
    assert "hf_config.attn_type" in refused({**cfg, "attn_type": "uni"})
    assert "hf_config.bi_data" in refused({**cfg, "bi_data": True})


TINY = {
    "dory": {
        "model_type": "dory", "hidden_size": 32, "intermediate_size": 48, "head_dim": 8,
        "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
        "num_hidden_layers": 12, "n_input_layers": 4, "n_output_layers": 4,
        "n_recurrent_layers": 4, "n_recurrent_loops": 2, "sliding_window": 4,
        "layer_types": ["sliding_attention", "mlp", "full_attention", "mlp"] * 3,
        "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1e7},
                            "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}},
    },
    "neomme": {
        "model_type": "neomme", "hidden_size": 32, "intermediate_size": 48, "head_dim": 8,
        "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "relu2",
        "num_hidden_layers": 3, "sliding_window": 1, "norm_eps": 1e-6,
        "layer_types": ["sliding_attention", "sliding_attention", "full_attention"],
        "per_layer_config": {"01": {"sliding_window": 2}, "02": {"sliding_window": None}},
        "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1e6,
                                               "partial_rotary_factor": 0.5},
                            "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}},
    },
    "mllama": {
        "model_type": "mllama",
        "text_config": {
            "model_type": "mllama_text_model", "hidden_size": 32, "intermediate_size": 48,
            "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
            "num_hidden_layers": 3, "cross_attention_layers": [1], "rms_norm_eps": 1e-5,
            "rope_parameters": {"rope_theta": 5e5, "rope_type": "default"}, "vocab_size": 64,
        },
        "vision_config": {"model_type": "mllama_vision_model", "image_size": 28, "patch_size": 14,
                          "max_num_tiles": 2, "hidden_size": 16, "attention_heads": 2},
    },
    "rwkv": {"model_type": "rwkv", "hidden_size": 32, "attention_hidden_size": 16,
             "intermediate_size": 48, "num_hidden_layers": 2, "vocab_size": 64},
    "recurrent_gemma": {
        "model_type": "recurrent_gemma", "hidden_size": 32, "intermediate_size": 96,
        "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 8, "lru_width": 32,
        "num_hidden_layers": 3, "attention_window_size": 4, "conv1d_width": 4,
        "hidden_activation": "gelu_pytorch_tanh", "rms_norm_eps": 1e-6,
        "block_types": ["recurrent", "attention"],
        "rope_parameters": {"partial_rotary_factor": 0.5, "rope_theta": 1e4, "rope_type": "default"},
    },
    "convbert": {
        "model_type": "convbert", "hidden_size": 32, "intermediate_size": 48,
        "num_attention_heads": 4, "head_ratio": 2, "conv_kernel_size": 3, "num_groups": 1,
        "num_hidden_layers": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
    },
    "nystromformer": {
        "model_type": "nystromformer", "hidden_size": 32, "intermediate_size": 48,
        "num_attention_heads": 4, "num_hidden_layers": 2, "hidden_act": "gelu_new",
        "num_landmarks": 8, "segment_means_seq_len": 8, "conv_kernel_size": 5,
        "layer_norm_eps": 1e-5,
    },
    "yoso": {
        "model_type": "yoso", "hidden_size": 32, "intermediate_size": 48,
        "num_attention_heads": 4, "num_hidden_layers": 2, "hidden_act": "gelu",
        "use_expectation": True, "hash_code_len": 9, "conv_window": 3, "layer_norm_eps": 1e-5,
    },
    "zamba": {
        "model_type": "zamba", "hidden_size": 16, "intermediate_size": 48,
        "num_attention_heads": 4, "num_key_value_heads": 4, "num_hidden_layers": 3,
        "hidden_act": "gelu", "hidden_mamba_act": "silu", "mamba_d_state": 4, "mamba_d_conv": 4,
        "mamba_expand": 2, "mamba_dt_rank": 2, "n_mamba_heads": 2, "rms_norm_eps": 1e-5,
        "layers_block_type": ["mamba", "hybrid", "mamba"],
    },
    "zamba2": {
        "model_type": "zamba2", "hidden_size": 16, "intermediate_size": 48,
        "num_attention_heads": 4, "num_key_value_heads": 4, "num_hidden_layers": 3,
        "hidden_act": "gelu", "mamba_d_state": 4, "mamba_d_conv": 4, "mamba_expand": 2,
        "n_mamba_heads": 4, "mamba_ngroups": 1, "adapter_rank": 4, "num_mem_blocks": 1,
        "rms_norm_eps": 1e-5, "layers_block_type": ["mamba", "hybrid", "mamba"],
    },
    "xlnet": {
        "model_type": "xlnet", "d_model": 32, "n_head": 4, "d_head": 8, "d_inner": 48,
        "n_layer": 2, "ff_activation": "gelu", "attn_type": "bi", "bi_data": False,
        "layer_norm_eps": 1e-12, "vocab_size": 64,
    },
    "fnet": {
        "model_type": "fnet", "hidden_size": 32, "intermediate_size": 48, "hidden_act": "gelu_new",
        "num_hidden_layers": 2, "layer_norm_eps": 1e-12, "use_tpu_fourier_optimizations": False,
    },
}  # fmt: skip


@pytest.mark.parametrize("model_type", sorted(TINY))
def test_cli_round_trip(tmp_path: Path, model_type: str) -> None:
    """A tiny config of each goes through ``cosamt workload`` (its MACs the formula's) and
    ``cosamt solve`` (every group proven optimal), FNet's DFT GEMMs included."""
    cfg = TINY[model_type]
    seq = 8
    operators, report = hf_cli_run(tmp_path, cfg, seq)
    formulas = {"dory": dory_macs, "neomme": neomme_macs, "fnet": fnet_macs,
                "mllama": mllama_macs, "rwkv": rwkv_macs,
                "recurrent_gemma": recurrent_gemma_macs, "convbert": convbert_macs,
                "nystromformer": nystromformer_macs, "yoso": yoso_macs, "zamba": zamba_macs,
                "zamba2": zamba2_macs, "xlnet": xlnet_macs}  # fmt: skip
    formula = formulas[model_type]
    listed = sum(op["macs"] * op["count"] for op in operators if op["kind"] == "mac")
    assert listed == formula(cfg, seq)["dense"]
    assert report is not None and report["total"]["all_optimal"] is True
    if model_type == "fnet":
        assert {"fourier_hidden", "fourier_seq"} <= solved_operators(report)
    if model_type == "recurrent_gemma":
        assert {"rec.rg_gates", "rec.rg_lru", "attn.qk"} <= solved_operators(report)
    if model_type == "xlnet":
        assert {"rel_qk", "rel_k_proj", "qk"} <= solved_operators(report)
    if model_type == "zamba2":
        assert {"shared.dense.mlp_adapter_up", "mamba.ssm_write"} <= solved_operators(report)
    if model_type == "zamba":
        assert {"shared.dense.shared_qkv_proj", "mamba.ssm_scan"} <= solved_operators(report)
    if model_type == "yoso":
        assert {"score_kernel", "value_conv", "qk"} <= solved_operators(report)
    if model_type == "nystromformer":
        assert {"value_conv", "qk"} <= solved_operators(report)
    if model_type == "convbert":
        assert {"span_conv", "span_kernel", "qk"} <= solved_operators(report)
    if model_type == "rwkv":
        assert {"wkv", "tm_key", "cm_value"} <= solved_operators(report)
    if model_type == "mllama":  # 2 tiles x (2^2 + 1) vision tokens
        assert {"cross.xkv_proj", "cross.xqk", "cross.xav"} <= solved_operators(report)
