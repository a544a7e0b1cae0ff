"""Reading MoE families whose layers go beyond the generic reader from a Hugging Face config:
linear-attention hybrids and Inkling as ``ModelConfig.layer_groups``; A.X-K2, ZAYA and
LongCat-Flash as their own layer structures (:func:`axk2`, :func:`zaya`, :func:`longcat`;
operators in :mod:`cosamt.workload.axk2`, ``zaya``, ``longcat``); ERNIE 4.5 VL's modality-split
expert widths; Unlimited-OCR's reference sliding-window attention.

Each family's layers as transformers' modelling code builds them (``layer_types`` for the token
mixer, ``mlp_layer_types`` for the FFN where the code reads it):

* ``kimi_linear`` (``KimiLinearDecoderLayer``, ``modeling_kimi_linear.py``): ``linear_attention``
  layers Kimi Delta Attention (``KimiLinearDeltaAttention``: q, k, v projections of
  ``linear_num_heads`` x ``linear_head_dim``, a depthwise conv, the forget gate
  ``f_b_proj(f_a_proj(x))`` and the output gate ``g_b_proj(g_a_proj(x))`` through
  ``linear_head_dim`` features), ``full_attention`` layers MLA (``KimiLinearAttention``) with no
  position embedding at all; dense (``KimiLinearMLP``) or MoE (``KimiLinearMoE``: routed experts
  and ``n_shared_experts`` x ``moe_intermediate_size`` shared) by ``mlp_layer_types``;
* ``bailing_hybrid`` (``BailingHybridDecoderLayer``): the same, but the KDA gates are full-rank
  (``BailingHybridForgetGate.f_proj``, ``g_proj``) and the MLA layers (``BailingHybridAttention``)
  are rotary and gate their output per head (``g_proj``: hidden -> heads, sigmoid);
* ``minimax`` (``MiniMaxDecoderLayer``, ``modeling_minimax.py``): ``linear_attention`` layers
  lightning attention (``MiniMaxLightningAttention``: fused qkv_proj of num_attention_heads x
  head_dim each, blockwise decayed linear attention, RMSNorm, a sigmoid output gate),
  ``full_attention`` layers rotary GQA (``MiniMaxAttention``); every layer
  ``MiniMaxSparseMoeBlock`` (experts of ``intermediate_size``);
* ``inkling_text`` (``InklingDecoderLayer``, ``modeling_inkling.py``): ``hybrid`` layers full
  attention, ``hybrid_sliding`` windowed (``sliding_window_size``, their ``swa_*`` head shape),
  each with relative logits and short convolutions (:mod:`cosamt.workload.inkling`); dense or
  MoE by ``mlp_layer_types``;
* ``lara_mini`` (``LaraMiniDecoderLayer``): ``linear_attention`` layers Qwen3.5's Gated DeltaNet
  (``LaraMiniGatedDeltaNet``), ``sliding_attention`` layers rotary attention in a
  ``sliding_window``, ``full_attention`` layers attention without rotary (``LaraMiniAttention``
  gets no position embeddings there); every layer ``LaraMiniSparseMoeBlock`` (routed experts plus
  an ungated shared expert of ``shared_expert_intermediate_size``).

The generic reader (:mod:`cosamt.workload.hf`) reads heads, MLA, FFN, activation, norm and
experts; :func:`fields` adds the layer groups and the linear mixers' shapes. Anything else is
refused naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

TYPES = frozenset({"kimi_linear", "bailing_hybrid", "lara_mini", "minimax", "inkling_text"})
# Config keys the generic reader refuses and these readers read.
READ_KEYS = {"inkling_text": {"conv_kernel_size"}, "longcat_flash": {"zero_expert_num"}}
# InklingTextModel and ZayaModel: a "hybrid" layer attends with the full causal mask,
# "hybrid_sliding" with the sliding-window one.
_HYBRID_KINDS = {"hybrid": "full_attention", "hybrid_sliding": "sliding_attention"}
_KDA_TYPES = frozenset({"kimi_linear", "bailing_hybrid"})

Layer = tuple[str, str, dict[str, Any]]  # mixer, FFN, the attention group's fields


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def normalise(data: dict[str, Any], model_type: str) -> dict[str, Any]:
    """Inkling's and ZAYA's layer kinds under the attention kinds their models map them to
    (InklingTextModel; ZayaModel: ``hybrid`` the causal mask, ``hybrid_sliding`` the sliding
    one)."""
    kinds = data.get("layer_types")
    if model_type not in ("inkling_text", "zaya") or not isinstance(kinds, list):
        return data
    return {**data, "layer_types": [_HYBRID_KINDS.get(k, k) for k in kinds]}


def modality_expert_width(r: _Reader) -> int | None:
    """ERNIE 4.5 VL's text model (``Ernie4_5_VLMoeMoeBlock``): ``moe_intermediate_size`` is
    ``[text, vision]``; text tokens go to the text experts (``text_moe``) and every token to the
    shared experts of ``moe_intermediate_size[0]`` x ``moe_num_shared_experts``; the vision
    experts see vision tokens only, none in a text-only workload."""
    value = r.data.get("moe_intermediate_size")
    if r.data.get("model_type") != "ernie4_5_vl_moe_text" or not isinstance(value, list):
        return None
    if len(value) != 2 or not all(_is_int(v) and v > 0 for v in value):
        return None  # the generic reader refuses it, naming the field
    r.assumed.append(
        f"ernie4_5_vl_moe_text: text tokens only: the text experts (moe_intermediate_size[0] = "
        f"{value[0]}) and the shared experts of that width (Ernie4_5_VLMoeMoeBlock); the vision "
        f"experts ({value[1]} wide) run on vision tokens only, none here"
    )
    return int(value[0])


# Layer kinds that attend like full attention in prefill: Unlimited-OCR's reference
# sliding-window attention (UnlimitedOcrDynamicReferenceSlidingWindowLayer and
# create_reference_sliding_window_causal_mask in modeling_unlimited_ocr.py: every prefill key
# stays in the cache and in the mask; the window evicts only decoded tokens).
PREFILL_FULL_KINDS = frozenset({"reference_sliding_attention"})


def note_reference_window(r: _Reader) -> None:
    """State how reference sliding-window layers are counted."""
    kinds = r.data.get("layer_types")
    if not isinstance(kinds, list) or not PREFILL_FULL_KINDS & set(map(str, kinds)):
        return
    r.assumed.append(
        f"reference_sliding_attention (R-SWA) layers: every prefill token is a key (full causal "
        f"attention in prefill); the window ({r.data.get('sliding_window')!r}) evicts only "
        "decoded tokens: a decode step is counted against all seq_len cached tokens, as right "
        "after a prefill of seq_len"
    )


def _mixers(model_type: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each layer type's mixer and attention flags, by family."""
    if model_type == "inkling_text":
        return {
            "full_attention": ("attention", {}),
            "sliding_attention": ("attention", {"window": True}),
        }
    if model_type == "lara_mini":
        return {
            "linear_attention": ("deltanet", {}),
            "sliding_attention": ("attention", {"window": True}),
            "full_attention": ("attention", {"no_rope": True}),
        }
    if model_type == "minimax":
        return {"linear_attention": ("lightning", {}), "full_attention": ("attention", {})}
    # KimiLinearAttention gets no position embeddings; BailingHybridAttention is rotary.
    full = {"no_rope": True} if model_type == "kimi_linear" else {}
    return {"linear_attention": ("kda", {}), "full_attention": ("attention", full)}


