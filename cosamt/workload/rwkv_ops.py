"""The operators of an RWKV-4 block (``ModelConfig.rwkv``; transformers' ``RwkvBlock``,
``RwkvSelfAttention``, ``RwkvFeedForward``, ``rwkv_linear_attention_cpu``), per token::

    x = ln1(h)
    k, v, r = mix_k(x, x_prev), mix_v(...), mix_r(...)     # tm_shift: x*mu + x_prev*(1 - mu)
    k, v, r = key(k), value(v), sigmoid(receptance(r))      # tm_key, tm_value, tm_receptance
    wkv = WKV(k, v; time_decay, time_first, state)          # wkv: the recurrence, per channel
    h = h + output(r * wkv)                                 # tm_gate, tm_out, residual1
    x = ln2(h)
    k, r = mix_k(x, x_prev), mix_r(x, x_prev)               # cm_shift
    h = h + sigmoid(receptance(r)) * value(relu(key(k))^2)  # cm_* , residual2

The projections are GEMMs; the token shifts, the gates and the WKV recurrence (the code's
numerically stable form: a running maximum, two exponentials per output and per state update, the
numerator and denominator states) are vector operators. The previous token a tile needs at its
edge (the shift) and the three state words per channel are not counted as traffic (the state as
one ``b x channels`` tensor), stated.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role
from cosamt.workload.models import ModelConfig
from cosamt.workload.recurrent import SIGMOID_OPS, token_vector
from cosamt.workload.transformer import (
    _BMF,
    GATE_OPS,
    RELU2_OPS,
    BlockPlan,
    _elementwise,
    _norm,
    _projection,
    _residual,
)

SHIFT_OPS = 3  # x * mu + x_prev * (1 - mu): two multiplies and an add (1 - mu a constant)
# rwkv_linear_attention_cpu per channel and token: the output (k + u, max, two subtractions and
# two exps, e1 * num + e2 * v: 3, e1 * den + e2: 2, the division: 12) and the state update
# (state + w, max, two subtractions and two exps, the numerator 3, the denominator 2: 11).
WKV_OPS = 23


def block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """One RWKV block: time mixing, then channel mixing, each ``norm, mixer, residual add``."""
    spec = model.rwkv
    assert spec is not None
    p, m, c, d, att, ff = (
        plan.prefix,
        plan.m,
        plan.count,
        model.d_model,
        spec.attention_width,
        model.d_ff,
    )

    def vec(name: str, op: str, ops: int, f: int, inputs: int = 1) -> Einsum:
        return token_vector(f"{p}{name}", op, ops, b, m, f, c, inputs)

    wkv = _elementwise(
        f"{p}wkv",
        "wkv",
        WKV_OPS,
        {"b": b, "m": m, "f": att},
        [
            ("K", _BMF, Role.INPUT),
            ("V", _BMF, Role.INPUT),
            ("S", ("b", "f"), Role.INPUT),  # the numerator, denominator and maximum states
            ("W", ("f",), Role.WEIGHT),  # time_decay and time_first
        ],
        ("Y", _BMF),
        c,
    )
    return [
        _norm(f"{p}norm1", "layernorm", b, m, d, c),
        vec("tm_shift", "token-shift", SHIFT_OPS, 3 * d),
        _projection(f"{p}tm_key", b, m, d, att, c),
        _projection(f"{p}tm_value", b, m, d, att, c),
        _projection(f"{p}tm_receptance", b, m, d, att, c),
        vec("tm_sigmoid", "sigmoid", SIGMOID_OPS, att),
        wkv,
        vec("tm_gate", "mul", GATE_OPS, att, 2),
        _projection(f"{p}tm_out", b, m, att, d, c),
        _residual(f"{p}residual1", b, m, d, c),
        _norm(f"{p}norm2", "layernorm", b, m, d, c),
        vec("cm_shift", "token-shift", SHIFT_OPS, 2 * d),
        _projection(f"{p}cm_key", b, m, d, ff, c),
        vec("cm_act", "relu2", RELU2_OPS, ff),
        _projection(f"{p}cm_value", b, m, ff, d, c),
        _projection(f"{p}cm_receptance", b, m, d, d, c),
        vec("cm_sigmoid", "sigmoid", SIGMOID_OPS, d),
        vec("cm_gate", "mul", GATE_OPS, d, 2),
        _residual(f"{p}residual2", b, m, d, c),
    ]


def assumptions(model: ModelConfig) -> list[str]:
    """How the RWKV blocks are counted."""
    if model.rwkv is None:
        return []
    return [
        "rwkv: time mixing (key, value, receptance and output projections; the WKV recurrence "
        f"token by token, {WKV_OPS} vector ops per channel as rwkv_linear_attention_cpu "
        "computes it, prefill too: the CUDA kernel's work is the same recurrence) and channel "
        "mixing per block; the token shift's previous token and the WKV state (3 words per "
        "channel, counted as one) are not traffic; layer 0's extra pre_ln and the inference "
        "rescaling (hidden / 2 every rescale_every layers) are not counted; no attention, no KV "
        "cache"
    ]
