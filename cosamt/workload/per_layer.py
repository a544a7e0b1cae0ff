"""Gemma's per-layer inputs and KV sharing as Einsum operators (transformers 5.24.0,
``models/gemma4/modeling_gemma4.py``; ``gemma4_unified_assistant``'s drafting assistant).

Per-layer inputs (``ModelConfig.per_layer_input`` = ``hidden_size_per_layer_input``, p), once per
token before the layers (``Gemma4TextModel.project_per_layer_inputs``)::

    proj = per_layer_model_projection(embeds) * hidden_size**-0.5    # d -> layers x p
    proj = per_layer_projection_norm(proj)                          # RMSNorm over each p
    per_layer_inputs = (proj + embed_tokens_per_layer(ids)) * 2**-0.5

as ``ple.model_proj``, ``ple.proj_norm`` (the scale folded in: one more op per element) and
``ple.combine_inputs`` (the looked-up rows' scale by sqrt(p), the add, the scale: 3 ops per element; the
lookup itself is a gather, no MAC: its rows are the input ``E``). Each layer then ends
(``Gemma4TextDecoderLayer.forward``, after the FFN's residual add) with::

    h = per_layer_projection(act(per_layer_input_gate(x)) * per_layer_input)   # d -> p -> d
    x = x + post_per_layer_input_norm(h)

as ``ple_gate``, ``ple_act`` (the FFN's activation times the layer's input: a gated product),
``ple_proj``, ``ple_norm``, ``ple_residual``.

A KV-shared layer (``Gemma4TextAttention`` with ``kv_sharing_mode == "reuse"``) has no
``k_proj``, ``v_proj``, ``k_norm``, ``v_norm``: it projects and rotates its queries only and
attends over the K and V another layer stored (``q_proj``, ``rope`` on Q, QKᵀ, softmax, P·V,
``out_proj``). An assistant (``Gemma4UnifiedAssistantForCausalLM``) reads every layer's K and V
from its target, and projects its input (the target's hidden state beside the token's embedding)
in and its output back: ``asst.pre_proj`` (2 x target width -> d) before the layers,
``asst.post_proj`` (d -> target width) after.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role
from cosamt.workload.models import GATED, ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    ADD_OPS,
    RMSNORM_OPS,
    ROPE_OPS,
    BlockPlan,
    _attention_core,
    _elementwise,
    _norm,
    _projection,
    _residual,
    activation_ops,
)

PER_LAYER_INPUTS = "per_layer_inputs"  # BlockPlan.special of the model-wide projection
ASSISTANT_IN = "assistant_in"  # the assistant's pre_projection, before the layers
ASSISTANT_OUT = "assistant_out"  # its post_projection, after them
# BlockPlan.special of every model-wide block built here (and by cosamt.workload.altup).
SPECIALS = frozenset({PER_LAYER_INPUTS, ASSISTANT_IN, ASSISTANT_OUT, "altup_in", "altup_out"})
SCALE_OPS = 1  # a multiply by a constant
_BMLF = ("b", "m", "l", "f")


def per_layer_input_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The end of a layer with per-layer inputs: gate, act(gate) x input, projection, norm,
    residual add."""
    width = model.per_layer_input
    assert width is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    return [
        _projection(f"{p}ple_gate", b, m, d, width, c),
        _elementwise(
            f"{p}ple_act",
            model.activation,  # gated (checked by ModelConfig): act(G) * U
            activation_ops(model.activation),
            {"b": b, "m": m, "f": width},
            [("G", _BMF, Role.INPUT), ("U", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        _projection(f"{p}ple_proj", b, m, width, d, c),
        _norm(f"{p}ple_norm", "rmsnorm", b, m, d, c),
        _residual(f"{p}ple_residual", b, m, d, c),
    ]


def model_projection_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """Once per token: the projection to every layer's input, its norm, the combine with the
    looked-up per-layer embeddings."""
    width = model.per_layer_input
    assert width is not None
    p, m, layers = plan.prefix, plan.m, model.n_layers
    dims = {"b": b, "m": m, "l": layers, "f": width}
    return [
        _projection(f"{p}model_proj", b, m, model.d_model, layers * width, 1),
        _elementwise(
            f"{p}proj_norm",
            "rmsnorm",
            SCALE_OPS + RMSNORM_OPS,
            dims,
            [("X", _BMLF, Role.INPUT), ("G", ("f",), Role.WEIGHT)],
            ("Y", _BMLF),
            1,
        ),
        _elementwise(
            f"{p}combine_inputs",
            "add",
            SCALE_OPS + ADD_OPS + SCALE_OPS,
            dims,
            [("A", _BMLF, Role.INPUT), ("E", _BMLF, Role.INPUT)],
            ("Y", _BMLF),
            1,
        ),
    ]


def assistant_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The assistant's projection in (before the layers) or out (after them)."""
    target = model.assistant_target_width
    assert target is not None
    p, m, d = plan.prefix, plan.m, model.d_model
    if plan.special == ASSISTANT_IN:
        return [_projection(f"{p}pre_proj", b, m, 2 * target, d, 1)]
    return [_projection(f"{p}post_proj", b, m, d, target, 1)]


def special_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The operators of a model-wide block (``BlockPlan.special``)."""
    if plan.special == PER_LAYER_INPUTS:
        return model_projection_ops(model, plan, b)
    if plan.special in (ASSISTANT_IN, ASSISTANT_OUT):
        return assistant_ops(model, plan, b)
    from cosamt.workload.altup import model_ops  # it builds on this module

    return model_ops(model, plan, b)


def shared_kv_attention(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """Attention over K and V another layer (or the target) computed: only Q is projected and
    rotated."""
    p, m, c = plan.prefix, plan.m, plan.count
    ops = [_projection(f"{p}q_proj", b, m, model.d_model, model.n_heads * model.dh, c)]
    if model.rotary_dim is not None:
        ops.append(
            _elementwise(
                f"{p}rope",
                "rope",
                ROPE_OPS,
                {"b": b, "m": m, "f": model.n_heads * model.rotary_dim},
                [("X", _BMF, Role.INPUT)],
                ("Y", _BMF),
                c,
            )
        )
    ops += _attention_core(model, p, b, m, plan.n, c)
    ops.append(_projection(f"{p}out_proj", b, m, model.n_heads * model.vdh, model.d_model, c))
    return ops


def assumptions(model: ModelConfig) -> list[str]:
    """What the per-layer-input, KV-sharing and assistant operators count and leave out."""
    out = []
    if model.per_layer_input is not None:
        act = GATED.get(model.activation, model.activation)
        out.append(
            f"per-layer inputs ({model.per_layer_input} wide): once per token the projection to "
            f"{model.n_layers} x {model.per_layer_input}, its scale and RMSNorm, the combine "
            "with the looked-up per-layer embeddings (the lookup a gather: its rows read, no "
            f"MAC); every layer then per_layer_input_gate, {act}(gate) x its input, "
            "per_layer_projection, RMSNorm, residual add"
        )
    groups = model.layer_groups or ()
    shared = sum(g.count for g in groups if g.kv_shared)
    if shared:
        source = (
            "their target model's"
            if model.assistant_target_width is not None
            else "the last earlier layer of their attention type"
        )
        # Gemma 4's forward may slice the tokens before its shared layers (Gemma 3n's does not).
        sliced = model.altup is None
        out.append(
            f"KV sharing: {shared} of {model.n_layers} layers reuse {source} K and V (no K/V "
            "projections, no K/V norms, rotary on Q only)"
            + (
                "; prefill runs them on every token (the forward's default; generate's slicing "
                "to the kept logits before those layers is not modelled)"
                if sliced
                else ""
            )
        )
    if model.assistant_target_width is not None:
        width = model.assistant_target_width
        out.append(
            f"drafting assistant of a {width}-wide target: pre_projection (2 x {width} -> "
            f"{model.d_model}) before the layers, post_projection ({model.d_model} -> {width}) "
            "after; its queries attend to the target's cached K and V (seq_len keys, the "
            "window on sliding layers)"
        )
    return out