def _layers(r: _Reader, model_type: str, n_layers: int) -> list[Layer]:
    kinds, allowed = r.data.get("layer_types"), _mixers(model_type)
    if not isinstance(kinds, list) or len(kinds) != n_layers:
        r.refuse("layer_types", f"one layer type per layer expected ({n_layers} layers)")
        return []
    unknown = sorted({str(k) for k in kinds if k not in allowed})
    if unknown:
        r.refuse("layer_types", f"{model_type}: layer types {unknown} are not modelled")
        return []
    if model_type in ("lara_mini", "minimax"):  # their DecoderLayer: a sparse MoE block on each
        ffns = ["moe"] * n_layers
    else:
        mlp = r.data.get("mlp_layer_types")
        if not isinstance(mlp, list) or len(mlp) != n_layers or not set(mlp) <= {"dense", "sparse"}:
            r.refuse(
                "mlp_layer_types", f"one of dense, sparse per layer expected ({n_layers} layers)"
            )
            return []
        ffns = ["moe" if t == "sparse" else "dense" for t in mlp]
    return [(allowed[k][0], f, allowed[k][1]) for k, f in zip(kinds, ffns, strict=True)]


def _groups(layers: list[Layer]) -> list[dict[str, Any]]:
    """Identical layers merged into groups, in the order they first occur."""
    counts: dict[tuple[str, str, tuple[tuple[str, Any], ...]], int] = {}
    for mixer, ffn, flags in layers:
        key = (mixer, ffn, tuple(sorted(flags.items())))
        counts[key] = counts.get(key, 0) + 1
    return [
        {"count": n, "mixer": mixer, "ffn": ffn, **dict(flags)}
        for (mixer, ffn, flags), n in counts.items()
    ]


