"""MACs of local and sparse attention, from transformers' modelling code and the papers (read for
this test, not from cosamt): T5Gemma's bidirectional encoder windows and T5Gemma 2's merged
attention. Used by tests/test_hf_corpus.py and tests/test_hf_local.py."""

from __future__ import annotations

from typing import Any

T5GEMMA = ("t5gemma", "t5gemma2")


def t5gemma_keys(model_type: str, window: int, m: int, encoder: bool) -> int:
    """Keys per query (at most; a query near either end of the sequence sees fewer, counted as
    full): the decoder's causal window is ``kv_idx > q_idx - w`` (masking_utils
    ``sliding_window_overlay``): w keys. T5Gemma's encoder window is ``abs(q_idx - kv_idx) <= w``
    (``sliding_window_bidirectional_overlay``): 2w + 1; T5Gemma 2's encoder
    ``sliding_window_mask_function(w, is_causal=False)``: (w + 1) // 2 keys at distance 0 ..
    (w + 1) // 2 - 1 before, w // 2 after: w in all."""
    if not encoder:
        return min(m, window)
    return min(m, 2 * window + 1 if model_type == "t5gemma" else window)


def t5gemma_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """T5GemmaEncoderLayer / T5GemmaDecoderLayer (and T5Gemma 2's): q/k/v/o projections of
    num_attention_heads and num_key_value_heads of head_dim, Q.K^T and P.V over the layer's keys
    (window-capped on sliding_attention layers), the gated MLP (gate_proj, up_proj, down_proj).
    T5Gemma's decoder adds T5GemmaCrossAttention (q, k/v of the m encoder tokens, o); T5Gemma 2's
    T5Gemma2MergedAttention instead projects the encoder tokens with the same k_proj / v_proj and
    attends to both key sets at once (no second q or o projection)."""
    t = cfg["model_type"]
    enc = cfg["encoder"].get("text_config") or cfg["encoder"]
    out = {"encoder": 0, "dense": 0}
    for half, sub in (("encoder", enc), ("dense", cfg["decoder"])):
        d, heads, kv = sub["hidden_size"], sub["num_attention_heads"], sub["num_key_value_heads"]
        dh, ff, w = sub["head_dim"], sub["intermediate_size"], sub["sliding_window"]
        for kind in sub["layer_types"]:
            n = m if kind == "full_attention" else t5gemma_keys(t, w, m, half == "encoder")
            proj = m * d * (heads + 2 * kv) * dh + m * heads * dh * d
            layer = proj + 2 * heads * m * n * dh + 3 * m * d * ff
            if half == "dense" and t == "t5gemma2":  # merged: encoder K/V, m more keys
                layer += m * d * 2 * kv * dh + 2 * heads * m * m * dh
            elif half == "dense":  # cross-attention over the m encoder tokens
                kv_in = sub["cross_attention_hidden_size"]  # k_proj / v_proj read the encoder
                layer += m * d * heads * dh + m * kv_in * 2 * kv * dh + m * heads * dh * d
                layer += 2 * heads * m * m * dh
            out[half] += layer
    return out


LONGFORMER = ("longformer", "led")


def longformer_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """LongformerSelfAttention (Beltagy et al. 2020, sec. 3.1): query / key / value projections,
    the band of attention_window w: w / 2 keys each side and the query itself (the
    ``2 * one_sided_attn_window_size + 1`` scores it asserts), P.V over the same band, the output
    dense; the plain FFN (intermediate dense, output dense). No global tokens (the bare model's
    ``global_attention_mask`` is None). LED: LEDEncoderLayer is that with d_model /
    encoder_ffn_dim; LEDDecoderLayer is BART's: full self-attention, cross-attention over the m
    encoder tokens, fc1 / fc2."""
    w = cfg["attention_window"]
    w = w[0] if isinstance(w, list) else w
    band = min(m, w + 1)
    if cfg["model_type"] == "longformer":
        d, ff = cfg["hidden_size"], cfg["intermediate_size"]  # heads x head_dim = d
        layer = 4 * m * d * d + 2 * m * band * d + 2 * m * d * ff
        return {"dense": cfg["num_hidden_layers"] * layer}
    d = cfg["d_model"]
    enc = 4 * m * d * d + 2 * m * band * d + 2 * m * d * cfg["encoder_ffn_dim"]
    dec = 4 * m * d * d + 2 * m * m * d  # self-attention
    dec += 4 * m * d * d + 2 * m * m * d  # cross: q, o of the decoder's; k, v of the encoder's
    dec += 2 * m * d * cfg["decoder_ffn_dim"]
    return {"encoder": cfg["encoder_layers"] * enc, "dense": cfg["decoder_layers"] * dec}


BIGBIRD = ("big_bird", "bigbird_pegasus")


