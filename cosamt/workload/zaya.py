"""Operators of a ZAYA decoder layer (transformers' ``ZayaDecoderLayer`` in ``modeling_zaya.py``;
compressed convolutional attention: arXiv:2510.04476).

* ``norm1``; ``ZayaCCAProjection``: ``cca_qk_proj`` (q_proj, k_proj), ``cca_v_proj``
  (v_proj_current and v_proj_delayed, half a value head each), ``cca_mix`` (the residual paths:
  (q + repeated k) / 2 and its mean per KV group), ``cca_dwconv`` (``conv_qk_depthwise``:
  ``cca_time0`` taps over the query and key channels), ``cca_gconv`` (``conv_qk_grouped``: one
  group per query and key head, ``head_dim`` in and out channels, ``cca_time1`` taps),
  ``cca_add`` (plus the residual paths); ``qk_norm`` (``ZayaQKNorm``: L2 norms, the key scale);
  ``rope``; ``qk``, ``softmax``, ``av``; ``out_proj``; ``residual1`` (``ZayaResidualScaling``:
  (h + b) s + (r + b') s');
* ``norm2``; ``ZayaRouter``: ``router_down`` (hidden -> ``router_hidden_size``), ``router_eda``
  (plus the previous layer's router state, scaled), ``router_norm``, ``router_fc1``,
  ``router_act1``, ``router_fc2``, ``router_act2``, ``router_out`` (to the experts and the skip
  expert), ``route``; the experts (a skip pick is redirected to expert 0 with weight 0 and still
  computed by ``ZayaExperts``: every pick counts); ``residual2`` (scaled likewise).
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.recurrent import L2NORM_OPS, token_vector
from cosamt.workload.transformer import (
    GELU_OPS,
    RMSNORM_OPS,
    ROPE_OPS,
    BlockPlan,
    _attention_core,
    _ffn,
    _norm,
    _projection,
    depthwise_conv,
    route_ops,
)

SCALED_RESIDUAL_OPS = 5  # (h + b) * s + (r + b') * s'
MIX_OPS = 3  # (q + k) / 2, then the mean over the KV group (amortised)


def _vec(
    p: str, name: str, op: str, ops: int, b: int, m: int, f: int, c: int, inputs: int = 1
) -> Einsum:
    return token_vector(f"{p}{name}", op, ops, b, m, f, c, inputs)


def _grouped_conv(name: str, b: int, m: int, groups: int, width: int, taps: int, c: int) -> Einsum:
    """``Y[b,m,g,o] += X[b,m+o(j),g,i] * W[g,o,i,j]``: a grouped causal convolution, ``width``
    channels in and out per group (the taps' earlier tokens at a tile edge are not traffic)."""
    return Einsum(
        name=name,
        dims={"b": b, "m": m, "g": groups, "o": width, "i": width, "j": taps},
        tensors=(
            Tensor("X", ("b", "m", "g", "i"), Role.INPUT),
            Tensor("W", ("g", "o", "i", "j"), Role.WEIGHT),
            Tensor("Y", ("b", "m", "g", "o"), Role.OUTPUT),
        ),
        count=c,
    )


def _attention(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    spec = model.zaya
    assert spec is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    h, kv, dh = model.n_heads, model.kv_heads, model.dh
    qk = (h + kv) * dh
    ops = [
        _projection(f"{p}cca_qk_proj", b, m, d, qk, c),
        _projection(f"{p}cca_v_proj", b, m, d, kv * dh, c),
        _vec(p, "cca_mix", "mix", MIX_OPS, b, m, h * dh, c, 2),
        depthwise_conv(f"{p}cca_dwconv", b, m, qk, spec.time0, c),
        _grouped_conv(f"{p}cca_gconv", b, m, h + kv, dh, spec.time1, c),
        _vec(p, "cca_add", "add", 1, b, m, qk, c, 2),
        _vec(p, "qk_norm", "l2norm", L2NORM_OPS + 1, b, m, qk, c),
    ]
    if model.rotary_dim is not None:
        ops.append(_vec(p, "rope", "rope", ROPE_OPS, b, m, (h + kv) * model.rotary_dim, c))
    return [
        *ops,
        *_attention_core(model, p, b, m, plan.n, c),
        _projection(f"{p}out_proj", b, m, h * model.vdh, d, c),
    ]


def _moe(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """ZayaRouter's MLP in place of the linear router, then the experts."""
    spec = model.zaya
    assert spec is not None and model.n_experts is not None and model.experts_per_token
    p, m, c, d, r = plan.prefix, plan.m, plan.count, model.d_model, spec.router_hidden
    classes = model.n_experts + 1  # and the skip expert
    router = [
        _projection(f"{p}router_down", b, m, d, r, c),
        _vec(p, "router_eda", "scale+add", 2, b, m, r, c, 2),
        _vec(p, "router_norm", "rmsnorm", RMSNORM_OPS, b, m, r, c),
        _projection(f"{p}router_fc1", b, m, r, r, c),
        _vec(p, "router_act1", "gelu", GELU_OPS, b, m, r, c),
        _projection(f"{p}router_fc2", b, m, r, r, c),
        _vec(p, "router_act2", "gelu", GELU_OPS, b, m, r, c),
        _projection(f"{p}router_out", b, m, r, classes, c),
        _vec(p, "route", "softmax+topk", route_ops(model.experts_per_token), b, m, classes, c),
    ]
    experts = [op for op in _ffn(model, plan, b) if op.name not in (f"{p}router", f"{p}route")]
    return router + experts


def block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """One ZAYA layer (see the module docstring)."""
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    return [
        _norm(f"{p}norm1", model.norm, b, m, d, c),
        *_attention(model, plan, b),
        _vec(p, "residual1", "scaled-add", SCALED_RESIDUAL_OPS, b, m, d, c, 2),
        _norm(f"{p}norm2", model.norm, b, m, d, c),
        *(_moe(model, plan, b) if plan.moe else _ffn(model, plan, b)),
        _vec(p, "residual2", "scaled-add", SCALED_RESIDUAL_OPS, b, m, d, c, 2),
    ]


def assumptions(model: ModelConfig) -> list[str]:
    spec = model.zaya
    assert spec is not None
    return [
        f"zaya: compressed convolutional attention (depthwise {spec.time0} and grouped "
        f"{spec.time1} taps over the query and key heads), L2 Q/K norms; the router an MLP on a "
        f"{spec.router_hidden}-wide state carried from the previous layer (its add counted on "
        "every layer, layer 0 has none: vector work); every expert pick computed (ZayaExperts "
        "runs a skip pick through expert 0 with weight 0); residual scaling (2 adds, 2 "
        "multiplies per element)"
    ]
