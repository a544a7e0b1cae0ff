"""MACs of stacks with per-layer structure read for the add-on families, from transformers'
modelling code (read for this test, not from cosamt): AFMoE, MiMo-V2-Flash, Llama 4, and
MobileBERT's, SqueezeBERT's, JetMoE's and Doge's blocks. Used by tests/test_hf_corpus.py
and tests/test_hf_addons.py."""

from __future__ import annotations

import math
from typing import Any

from hf_layer_formulas import attention_macs

ADDON_STACKS = (
    "afmoe", "mimo_v2_flash", "llama4_text", "mobilebert", "squeezebert", "jetmoe", "doge",
)  # fmt: skip


def routed_macs(m: int, d: int, experts: int, k: int, width: int, mats: int = 3) -> int:
    """Router logits and the touched experts under balanced routing (mats: 3 gated, 2 plain)."""
    touched = min(experts, m * k)
    return m * d * experts + touched * math.ceil(m * k / touched) * d * width * mats


def afmoe_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """AfmoeDecoderLayer i: AfmoeAttention (q, k, v, o and gate_proj: hidden -> heads x
    head_dim; keys capped at sliding_window on sliding_attention layers), then AfmoeMLP
    (gate, up, down of intermediate_size) below num_dense_layers, else AfmoeSparseMoeBlock:
    the router, the routed experts of moe_intermediate_size and the shared MLP of
    moe_intermediate_size x num_shared_experts."""
    d, heads, kv, dh = (cfg[k] for k in ("hidden_size", "num_attention_heads",
                                          "num_key_value_heads", "head_dim"))  # fmt: skip
    width = cfg["moe_intermediate_size"]
    out = {"dense": 0, "moe": 0}
    for i, kind in enumerate(cfg["layer_types"]):
        n = min(m, cfg["sliding_window"]) if kind == "sliding_attention" else m
        mix = attention_macs(m, n, d, heads, kv, dh) + m * d * heads * dh
        if i < cfg["num_dense_layers"]:
            out["dense"] += mix + 3 * m * d * cfg["intermediate_size"]
        else:
            moe = routed_macs(m, d, cfg["num_experts"], cfg["num_experts_per_tok"], width)
            out["moe"] += mix + moe + 3 * m * d * width * cfg["num_shared_experts"]
    return out


def mimo_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """MiMoV2FlashAttention: q_proj (heads x head_dim), k_proj (kv x head_dim), v_proj (kv x
    v_head_dim), QK^T over head_dim and PV over v_head_dim, o_proj from heads x v_head_dim; kv
    is num_key_value_heads x 2 on sliding_attention layers, whose keys are capped at
    sliding_window. MLP (gated, intermediate_size) on mlp_layer_types dense, MiMoV2FlashMoE
    (router, gated experts of moe_intermediate_size, no shared experts) on sparse."""
    d, heads, dh, v = (cfg[k] for k in ("hidden_size", "num_attention_heads", "head_dim",
                                         "v_head_dim"))  # fmt: skip
    out = {"dense": 0, "moe": 0}
    for kind, mlp in zip(cfg["layer_types"], cfg["mlp_layer_types"], strict=True):
        sliding = kind == "sliding_attention"
        kv = cfg["num_key_value_heads"] * (2 if sliding else 1)
        n = min(m, cfg["sliding_window"]) if sliding else m
        mix = m * d * (heads * dh + kv * dh + kv * v) + heads * m * n * (dh + v) + m * heads * v * d
        if mlp == "dense":
            out["dense"] += mix + 3 * m * d * cfg["intermediate_size"]
        else:
            out["moe"] += mix + routed_macs(m, d, cfg["n_routed_experts"],
                                            cfg["num_experts_per_tok"],
                                            cfg["moe_intermediate_size"])  # fmt: skip
    return out


def chunked_scores(m: int, chunk: int) -> int:
    """Query-key pairs of block-diagonal attention in chunks (create_chunked_causal_mask's
    blocks, each counted whole like full-matrix causal attention): sum of the chunks' squares."""
    full, rest = divmod(m, chunk)
    return full * chunk * chunk + rest * rest


def llama4_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """Llama4TextDecoderLayer: Llama4TextAttention (q, k, v, o; chunked_attention layers attend
    within their chunk of attention_chunk_size), then Llama4TextMoe on moe_layers (the router,
    top-k gated experts of intermediate_size, the shared Llama4TextMLP of intermediate_size on
    every token) or Llama4TextMLP of intermediate_size_mlp."""
    d, heads, kv, dh = (cfg[k] for k in ("hidden_size", "num_attention_heads",
                                          "num_key_value_heads", "head_dim"))  # fmt: skip
    ff = cfg["intermediate_size"]
    out = {"dense": 0, "moe": 0}
    for i, kind in enumerate(cfg["layer_types"]):
        pairs = (
            chunked_scores(m, cfg["attention_chunk_size"]) if kind == "chunked_attention" else m * m
        )
        mix = m * d * (heads + 2 * kv) * dh + 2 * heads * pairs * dh + m * heads * dh * d
        if i in cfg["moe_layers"]:
            moe = routed_macs(m, d, cfg["num_local_experts"], cfg["num_experts_per_tok"], ff)
            out["moe"] += mix + moe + 3 * m * d * ff
        else:
            out["dense"] += mix + 3 * m * d * cfg["intermediate_size_mlp"]
    return out


