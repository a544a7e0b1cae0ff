"""SqueezeBERT's block (Iandola et al. 2020, arXiv:2006.11316), as transformers 5.24 computes it
(``SqueezeBertModule``: ``SqueezeBertSelfAttention``, ``ConvDropoutLayerNorm``,
``ConvActivation``): BERT's post-norm block with every projection a 1x1 convolution of ``g``
groups. A grouped 1x1 convolution is a block-diagonal GEMM, one Einsum with a group dimension
``g``: ``Y[b,m,g,f] += X[b,m,g,e] * W[g,e,f]`` (``e`` and ``f`` a group's input and output
channels), so it costs in x out / g MACs and its weight is g blocks::

    q, k, v = q_conv(h), k_conv(h), v_conv(h)        # q_groups, k_groups, v_groups
    a = norm1(post_conv(attention(q, k, v)) + h)     # post_attention_groups
    out = norm2(ffn2_conv(act(ffn1_conv(a))) + a)    # intermediate_groups, output_groups

A convolution of one group is the plain projection. The operators are named apart from the
plain block's (``q_conv``, ``post_conv``, ``ffn1_conv``, ...): the fusion menu's chains assume
ungrouped operands.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    BlockPlan,
    _attention_core,
    _norm,
    _projection,
    _residual,
    activation_op,
)


def grouped_projection(
    name: str, b: int, m: int, groups: int, cin: int, cout: int, count: int
) -> Einsum:
    """``Y[b,m,g,f] += X[b,m,g,e] * W[g,e,f]``: a 1x1 convolution of ``groups`` groups from
    ``cin`` to ``cout`` channels (a block-diagonal weight); one group: the plain projection."""
    if groups == 1:
        return _projection(name, b, m, cin, cout, count)
    return Einsum(
        name=name,
        dims={"b": b, "m": m, "g": groups, "e": cin // groups, "f": cout // groups},
        tensors=(
            Tensor("X", ("b", "m", "g", "e"), Role.INPUT),
            Tensor("W", ("g", "e", "f"), Role.WEIGHT),
            Tensor("Y", ("b", "m", "g", "f"), Role.OUTPUT),
        ),
        count=count,
    )


def squeeze_block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """One SqueezeBERT layer, in execution order."""
    cg = model.conv_groups
    assert cg is not None
    p, m, c, d, ff = plan.prefix, plan.m, plan.count, model.d_model, model.d_ff
    qk, v = model.n_heads * model.dh, model.kv_heads * model.vdh
    return [
        grouped_projection(f"{p}q_conv", b, m, cg.q, d, qk, c),
        grouped_projection(f"{p}k_conv", b, m, cg.k, d, qk, c),
        grouped_projection(f"{p}v_conv", b, m, cg.v, d, v, c),
        *_attention_core(model, p, b, m, plan.n, c),
        grouped_projection(f"{p}post_conv", b, m, cg.post, v, d, c),
        _residual(f"{p}residual1", b, m, d, c),
        _norm(f"{p}norm1", model.norm, b, m, d, c),
        grouped_projection(f"{p}ffn1_conv", b, m, cg.intermediate, d, ff, c),
        activation_op(model, f"{p}act", b, m, ff, c),
        grouped_projection(f"{p}ffn2_conv", b, m, cg.output, ff, d, c),
        _residual(f"{p}residual2", b, m, d, c),
        _norm(f"{p}norm2", model.norm, b, m, d, c),
    ]


def assumptions(model: ModelConfig) -> list[str]:
    cg = model.conv_groups
    if cg is None:
        return []
    return [
        f"grouped 1x1 convolutions as block-diagonal GEMMs (a group dimension g): Q, K, V "
        f"{cg.q}/{cg.k}/{cg.v} groups, attention output {cg.post}, FFN {cg.intermediate} and "
        f"{cg.output}; the convolutions' NCW layout (a transpose per block) is not counted"
    ]
