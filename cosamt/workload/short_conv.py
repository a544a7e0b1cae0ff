"""LFM2's short-convolution token mixer (transformers' ``Lfm2ShortConv``), per token::

    B, C, x = in_proj(h)            # hidden -> 3 x hidden, chunked
    y = C * conv(B * x)             # conv: depthwise causal, conv_L_cache taps, no activation
    out = out_proj(y)               # hidden -> hidden

as Einsum operators: ``sc_in_proj``, ``sc_bx`` (B·x, a vector operator), ``sc_conv`` (the
convolution, MACs over the taps ``j``: :func:`cosamt.workload.transformer.depthwise_conv`), ``sc_cy``
(C·conv), ``sc_out_proj``. The convolution keeps ``conv_L_cache`` earlier inputs per channel
(decode: its cache); the earlier tokens a tile needs at its edge are not traffic.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    GATE_OPS,
    BlockPlan,
    _elementwise,
    _projection,
    depthwise_conv,
)


def short_conv_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The in-projection to B, C and x, the gate B·x, the convolution, the gate C·conv, the
    out-projection."""
    taps = model.short_conv_kernel
    assert taps is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model

    def gate(name: str) -> Einsum:
        return _elementwise(
            f"{p}{name}",
            "mul",
            GATE_OPS,
            {"b": b, "m": m, "f": d},
            [("A", _BMF, Role.INPUT), ("B", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        )

    return [
        _projection(f"{p}sc_in_proj", b, m, d, 3 * d, c),
        gate("sc_bx"),
        depthwise_conv(f"{p}sc_conv", b, m, d, taps, c),
        gate("sc_cy"),
        _projection(f"{p}sc_out_proj", b, m, d, d, c),
    ]


def assumptions(model: ModelConfig) -> list[str]:
    """What the short-convolution operators leave out."""
    groups = model.layer_groups or ()
    layers = sum(g.count for g in groups if g.mixer == "conv")
    if not layers:
        return []
    return [
        f"short convolution (LFM2) on {layers} of {model.n_layers} layers: in_proj to B, C, x, "
        f"B*x, a depthwise causal conv of {model.short_conv_kernel} taps, C*conv, out_proj; the "
        "conv's earlier tokens at a tile edge are not traffic"
    ]
