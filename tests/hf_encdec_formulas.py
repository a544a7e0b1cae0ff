"""MACs of encoder-decoder variants, from transformers' modelling code and the papers (read for
this test, not from cosamt). Used by tests/test_hf_corpus.py and tests/test_hf_encdec.py.

* Conditional DETR (Meng et al. 2021, arXiv:2108.06152; modeling_conditional_detr.py) and
  DAB-DETR (Liu et al. 2022, arXiv:2201.12329; modeling_dab_detr.py): DETR's encoder layer
  (q, k, v, out projections, Q.K^T, P.V, fc1, fc2); per decoder layer the self-attention's five
  projections (``sa_qcontent_proj``, ``sa_qpos_proj``, ``sa_kcontent_proj``, ``sa_kpos_proj``,
  ``sa_v_proj``) and ``out_proj``; the cross-attention's ``ca_qcontent_proj``,
  ``ca_qpos_sine_proj`` on the queries, ``ca_kcontent_proj``, ``ca_kpos_proj`` and ``ca_v_proj`` on
  the encoder tokens, ``ca_qpos_proj`` on the first layer only (``is_first``; every layer with
  DAB-DETR's ``keep_query_pos``); Q and K are ``torch.cat([content, spatial], dim=3)`` per head:
  each head's scores reduce over 2 x d / heads features, P.V over d / heads; fc1, fc2. The
  decoder's MLPs: ``query_scale`` (d -> d -> d) on every layer but the first; Conditional DETR's
  ``ref_point_head`` (d -> d -> 2) once; DAB-DETR's ``ref_point_head`` (2d -> d -> d, the sine
  embedding of 4 anchor coordinates) and ``ref_anchor_head`` (d -> d -> 2) on every layer, and
  its encoder's ``query_scale`` (d -> d -> d) before every encoder layer.
* Dia (modeling_dia.py): ``DiaSelfAttention`` (Llama's, grouped-query, rotary) in both halves,
  ``DiaCrossAttention`` with ``q_proj`` from the decoder's hidden size, ``k_proj`` / ``v_proj``
  from ``cross_hidden_size`` (the encoder's), ``cross_num_attention_heads`` /
  ``cross_num_key_value_heads`` of ``cross_head_dim``, ``o_proj`` back; ``DiaMLP`` is Phi-3's
  (``gate_up_proj`` to twice ``intermediate_size``, ``down_proj``).
"""

from __future__ import annotations

import math
from typing import Any

CONDITIONAL_DETR = ("conditional_detr", "dab-detr")
DIA = ("dia",)


def detr_encoder_layer(d: int, ff: int, s: int) -> int:
    """DetrAttention (q, k, v, out of d x d), Q.K^T and P.V over s tokens, fc1 and fc2."""
    return 4 * s * d * d + 2 * s * s * d + 2 * s * d * ff


def conditional_detr_macs(cfg: dict[str, Any], s: int) -> dict[str, int]:
    """Encoder layers on ``s`` tokens (the backbone's feature map), decoder layers on the
    ``num_queries`` object queries (times DAB-DETR's ``num_patterns`` when set)."""
    dab = cfg["model_type"] == "dab-detr"
    d = cfg["hidden_size"] if dab else cfg["d_model"]
    t = cfg["num_queries"] * max(1, cfg.get("num_patterns") or 0)
    layers = cfg["decoder_layers"]
    encoder = detr_encoder_layer(d, cfg["encoder_ffn_dim"], s) + (2 * s * d * d if dab else 0)
    decoder = 0
    for i in range(layers):
        self_attn = 5 * t * d * d + 2 * t * t * d + t * d * d
        query_pos = i == 0 or (dab and cfg.get("keep_query_pos"))
        cross = 2 * t * d * d + 3 * s * d * d + (t * d * d if query_pos else 0)
        cross += 2 * t * s * d + t * s * d + t * d * d  # [content | spatial] scores, P.V, out
        ffn = 2 * t * d * cfg["decoder_ffn_dim"]
        mlps = 2 * t * d * d if i > 0 else 0  # query_scale
        if dab:  # ref_point_head (2d -> d -> d), ref_anchor_head (d -> d -> 2)
            mlps += t * 2 * d * d + t * d * d + t * d * d + t * d * 2
        elif i == 0:  # ref_point_head (d -> d -> 2), once
            mlps += t * d * d + t * d * 2
        decoder += self_attn + cross + ffn + mlps
    return {"encoder": cfg["encoder_layers"] * encoder, "dense": decoder}


