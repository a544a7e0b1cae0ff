"""ConvBERT's mixed attention (Jiang et al. 2020, arXiv:2008.02496; transformers'
``ConvBertSelfAttention``, ``SeparableConv1D``): half of the heads' width is self-attention over
``n_heads`` (= ``num_attention_heads // head_ratio``) heads of ``head_dim``, the other half a
span-based dynamic convolution of ``span_kernel`` taps per head, per token::

    q, k, v  = query(x), key(x), value(x)                # qkv_proj: hidden -> 3 A
    ks       = pointwise(depthwise(x))                    # span_key_dw (k taps), span_key_pw
    kernel   = softmax_j(conv_kernel_layer(ks * q))       # span_qk, span_kernel, span_softmax
    u        = conv_out_layer(x)                          # span_value
    conv[h]  = sum_j unfold(u)[h, :, j] * kernel[h, j]    # span_conv: per token and head
    out      = dense([attention(q, k, v) | conv])         # the attention core, out_proj: 2 A -> hidden

with A = ``n_heads`` x ``head_dim``. ``span_conv`` is ``Y[b,m,h,d] += U[b,m,h,d] K[b,m,h,j]``:
the neighbour a tap reads indexed by the output token (the unfold's halo is not traffic), as
:func:`cosamt.workload.transformer.depthwise_conv` counts a convolution.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    GATE_OPS,
    SOFTMAX_OPS,
    BlockPlan,
    _attention_core,
    _elementwise,
    _projection,
    depthwise_conv,
)


def mixed_attention(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """Self-attention and the span-based dynamic convolution side by side, one output dense."""
    taps = model.span_kernel
    assert taps is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    h, dh = model.n_heads, model.dh
    width = h * dh
    conv = Einsum(
        name=f"{p}span_conv",
        dims={"b": b, "m": m, "h": h, "d": dh, "j": taps},
        tensors=(
            Tensor("U", ("b", "m", "h", "d"), Role.INPUT),
            Tensor("K", ("b", "m", "h", "j"), Role.INPUT),
            Tensor("Y", ("b", "m", "h", "d"), Role.OUTPUT),
        ),
        count=c,
    )
    return [
        _projection(f"{p}qkv_proj", b, m, d, 3 * width, c),
        depthwise_conv(f"{p}span_key_dw", b, m, d, taps, c),
        _projection(f"{p}span_key_pw", b, m, d, width, c),
        _elementwise(
            f"{p}span_qk",
            "mul",
            GATE_OPS,
            {"b": b, "m": m, "f": width},
            [("K", _BMF, Role.INPUT), ("Q", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        _projection(f"{p}span_kernel", b, m, width, h * taps, c),
        _elementwise(
            f"{p}span_softmax",
            "softmax",
            SOFTMAX_OPS,
            {"b": b, "m": m, "f": h * taps},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        _projection(f"{p}span_value", b, m, d, width, c),
        conv,
        *_attention_core(model, p, b, m, plan.n, c),
        _projection(f"{p}out_proj", b, m, 2 * width, d, c),
    ]


def assumptions(model: ModelConfig) -> list[str]:
    """How the mixed attention is counted."""
    if model.span_kernel is None:
        return []
    return [
        f"ConvBERT mixed attention: {model.n_heads} self-attention heads of {model.dh} features "
        f"beside {model.n_heads} span-based dynamic convolution heads of {model.span_kernel} taps "
        "(the separable key convolution, the per-token kernels' projection and softmax, the "
        "unfolded product); the unfold's neighbours at a tile edge are not traffic"
    ]