def _kda(r: _Reader, model_type: str) -> dict[str, Any] | None:
    """Kimi Delta Attention's shape; Kimi Linear's checkpoint sub-dict ``linear_attn_config``
    overrides the flat fields (as KimiLinearConfig.__post_init__ reads it)."""
    sub = r.data.get("linear_attn_config") if model_type == "kimi_linear" else None
    sub = sub if isinstance(sub, dict) else {}
    values = {
        "heads": sub.get("num_heads", r.data.get("linear_num_heads")),
        "head_dim": sub.get("head_dim", r.data.get("linear_head_dim")),
        "conv_kernel": sub.get("short_conv_kernel_size", r.data.get("linear_conv_kernel_dim")),
    }
    keys = {"heads": "linear_num_heads", "head_dim": "linear_head_dim",
            "conv_kernel": "linear_conv_kernel_dim"}  # fmt: skip
    for name, value in values.items():
        if not _is_int(value) or value < 1:
            r.refuse(keys[name], f"must be a positive integer (got {value!r})")
            return None
    if model_type == "kimi_linear":  # f_a/f_b and g_a/g_b through linear_head_dim features
        return {**values, "forget_rank": values["head_dim"], "gate_rank": values["head_dim"]}
    head_dim = r.data.get("head_dim")
    if head_dim not in (None, values["head_dim"]):
        r.assumed.append(
            f"bailing_hybrid: KDA heads of linear_head_dim = {values['head_dim']} features as "
            f"stated (what BailingHybridConfig() builds); BailingHybridConfig.__post_init__ "
            f"would re-derive linear_head_dim from head_dim ({head_dim}) when this file is "
            "loaded again"
        )
    return values


# MiniMaxDecoderLayer's residual scaling: residual * alpha + sublayer * beta.
_SCALING = tuple(f"{kind}_{part}_factor" for kind in ("linear_attn", "full_attn", "mlp")
                 for part in ("alpha", "beta"))  # fmt: skip


def _minimax(r: _Reader, base: dict[str, Any]) -> dict[str, Any] | None:
    """Lightning attention's shape (MiniMaxLightningAttention: num_attention_heads x head_dim,
    head_dim else hidden / heads, block_size) and what MiniMaxDecoderLayer adds."""
    block = r.int_("block_size", what="lightning attention's block size")
    if r.data.get("sliding_window") is not None:
        r.refuse(
            "sliding_window",
            "minimax: MiniMaxAttention windowing every full-attention layer is not modelled",
        )
        return None
    if block is None or not base.get("n_heads") or not base.get("d_model"):
        return None
    head_dim = base.get("head_dim") or base["d_model"] // base["n_heads"]
    scaled = [k for k in _SCALING if r.data.get(k, 1) != 1]
    scaling = f"; the residual scaling ({', '.join(scaled)}: 2 multiplies per element) not counted"
    r.assumed.append(
        "minimax: linear_attention layers lightning attention (MiniMaxLightningAttention), "
        "full_attention layers rotary attention (MiniMaxAttention), every layer the sparse MoE "
        "block (MiniMaxSparseMoeBlock); MiniMaxDecoderLayer adds each sublayer to its normed "
        "input (the residual is taken after the norm): the same norm and add"
        + (scaling if scaled else "")
    )
    return {"heads": base["n_heads"], "head_dim": head_dim, "block_size": block}


