"""Independent MAC formulas for the deformable-attention detection transformers of the corpus,
written from Deformable DETR (Zhu et al., ICLR 2021, sec. 3-4, eq. 3) and from transformers'
modelling sources, reading the raw config (not cosamt's reading of it).

Multi-scale deformable attention (``DeformableDetrMultiscaleDeformableAttention``, and its
copies in ``modeling_rt_detr.py``, ``modeling_rt_detr_v2.py``, ``modeling_pp_doclayout_v*.py``):
``value_proj`` (d x d) on every value token, ``sampling_offsets`` (d -> heads x levels x points
x 2) and ``attention_weights`` (d -> heads x levels x points) on every query, the weighted sum
of the sampled values (one MAC per sample and channel: heads x levels x points x head_dim = d x
levels x points per query), ``output_proj`` (d x d). The bilinear sampling itself is vector work
(no MACs). D-FINE and DEIMv2 (``DFineMultiscaleDeformableAttention``,
``Deimv2MultiscaleDeformableAttention``) have neither ``value_proj`` nor ``output_proj``, and gate
the residual (``DFineGate``: Linear(2d, 2d)).

Tokens: Deformable DETR's encoder runs over every feature level's pixels: SEQ of them. RT-DETR's
AIFI encoder (``RTDetrAIFILayer``) runs over the top level (stride feat_strides[-1]): SEQ tokens;
the decoder's memory is all levels: a level of stride s has (s_top / s)^2 pixels per top-level
pixel.
"""

from __future__ import annotations

from typing import Any

GROUNDING = frozenset({"grounding-dino", "mm-grounding-dino"})  # MM reuses Grounding DINO's layers
DETECTION = frozenset(
    {"deformable_detr", "rt_detr", "rt_detr_v2", "d_fine", "deimv2", "pp_doclayout_v2",
     "pp_doclayout_v3", "pp_doclayout_v4"}
) | GROUNDING  # fmt: skip
NO_PROJECTIONS = frozenset({"d_fine", "deimv2"})  # D-FINE's attention and gate, DEIMv2's copy


def deformable_attention(
    cfg: dict[str, Any], queries: int, values: int, heads: int, points: Any
) -> int:
    """MACs of one multi-scale deformable attention (eq. 3 of the paper; the modules above)."""
    d, levels = cfg.get("d_model") or cfg["hidden_size"], cfg["num_feature_levels"]
    samples = sum(points) if isinstance(points, list) else points * levels
    projections = cfg["model_type"] not in NO_PROJECTIONS
    out = queries * d * heads * samples * 3  # sampling offsets (x, y) and attention weights
    out += queries * d * samples  # sum over samples of weight x value, every channel
    if projections:
        out += values * d * d + queries * d * d  # value_proj, output_proj
    return out


def self_attention(tokens: int, d: int) -> int:
    """q, k, v and output projections, Q.K^T and P.V (RTDetrSelfAttention and the like)."""
    return 4 * tokens * d * d + 2 * tokens * tokens * d


def grounding_text_macs(cfg: dict[str, Any], seq: int) -> tuple[int, int]:
    """Grounding DINO's text work per encoder layer and per decoder layer, at max_text_len text
    tokens (Liu et al. 2023, sec. 3.2-3.4; modeling_grounding_dino.py). Encoder:
    ``GroundingDinoBiMultiHeadAttention`` (fusion width encoder_ffn_dim // 2): vision_proj and
    values_vision_proj on the seq image tokens, text_proj and values_text_proj on the text, one
    score matrix (image x text x width), both weighted sums, out_vision_proj and out_text_proj;
    ``GroundingDinoTextEnhancerLayer``: query, key, value, out_proj (d x d), scores and weighted
    sum over text x text, fc1 / fc2 of encoder_ffn_dim // 2. Decoder: ``encoder_attn_text``, a
    query and an output projection of the queries, key and value of the text tokens, scores and
    weighted sum (queries x text x d)."""
    d, text, queries = cfg["d_model"], cfg["max_text_len"], cfg["num_queries"]
    width = cfg["encoder_ffn_dim"] // 2
    fusion = 2 * seq * d * width + 2 * text * d * width + 3 * seq * text * width
    fusion += seq * width * d + text * width * d
    enhancer = self_attention(text, d) + 2 * text * d * width
    decoder = 2 * queries * d * d + 2 * text * d * d + 2 * queries * text * d
    return fusion + enhancer, decoder


def text_tower_macs(cfg: dict[str, Any]) -> int:
    """The BERT text tower (Devlin et al. 2019; BertLayer: q, k, v, output dense, scores and
    weighted sum, intermediate and output dense) over max_text_len tokens, then
    GroundingDinoModel.text_projection (text hidden size -> d_model)."""
    bert, text = cfg["text_config"], cfg["max_text_len"]
    width, ff = bert["hidden_size"], bert["intermediate_size"]
    layer = 4 * text * width * width + 2 * text * text * width + 2 * text * width * ff
    return bert["num_hidden_layers"] * layer + text * width * cfg["d_model"]


def detection_macs(cfg: dict[str, Any], seq: int) -> dict[str, int]:
    """Encoder and decoder MACs at ``seq`` encoder tokens (see the module docstring)."""
    t = cfg["model_type"]
    d = cfg.get("d_model") or cfg["hidden_size"]
    queries = cfg["num_queries"]
    if t == "deformable_detr" or t in GROUNDING:
        # DeformableDetrEncoderLayer: deformable self-attention, fc1 / fc2.
        enc = deformable_attention(
            cfg, seq, seq, cfg["encoder_attention_heads"], cfg["encoder_n_points"]
        )
        enc += 2 * seq * d * cfg["encoder_ffn_dim"]
        memory, dec_layers = seq, cfg["decoder_layers"]
    else:
        # RTDetrEncoderLayer in each AIFI layer, on the top level only.
        enc = self_attention(seq, d) + 2 * seq * d * cfg["encoder_ffn_dim"]
        top = cfg["feat_strides"][-1]
        memory = sum(seq * (top // s) ** 2 for s in cfg["feat_strides"])
        dec_layers = cfg["decoder_layers"]
        if t in NO_PROJECTIONS:  # DFineDecoder: decoder_layers - eval_idx - 1 more layers
            eval_idx = cfg["eval_idx"] % cfg["decoder_layers"]
            dec_layers += cfg["decoder_layers"] - eval_idx - 1
    dec = self_attention(queries, d)
    dec += deformable_attention(
        cfg, queries, memory, cfg["decoder_attention_heads"], cfg["decoder_n_points"]
    )
    if t in NO_PROJECTIONS and cfg.get("use_gateway", True):
        dec += queries * 2 * d * 2 * d  # the gate's Linear(2d, 2d) on [residual, output]
    if t == "deimv2":  # Deimv2SwiGLUFFN: gate, up (decoder_ffn_dim // 2 each) and down
        dec += 3 * queries * d * (cfg["decoder_ffn_dim"] // 2)
    else:
        dec += 2 * queries * d * cfg["decoder_ffn_dim"]
    if t in GROUNDING:  # the text fusion, text enhancer and text cross-attention
        enc_text, dec_text = grounding_text_macs(cfg, seq)
        enc, dec = enc + enc_text, dec + dec_text
    tower = text_tower_macs(cfg) if t in GROUNDING else 0
    return {"encoder": cfg["encoder_layers"] * enc + tower, "dense": dec_layers * dec}
