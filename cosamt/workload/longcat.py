"""Operators of a LongCat-Flash decoder layer (transformers' ``LongcatFlashDecoderLayer`` in
``modeling_longcat_flash.py``; Meituan LongCat team, arXiv:2509.01322).

Each logical layer has two attention sublayers and two dense MLPs, and one shortcut-connected
MoE fed from the first MLP's input and added at the layer's end::

    h1 = x + MLA_0(norm_a0(x));   y = norm_m0(h1)
    s = MoE(y);                    h2 = h1 + MLP_0(y)
    h3 = h2 + MLA_1(norm_a1(h2));  out = h3 + MLP_1(norm_m1(h3)) + s

Operators: ``s0.`` and ``s1.`` prefix the two sublayers' norms, MLA and MLP (``s0.norm1``,
``s0.q_down``, ..., ``s0.ffn2``, ``s0.residual1``, ``s0.residual2``); the MoE's (``router``,
``route``, ``expert_*``, ``combine``, ``zero_experts``) have the layer's prefix. The router scores
the routed experts and ``zero_expert_num`` zero-computation experts (``LongcatFlashExperts``: an
identity scaled by its weight); under balanced routing the picks spread evenly over both kinds, a
routed share of the touched experts computing.
"""

from __future__ import annotations

import math
from dataclasses import replace

from cosamt.workload.einsum import Einsum, Role
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    COMBINE_OPS,
    BlockPlan,
    _dense_ffn,
    _elementwise,
    _expert_projection,
    _norm,
    _projection,
    _residual,
    _self_attention,
    activation_ops,
    route_ops,
)


def expert_load(model: ModelConfig, tokens: int) -> tuple[int, int, int]:
    """(routed experts touched, tokens per touched expert, zero-expert picks): ``tokens`` x top-k
    picks spread evenly over the routed and zero-computation experts; the touched experts'
    routed share (rounded up) computes."""
    spec = model.longcat
    assert spec is not None and model.n_experts is not None and model.experts_per_token
    total = model.n_experts + spec.zero_experts
    picks = tokens * model.experts_per_token
    touched = min(total, picks)
    per = math.ceil(picks / touched)
    routed = min(model.n_experts, math.ceil(touched * model.n_experts / total))
    return routed, per, max(0, picks - routed * per)


def _moe(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    spec = model.longcat
    assert spec is not None and model.n_experts is not None and model.experts_per_token
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    width, k = model.expert_d_ff or model.d_ff, model.experts_per_token
    scores = model.n_experts + spec.zero_experts
    x, t, zero = expert_load(model, b * m)
    xmf = ("x", "m", "f")
    ops = [
        _projection(f"{p}router", b, m, d, scores, c),
        _elementwise(
            f"{p}route",
            "softmax+topk",
            route_ops(k),
            {"b": b, "m": m, "f": scores},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        _expert_projection(f"{p}expert_gate", x, t, d, width, c),
        _expert_projection(f"{p}expert_up", x, t, d, width, c),
        _elementwise(
            f"{p}expert_act",
            model.activation,
            activation_ops(model.activation),
            {"x": x, "m": t, "f": width},
            [("G", xmf, Role.INPUT), ("U", xmf, Role.INPUT)],
            ("Y", xmf),
            c,
        ),
        _expert_projection(f"{p}expert_down", x, t, width, d, c),
        _elementwise(
            f"{p}combine",
            "combine",
            COMBINE_OPS,
            {"b": b, "m": m, "k": k, "f": d},
            [("E", ("b", "m", "k", "f"), Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
    ]
    if zero:  # the identity experts: the token times its weight
        ops.append(
            _elementwise(
                f"{p}zero_experts",
                "scale",
                1,
                {"z": zero, "f": d},
                [("X", ("z", "f"), Role.INPUT)],
                ("Y", ("z", "f")),
                c,
            )
        )
    return ops


def block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """One logical LongCat-Flash layer (see the module docstring)."""
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    ops: list[Einsum] = []
    for i in (0, 1):
        sub = replace(plan, prefix=f"{p}s{i}.")
        q = sub.prefix
        ops += [_norm(f"{q}norm1", model.norm, b, m, d, c), *_self_attention(model, sub, b)]
        ops += [_residual(f"{q}residual1", b, m, d, c), _norm(f"{q}norm2", model.norm, b, m, d, c)]
        if i == 0:
            ops += _moe(model, plan, b)  # the shortcut MoE reads the first MLP's input
        ops += _dense_ffn(model, q, b, m, model.d_ff, c)
        ops.append(_residual(f"{q}residual2", b, m, d, c, 3 if i else 2))  # + the shortcut
    return ops


def assumptions(model: ModelConfig, tokens: int) -> list[str]:
    spec = model.longcat
    assert spec is not None and model.n_experts is not None
    x, t, zero = expert_load(model, tokens)
    return [
        f"longcat_flash: every layer two MLA sublayers, two dense MLPs and one shortcut MoE "
        f"(LongcatFlashDecoderLayer); balanced routing over the {model.n_experts} routed and "
        f"{spec.zero_experts} zero-computation experts: {tokens} tokens x top-"
        f"{model.experts_per_token}, {x} routed experts touched with {t} tokens each (their share "
        f"of the touched experts, rounded up), {zero} picks to identity experts; the MLA LoRA "
        "scalings (mla_scale_q_lora, mla_scale_kv_lora) not counted"
    ]
