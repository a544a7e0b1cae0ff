"""Operators of odd structures read from single families' modelling code in transformers 5.24
(``src/transformers/models/<type>/modeling_<type>.py``; the reader: :mod:`cosamt.workload.hf_odds`):

* Voxtral Realtime's time-conditioned AdaRMSNorm (``ModelConfig.time_ada_norm``;
  ``VoxtralRealtimeTextAdaRmsNorm``, ``VoxtralRealtimeTextDecoderLayer``): after the FFN's
  RMSNorm, ``h * (1 + linear2(gelu(linear1(t_cond))))``. ``t_cond`` is one sinusoidal time
  embedding per forward (``VoxtralRealtimeModel.forward``: ``time_embedding`` of a one-element
  ``time_tensor`` holding ``num_delay_tokens``, broadcast over batch and tokens), so the MLP is
  two GEMMs of one row each (``ada_down``, ``ada_up``: b = m = 1 whatever the batch), and only the
  scaling (``ada_scale``) runs on every token.
* HY-V4's hyper-connections (``ModelConfig.hyper_connections`` = ``hc_mult`` streams N;
  ``HYV4HyperConnection``, ``HYV4DecoderLayer``, ``HYV4HyperHead``, ``HYV4Model``): the
  residual stream is N copies of the hidden state (the embeddings expanded). Before each
  sublayer (``attn_hc``, ``ffn_hc``): ``{hc}_norm`` (an unweighted RMSNorm over all N x d
  features), ``{hc}_mix`` (``F.linear(flat, fn)``: N x d -> 2N logits; times the norm's
  scale), ``{hc}_gates`` (scale, bias, sigmoid, eps; the post gates times ``hc_magnitude``),
  ``{hc}_pre`` (the streams' weighted sum, the sublayer's input: a contraction over the N
  streams, a MAC operator like the indexer's head sum); after it ``{hc}_post`` (``post * h +
  residual`` on every stream, in place of the residual add). After the layers ``hc_head.``
  (``HYV4HyperHead``): the norm, ``mix`` (N x d -> N), ``gates``, ``pre`` (the weighted sum).

All are GEMMs or element-wise vector operators the MIP and the evaluator already schedule.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.recurrent import SIGMOID_OPS
from cosamt.workload.transformer import (
    _BMF,
    RMSNORM_OPS,
    BlockPlan,
    _elementwise,
    _ffn,
    _norm,
    _projection,
    activation_ops,
)

# The block kind of HY-V4's HYV4HyperHead (BlockPlan.special), once after the layers.
HC_HEAD = "hc_head"
# HYV4HyperConnection: logits * norm scale, * scale, + base, sigmoid, + eps (the post gates'
# hc_magnitude factor rides on that count: stated).
HC_GATE_OPS = 4 + SIGMOID_OPS
HC_POST_OPS = 2  # post[n] * h + residual[n], per stream and feature


def time_ada_norm_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The AdaRMSNorm MLP on the one time embedding (a single row: b = m = 1), then every token's
    normed hidden state times 1 + its output (one multiply per element)."""
    width = model.time_ada_norm
    if width is None:
        return []
    p, c, d = plan.prefix, plan.count, model.d_model
    return [
        _projection(f"{p}ada_down", 1, 1, d, width, c),
        _elementwise(
            f"{p}ada_act",
            "gelu",
            activation_ops("gelu"),
            {"b": 1, "m": 1, "f": width},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        _projection(f"{p}ada_up", 1, 1, width, d, c),
        _elementwise(
            f"{p}ada_scale",
            "mul",
            1,
            {"b": b, "m": plan.m, "f": d},
            [("X", _BMF, Role.INPUT), ("A", ("f",), Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
    ]


def _hc_mix(model: ModelConfig, p: str, b: int, m: int, gates: int, c: int) -> list[Einsum]:
    """The streams' norm, their GEMM to ``gates`` logits, the gates, the weighted sum."""
    n = model.hyper_connections
    assert n is not None
    d = model.d_model
    bmn = ("b", "m", "n")
    return [
        _elementwise(
            f"{p}norm",
            "rmsnorm",
            RMSNORM_OPS,
            {"b": b, "m": m, "f": n * d},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        _projection(f"{p}mix", b, m, n * d, gates, c),
        _elementwise(
            f"{p}gates",
            "sigmoid-gate",
            HC_GATE_OPS,
            {"b": b, "m": m, "f": gates},
            [("L", _BMF, Role.INPUT)],
            ("G", _BMF),
            c,
        ),
        # Y[b,m,f] = sum_n P[b,m,n] * X[b,m,n,f]
        Einsum(
            name=f"{p}pre",
            dims={"b": b, "m": m, "f": d, "n": n},
            tensors=(
                Tensor("P", bmn, Role.INPUT),
                Tensor("X", ("b", "m", "n", "f"), Role.INPUT),
                Tensor("Y", _BMF, Role.OUTPUT),
            ),
            count=c,
        ),
    ]


def _hc_post(model: ModelConfig, p: str, b: int, m: int, c: int) -> Einsum:
    """``post[n] * h + residual[n]``: the sublayer's output onto every stream."""
    n = model.hyper_connections
    assert n is not None
    streams = ("b", "m", "n", "f")
    return _elementwise(
        f"{p}post",
        "hc-post",
        HC_POST_OPS,
        {"b": b, "m": m, "n": n, "f": model.d_model},
        [("P", ("b", "m", "n"), Role.INPUT), ("H", _BMF, Role.INPUT), ("R", streams, Role.INPUT)],
        ("Y", streams),
        c,
    )


def hc_layer_ops(model: ModelConfig, plan: BlockPlan, b: int, mixer: list[Einsum]) -> list[Einsum]:
    """HYV4DecoderLayer: attn_hc, input_layernorm, the attention (``mixer``), its post onto
    the streams; ffn_hc, post_attention_layernorm, the MLP or MoE (routed and shared experts
    summed first), its post."""
    n = model.hyper_connections
    assert n is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    ops = [
        *_hc_mix(model, f"{p}attn_hc_", b, m, 2 * n, c),
        _norm(f"{p}norm1", model.norm, b, m, d, c),
    ]
    ops += [*mixer, _hc_post(model, f"{p}attn_hc_", b, m, c)]
    ops += [
        *_hc_mix(model, f"{p}ffn_hc_", b, m, 2 * n, c),
        _norm(f"{p}norm2", model.norm, b, m, d, c),
    ]
    ops += _ffn(model, plan, b)
    if plan.moe and model.shared_d_ff:
        from cosamt.workload.addons import expert_sum

        ops.append(expert_sum(plan, b, d))
    return [*ops, _hc_post(model, f"{p}ffn_hc_", b, m, c)]


def hc_head_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """HYV4HyperHead: the streams collapsed to one hidden state (N gates, no post)."""
    n = model.hyper_connections
    assert n is not None
    return _hc_mix(model, plan.prefix, b, plan.m, n, plan.count)


def assumptions(model: ModelConfig) -> list[str]:
    """What these operators count and leave out, for every report."""
    out = []
    if model.time_ada_norm is not None:
        out.append(
            f"time-conditioned AdaRMSNorm: the MLP (hidden -> {model.time_ada_norm} -> hidden, "
            "GELU) runs once per forward and layer on the one time embedding (b = m = 1); the FFN "
            "input times (1 + its output) on every token (the 1 + added once per layer on "
            "hidden_size elements, not counted); the sinusoidal time embedding is not counted"
        )
    if model.hyper_connections is not None:
        out.append(
            f"hyper-connections: {model.hyper_connections} residual streams (the embeddings "
            "expanded, a copy not counted); per sublayer the streams' unweighted RMSNorm, a GEMM "
            "to 2 x streams gate logits, the gates, the weighted sum (a MAC contraction over "
            "the streams), and post * h + residual on every stream; HYV4HyperHead after the "
            "layers; the gates' scalars (scale, bias, eps, hc_magnitude) counted as 4 vector "
            "ops beside the sigmoid"
        )
    return out
