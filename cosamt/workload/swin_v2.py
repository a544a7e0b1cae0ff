"""Swin Transformer V2's stage blocks (``ModelConfig.swin_v2``; Liu et al. 2022, arXiv:2111.09883,
sec. 3.1-3.2; transformers' modeling_swinv2.py: ``Swinv2SelfAttention``, ``Swinv2Layer``,
``Swinv2PatchMerging``). The stages, windows and widths are Swin's (``transformer._stages``);
what differs:

* scaled cosine attention: Q and K L2-normalised per head before QK^T (``cos_qk_norm``);
* the continuous position bias: ``continuous_position_bias_mlp`` (Linear(2, 512), ReLU,
  Linear(512, heads)) over the (2w - 1)^2 entries of ``relative_coords_table``, then
  16 * sigmoid of the table (``cpb_fc1``, ``cpb_relu``, ``cpb_fc2``, ``cpb_sigmoid``): once per
  layer and forward whatever the batch or the windows (its input is a fixed buffer);
* residual post-norm: ``x + LN(attn(x))``, ``x + LN(mlp(x))`` (``layernorm_before`` and
  ``layernorm_after`` on the sublayers' outputs), no norm before the sublayers;
* patch merging reduces (4C -> 2C) before its norm (of 2C).
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role
from cosamt.workload.models import ModelConfig
from cosamt.workload.recurrent import L2NORM_OPS, SIGMOID_OPS
from cosamt.workload.transformer import (
    _BMF,
    RELU_OPS,
    BlockPlan,
    _attention_core,
    _dense_ffn,
    _elementwise,
    _norm,
    _projection,
    _residual,
)

CPB_HIDDEN = 512  # Swinv2SelfAttention.continuous_position_bias_mlp: nn.Linear(2, 512)
CPB_SCALE_OPS = SIGMOID_OPS + 1  # 16 * sigmoid(bias): the sigmoid, then the scale


def _position_bias(stage: ModelConfig, p: str, window: int, c: int) -> list[Einsum]:
    """The bias MLP over the (2w - 1)^2 relative coordinates (2 each) to one bias per head."""
    entries, heads = (2 * window - 1) ** 2, stage.n_heads
    relu = {"b": 1, "m": entries, "f": CPB_HIDDEN}
    scaled = {"b": 1, "m": entries, "f": heads}
    return [
        _projection(f"{p}cpb_fc1", 1, entries, 2, CPB_HIDDEN, c),
        _elementwise(
            f"{p}cpb_relu", "relu", RELU_OPS, relu, [("X", _BMF, Role.INPUT)], ("Y", _BMF), c
        ),
        _projection(f"{p}cpb_fc2", 1, entries, CPB_HIDDEN, heads, c),
        _elementwise(
            f"{p}cpb_sigmoid",
            "sigmoid",
            CPB_SCALE_OPS,
            scaled,
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
    ]


def block(stage: ModelConfig, plan: BlockPlan, b: int, window: int) -> list[Einsum]:
    """One Swinv2Layer over ``b`` (batch x windows) sequences of ``plan.m`` = window^2 tokens."""
    p, m, c, d = plan.prefix, plan.m, plan.count, stage.d_model
    qk_norm = {"b": b, "m": m, "f": 2 * d}
    return [
        _projection(f"{p}qkv_proj", b, m, d, 3 * d, c),
        _elementwise(
            f"{p}cos_qk_norm",
            "l2norm",
            L2NORM_OPS,
            qk_norm,
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        *_position_bias(stage, p, window, c),
        *_attention_core(stage, p, b, m, m, c),
        _projection(f"{p}out_proj", b, m, d, d, c),
        _norm(f"{p}post_norm1", stage.norm, b, m, d, c),
        _residual(f"{p}residual1", b, m, d, c),
        *_dense_ffn(stage, p, b, m, stage.d_ff, c),
        _norm(f"{p}post_norm2", stage.norm, b, m, d, c),
        _residual(f"{p}residual2", b, m, d, c),
    ]


def merge(model: ModelConfig, p: str, b: int, merged: int, width: int) -> tuple[Einsum, ...]:
    """Swinv2PatchMerging: the 2 x 2 groups' 4C features reduced to 2C, then normed."""
    return (
        _projection(f"{p}reduction", b, merged, 4 * width, 2 * width, 1),
        _norm(f"{p}norm", model.norm, b, merged, 2 * width, 1),
    )


def assumptions() -> list[str]:
    return [
        "Swin V2: the per-head logit scale, the gather of the position-bias table into the "
        "window's score matrix and its add (about 2 ops per score) are not counted, as Swin's "
        "relative position bias is not; the bias MLP is counted once per layer (its input is a "
        "fixed coordinate table, the same for every window and image)"
    ]
