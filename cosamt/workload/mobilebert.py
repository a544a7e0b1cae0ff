"""MobileBERT's block (Sun et al. 2020, arXiv:2004.02984), as transformers 5.24 computes it
(``MobileBertLayer``, ``Bottleneck``, ``MobileBertAttention``, ``FFNLayer``, ``MobileBertOutput``,
``OutputBottleneck``), with H the hidden size, T the inner width (``true_hidden_size``) and I
``intermediate_size``::

    layer_input = norm(bn_in(h))                      # H -> T          (use_bottleneck)
    q, k = qk_proj(norm(bn_qk(h)))                    # H -> T -> 2T    (key_query_shared_bottleneck)
    v = v_proj(h)                                     # H -> T
    a = norm(out_proj(attention(q, k, v)) + layer_input)
    a = norm(ffn2(act(ffn1(a))) + a)                  # num_feedforward_networks - 1 times
    o = norm(ffn2(act(ffn1(a))) + a)                  # MobileBertOutput
    out = norm(bn_out(o) + h)                         # T -> H          (OutputBottleneck)

``use_bottleneck_attention`` takes Q, K and V from ``layer_input`` instead; without
``use_bottleneck`` T = H and there are no bottlenecks. A norm is ``NoNorm`` (x * w + b, 2 ops
per element: ``normalization_type`` ``no_norm``) or a LayerNorm. Every operator is a GEMM or an
element-wise vector operator.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    BlockPlan,
    _attention_core,
    _elementwise,
    _norm,
    _projection,
    _residual,
    activation_op,
)

AFFINE_OPS = 2  # NoNorm: x * weight + bias


def _norm_op(model: ModelConfig, name: str, b: int, m: int, width: int, c: int) -> Einsum:
    mb = model.mobile
    assert mb is not None
    if not mb.no_norm:
        return _norm(name, "layernorm", b, m, width, c)
    return _elementwise(
        name,
        "affine",
        AFFINE_OPS,
        {"b": b, "m": m, "f": width},
        [("X", _BMF, Role.INPUT), ("G", ("f",), Role.WEIGHT)],
        ("Y", _BMF),
        c,
    )


def _ffn(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    """One FFN of the stack at the inner width, its residual add and norm."""
    mb = model.mobile
    assert mb is not None
    t, i = mb.inner, model.d_ff
    return [
        _projection(f"{p}ffn1", b, m, t, i, c),
        activation_op(model, f"{p}act", b, m, i, c),
        _projection(f"{p}ffn2", b, m, i, t, c),
        _residual(f"{p}residual", b, m, t, c),
        _norm_op(model, f"{p}norm", b, m, t, c),
    ]


def _inputs(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The bottlenecks and the Q, K, V projections (MobileBertLayer.bottleneck, the
    self-attention's query, key, value)."""
    mb = model.mobile
    assert mb is not None
    p, m, c, h, t = plan.prefix, plan.m, plan.count, model.d_model, mb.inner
    if not mb.bottleneck:
        return [_projection(f"{p}qkv_proj", b, m, h, 3 * t, c)]
    ops = [_projection(f"{p}bn_in", b, m, h, t, c), _norm_op(model, f"{p}bn_in_norm", b, m, t, c)]
    if mb.bottleneck_attention:
        return [*ops, _projection(f"{p}qkv_proj", b, m, t, 3 * t, c)]
    return [
        *ops,
        _projection(f"{p}bn_qk", b, m, h, t, c),
        _norm_op(model, f"{p}bn_qk_norm", b, m, t, c),
        _projection(f"{p}qk_proj", b, m, t, 2 * t, c),
        _projection(f"{p}v_proj", b, m, h, t, c),
    ]


def mobile_block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """One MobileBERT layer, in execution order."""
    mb = model.mobile
    assert mb is not None
    p, m, c, h, t = plan.prefix, plan.m, plan.count, model.d_model, mb.inner
    ops = [
        *_inputs(model, plan, b),
        *_attention_core(model, p, b, m, plan.n, c),
        _projection(f"{p}out_proj", b, m, t, t, c),
        _residual(f"{p}residual1", b, m, t, c),
        _norm_op(model, f"{p}norm1", b, m, t, c),
    ]
    for i in range(1, mb.ffns):  # one block: no dot inside a name (a dot opens a block prefix)
        ops += _ffn(model, f"{p}stack{i}_", b, m, c)
    ffn = _ffn(model, p, b, m, c)
    ffn[-2:] = [_residual(f"{p}residual2", b, m, t, c), _norm_op(model, f"{p}norm2", b, m, t, c)]
    ops += ffn
    if mb.bottleneck:
        ops += [
            _projection(f"{p}bn_out", b, m, t, h, c),
            _residual(f"{p}bn_out_residual", b, m, h, c),
            _norm_op(model, f"{p}bn_out_norm", b, m, h, c),
        ]
    return ops


def assumptions(model: ModelConfig) -> list[str]:
    mb = model.mobile
    if mb is None:
        return []
    norm = "NoNorm (x * w + b)" if mb.no_norm else "LayerNorm"
    return [
        f"MobileBERT block: inner width {mb.inner}, {mb.ffns} stacked FFNs, {norm} after each "
        "sublayer's residual add"
        + (", input and output bottlenecks" if mb.bottleneck else "")
        + "; the trigram embedding and its transformation are not modelled"
    ]
