"""Nystromformer's depthwise convolution over the values (Xiong et al. 2021, arXiv:2102.03902,
sec. 3.3; transformers' ``NystromformerSelfAttention.conv``): ``nn.Conv2d`` over (tokens, head
features) with kernel ``(conv_kernel_size, 1)`` and ``groups = num_attention_heads``, so each head
has one filter of ``taps`` along the sequence, applied to every feature of its values, the result
added to the attention output::

    Y[b,m,h,d] += V[b,m+o(j),h,d] * W[h,j]      # value_conv
    O = O + Y                                   # value_conv_add

``V`` is indexed by the output token (the neighbours at a tile edge are not traffic), as
:func:`cosamt.workload.transformer.depthwise_conv` counts a convolution; the zero padding's
products are counted (the convolution computes them).
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import ADD_OPS, BlockPlan, _elementwise


def value_conv_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The per-head convolution of the values and its add onto the attention output."""
    taps = model.value_conv
    if taps is None:
        return []
    p, m, c, h, dh = plan.prefix, plan.m, plan.count, model.kv_heads, model.vdh
    head = ("b", "m", "h", "d")
    conv = Einsum(
        name=f"{p}value_conv",
        dims={"b": b, "m": m, "h": h, "d": dh, "j": taps},
        tensors=(
            Tensor("V", head, Role.INPUT),
            Tensor("W", ("h", "j"), Role.WEIGHT),
            Tensor("Y", head, Role.OUTPUT),
        ),
        count=c,
    )
    add = _elementwise(
        f"{p}value_conv_add",
        "add",
        ADD_OPS,
        {"b": b, "m": m, "h": h, "d": dh},
        [("O", head, Role.INPUT), ("Y", head, Role.INPUT)],
        ("Z", head),
        c,
    )
    return [conv, add]
