"""Operators of an A.X-K2 decoder layer (transformers' ``AXK2DecoderLayer`` in
``modeling_axk2.py``): DeepSeek sparse attention on MLA whose query projection also yields an
output gate, and gated RMSNorms.

* ``AXK2GatedRMSNorm`` (the input norm of every layer, the post-attention norm of the MoE
  layers): ``y = RMSNorm(x)``, then ``y * sigmoid(fc2(silu(fc1(y))))`` with ``fc1`` hidden ->
  ``gated_norm_rank``: ``{norm}_gate_down``, ``{norm}_gate_act``, ``{norm}_gate_up``,
  ``{norm}_gate`` after the RMSNorm;
* ``AXK2Attention``: ``q_down`` (``q_a_proj``), ``q_norm`` (``q_a_layernorm``), then
  ``q_gate_proj`` from the normed and the raw latent side by side (2 x ``q_lora_rank``) to every
  head's query and value-wide gate (in place of MLA's ``q_up``); K and V as MLA; the indexer
  (its queries from the normed latent); attention over the selected keys; ``attn_gate`` (times
  sigmoid of the gate) before ``out_proj``.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role
from cosamt.workload.models import ModelConfig
from cosamt.workload.recurrent import OUTPUT_GATE_OPS, SIGMOID_OPS
from cosamt.workload.transformer import (
    _BMF,
    SILU_OPS,
    BlockPlan,
    _elementwise,
    _ffn,
    _norm,
    _projection,
    _residual,
    _self_attention,
)


def _gated_norm(model: ModelConfig, name: str, plan: BlockPlan, b: int) -> list[Einsum]:
    """The RMSNorm, then the low-rank sigmoid gate computed from its output."""
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    rank = model.gated_norm_rank
    ops = [_norm(f"{p}{name}", model.norm, b, m, d, c)]
    if rank is None:
        return ops

    def vec(suffix: str, op: str, ops_per_point: int, f: int, inputs: int) -> Einsum:
        names = ("X", "G")[:inputs]
        return _elementwise(
            f"{p}{name}_{suffix}",
            op,
            ops_per_point,
            {"b": b, "m": m, "f": f},
            [(t, _BMF, Role.INPUT) for t in names],
            ("Y", _BMF),
            c,
        )

    return [
        *ops,
        _projection(f"{p}{name}_gate_down", b, m, d, rank, c),
        vec("gate_act", "silu", SILU_OPS, rank, 1),
        _projection(f"{p}{name}_gate_up", b, m, rank, d, c),
        vec("gate", "sigmoid-gate", SIGMOID_OPS + 1, d, 2),
    ]


def _attention(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """MLA with the indexer (:func:`cosamt.workload.transformer._self_attention`), its ``q_up``
    replaced by ``q_gate_proj`` and the output gated before ``out_proj``."""
    ops = _self_attention(model, plan, b)
    if not model.latent_query_gate:
        return ops
    assert model.q_lora_rank is not None
    p, m, c, h = plan.prefix, plan.m, plan.count, model.n_heads
    width = h * (model.dh + model.vdh)
    gate = _elementwise(
        f"{p}attn_gate",
        "sigmoid-gate",
        OUTPUT_GATE_OPS,
        {"b": b, "m": m, "f": h * model.vdh},
        [("O", _BMF, Role.INPUT), ("G", _BMF, Role.INPUT)],
        ("Y", _BMF),
        c,
    )
    out: list[Einsum] = []
    for op in ops:
        if op.name == f"{p}q_up":
            op = _projection(f"{p}q_gate_proj", b, m, 2 * model.q_lora_rank, width, c)
        if op.name == f"{p}out_proj":
            out.append(gate)
        out.append(op)
    return out


def block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """One A.X-K2 layer: gated input norm, attention, residual add, the post-attention norm
    (gated on MoE layers), the FFN, residual add."""
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    post = (
        _gated_norm(model, "norm2", plan, b)
        if plan.moe
        else [_norm(f"{p}norm2", model.norm, b, m, d, c)]
    )
    sums = 3 if plan.moe and model.shared_d_ff else 2  # routed + shared experts + stream
    return [
        *_gated_norm(model, "norm1", plan, b),
        *_attention(model, plan, b),
        _residual(f"{p}residual1", b, m, d, c),
        *post,
        *_ffn(model, plan, b),
        _residual(f"{p}residual2", b, m, d, c, sums),
    ]


def assumptions(model: ModelConfig) -> list[str]:
    out = []
    if model.gated_norm_rank is not None:
        out.append(
            f"gated RMSNorm (AXK2GatedRMSNorm, rank {model.gated_norm_rank}) as every layer's "
            "input norm and the MoE layers' post-attention norm; the dense layers' post-attention "
            "norm plain"
        )
    if model.latent_query_gate:
        out.append(
            "q_gate_proj: queries and a per-feature output gate from the query latent, normed "
            "and raw side by side (2 x q_lora_rank), in place of q_up; attention output times "
            "sigmoid(gate)"
        )
    return out
