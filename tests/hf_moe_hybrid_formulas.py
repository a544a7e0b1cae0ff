"""Independent MAC formulas for linear-attention MoE hybrids, written from transformers'
modelling sources (5.24.0), layer by layer as each ``*DecoderLayer`` builds its sublayers:

* ``kimi_linear`` (modeling_kimi_linear.py): ``KimiLinearDeltaAttention`` on ``linear_attention``
  layers, ``KimiLinearAttention`` (MLA) on ``full_attention`` ones; ``KimiLinearMoE`` where
  ``mlp_layer_types`` says ``sparse``, else ``KimiLinearMLP``;
* ``bailing_hybrid`` (modeling_bailing_hybrid.py): the same with ``BailingHybridDeltaAttention``
  (full-rank ``f_proj`` and ``g_proj``) and ``BailingHybridAttention`` (MLA plus ``g_proj``, one
  sigmoid gate per head);
* ``lara_mini`` (modeling_lara_mini.py): ``LaraMiniGatedDeltaNet`` on ``linear_attention``
  layers, ``LaraMiniAttention`` on the others (windowed on ``sliding_attention``), every layer
  ``LaraMiniSparseMoeBlock``;
* ``inkling_text`` (modeling_inkling.py): ``InklingDecoderLayer``, attention with relative logits
  and short convolutions on every layer (windowed with the swa_* heads on ``hybrid_sliding``),
  ``InklingMoE`` or ``InklingMLP`` by ``mlp_layer_types``, a short convolution after each sublayer;
* ``axk2`` (modeling_axk2.py): ``AXK2DecoderLayer``, ``AXK2GatedRMSNorm`` in and (MoE layers)
  after attention, ``AXK2Attention`` (MLA, the DSA indexer, ``q_gate_proj``), ``AXK2MoE`` or
  ``AXK2MLP`` by ``mlp_layer_types``;
* ``zaya`` (modeling_zaya.py): ``ZayaDecoderLayer``, ``ZayaAttention`` on the CCA projection,
  ``ZayaSparseMoeBlock`` with the MLP router (``ZayaRouter``);
* ``longcat_flash`` (modeling_longcat_flash.py): ``LongcatFlashDecoderLayer``, two
  ``LongcatFlashMLA`` and two ``LongcatFlashMLP`` sublayers and one shortcut ``LongcatFlashMoE``;
* ``minimax`` (modeling_minimax.py): ``MiniMaxLightningAttention`` on ``linear_attention``
  layers, ``MiniMaxAttention`` on ``full_attention`` ones, every layer ``MiniMaxSparseMoeBlock``.

Every count is m tokens through one layer (batch 1, prefill, full score matrices).
"""

from __future__ import annotations

import math
from typing import Any

MOE_HYBRIDS = frozenset(
    {"kimi_linear", "bailing_hybrid", "lara_mini", "minimax", "inkling_text", "axk2", "zaya"}
    | {"longcat_flash"}
)


def kda_macs(cfg: dict[str, Any], m: int) -> int:
    """Kimi Delta Attention: q_proj, k_proj, v_proj (hidden -> heads x head_dim each), conv1d over
    the three (depthwise, linear_conv_kernel_dim taps), the forget gate (Kimi: f_a_proj hidden ->
    head_dim, f_b_proj head_dim -> heads x head_dim; Bailing: f_proj hidden -> heads x
    head_dim), b_proj (hidden -> heads), the state per head read (S^T k), written (k delta^T) and
    read out (S^T q), the output gate (Kimi: g_a_proj, g_b_proj; Bailing: g_proj), o_proj."""
    d, heads, k = cfg["hidden_size"], cfg["linear_num_heads"], cfg["linear_head_dim"]
    width = heads * k
    low_rank = cfg["model_type"] == "kimi_linear"
    gate = m * (d * k + k * width) if low_rank else m * d * width
    qkv = 3 * m * d * width + 3 * m * width * cfg["linear_conv_kernel_dim"]
    return qkv + 2 * gate + m * d * heads + 3 * m * heads * k * k + m * width * d


def mla_macs(cfg: dict[str, Any], m: int, n: int) -> int:
    """DeepseekV3-style MLA (KimiLinearAttention, BailingHybridAttention): q_proj (or q_a_proj,
    q_b_proj), kv_a_proj_with_mqa to kv_lora_rank + qk_rope_head_dim, kv_b_proj to heads x
    (qk_nope_head_dim + v_head_dim), QK^T over nope + rope features, P.V, o_proj; Bailing's
    g_proj (hidden -> heads)."""
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    ql, kvl = cfg.get("q_lora_rank"), cfg["kv_lora_rank"]
    nope, rope, v = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    q = m * d * ql + m * ql * heads * (nope + rope) if ql else m * d * heads * (nope + rope)
    kv = m * d * (kvl + rope) + m * kvl * heads * (nope + v)
    scores = heads * m * n * (nope + rope) + heads * m * n * v
    gate = m * d * heads if cfg["model_type"] == "bailing_hybrid" else 0
    return q + kv + scores + m * heads * v * d + gate


