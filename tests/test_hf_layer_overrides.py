"""Gemma 4's per_layer_config and LFM2's short convolutions as layer groups: tiny configs, MACs
per group counted by hand (prefill, batch 1, 8 tokens), refusals with field paths."""

from __future__ import annotations

from typing import Any

import pytest

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

M = 8
D, FF = 64, 96


def macs_by_prefix(cfg: dict[str, Any]) -> dict[str, int]:
    model = config_from_dict(cfg, source="test")
    blocks = build_workload(model, Phase.PREFILL, 1, M).blocks
    return {plan.prefix: model_macs(ops) for plan, ops in blocks}


def attention(n: int, dh: int) -> int:  # 4 query heads, 2 KV heads
    return M * D * (4 + 2 * 2) * dh + 2 * 4 * M * n * dh + M * 4 * dh * D


GATED_FFN = 3 * M * D * FF


def gemma4(**extra: Any) -> dict[str, Any]:
    return {
        "model_type": "gemma4_unified_text", "hidden_size": D, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 3,
        "intermediate_size": FF, "hidden_activation": "gelu_pytorch_tanh",
        "rms_norm_eps": 1e-6, "sliding_window": 4,
        "layer_types": ["sliding_attention", "sliding_attention", "full_attention"],
        "rope_parameters": {"sliding_attention": {"rope_type": "default"},
                            "full_attention": {"rope_type": "proportional"}},
        "per_layer_config": {"02": {"head_dim": 32}}, **extra,
    }  # fmt: skip


def test_gemma4_groups_by_hand() -> None:
    got = macs_by_prefix(gemma4())
    assert got == {
        "local.": 2 * (attention(4, 16) + GATED_FFN),  # two windowed layers, 4 keys each
        "global.": attention(M, 32) + GATED_FFN,  # the full layer at head dim 32
    }


def test_gemma4_refuses_other_per_layer_fields() -> None:
    with pytest.raises(InputError) as exc:
        config_from_dict(gemma4(per_layer_config={"02": {"sliding_window": 3}}))
    assert [p.path for p in exc.value.problems] == ["hf_config.per_layer_config.02.sliding_window"]


def lfm2(**extra: Any) -> dict[str, Any]:
    return {
        "model_type": "lfm2", "hidden_size": D, "num_attention_heads": 4,
        "num_key_value_heads": 2, "num_hidden_layers": 3, "intermediate_size": FF,
        "block_auto_adjust_ff_dim": False, "conv_L_cache": 3, "norm_eps": 1e-5,
        "layer_types": ["conv", "full_attention", "conv"], **extra,
    }  # fmt: skip


def test_lfm2_conv_and_attention_groups_by_hand() -> None:
    conv = M * D * 3 * D + M * D * 3 + M * D * D  # in_proj, 3-tap depthwise conv, out_proj
    assert macs_by_prefix(lfm2()) == {
        "conv.": 2 * (conv + GATED_FFN),
        "attn.": attention(M, D // 4) + GATED_FFN,
    }


def test_lfm2_ffn_width_adjusted() -> None:
    # Lfm2MLP: int(2 * 384 / 3) = 256, times 1.0, rounded up to a multiple of 96 -> 288.
    cfg = lfm2(intermediate_size=384, block_auto_adjust_ff_dim=True, block_multiple_of=96)
    model = config_from_dict(cfg)
    assert model.d_ff == 288 and model.activation == "swiglu"


def test_lfm_refusals_name_fields() -> None:
    with pytest.raises(InputError) as exc:
        config_from_dict(lfm2(layer_types=["conv", "mamba", "conv"]))
    assert [p.path for p in exc.value.problems] == ["hf_config.layer_types"]
    with pytest.raises(InputError) as exc:
        config_from_dict({**lfm2(), "model_type": "lfm2_moe", "layer_types": None,
                          "num_experts": 4, "num_experts_per_tok": 2,
                          "moe_intermediate_size": 32})  # fmt: skip
    assert [p.path for p in exc.value.problems] == ["hf_config.layer_types"]
