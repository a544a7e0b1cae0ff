"""MACs of single families with an odd structure, written from transformers' modelling code
(5.24.0, read for this test, not from cosamt). Used by tests/test_hf_corpus.py and
tests/test_hf_odds.py; keyed by the corpus type (the composite's, when the structure is in its
language model)."""

from __future__ import annotations

import math
from typing import Any


def voxtral_realtime_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """VoxtralRealtimeModel's language model (modeling_voxtral_realtime.py; the audio tower and
    the projector not counted, as for Voxtral), per VoxtralRealtimeTextDecoderLayer:
    VoxtralRealtimeTextAttention (q_proj heads x head_dim, k_proj and v_proj kv x head_dim,
    o_proj; keys within sliding_window), the gated VoxtralRealtimeTextMLP, and
    VoxtralRealtimeTextAdaRmsNorm: linear1 (hidden -> 32) and linear2 (32 -> hidden) applied to
    t_cond, which VoxtralRealtimeModel.forward builds once per forward from a one-element
    time_tensor (shape [1, hidden]): one row per layer, independent of the tokens."""
    text = cfg["text_config"]
    d, heads, kv, dh = (text[k] for k in ("hidden_size", "num_attention_heads",
                                           "num_key_value_heads", "head_dim"))  # fmt: skip
    n = min(m, text["sliding_window"]) if text.get("sliding_window") else m
    attention = m * d * (heads + 2 * kv) * dh + 2 * heads * m * n * dh + m * heads * dh * d
    mlp = 3 * m * d * text["intermediate_size"]
    ada = d * 32 + 32 * d
    return {"dense": text["num_hidden_layers"] * (attention + mlp + ada)}


def mistral_large4_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """MistralLarge4TextDecoderLayer i (modeling_mistral_large4.py), prefill of m tokens:

    * MistralLarge4TextAttention: q_proj (hidden -> heads x qk_head_dim, no query latent),
      kv_a_proj_with_mqa (hidden -> kv_lora_rank + rope_i), kv_b_proj (kv_lora_rank -> heads x
      (nope_i + v_head_dim)), with rope_i = qk_rope_head_dim and nope_i = qk_nope_head_dim where
      no_rope_layers[i] is 1, else rope_i = 0 and nope_i = qk_nope_head_dim + qk_rope_head_dim;
      QK^T over qk_head_dim and PV over v_head_dim against min(m, index_topk) keys; o_proj.
    * MistralLarge4TextIndexer (every layer: indexer_types all full): wq_b (hidden ->
      index_n_heads x index_head_dim, on q_input_norm of the hidden state), wk (hidden ->
      index_head_dim), weights_proj (hidden -> index_n_heads), the scores q . k for every
      query and key, and their weighted sum over the heads (weights @ scores).
    * MistralLarge4TextMLP (gate, up, down of intermediate_size) where mlp_layer_types is
      dense; MistralLarge4TextMoE where sparse: the router (hidden -> n_routed_experts), the
      gated experts of moe_intermediate_size on the touched experts (balanced routing), the
      shared MLP of moe_intermediate_size x n_shared_experts."""
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kvl, v = cfg["kv_lora_rank"], cfg["v_head_dim"]
    nope, rope = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"]
    ih, idim = cfg["index_n_heads"], cfg["index_head_dim"]
    n = min(m, cfg["index_topk"])
    k, experts, width = (
        cfg["num_experts_per_tok"],
        cfg["n_routed_experts"],
        cfg["moe_intermediate_size"],
    )
    touched = min(experts, m * k)
    routed = m * d * experts + touched * math.ceil(m * k / touched) * 3 * d * width
    moe = routed + 3 * m * d * width * cfg["n_shared_experts"]
    dense = 3 * m * d * cfg["intermediate_size"]
    indexer = m * d * ih * idim + m * d * idim + m * d * ih + ih * m * m * idim + ih * m * m
    out = {"dense": 0, "moe": 0}
    for uses_rope, mlp in zip(cfg["no_rope_layers"], cfg["mlp_layer_types"], strict=True):
        rope_i = rope if uses_rope else 0
        nope_i = nope + (0 if uses_rope else rope)
        attention = (
            m * d * heads * (nope + rope)
            + m * d * (kvl + rope_i)
            + m * kvl * heads * (nope_i + v)
            + heads * m * n * (nope + rope)
            + heads * m * n * v
            + m * heads * v * d
        )
        kind = "moe" if mlp == "sparse" else "dense"
        out[kind] += attention + indexer + (moe if kind == "moe" else dense)
    return out