def mobilebert_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """MobileBertLayer (MobileBertConfig's defaults for absent flags): the Bottleneck's input
    dense (hidden -> true_hidden_size = intra_bottleneck_size under use_bottleneck) and, with
    key_query_shared_bottleneck, a second one for Q and K; query and key from true_hidden_size,
    value from hidden_size (unless use_bottleneck_attention: from the bottleneck); attention over
    heads of true_hidden_size / heads; the self-output dense; num_feedforward_networks FFNs
    (true_hidden_size -> intermediate_size -> true_hidden_size); OutputBottleneck's dense back
    to hidden_size."""
    h, i = cfg["hidden_size"], cfg["intermediate_size"]
    bottleneck = cfg.get("use_bottleneck", True)
    t = cfg["intra_bottleneck_size"] if bottleneck else h
    shared = bottleneck and cfg.get("key_query_shared_bottleneck", True)
    attn_bn = bottleneck and cfg.get("use_bottleneck_attention", False)
    layer = m * h * t if bottleneck else 0  # Bottleneck.input
    layer += m * h * t if shared and not attn_bn else 0  # Bottleneck.attention
    layer += 2 * m * t * t + m * (t if attn_bn else h) * t  # query, key, value
    layer += 2 * m * m * t + m * t * t  # QK^T and PV over all heads, the self-output dense
    layer += cfg.get("num_feedforward_networks", 4) * 2 * m * t * i
    layer += m * t * h if bottleneck else 0  # OutputBottleneck
    return {"dense": cfg["num_hidden_layers"] * layer}


def squeezebert_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """SqueezeBertModule: Conv1d(kernel_size=1, groups=g) from cin to cout channels costs
    cin x cout / g MACs per token (each output channel reads its group's cin / g inputs): Q, K,
    V and the attention output (hidden -> hidden), the FFN's hidden -> intermediate and back;
    QK^T and PV over all heads (hidden features)."""
    h, i = cfg["hidden_size"], cfg["intermediate_size"]
    g = {k: cfg.get(k, 4) for k in ("q_groups", "k_groups", "v_groups", "intermediate_groups",
                                    "output_groups")}  # fmt: skip
    g["post_attention_groups"] = cfg.get("post_attention_groups", 1)
    layer = m * h * h * sum(1 / g[k] for k in ("q_groups", "k_groups", "v_groups"))
    layer += 2 * m * m * h + m * h * h / g["post_attention_groups"]
    layer += m * h * i / g["intermediate_groups"] + m * i * h / g["output_groups"]
    assert layer == int(layer)  # the groups divide the channels
    return {"dense": cfg["num_hidden_layers"] * int(layer)}


def jetmoe_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """JetMoeDecoderLayer (Shen et al. 2024, arXiv:2404.07413): JetMoeMoA's router and, for each
    token's top-k experts, input_linear (hidden -> kv_channels x num_key_value_heads queries)
    and output_linear back; kv_proj (hidden -> 2 x kv_channels x num_key_value_heads); QK^T and
    PV of top_k x num_key_value_heads query heads; JetMoeMoE's router and top-k experts
    (input_linear hidden -> 2 x intermediate_size, chunked into act(a) * b; output_linear)."""
    d, kv, dh = cfg["hidden_size"], cfg["num_key_value_heads"], cfg["kv_channels"]
    experts, k = cfg["num_local_experts"], cfg["num_experts_per_tok"]
    width = kv * dh
    touched = min(experts, m * k)
    per = math.ceil(m * k / touched)
    moa = m * d * experts + touched * per * 2 * d * width + m * d * 2 * width
    moa += 2 * k * kv * m * m * dh
    moe = routed_macs(m, d, experts, k, cfg["intermediate_size"])
    return {"moe": cfg["num_hidden_layers"] * (moa + moe)}


def doge_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """DogeDecoderLayer with is_moe false: DogeAttention's q, k, v and o projections, dt_proj
    (num_key_value_heads x head_dim -> num_key_value_heads) and, after prepare_dynamic_mask
    keeps the top keep_window_size keys per query, QK^T and PV over those; DogeMLP (gated,
    intermediate_size). The num_experts of the config are unused (DogeCDMoE only with is_moe)."""
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads") or heads
    dh = cfg.get("head_dim") or d // heads
    n = min(m, cfg["keep_window_size"])
    layer = m * d * (heads + 2 * kv) * dh + m * kv * dh * kv + 2 * heads * m * n * dh
    layer += m * heads * dh * d + 3 * m * d * cfg["intermediate_size"]
    return {"dense": cfg["num_hidden_layers"] * layer}


def addon_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    formulas = {"afmoe": afmoe_macs, "mimo_v2_flash": mimo_macs, "llama4_text": llama4_macs,
                "mobilebert": mobilebert_macs, "squeezebert": squeezebert_macs,
                "jetmoe": jetmoe_macs, "doge": doge_macs}  # fmt: skip
    return formulas[cfg["model_type"]](cfg, m)
