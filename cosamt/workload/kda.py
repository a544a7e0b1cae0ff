"""Operators of Kimi Delta Attention (KDA), the linear attention of Kimi Linear and Bailing's
hybrids (transformers' ``KimiLinearDeltaAttention`` in ``modeling_kimi_linear.py``,
``BailingHybridDeltaAttention`` in ``modeling_bailing_hybrid.py``).

KDA is Gated DeltaNet (:func:`cosamt.workload.recurrent.gated_deltanet_ops`) whose forget gate
decays every key channel of the state by its own amount: per token ``t`` and head, state ``S``
(``head_dim`` x ``head_dim``)::

    S <- diag(exp(g_t)) S;  kv = S^T k_t;  delta = (v_t - kv) * beta_t;  S <- S + k_t delta^T;
    o_t = S^T q_t

``g_t`` (one value per key channel) comes from a projection of the layer input (Kimi Linear:
low-rank ``f_b_proj(f_a_proj(x))``; Bailing: ``f_proj(x)``), the output gate likewise (Kimi:
``g_b_proj(g_a_proj(x))``; Bailing: ``g_proj(x)``) into a sigmoid-gated RMSNorm per head. Counted
in the recurrent form like Gated DeltaNet: decay, read, write and readout each touch
``head_dim`` x ``head_dim`` state elements per token and head.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.layer_kinds import KimiDelta
from cosamt.workload.models import ModelConfig
from cosamt.workload.recurrent import DELTA_OPS, L2NORM_OPS, SIGMOID_OPS, token_vector
from cosamt.workload.transformer import (
    RMSNORM_OPS,
    SILU_OPS,
    BlockPlan,
    _elementwise,
    _projection,
    depthwise_conv,
)

# Per key channel: + dt_bias, x exp(A_log), sigmoid (x the lower bound) or softplus (x -1), exp.
FORGET_OPS = 2 + SIGMOID_OPS + 1 + 1
# RMSNorm, then times sigmoid(gate) (KimiLinearRMSNormGated, BailingHybridRMSNormGated).
SIGMOID_NORM_OPS = RMSNORM_OPS + SIGMOID_OPS + 1


def _gate_projection(
    name: str, b: int, m: int, d: int, width: int, rank: int | None, c: int
) -> list[Einsum]:
    """A gate's projection of the layer input: through ``rank`` features, or full."""
    if rank is None:
        return [_projection(f"{name}_proj", b, m, d, width, c)]
    return [
        _projection(f"{name}_down", b, m, d, rank, c),
        _projection(f"{name}_up", b, m, rank, width, c),
    ]


def kda_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """A KDA token mixer: the Q, K, V projections, their depthwise causal convolution and SiLU,
    the forget gate (per key channel) and beta, L2-normed Q and K, the state decay, read, delta,
    write and readout, the output gate and its gated RMSNorm, the out-projection."""
    kda = model.kda
    assert kda is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    h, dk = kda.heads, kda.head_dim
    width = h * dk
    state = {"b": b, "m": m, "h": h, "d": dk, "v": dk}
    s_dims = ("b", "h", "d", "v")
    s_in = Tensor("S", s_dims, Role.INPUT)
    bmhd, bmhv = ("b", "m", "h", "d"), ("b", "m", "h", "v")

    def vec(name: str, op: str, ops: int, f: int, inputs: int = 1) -> Einsum:
        return token_vector(f"{p}{name}", op, ops, b, m, f, c, inputs)

    def state_op(name: str, a: Tensor, b_: Tensor, out: Tensor) -> Einsum:
        return Einsum(name=f"{p}{name}", dims=state, tensors=(a, b_, out), count=c)

    return [
        _projection(f"{p}kda_qkv_proj", b, m, d, 3 * width, c),
        depthwise_conv(f"{p}kda_conv", b, m, 3 * width, kda.conv_kernel, c),
        vec("kda_conv_act", "silu", SILU_OPS, 3 * width),
        *_gate_projection(f"{p}kda_forget", b, m, d, width, kda.forget_rank, c),
        vec("kda_forget_act", "forget-gate", FORGET_OPS, width),
        _projection(f"{p}kda_beta_proj", b, m, d, h, c),
        vec("kda_beta", "sigmoid", SIGMOID_OPS, h),
        vec("kda_qk_norm", "l2norm", L2NORM_OPS, 2 * width),
        _elementwise(
            f"{p}kda_decay",
            "decay",
            1,
            state,
            [("S", s_dims, Role.INPUT), ("G", bmhd, Role.INPUT)],
            ("T", s_dims),
            c,
        ),
        state_op("kda_read", s_in, Tensor("K", bmhd, Role.INPUT), Tensor("R", bmhv, Role.OUTPUT)),
        _elementwise(
            f"{p}kda_delta",
            "delta",
            DELTA_OPS,
            {"b": b, "m": m, "h": h, "v": dk},
            [("V", bmhv, Role.INPUT), ("R", bmhv, Role.INPUT), ("B", ("b", "m", "h"), Role.INPUT)],
            ("D", bmhv),
            c,
        ),
        state_op(
            "kda_write",
            Tensor("K", bmhd, Role.INPUT),
            Tensor("D", bmhv, Role.INPUT),
            Tensor("S", s_dims, Role.OUTPUT),
        ),
        state_op(
            "kda_readout", s_in, Tensor("Q", bmhd, Role.INPUT), Tensor("O", bmhv, Role.OUTPUT)
        ),
        *_gate_projection(f"{p}kda_gate", b, m, d, width, kda.gate_rank, c),
        vec("kda_norm", "sigmoid-rmsnorm", SIGMOID_NORM_OPS, width, 2),
        _projection(f"{p}kda_out_proj", b, m, width, d, c),
    ]


def assumptions(model: ModelConfig, kda: KimiDelta) -> list[str]:
    """What the KDA operators count and leave out, for every report."""
    layers = sum(g.count for g in model.layer_groups or () if g.mixer == "kda")
    forget = f"rank {kda.forget_rank}" if kda.forget_rank else "full rank"
    gate = f"rank {kda.gate_rank}" if kda.gate_rank else "full rank"
    return [
        f"Kimi Delta Attention on {layers} of {model.n_layers} layers ({kda.heads} heads x "
        f"{kda.head_dim}), counted in its recurrent form: per token and head {kda.head_dim} x "
        f"{kda.head_dim} state elements decayed (one forget gate per key channel), read, written "
        "and read out (the chunked prefill kernel's intra-chunk matrices are not modelled); "
        f"forget gate {forget}, output gate {gate}; the convolution's {kda.conv_kernel - 1} "
        "earlier tokens at a tile edge are not traffic"
    ]