def llama_layer(sub: dict[str, Any], m: int, n: int) -> int:
    """Grouped-query self-attention of m queries over n keys and the gated MLP (3 matrices)."""
    d, heads, kv = sub["hidden_size"], sub["num_attention_heads"], sub["num_key_value_heads"]
    dh = sub["head_dim"]
    attn = m * d * (heads + 2 * kv) * dh + 2 * heads * m * n * dh + m * heads * dh * d
    return attn + 3 * m * d * sub["intermediate_size"]


def dia_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """DiaEncoder on m text tokens, DiaDecoder on m audio frames cross-attending to them."""
    enc, dec = cfg["encoder_config"], cfg["decoder_config"]
    d, heads, kv = (
        dec["hidden_size"],
        dec["cross_num_attention_heads"],
        dec["cross_num_key_value_heads"],
    )
    dh, width = dec["cross_head_dim"], dec["cross_hidden_size"]
    cross = (
        m * d * heads * dh + m * width * 2 * kv * dh + 2 * heads * m * m * dh + m * heads * dh * d
    )
    return {
        "encoder": enc["num_hidden_layers"] * llama_layer(enc, m, m),
        "dense": dec["num_hidden_layers"] * (llama_layer(dec, m, m) + cross),
    }


MOONSHINE_STREAMING = ("moonshine_streaming",)


def window_keys(left: int, right: int, m: int) -> int:
    """sliding_window_mask_function (modular_moonshine_streaming.py): key kv is seen by query q
    when 0 <= q - kv < left or 0 < kv - q < right: left + right - 1 keys (left without a right
    window), at most the m frames."""
    return min(m, left + max(right - 1, 0))


def moonshine_streaming_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """MoonshineStreamingEncoder: per layer MoonshineStreamingEncoderAttention (q, k, v, o; no
    rotary) over its (left, right) window, MoonshineEncoderMLP (fc1, act, fc2). The decoder
    (MoonshineStreamingDecoderLayer): causal self-attention (heads = KV heads), cross-attention
    over the m encoder frames, the gated MoonshineDecoderMLP (fc1 to 2 x intermediate, fc2);
    ``proj`` (encoder width -> decoder width) only when the widths differ."""
    enc = cfg["encoder_config"]
    d, heads, dh = enc["hidden_size"], enc["num_attention_heads"], enc["head_dim"]
    kv = enc["num_key_value_heads"]
    encoder = 0
    for left, right in enc["sliding_windows"]:
        n = window_keys(left, right, m)
        attn = m * d * (heads + 2 * kv) * dh + 2 * heads * m * n * dh + m * heads * dh * d
        encoder += attn + 2 * m * d * enc["intermediate_size"]
    dd, dheads = cfg["hidden_size"], cfg["num_attention_heads"]
    ddh = cfg.get("head_dim") or dd // dheads
    self_attn = 4 * m * dd * dheads * ddh + 2 * dheads * m * m * ddh
    cross = 4 * m * dd * dheads * ddh + 2 * dheads * m * m * ddh
    layer = self_attn + cross + 3 * m * dd * cfg["intermediate_size"]
    proj = m * d * dd if d != dd else 0
    return {"encoder": encoder, "dense": cfg["num_hidden_layers"] * layer + proj}


PROPHETNET = ("prophetnet", "xlm-prophetnet")


