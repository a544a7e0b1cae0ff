"""MACs of hierarchical vision backbones, from the papers and transformers' modelling code (read for
this test, not from cosamt). Used by tests/test_hf_corpus.py and tests/test_hf_vision_stages.py."""

from __future__ import annotations

from typing import Any

# Swinv2SelfAttention.continuous_position_bias_mlp: Linear(2, 512), ReLU, Linear(512, heads).
SWINV2_CPB_HIDDEN = 512


def swinv2_macs(cfg: dict[str, Any]) -> int:
    """Swin V2 (Liu et al. 2022, arXiv:2111.09883; modeling_swinv2.py): Swin's stages (width
    C 2^i on an (H / patch / 2^i)^2 grid, attention in w x w windows, w = min(window, grid) as
    Swinv2Layer._compute_window_shift sets it) with, per layer, the bias MLP over the (2w - 1)^2
    entries of relative_coords_table (2 -> 512 -> heads); patch merging 4C -> 2C between
    stages. The cosine normalisation, logit scale, sigmoid and norms are not MACs."""
    side = cfg["image_size"] // cfg["patch_size"]
    total = 0
    for i, (depth, heads) in enumerate(zip(cfg["depths"], cfg["num_heads"], strict=True)):
        c, grid = cfg["embed_dim"] * 2**i, side // 2**i
        tokens, window = grid * grid, min(cfg["window_size"], grid)
        # query, key, value; QK^T and P.V over window^2 keys; the output dense; the MLP.
        layer = 3 * tokens * c * c + 2 * tokens * window**2 * c + tokens * c * c
        layer += 2 * tokens * c * int(cfg["mlp_ratio"] * c)
        layer += (2 * window - 1) ** 2 * (2 * SWINV2_CPB_HIDDEN + SWINV2_CPB_HIDDEN * heads)
        total += depth * layer
        if i + 1 < len(cfg["depths"]):
            total += (tokens // 4) * 4 * c * 2 * c  # Swinv2PatchMerging.reduction
    return total