def dots3_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """Dots3NoteTextDecoderLayer i (modeling_dots3_note.py; dots3_note: its text_config), with
    c = the global fields overridden by per_layer_config[i] (transformers' heterogeneous config:
    a sparse map of per-layer overrides), prefill of m tokens:

    * Dots3NoteTextAttention(c): q_a_proj (hidden -> q_lora_rank), q_b_proj (q_lora_rank ->
      heads x (qk_nope + qk_rope)), kv_a_proj_with_mqa (hidden -> kv_lora_rank + qk_rope),
      kv_b_proj (kv_lora_rank -> heads x (qk_nope + v_head_dim)), g_proj (hidden -> heads),
      QK^T over qk_nope + qk_rope and PV over v_head_dim, o_proj; keys: min(m, index_topk) on
      indexed_attention layers, min(m, sliding_window) on sliding_attention ones.
    * Dots3NoteTextIndexer on indexed_attention layers: wq_b (q_lora_rank -> index_n_heads x
      index_head_dim, from the query latent), wk (hidden -> index_head_dim), weights_proj
      (hidden -> index_n_heads), the scores for every query and key, their weighted head sum.
    * Dots3NoteTextMLP (gate, up, down of intermediate_size) on mlp_layer_types dense;
      Dots3NoteTextMoE on sparse: router (hidden -> n_routed_experts), gated experts of
      moe_intermediate_size (balanced routing), the shared MLP of
      shared_experts_intermediate_size x n_shared_experts."""
    cfg = cfg.get("text_config") or cfg
    d, ql = cfg["hidden_size"], cfg["q_lora_rank"]
    overrides = {int(k): v for k, v in (cfg.get("per_layer_config") or {}).items()}
    ih, idim = cfg["index_n_heads"], cfg["index_head_dim"]
    k, experts, width = (
        cfg["num_experts_per_tok"],
        cfg["n_routed_experts"],
        cfg["moe_intermediate_size"],
    )
    touched = min(experts, m * k)
    moe = m * d * experts + touched * math.ceil(m * k / touched) * 3 * d * width
    moe += 3 * m * d * cfg["shared_experts_intermediate_size"] * cfg["n_shared_experts"]
    dense = 3 * m * d * cfg["intermediate_size"]
    out = {"dense": 0, "moe": 0}
    for i, (kind, mlp) in enumerate(zip(cfg["layer_types"], cfg["mlp_layer_types"], strict=True)):
        c = {**cfg, **overrides.get(i, {})}
        heads, kvl, v = c["num_attention_heads"], c["kv_lora_rank"], c["v_head_dim"]
        qk, rope = c["qk_nope_head_dim"] + c["qk_rope_head_dim"], c["qk_rope_head_dim"]
        indexed = kind == "indexed_attention"
        n = min(m, cfg["index_topk"] if indexed else cfg["sliding_window"])
        attention = (
            m * d * ql + m * ql * heads * qk
            + m * d * (kvl + rope) + m * kvl * heads * (c["qk_nope_head_dim"] + v)
            + m * d * heads
            + heads * m * n * qk + heads * m * n * v
            + m * heads * v * d
        )  # fmt: skip
        if indexed:
            attention += m * ql * ih * idim + m * d * idim + m * d * ih + ih * m * m * idim
            attention += ih * m * m
        kind_ = "moe" if mlp == "sparse" else "dense"
        out[kind_] += attention + (moe if kind_ == "moe" else dense)
    return out


def hy_v4_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """HYV4Model (modeling_hy_v4.py; hy_v4_vl's HYV4VL* text classes are the same), prefill of
    m tokens, N = hc_mult streams, per HYV4DecoderLayer i:

    * attn_hc and ffn_hc (HYV4HyperConnection): F.linear(flat, fn) with fn of 2N x (N x
      hidden), and the weighted sum of the N streams (pre * streams summed over them: N x
      hidden products per token); the post update (post * h + residual) is element-wise.
    * HYV4Attention: q_a_proj, q_b_proj (q_lora_rank -> heads x (qk_nope + qk_rope)),
      kv_a_proj_with_mqa, kv_b_proj (kv_lora_rank -> heads x (qk_nope + v_head_dim)),
      gate_proj (hidden -> heads x v_head_dim), QK^T and PV over min(m, index_topk) keys,
      o_proj; HYV4Indexer (wq_b from the query latent, wk, weights_proj, scores, weighted head
      sum over all m keys) only where indexer_types[i] is full (shared layers reuse the top-k).
    * HYV4MLP (intermediate_size, gated) where mlp_layer_types[i] is dense; HYV4MoE where sparse:
      router, gated experts of moe_intermediate_size (balanced routing), shared MLP of
      moe_intermediate_size x n_shared_experts.

    After the layers HYV4HyperHead: hc_fn of N x (N x hidden) and the weighted stream sum."""
    d, heads, ql, kvl = (cfg[k] for k in ("hidden_size", "num_attention_heads", "q_lora_rank",
                                           "kv_lora_rank"))  # fmt: skip
    nope, rope, v = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    streams, ih, idim = cfg["hc_mult"], cfg["index_n_heads"], cfg["index_head_dim"]
    n = min(m, cfg["index_topk"])
    hc = m * streams * d * 2 * streams + m * streams * d
    attention = (
        m * d * ql + m * ql * heads * (nope + rope)
        + m * d * (kvl + rope) + m * kvl * heads * (nope + v)
        + m * d * heads * v
        + heads * m * n * (nope + rope) + heads * m * n * v
        + m * heads * v * d
    )  # fmt: skip
    indexer = m * ql * ih * idim + m * d * idim + m * d * ih + ih * m * m * idim + ih * m * m
    k, experts, width = (
        cfg["num_experts_per_tok"],
        cfg["n_routed_experts"],
        cfg["moe_intermediate_size"],
    )
    touched = min(experts, m * k)
    moe = m * d * experts + touched * math.ceil(m * k / touched) * 3 * d * width
    moe += 3 * m * d * width * cfg["n_shared_experts"]
    dense = 3 * m * d * cfg["intermediate_size"]
    out = {"dense": m * streams * d * streams + m * streams * d, "moe": 0}  # the head
    for kind, mlp in zip(cfg["indexer_types"], cfg["mlp_layer_types"], strict=True):
        layer = 2 * hc + attention + (indexer if kind == "full" else 0)
        key = "moe" if mlp == "sparse" else "dense"
        out[key] += layer + (moe if key == "moe" else dense)
    return out


ODDS = {
    "voxtral_realtime": voxtral_realtime_macs,
    "mistral_large4_text": mistral_large4_macs,
    "dots3_note_text": dots3_macs,
    "dots3_note": dots3_macs,
    "hy_v4": hy_v4_macs,
    "hy_v4_vl_text": hy_v4_macs,
}


def odds_macs(model_type: str, cfg: dict[str, Any], m: int) -> dict[str, int]:
    """The formula of a corpus type this file covers."""
    return ODDS[model_type](cfg, m)