def prophetnet_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """ProphetNet (Qi et al. 2020, arXiv:2001.04063, sec. 2.2; modeling_prophetnet.py) on m
    encoder and m decoder tokens. ProphetNetEncoderLayer: ProphetNetAttention (q, k, v, out),
    ProphetNetFeedForward (intermediate, output). ProphetNetDecoder concatenates the main stream
    and ``ngram`` predicting streams, m tokens each, into one (1 + ngram) m sequence, so
    ProphetNetNgramSelfAttention's query/key/value projections, ``relative_pos_embeddings``
    (hidden -> num_buckets x heads) and ``out_proj``, the cross-attention's q and out
    projections and the FFN run on all of them; the main stream's scores are m x m, each
    predicting stream's m x 2m (``torch.cat([main_key_states, key], 1)``); the cross-attention
    scores every stream's token against the m encoder tokens."""
    d, g = cfg["hidden_size"], cfg["ngram"]
    h = cfg["num_decoder_attention_heads"]
    every = (1 + g) * m
    encoder = 4 * m * d * d + 2 * m * m * d + 2 * m * d * cfg["encoder_ffn_dim"]
    self_attn = 3 * every * d * d + every * d * cfg["num_buckets"] * h + every * d * d
    self_attn += 2 * m * m * d + g * 2 * m * (2 * m) * d
    cross = 2 * every * d * d + 2 * m * d * d + 2 * every * m * d
    ffn = 2 * every * d * cfg["decoder_ffn_dim"]
    return {
        "encoder": cfg["num_encoder_layers"] * encoder,
        "dense": cfg["num_decoder_layers"] * (self_attn + cross + ffn),
    }


def prob_sparse(m: int, n: int, d: int, factor: int) -> int:
    """InformerProbSparseAttention's score MACs over all heads (head_dim d / heads): every query
    against ``u_part = min(factor * L_Q * ceil(log1p(L_K)), L_K)`` sampled keys, then the
    ``u = min(factor * ceil(log1p(L_Q)), L_Q)`` top queries' Q.K^T and P.V over all L_K keys."""
    u_part = min(factor * m * math.ceil(math.log1p(n)), n)
    u = min(factor * math.ceil(math.log1p(m)), m)
    return m * u_part * d + 2 * u * n * d


def informer_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """Informer (Zhou et al. 2021, arXiv:2012.07436; modeling_informer.py) with the encoder on m
    tokens and the decoder on ``prediction_length``: InformerEncoderLayer (q, k, v, out, the
    attention, fc1, fc2), after each but the last ``InformerConvLayer`` with ``distil``
    (Conv1d(d, d, 3): 3 d^2 per token; MaxPool1d(3, 2, padding 1): L -> (L - 1) // 2 + 1);
    InformerDecoderLayer: its self-attention, the full cross-attention (BART's) over the last
    encoder layer's tokens, fc1, fc2. Attention: ProbSparse with ``attention_type`` prob, else
    full."""
    d, t = cfg["d_model"], cfg["prediction_length"]
    prob = cfg.get("attention_type", "prob") == "prob"

    def attention(q: int, k: int) -> int:
        return prob_sparse(q, k, d, cfg["sampling_factor"]) if prob else 2 * q * k * d

    encoder, length = 0, m
    for i in range(cfg["encoder_layers"]):
        encoder += 4 * length * d * d + attention(length, length)
        encoder += 2 * length * d * cfg["encoder_ffn_dim"]
        if cfg.get("distil", True) and i < cfg["encoder_layers"] - 1:
            encoder += 3 * length * d * d
            length = (length - 1) // 2 + 1
    cross = 2 * t * d * d + 2 * length * d * d + 2 * t * length * d
    layer = 4 * t * d * d + attention(t, t) + cross + 2 * t * d * cfg["decoder_ffn_dim"]
    return {"encoder": encoder, "dense": cfg["decoder_layers"] * layer}