def bigbird_scores(cfg: dict[str, Any], m: int) -> int:
    """Query-key pairs of one head (Zaheer et al. 2020, App. D; BigBirdBlockSparseAttention's
    five parts): q[0] and q[-1] against all m keys; q[1] and q[-2] against 4 + r key blocks
    (sliding blocks and the far global block); every middle block row against 3 sliding + 2 global
    + r random blocks. At most (5 + 2r) block_size tokens BigBirdModel switches to original_full:
    m x m."""
    bs, r = cfg["block_size"], cfg["num_random_blocks"]
    if cfg.get("attention_type") != "block_sparse" or m <= (5 + 2 * r) * bs:
        return m * m
    return bs * (2 * m + 2 * (4 + r) * bs + (m // bs - 4) * (5 + r) * bs)


def bigbird_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """BigBirdLayer (BERT's: query / key / value, the output dense, intermediate and output
    dense) with its scores and P.V over bigbird_scores; BigBird-Pegasus: BigBirdPegasusEncoderLayer
    the same with d_model / encoder_ffn_dim, BigBirdPegasusDecoderLayer Pegasus's (full causal
    self-attention, cross-attention over the m encoder tokens, fc1 / fc2)."""
    pairs = bigbird_scores(cfg, m)
    if cfg["model_type"] == "big_bird":
        d, ff = cfg["hidden_size"], cfg["intermediate_size"]
        layer = 4 * m * d * d + 2 * pairs * d + 2 * m * d * ff  # heads x head_dim = d
        return {"dense": cfg["num_hidden_layers"] * layer}
    d = cfg["d_model"]
    enc = 4 * m * d * d + 2 * pairs * d + 2 * m * d * cfg["encoder_ffn_dim"]
    dec = 2 * (4 * m * d * d + 2 * m * m * d) + 2 * m * d * cfg["decoder_ffn_dim"]
    return {"encoder": cfg["encoder_layers"] * enc, "dense": cfg["decoder_layers"] * dec}


def longt5_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """LongT5 (Guo et al. 2022, sec. 3.1; modeling_longt5.py), ``local``: LongT5LocalAttention's
    q / k / v / o of num_heads x d_kv, each query against the keys within local_radius of it
    (2 local_radius + 1); the decoder T5's (LongT5Attention self and cross over the m encoder
    tokens); LongT5DenseActDense (wi, wo), or the gated wi_0 / wi_1 / wo with is_gated_act."""
    d, inner = cfg["d_model"], cfg["num_heads"] * cfg["d_kv"]
    ffn = m * d * cfg["d_ff"] * (3 if cfg.get("is_gated_act") else 2)
    band = min(m, 2 * cfg["local_radius"] + 1)
    enc = 4 * m * d * inner + 2 * m * band * inner + ffn
    if cfg["encoder_attention_type"] == "transient-global":
        # LongT5TransientGlobalAttention: G = m // global_block_size aggregates (the einsum of
        # the hidden states with the one-hot block ids), k and v of them, every query's scores
        # and P.V over the G side keys too.
        g = m // cfg["global_block_size"]
        enc += m * g * d + g * d * 2 * inner + 2 * m * g * inner
    dec = 2 * (4 * m * d * inner + 2 * m * m * inner) + ffn
    return {"encoder": cfg["num_layers"] * enc, "dense": cfg["num_decoder_layers"] * dec}


def pegasus_x_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """Pegasus-X (Phang et al. 2022, sec. 3; PegasusXEncoder / PegasusXEncoderLayer /
    PegasusXGlobalLocalAttention): the input padded to a multiple of block_size B, every layer on
    the padded L' tokens and on num_global_tokens G global ones; odd layers (stagger_local_blocks)
    pad B / 2 more on each side for attention (A = L' + B tokens, else A = L'). q / k / v and
    out_proj of the A and the G tokens; local scores and P.V: each of the A queries against B + G
    keys; global: each of the G queries against G + A; fc1 / fc2 of the L' and the G tokens. The
    decoder: Pegasus's (self-attention, cross-attention over the m unpadded encoder tokens, FFN)."""
    d, ff, bs, g = (
        cfg["d_model"],
        cfg["encoder_ffn_dim"],
        cfg["block_size"],
        cfg["num_global_tokens"],
    )
    padded = -(-m // bs) * bs
    enc = 0
    for i in range(cfg["encoder_layers"]):
        a = padded + (bs if i % 2 == 1 and cfg["stagger_local_blocks"] else 0)
        enc += 4 * (a + g) * d * d  # q, k, v, out of both streams (heads x head_dim = d)
        enc += 2 * a * (bs + g) * d + 2 * g * (g + a) * d
        enc += 2 * (padded + g) * d * ff
    dec = 2 * (4 * m * d * d + 2 * m * m * d) + 2 * m * d * cfg["decoder_ffn_dim"]
    return {"encoder": enc, "dense": cfg["decoder_layers"] * dec}


def dinat_macs(cfg: dict[str, Any], image: int = 224) -> int:
    """DiNAT (Hassani and Shi 2022; DinatModel): the stem's two 3x3 stride-2 convolutions take
    the image (224, the paper's ImageNet size: DinatConfig has none) to side s (not counted: the
    stages only); stage i has width C 2^i; each DinatLayer pads the grid to kernel x dilation
    when smaller (maybe_pad) and projects q, k, v, attends to kernel^2 neighbours per query and
    projects the output on that padded P x P grid, then runs the MLP (mlp_ratio) on the s x s
    tokens; DinatDownsampler, a 3x3 stride-2 padding-1 convolution C -> 2C, between stages."""
    side = image
    for _ in range(2):
        side = (side - 1) // 2 + 1
    k, total = cfg["kernel_size"], 0
    for i, dilations in enumerate(cfg["dilations"]):
        c = cfg["embed_dim"] * 2**i
        ff = int(cfg["mlp_ratio"] * c)
        for dil in dilations:
            pad = max(side, k * dil)
            total += 4 * pad * pad * c * c + 2 * pad * pad * k * k * c + 2 * side * side * c * ff
        if i + 1 < len(cfg["dilations"]):
            side = (side - 1) // 2 + 1
            total += side * side * 9 * c * 2 * c
    return total