def _inkling(
    r: _Reader, base: dict[str, Any], layers: list[Layer]
) -> tuple[dict[str, Any], list[Layer]] | None:
    """Inkling's shape (InklingAttention, InklingShortConvolution, InklingTopkRouter) and its
    windowed layers' head shape (swa_*)."""
    if r.data.get("log_scaling_n_floor") is not None:
        r.refuse("log_scaling_n_floor", "inkling: log-scaled queries and biases are not modelled")
        return None
    heads = r.data.get("swa_num_attention_heads", base.get("n_heads"))
    if heads != base.get("n_heads"):
        r.refuse(
            "swa_num_attention_heads",
            f"{heads!r} query heads on windowed layers besides {base.get('n_heads')!r}: per-layer "
            "query head counts are not modelled",
        )
        return None
    spec = {
        "d_rel": r.int_("d_rel"),
        "rel_extent": r.int_("rel_extent"),
        "conv_kernel": r.int_("conv_kernel_size", "sconv_kernel_size"),
        "shared_experts": r.data.get("n_shared_experts") or 0,
    }
    window = {
        "n_kv_heads": r.int_("swa_num_key_value_heads", required=False),
        "head_dim": r.int_("swa_head_dim", required=False),
    }
    if None in spec.values():
        return None
    dh = base.get("head_dim") or base["d_model"] // base["n_heads"]
    own = {"n_kv_heads": base.get("n_kv_heads") or base["n_heads"], "head_dim": dh}
    overrides = {k: v for k, v in window.items() if v is not None and v != own[k]}
    r.assumed.append(
        "inkling_text: hybrid layers full causal attention, hybrid_sliding layers windowed "
        "(InklingTextModel's masks) with their swa_* head shape; no rotary (relative logits)"
    )
    shaped = [(mix, ffn, {**flags, **overrides}) if flags.get("window") else (mix, ffn, flags)
              for mix, ffn, flags in layers]  # fmt: skip
    return spec, shaped