def gated_deltanet_macs(cfg: dict[str, Any], m: int) -> int:
    """LaraMiniGatedDeltaNet (Qwen3.5's): in_proj_qkv (hidden -> 2 key + value widths), in_proj_z
    (-> value width), in_proj_b and in_proj_a (-> one per value head), conv1d over q, k, v, the
    d_k x d_v state per value head read, written and read out, out_proj."""
    d, vh = cfg["hidden_size"], cfg["linear_num_value_heads"]
    dk, dv = cfg["linear_key_head_dim"], cfg["linear_value_head_dim"]
    key, value = cfg["linear_num_key_heads"] * dk, vh * dv
    proj = m * d * (2 * key + value) + m * d * value + 2 * m * d * vh
    conv = m * (2 * key + value) * cfg["linear_conv_kernel_dim"]
    return proj + conv + 3 * m * vh * dk * dv + m * value * d


def lightning_macs(cfg: dict[str, Any], m: int) -> int:
    """MiniMaxLightningAttention's prefill (no cache): qkv_proj (hidden -> 3 x heads x e); per
    block of b tokens (block_size, the last one shorter) Q K^T and (. * decay) V within the block
    (2 h b^2 e), (Q * q_decay) @ S and (K * k_decay)^T V against the e x e state (2 h b e^2);
    output_gate (hidden -> heads x e), out_proj."""
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    e = cfg.get("head_dim") or d // heads
    full, tail = divmod(m, cfg["block_size"])
    blocks = [cfg["block_size"]] * full + ([tail] if tail else [])
    mixing = sum(2 * heads * b * b * e + 2 * heads * b * e * e for b in blocks)
    return m * d * 3 * heads * e + mixing + m * d * heads * e + m * heads * e * d


