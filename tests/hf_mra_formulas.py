"""MACs of MRA's multi-resolution attention (Zeng et al. 2022, arXiv:2207.10284; transformers'
modeling_mra.py), read for this test, not from cosamt. Used by tests/test_hf_corpus.py and
tests/test_hf_mra.py."""

from __future__ import annotations

from typing import Any

# mra2_attention's default block_size, and MraSelfAttention's gpu_warp_size padding of head_dim.
BLOCK = 32
# MraModel does not pad: a sequence of whole blocks, here max_position_embeddings (512).
MRA_SEQ = 512


def mra_macs(cfg: dict[str, Any], tokens: int) -> int:
    """MraLayer (BERT's layer with MraSelfAttention), every layer: query, key, value and the
    output dense (hidden x hidden each), the intermediate and output dense of the MLP; per head
    (head_dim padded to 32 when narrower) get_low_resolution_logit's (L/32)^2 block-mean scores,
    MraSampledDenseMatMul and MraSparseDenseMatMul on the num_block = min((max_position_embeddings
    // 32) * block_per_row, (max_position_embeddings // 32)^2) top block pairs (32 x 32 each), and
    in approx_mode full the low-resolution attention times the block means of V."""
    d, heads, ff = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
    dh = max(d // heads, BLOCK)
    rows, per_row = cfg["max_position_embeddings"] // BLOCK, cfg["block_per_row"]
    pairs = min(rows * per_row, rows * rows)
    blocks = tokens // BLOCK
    low = blocks * blocks * dh * (2 if cfg["approx_mode"] == "full" else 1)
    attention = heads * (low + 2 * pairs * BLOCK * BLOCK * dh)
    return cfg["num_hidden_layers"] * (4 * tokens * d * d + 2 * tokens * d * ff + attention)
