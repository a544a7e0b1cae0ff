"""Operators of an Inkling decoder layer (transformers' ``InklingDecoderLayer`` in
``modeling_inkling.py``): attention with relative logits and short convolutions, an FFN, and a
short convolution after each sublayer.

Per layer (pre-norm):

* ``norm1``; ``qkv_proj`` (q_proj, k_proj, v_proj), ``rel_proj`` (``r_proj``: hidden -> heads x
  ``d_rel``); ``kv_sconv`` and ``kv_sconv_add`` (``k_sconv``, ``v_sconv``:
  ``InklingShortConvolution``, a depthwise causal convolution plus its input, over K and V);
  ``rel_logits`` (``InklingRelativeLogits``: each query head's ``d_rel`` states times the
  ``d_rel`` x ``rel_extent`` bank of bias profiles); ``qk``, ``rel_bias`` (the position bias added
  to every score), ``softmax``, ``av`` (windowed on ``hybrid_sliding`` layers, whose
  ``rel_extent`` is the window); ``out_proj``; ``attn_sconv`` and ``attn_sconv_add`` (over the
  hidden size); ``residual1``;
* ``norm2``; the FFN (``InklingMLP`` or ``InklingMoE``: its router also scores the shared experts,
  ``router_shared``; the shared experts' outputs scaled by their gammas, ``shared_gamma``, and
  summed with the routed ones, ``expert_sum``); ``ffn_sconv`` and ``ffn_sconv_add``;
  ``residual2``.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    BlockPlan,
    _attention_core,
    _elementwise,
    _ffn,
    _norm,
    _projection,
    _residual,
    depthwise_conv,
)


def _sconv(name: str, b: int, m: int, width: int, taps: int, c: int) -> list[Einsum]:
    """``InklingShortConvolution``: a depthwise causal convolution, then plus its input."""
    return [depthwise_conv(name, b, m, width, taps, c), _residual(f"{name}_add", b, m, width, c)]


def _attention(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    spec, group = model.inkling, plan.group
    assert spec is not None and group is not None
    shaped = model.model_copy(update=group.overrides) if group.overrides else model
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    h, kv, dh = shaped.n_heads, shaped.kv_heads, shaped.dh
    # InklingAttention: a windowed layer's rel_extent is its window (sliding_window_size).
    extent = model.sliding_window if group.window and model.sliding_window else spec.rel_extent
    core = _attention_core(shaped, p, b, m, plan.n, c)
    s = core[0].output
    rel = ("b", "m", "g", "r")
    ops = [
        _projection(f"{p}qkv_proj", b, m, d, (h + 2 * kv) * dh, c),
        _projection(f"{p}rel_proj", b, m, d, h * spec.d_rel, c),
        *_sconv(f"{p}kv_sconv", b, m, 2 * kv * dh, spec.conv_kernel, c),
        Einsum(
            name=f"{p}rel_logits",
            dims={"b": b, "m": m, "g": h, "r": spec.d_rel, "e": extent},
            tensors=(
                Tensor("R", rel, Role.INPUT),
                Tensor("P", ("r", "e"), Role.WEIGHT),
                Tensor("L", ("b", "m", "g", "e"), Role.OUTPUT),
            ),
            count=c,
        ),
        core[0],
        _elementwise(
            f"{p}rel_bias",
            "add",
            1,
            {dim: core[0].dims[dim] for dim in s.dims},
            [("S", s.dims, Role.INPUT), ("B", s.dims, Role.INPUT)],
            ("Y", s.dims),
            c,
        ),
        *core[1:],
        _projection(f"{p}out_proj", b, m, h * dh, d, c),
    ]
    return ops


def _ffn_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    spec = model.inkling
    assert spec is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    ops = _ffn(model, plan, b)
    if not plan.moe:
        return ops
    shared = model.shared_d_ff
    return [
        *ops,
        _projection(f"{p}router_shared", b, m, d, spec.shared_experts, c),
        _elementwise(
            f"{p}shared_gamma",
            "mul",
            1,
            {"b": b, "m": m, "f": shared},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        _residual(f"{p}expert_sum", b, m, d, c),
    ]


def layer_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """One Inkling decoder layer (see the module docstring)."""
    spec = model.inkling
    assert spec is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    return [
        _norm(f"{p}norm1", model.norm, b, m, d, c),
        *_attention(model, plan, b),
        *_sconv(f"{p}attn_sconv", b, m, d, spec.conv_kernel, c),
        _residual(f"{p}residual1", b, m, d, c),
        _norm(f"{p}norm2", model.norm, b, m, d, c),
        *_ffn_ops(model, plan, b),
        *_sconv(f"{p}ffn_sconv", b, m, d, spec.conv_kernel, c),
        _residual(f"{p}residual2", b, m, d, c),
    ]


def assumptions(model: ModelConfig) -> list[str]:
    spec = model.inkling
    assert spec is not None
    return [
        f"inkling: relative logits per query head ({spec.d_rel} states x {spec.rel_extent} "
        f"distances, the window's {model.sliding_window} on windowed layers) and one bias add per score "
        "(the gather of position_bias from them is index selection, not counted); the short "
        f"convolutions ({spec.conv_kernel} taps) on K, V and after each sublayer each add their "
        "input; Q/K RMS norms, the MLP's and router's global scales not counted"
    ]
