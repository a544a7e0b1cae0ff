"""MACs of stacks whose layers differ per layer field, from transformers' modelling code (read
for this test, not from cosamt): Gemma 4's ``per_layer_config`` and LFM2's short convolutions.
Used by tests/test_hf_corpus.py and tests/test_hf_layer_overrides.py."""

from __future__ import annotations

from typing import Any

GEMMA4 = ("gemma4_text", "gemma4_unified_text")
LFM = ("lfm2", "lfm2_moe", "lfm3")


def attention_macs(m: int, n: int, d: int, heads: int, kv: int, dh: int) -> int:
    """q_proj, k_proj, v_proj, Q.K^T and P.V over n keys, o_proj."""
    return m * d * (heads + 2 * kv) * dh + 2 * heads * m * n * dh + m * heads * dh * d


def gemma4_macs(cfg: dict[str, Any], m: int) -> int:
    """Gemma4TextAttention: layer i's head_dim and num_key_value_heads from per_layer_config[i]
    (else the flat fields), keys capped at sliding_window on sliding_attention layers; every
    layer the gated MLP (gate_proj, up_proj, down_proj) of intermediate_size."""
    d, heads, ff = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
    per_layer = {int(k): v for k, v in (cfg.get("per_layer_config") or {}).items()}
    total = 0
    for i, kind in enumerate(cfg["layer_types"]):
        own = per_layer.get(i, {})
        dh = own.get("head_dim", cfg["head_dim"])
        kv = own.get("num_key_value_heads", cfg["num_key_value_heads"])
        n = min(m, cfg["sliding_window"]) if kind == "sliding_attention" else m
        total += attention_macs(m, n, d, heads, kv, dh) + 3 * m * d * ff
    return total


def lfm2_ffn_width(cfg: dict[str, Any]) -> int:
    """Lfm2MLP.__init__: 2/3 of intermediate_size, scaled and rounded up to block_multiple_of."""
    ff = cfg["intermediate_size"]
    if cfg.get("model_type") != "lfm2" or not cfg.get("block_auto_adjust_ff_dim", True):
        return ff
    ff = int(2 * ff / 3)
    mult = cfg.get("block_ffn_dim_multiplier", 1.0)
    if mult is not None:
        ff = int(mult * ff)
        step = cfg.get("block_multiple_of", 256)
        ff = step * ((ff + step - 1) // step)
    return ff


def short_conv_macs(m: int, d: int, taps: int) -> int:
    """Lfm2ShortConv: in_proj (d -> 3d), the depthwise conv (taps per channel), out_proj."""
    return m * d * 3 * d + m * d * taps + m * d * d


def lfm_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """Lfm2DecoderLayer: conv layers Lfm2ShortConv, the others Lfm2Attention (Lfm3Attention with
    its per-head gate projection g_proj when use_attention_gate; head_dim
    hidden / heads unless given); the SwiGLU MLP (w1, w3, w2) below num_dense_layers (lfm2: all),
    the routed experts (router logits, top-k of gated experts) above."""
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv, dh = cfg["num_key_value_heads"], cfg.get("head_dim") or d // heads
    kinds = cfg.get("layer_types")
    if kinds is None:  # Lfm2Config.__post_init__
        idxs = cfg.get("full_attn_idxs") or range(cfg["num_hidden_layers"])
        kinds = ["full_attention" if i in idxs else "conv" for i in range(len(list(idxs)))]
    dense = cfg.get("num_dense_layers", 2) if cfg["model_type"] == "lfm2_moe" else len(kinds)
    out = {"dense": 0, "moe": 0}
    for i, kind in enumerate(kinds):
        if kind == "conv":
            mix = short_conv_macs(m, d, cfg["conv_L_cache"])
        else:
            n = min(m, cfg["sliding_window"]) if kind == "sliding_attention" else m
            mix = attention_macs(m, n, d, heads, kv, dh)
            # Lfm3Attention's g_proj: one sigmoid gate per head from the layer input.
            gate = cfg["model_type"] == "lfm3" and cfg.get("use_attention_gate", True)
            mix += m * d * heads if gate else 0
        if i < dense:
            out["dense"] += mix + 3 * m * d * lfm2_ffn_width(cfg)
        else:
            experts, k = cfg["num_experts"], cfg["num_experts_per_tok"]
            touched = min(experts, m * k)
            per = -(-m * k // touched)
            out["moe"] += (
                mix + m * d * experts + touched * per * 3 * d * cfg["moe_intermediate_size"]
            )
    return out