def fields(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """``layer_groups``, the linear mixer's shape and a family's corrections to ``base``."""
    n_layers = base.get("n_layers")
    if not n_layers:
        return {}
    layers = _layers(r, model_type, n_layers)
    if r.data.get("hidden_act", "silu") not in ("silu", "swish"):  # the conv's activation too
        why = "a linear-attention convolution (or QKV) activation other than SiLU is not modelled"
        r.refuse("hidden_act", f"{model_type}: {why}")
        return {}
    if not layers:
        return {}
    extra: dict[str, Any] = {"sliding_layers": None, "sliding_moe_layers": None, "moe_layers": None}
    if model_type in _KDA_TYPES:
        kda = _kda(r, model_type)
        if kda is None:
            return {}
        extra["kda"] = kda
        if model_type == "bailing_hybrid":
            extra["attention_gate"] = "head"  # BailingHybridAttention.g_proj: one gate per head
        r.assumed.append(
            f"{model_type}: linear_attention layers Kimi Delta Attention, full_attention layers "
            f"MLA{' without rotary (KimiLinearAttention)' if model_type == 'kimi_linear' else ' gated per head (BailingHybridAttention)'}; "
            "dense or MoE FFN by mlp_layer_types; the router's group-limited top-k counted as "
            "top-k; multi-token-prediction layers not run"
        )
    elif model_type == "inkling_text":
        read = _inkling(r, base, layers)
        if read is None:
            return {}
        extra["inkling"], layers = read
    elif model_type == "minimax":
        spec = _minimax(r, base)
        if spec is None:
            return {}
        extra["lightning"] = spec
    else:
        linear = sum(1 for mixer, _, _ in layers if mixer == "deltanet")
        la = {
            "layers": linear,
            "k_heads": r.int_("linear_num_key_heads"),
            "v_heads": r.int_("linear_num_value_heads"),
            "k_dim": r.int_("linear_key_head_dim"),
            "v_dim": r.int_("linear_value_head_dim"),
            "conv_kernel": r.int_("linear_conv_kernel_dim"),
        }
        if None in la.values() or not linear:
            if not linear:
                r.refuse("layer_types", "lara_mini without linear_attention layers")
            return {}
        extra["linear_attention"] = la
        # LaraMiniSparseMoeBlock adds its shared expert in full: no gate to leave out.
        r.assumed[:] = [a for a in r.assumed if not a.startswith("shared-expert gate")]
        r.assumed.append(
            "lara_mini: linear_attention layers Gated DeltaNet (LaraMiniGatedDeltaNet), "
            "sliding_attention layers rotary attention in the window, full_attention layers "
            "attention without rotary; every layer routed experts plus an ungated shared expert; "
            "the attention's q_norm and k_norm (RMSNorm per head) not counted"
        )
    if not any(ffn == "moe" for _, ffn, _ in layers):
        extra |= {"n_experts": None, "experts_per_token": None, "shared_d_ff": 0}
    elif base.get("n_experts") is None:
        r.refuse("num_experts", "MoE layers need more than one expert (and experts per token)")
        return {}
    return {**extra, "layer_groups": _groups(layers)}


def axk2(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """A.X-K2 (AXK2DecoderLayer): the gated RMSNorm's rank and the fused query/gate projection
    (AXK2Attention always builds q_gate_proj; AXK2Config requires q_lora_rank)."""
    rank = r.int_("gated_norm_rank", what="the gated norm's rank")
    if base.get("q_lora_rank") is None or rank is None:
        if base.get("q_lora_rank") is None:
            r.refuse("q_lora_rank", "A.X-K2's q_gate_proj needs a positive q_lora_rank")
        return {}
    r.assumed.append(
        "axk2: dense or MoE FFN by mlp_layer_types; the router's optional group-limited top-k "
        "counted as top-k"
    )
    return {"gated_norm_rank": rank, "latent_query_gate": True}


def _zaya_rotary_factor(rope: Any, kind: str) -> float | None:
    """A layer type's partial_rotary_factor (ZayaConfig's default rope_parameters: 0.5 for both
    types); ``None`` when its rope_parameters are not a per-type dict with a valid one."""
    if rope is None:
        return 0.5
    sub = (
        rope.get({"sliding_attention": "hybrid_sliding"}.get(kind, "hybrid"))
        if isinstance(rope, dict)
        else None
    )
    factor = sub.get("partial_rotary_factor", 1.0) if isinstance(sub, dict) else None
    if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not 0 < factor <= 1:
        return None
    return float(factor)


def zaya(r: _Reader, base: dict[str, Any], kinds: list[str]) -> dict[str, Any]:
    """ZAYA (ZayaDecoderLayer): the CCA kernels, the router width, and the rotary features from
    the per-layer-type rope_parameters (each type's partial_rotary_factor, equal across them)."""
    spec = {
        "time0": r.int_("cca_time0"),
        "time1": r.int_("cca_time1"),
        "router_hidden": r.int_("router_hidden_size"),
    }
    if r.data.get("num_experts_per_tok") != 1:
        r.refuse("num_experts_per_tok", "ZAYA supports one expert per token (ZayaConfig)")
    factors = {_zaya_rotary_factor(r.data.get("rope_parameters"), kind) for kind in kinds}
    dh = base.get("head_dim")
    if None in spec.values() or len(factors) != 1 or None in factors or not dh:
        if len(factors) != 1 or None in factors:
            r.refuse(
                "rope_parameters",
                "one partial_rotary_factor (0 to 1) in each layer type's rope_parameters "
                f"(hybrid, hybrid_sliding) expected, the same for all (got {r.data.get('rope_parameters')!r})",
            )
        return {}
    (factor,) = factors
    r.assumed.append(
        f"zaya: every layer ZayaDecoderLayer; rotary on {int(dh * factor)} of {dh} features "
        "(rope_parameters' partial_rotary_factor per layer type)"
    )
    return {"zaya": spec, "rotary_dim": max(1, int(dh * factor))}


def longcat(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """LongCat-Flash (LongcatFlashDecoderLayer): num_layers logical layers, the MLPs of
    ffn_hidden_size, the experts of expert_ffn_hidden_size, zero_expert_num identity experts."""
    width = r.int_("expert_ffn_hidden_size", what="the routed experts' width")
    zero = r.data.get("zero_expert_num") or 0
    if not _is_int(zero) or zero < 0:
        r.refuse("zero_expert_num", f"must be a non-negative integer (got {zero!r})")
        return {}
    if base.get("n_experts") is None or width is None:
        if base.get("n_experts") is None:
            r.refuse("n_routed_experts", "LongCat-Flash's MoE needs more than one routed expert")
        return {}
    if base.get("kv_lora_rank") is None or base.get("q_lora_rank") is None:
        r.refuse("q_lora_rank", "LongcatFlashMLA always projects queries through q_lora_rank")
        return {}
    return {"expert_d_ff": width, "longcat": {"zero_experts": zero}, "moe_layers": None}
