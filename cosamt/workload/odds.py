"""Operators of odd structures read from single families' modelling code in transformers 5.24
(``src/transformers/models/<type>/modeling_<type>.py``; the reader: :mod:`cosamt.workload.hf_odds`):

* Voxtral Realtime's time-conditioned AdaRMSNorm (``ModelConfig.time_ada_norm``;
  ``VoxtralRealtimeTextAdaRmsNorm``, ``VoxtralRealtimeTextDecoderLayer``): after the FFN's
  RMSNorm, ``h * (1 + linear2(gelu(linear1(t_cond))))``. ``t_cond`` is one sinusoidal time
  embedding per forward (``VoxtralRealtimeModel.forward``: ``time_embedding`` of a one-element
  ``time_tensor`` holding ``num_delay_tokens``, broadcast over batch and tokens), so the MLP is
  two GEMMs of one row each (``ada_down``, ``ada_up``: b = m = 1 whatever the batch), and only the
  scaling (``ada_scale``) runs on every token.

All are GEMMs or element-wise vector operators the MIP and the evaluator already schedule.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    BlockPlan,
    _elementwise,
    _projection,
    activation_ops,
)


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
    return out
