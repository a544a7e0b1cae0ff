"""MACs of stacks whose layers differ per layer field, from transformers' modelling code (read
for this test, not from cosamt): Gemma 4's ``per_layer_config`` and LFM2's short convolutions.
Used by tests/test_hf_corpus.py and tests/test_hf_layer_overrides.py."""

from __future__ import annotations

from typing import Any

GEMMA4 = ("gemma4_text", "gemma4_unified_text")
GEMMA4_ASSISTANT = ("gemma4_unified_assistant",)
GEMMA3N = ("gemma3n_text",)
LFM = ("lfm2", "lfm2_moe", "lfm3")


def attention_macs(m: int, n: int, d: int, heads: int, kv: int, dh: int) -> int:
    """q_proj, k_proj, v_proj, Q.K^T and P.V over n keys, o_proj."""
    return m * d * (heads + 2 * kv) * dh + 2 * heads * m * n * dh + m * heads * dh * d


def gemma4_macs(cfg: dict[str, Any], m: int, all_shared: bool = False) -> int:
    """Gemma4TextAttention: layer i's head_dim and num_key_value_heads from per_layer_config[i]
    (else the flat fields), keys capped at sliding_window on sliding_attention layers; every
    layer the gated MLP (gate_proj, up_proj, down_proj) of intermediate_size. A layer among the
    last num_kv_shared_layers (every layer: all_shared, an assistant's) has no k_proj / v_proj:
    q_proj, Q.K^T and P.V over the stored K and V, o_proj. With hidden_size_per_layer_input p
    (Gemma4TextModel.project_per_layer_inputs, Gemma4TextDecoderLayer.forward): once
    per_layer_model_projection (d -> layers x p), every layer per_layer_input_gate (d -> p) and
    per_layer_projection (p -> d)."""
    d, heads, ff = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
    per_layer = {int(k): v for k, v in (cfg.get("per_layer_config") or {}).items()}
    kinds = cfg["layer_types"]
    first_shared = 0 if all_shared else len(kinds) - (cfg.get("num_kv_shared_layers") or 0)
    ple = cfg.get("hidden_size_per_layer_input") or 0
    total = m * d * len(kinds) * ple
    for i, kind in enumerate(kinds):
        own = per_layer.get(i, {})
        dh = own.get("head_dim", cfg["head_dim"])
        kv = own.get("num_key_value_heads", cfg["num_key_value_heads"])
        n = min(m, cfg["sliding_window"]) if kind == "sliding_attention" else m
        attn = attention_macs(m, n, d, heads, kv, dh)
        if i >= first_shared:
            attn -= 2 * m * d * kv * dh  # no k_proj, v_proj
        total += attn + 3 * m * d * ff + 2 * m * d * ple
    return total


def gemma4_assistant_macs(cfg: dict[str, Any], m: int) -> int:
    """Gemma4UnifiedAssistantForCausalLM: pre_projection (2 x backbone_hidden_size -> hidden),
    its text model with every layer reading the target's K and V
    (Gemma4UnifiedAssistantConfig sets num_kv_shared_layers = num_hidden_layers), and
    post_projection (hidden -> backbone_hidden_size)."""
    text, target = cfg["text_config"], cfg["backbone_hidden_size"]
    d = text["hidden_size"]
    return m * 2 * target * d + gemma4_macs(text, m, all_shared=True) + m * d * target


def gemma3n_macs(cfg: dict[str, Any], m: int) -> int:
    """Gemma3nTextModel and Gemma3nTextDecoderLayer: before the layers per_layer_model_projection
    (d -> layers x p) and altup_projections (d -> d for each of the A - 1 extra copies); per
    layer AltUp's predict (modality_router d -> A, prediction_coefs A -> A^2, the copies mixed:
    d x A x A per token), LAuReL (linear_left d -> rank, linear_right rank -> d), attention (no
    k_proj / v_proj on the last num_kv_shared_layers), the gated MLP of intermediate_size[i]
    (its Gaussian top-k sparsifies, the matmuls run dense), AltUp's correct (modality_router
    d -> A, correction_coefs A -> A), per_layer_input_gate and per_layer_projection; after the
    layers altup_unembed_projections (d -> d for each extra copy)."""
    d, heads, kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    dh, a, rank = cfg["head_dim"], cfg["altup_num_inputs"], cfg["laurel_rank"]
    ple, kinds = cfg["hidden_size_per_layer_input"], cfg["layer_types"]
    widths = cfg["intermediate_size"]
    widths = widths if isinstance(widths, list) else [widths] * len(kinds)
    first_shared = len(kinds) - cfg["num_kv_shared_layers"]
    total = m * d * len(kinds) * ple + 2 * (a - 1) * m * d * d
    for i, kind in enumerate(kinds):
        n = min(m, cfg["sliding_window"]) if kind == "sliding_attention" else m
        attn = attention_macs(m, n, d, heads, kv, dh)
        if i >= first_shared:
            attn -= 2 * m * d * kv * dh
        predict = m * d * a + m * a * a * a + m * d * a * a
        correct = m * d * a + m * a * a
        laurel = 2 * m * d * rank
        total += predict + laurel + attn + 3 * m * d * widths[i] + correct + 2 * m * d * ple
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