def gqa_macs(cfg: dict[str, Any], m: int, n: int) -> int:
    """LaraMiniAttention, MiniMaxAttention: q_proj, k_proj, v_proj, QK^T and P.V over n keys,
    o_proj."""
    d, heads, kv = (cfg[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads"))
    dh = cfg.get("head_dim") or d // heads
    return m * d * (heads + 2 * kv) * dh + 2 * heads * m * n * dh + m * heads * dh * d


def moe_macs(
    cfg: dict[str, Any], m: int, experts: int, k: int, shared: int, width: int | None = None
) -> int:
    """Router logits (hidden -> experts), the routed gated experts of ``width`` (default
    moe_intermediate_size) under balanced routing (touched experts each take ceil(m k / touched)
    tokens), a gated shared MLP of ``shared``."""
    d, width = cfg["hidden_size"], width or cfg["moe_intermediate_size"]
    touched = min(experts, m * k)
    routed = touched * math.ceil(m * k / touched) * 3 * d * width
    return m * d * experts + routed + 3 * m * d * shared


def inkling_layer_macs(cfg: dict[str, Any], m: int, sliding: bool, sparse: bool) -> int:
    """InklingDecoderLayer: InklingAttention's q_proj, k_proj, v_proj, r_proj (hidden -> heads x
    d_rel), k_sconv and v_sconv (depthwise, conv_kernel_size taps), the relative logits (each
    head's d_rel states times the d_rel x rel_extent bank; rel_extent is sliding_window_size on
    sliding layers), QK^T and P.V over n keys, o_proj; attn_sconv; the MLP (gate, up, down) or
    InklingMoE: the router over routed + shared experts, the routed experts, n_shared_experts
    shared ones of moe_intermediate_size (gate, up, down); mlp_sconv."""
    d, k = cfg["hidden_size"], cfg["conv_kernel_size"]
    pre = "swa_" if sliding else ""
    heads, kv = cfg[f"{pre}num_attention_heads"], cfg[f"{pre}num_key_value_heads"]
    dh = cfg["swa_head_dim" if sliding else "head_dim"]
    window = cfg["sliding_window_size"]
    n, extent = (min(m, window), window) if sliding else (m, cfg["rel_extent"])
    attn = m * d * (heads + 2 * kv) * dh + m * d * heads * cfg["d_rel"]
    attn += m * 2 * kv * dh * k + m * heads * cfg["d_rel"] * extent
    attn += 2 * heads * m * n * dh + m * heads * dh * d
    if sparse:
        experts, shared = cfg["n_routed_experts"], cfg["n_shared_experts"]
        width, top = cfg["moe_intermediate_size"], cfg["num_experts_per_tok"]
        touched = min(experts, m * top)
        ffn = m * d * (experts + shared) + touched * math.ceil(m * top / touched) * 3 * d * width
        ffn += shared * 3 * m * d * width
    else:
        ffn = 3 * m * d * cfg["intermediate_size"]
    return attn + 2 * m * d * k + ffn


def axk2_layer_macs(cfg: dict[str, Any], m: int, sparse: bool) -> int:
    """AXK2DecoderLayer at m tokens (all keys within index_topk or not): AXK2GatedRMSNorm's fc1
    (hidden -> gated_norm_rank) and fc2 on the input norm, and on the post-attention norm of a
    MoE layer; AXK2Attention: q_a_proj (hidden -> q_lora_rank), q_gate_proj (2 q_lora_rank ->
    heads x (qk_head_dim + v_head_dim)), kv_a_proj_with_mqa, kv_b_proj; AXK2Indexer: wq_b
    (q_lora_rank -> index heads x index_head_dim), wk (hidden -> index_head_dim), weights_proj
    (hidden -> index heads), the scores of every key and their weighted head sum; QK^T and P.V
    over min(keys, index_topk); o_proj; the MLP or AXK2MoE (router, routed experts,
    n_shared_experts x moe_intermediate_size shared)."""
    d, heads, ql = cfg["hidden_size"], cfg["num_attention_heads"], cfg["q_lora_rank"]
    kvl, rope = cfg["kv_lora_rank"], cfg["qk_rope_head_dim"]
    qk, v = cfg["qk_nope_head_dim"] + rope, cfg["v_head_dim"]
    ih, idim = cfg["index_n_heads"], cfg["index_head_dim"]
    n = min(m, cfg["index_topk"])
    norms = (2 if sparse else 1) * 2 * m * d * cfg["gated_norm_rank"]
    attn = m * d * ql + m * 2 * ql * heads * (qk + v)
    attn += m * d * (kvl + rope) + m * kvl * heads * (cfg["qk_nope_head_dim"] + v)
    attn += m * ql * ih * idim + m * d * idim + m * d * ih + ih * m * m * idim + ih * m * m
    attn += heads * m * n * qk + heads * m * n * v + m * heads * v * d
    if sparse:
        shared = cfg["n_shared_experts"] * cfg["moe_intermediate_size"]
        ffn = moe_macs(cfg, m, cfg["n_routed_experts"], cfg["num_experts_per_tok"], shared)
    else:
        ffn = 3 * m * d * cfg["intermediate_size"]
    return norms + attn + ffn


def zaya_layer_macs(cfg: dict[str, Any], m: int) -> int:
    """ZayaDecoderLayer on ``hybrid`` (full causal) layers: ZayaCCAProjection's q_proj, k_proj,
    v_proj_current and v_proj_delayed (half a KV width each), conv_qk_depthwise (cca_time0 taps
    over the query and key channels), conv_qk_grouped (one group per query and key head of
    head_dim channels in and out, cca_time1 taps); QK^T and P.V; o_proj; ZayaRouter: down_proj
    (hidden -> router_hidden_size), router_mlp's fc1 and fc2 (router -> router) and out_proj (->
    experts + 1 skip); the top-1 expert of every token (a skip pick runs expert 0), balanced."""
    d, heads, kv, dh = (cfg[k] for k in ("hidden_size", "num_attention_heads",
                                           "num_key_value_heads", "head_dim"))  # fmt: skip
    qk = (heads + kv) * dh
    attn = m * d * qk + m * d * kv * dh + m * qk * cfg["cca_time0"]
    attn += (
        m * (heads + kv) * dh * dh * cfg["cca_time1"] + 2 * heads * m * m * dh + m * heads * dh * d
    )
    r, experts = cfg["router_hidden_size"], cfg["num_experts"]
    router = m * d * r + 2 * m * r * r + m * r * (experts + 1)
    touched = min(experts, m * cfg["num_experts_per_tok"])
    routed = touched * math.ceil(m * cfg["num_experts_per_tok"] / touched) * 3 * d
    return attn + router + routed * cfg["moe_intermediate_size"]


def longcat_layer_macs(cfg: dict[str, Any], m: int) -> int:
    """LongcatFlashDecoderLayer: two LongcatFlashMLA (q_a_proj, q_b_proj through q_lora_rank;
    kv_a_proj_with_mqa, kv_b_proj; QK^T, P.V; o_proj) and two LongcatFlashMLP (gate, up, down of
    ffn_hidden_size); LongcatFlashMoE: the router over n_routed_experts + zero_expert_num, the
    routed experts (expert_ffn_hidden_size) on their share of the picks: m x moe_topk picks
    spread evenly over all the experts, the routed share of the touched ones (rounded up)
    computing, the identity experts none."""
    d, heads, ql = cfg["hidden_size"], cfg["num_attention_heads"], cfg["q_lora_rank"]
    kvl, nope, rope, v = (cfg[k] for k in ("kv_lora_rank", "qk_nope_head_dim",
                                             "qk_rope_head_dim", "v_head_dim"))  # fmt: skip
    mla = m * d * ql + m * ql * heads * (nope + rope) + m * d * (kvl + rope)
    mla += m * kvl * heads * (nope + v) + heads * m * m * (nope + rope + v) + m * heads * v * d
    routed, zero, k = cfg["n_routed_experts"], cfg["zero_expert_num"], cfg["moe_topk"]
    picks = m * k
    touched = min(routed + zero, picks)
    per = math.ceil(picks / touched)
    computing = min(routed, math.ceil(touched * routed / (routed + zero)))
    moe = m * d * (routed + zero) + computing * per * 3 * d * cfg["expert_ffn_hidden_size"]
    return 2 * mla + 2 * 3 * m * d * cfg["ffn_hidden_size"] + moe


def moe_hybrid_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """MACs of the MoE layers and of the dense ones, layer by layer."""
    t, d = cfg["model_type"], cfg["hidden_size"]
    if t == "lara_mini":
        ffn = moe_macs(cfg, m, cfg["num_experts"], cfg["num_experts_per_tok"],
                       cfg["shared_expert_intermediate_size"])  # fmt: skip
        mixers = {
            "linear_attention": gated_deltanet_macs(cfg, m),
            "sliding_attention": gqa_macs(cfg, m, min(m, cfg["sliding_window"])),
            "full_attention": gqa_macs(cfg, m, m),
        }
        return {"moe": sum(mixers[kind] + ffn for kind in cfg["layer_types"])}
    if t == "longcat_flash":  # every logical layer has the shortcut MoE
        return {"moe": cfg["num_layers"] * longcat_layer_macs(cfg, m)}
    if t == "zaya":  # every layer hybrid and MoE in the default config
        assert set(cfg["layer_types"]) == {"hybrid"}
        return {"moe": cfg["num_hidden_layers"] * zaya_layer_macs(cfg, m)}
    if t == "axk2":
        out = {"moe": 0, "dense": 0}
        for mlp in cfg["mlp_layer_types"]:
            out["moe" if mlp == "sparse" else "dense"] += axk2_layer_macs(cfg, m, mlp == "sparse")
        return {k: v for k, v in out.items() if v}
    if t == "inkling_text":
        out = {"moe": 0, "dense": 0}
        for kind, mlp in zip(cfg["layer_types"], cfg["mlp_layer_types"], strict=True):
            layer = inkling_layer_macs(cfg, m, kind == "hybrid_sliding", mlp == "sparse")
            out["moe" if mlp == "sparse" else "dense"] += layer
        return {k: v for k, v in out.items() if v}
    if t == "minimax":  # MiniMaxExperts: intermediate_size wide, no shared expert
        ffn = moe_macs(cfg, m, cfg["num_local_experts"], cfg["num_experts_per_tok"], 0,
                       cfg["intermediate_size"])  # fmt: skip
        mixers = {"linear_attention": lightning_macs(cfg, m), "full_attention": gqa_macs(cfg, m, m)}
        return {"moe": sum(mixers[kind] + ffn for kind in cfg["layer_types"])}
    shared = cfg["num_shared_experts"] * cfg["moe_intermediate_size"]
    ffns = {
        "sparse": moe_macs(cfg, m, cfg["num_experts"], cfg["num_experts_per_token"], shared),
        "dense": 3 * m * d * cfg["intermediate_size"],
    }
    mixers = {"linear_attention": kda_macs(cfg, m), "full_attention": mla_macs(cfg, m, m)}
    out = {"moe": 0, "dense": 0}
    for kind, mlp in zip(cfg["layer_types"], cfg["mlp_layer_types"], strict=True):
        out["moe" if mlp == "sparse" else "dense"] += mixers[kind] + ffns[mlp]
    return out
