"""Hugging Face ``config.json`` -> :class:`ModelConfig`, by the generic fields, without transformers.

The reader looks each quantity up under the aliases families use (``hidden_size`` / ``n_embd`` /
``d_model``; ``num_key_value_heads`` / ``num_kv_heads`` / ``multi_query``; ...). ``model_type`` is
consulted only for structural variants the fields do not state: whether the FFN is gated, whether
the norm is placed after the residual add, parallel attention + MLP, the class and distillation
tokens of a vision transformer. A config that cannot be understood is refused naming the field or
the feature; nothing is approximated silently (what is assumed goes to ``ModelConfig.assumptions``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TypeGuard

from pydantic import ValidationError

from cosamt.errors import InputError, Problem, json_type, problems_from_pydantic
from cosamt.workload import (
    hf_addons,
    hf_composite,
    hf_conformer,
    hf_deformable,
    hf_encdec,
    hf_hybrid,
    hf_layers,
    hf_local,
    hf_misc,
    hf_moe_hybrid,
    hf_odds,
    hf_recurrent,
    hf_speech,
    hf_transducer,
    hf_vision,
    hf_vision_stages,
    mra,
    reformer,
    xlstm,
)
from cosamt.workload.hf_families import (
    ENCODER_TYPES,
    EXTRA_TOKENS,
    FAMILY_ACTIVATION,
    FOUR_X_FFN,
    GATED_TYPES,
    GLOBAL_HEAD_DIM_TYPES,
    HIERARCHICAL_TYPES,
    LAYERNORM_GATED_TYPES,
    PARALLEL_TYPES,
    POST_NORM_TYPES,
    QUERY_DECODER_TYPES,
    REFUSED_KEYS,
    REFUSED_TYPES,
)
from cosamt.workload.models import ModelConfig

_PREFIX = "hf_config"

# Activation names (``hidden_act`` and its aliases) -> the plain function.
_ACTS = {
    "gelu": "gelu",
    "gelu_new": "gelu",
    "gelu_fast": "gelu",
    "gelu_pytorch_tanh": "gelu",
    "gelu_python": "gelu",
    "gelu_accurate": "gelu",
    "gelu_10": "gelu",
    "quick_gelu": "gelu",
    "relu": "relu",
    "relu2": "relu2",
    "prelu": "prelu",  # nn.PReLU (transformers' ACT2FN): DAB-DETR
    "silu": "silu",
    "swish": "silu",
    "xielu": "xielu",
}
_GATED_NAME = {"silu": "swiglu", "gelu": "geglu", "relu": "reglu", "relu2": "relu2glu"}


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


class _Reader:
    """Typed access to a config.json dict that records every problem with its JSON path."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.problems: list[Problem] = []
        self.assumed: list[str] = []

    def refuse(self, key: str, message: str) -> None:
        self.problems.append(Problem(f"{_PREFIX}.{key}", message))

    def first(self, *keys: str) -> tuple[str | None, Any]:
        """The first alias present with a non-null value."""
        for key in keys:
            if self.data.get(key) is not None:
                return key, self.data[key]
        return None, None

    def int_(self, *keys: str, required: bool = True, what: str = "") -> int | None:
        key, value = self.first(*keys)
        if key is None:
            if required:
                names = ", ".join(keys)
                self.refuse(keys[0], f"{what or 'required key'} missing (looked for {names})")
            return None
        if not _is_int(value) or value < 1:
            self.refuse(key, f"must be a positive integer (got {value!r})")
            return None
        return int(value)


def _activation(r: _Reader, model_type: str) -> str | None:
    key, value = r.first(
        "hidden_activation",
        "hidden_act",
        "activation_function",
        "activation",
        "dense_act_fn",
        "ffn_act",
        "feed_forward_proj",
        "afn",
        "ffn_act_fn",
    )
    if isinstance(value, dict):  # DBRX: {"name": "silu"}
        value = value.get("name")
    if key is None and isinstance(r.data.get("gelu_activation"), bool):  # XLM, FlauBERT
        key, value = "gelu_activation", "gelu" if r.data["gelu_activation"] else "relu"
    if key is None and model_type in FAMILY_ACTIVATION:
        key, value = "hidden_act", FAMILY_ACTIVATION[model_type]
        r.assumed.append(f"activation not in the config: {model_type}'s {value}")
    if key is None:
        r.refuse(
            "hidden_act",
            "FFN activation missing (looked for hidden_act, "
            "hidden_activation, activation_function, activation, feed_forward_proj)",
        )
        return None
    gated = model_type in GATED_TYPES or r.data.get("is_gated_act") is True
    if isinstance(value, str) and value.startswith("gated-"):
        value, gated = value.removeprefix("gated-"), True
    if not isinstance(value, str) or value not in _ACTS:
        r.refuse(key, f"unsupported activation {value!r}; supported: {', '.join(sorted(_ACTS))}")
        return None
    plain = _ACTS[value]
    if gated and plain not in _GATED_NAME:
        r.refuse(key, f"a gated {value} FFN is not modelled")
        return None
    return _GATED_NAME[plain] if gated else plain


def _mla(r: _Reader) -> dict[str, Any]:
    """Multi-head latent attention (DeepSeek-V2/V3): low-rank Q and KV projections.

    The QK head dim is ``qk_nope_head_dim + qk_rope_head_dim`` (the rotated part is
    ``qk_rope_head_dim``); values have ``v_head_dim`` features; K and V are per query head.
    """
    if r.data.get("kv_lora_rank") is None:
        return {}
    kv_rank = r.int_("kv_lora_rank")
    nope = r.int_("qk_nope_head_dim", what="MLA's non-rotary QK head dim")
    rope = r.int_("qk_rope_head_dim", what="MLA's rotary QK head dim")
    v_dim = r.int_("v_head_dim", what="MLA's value head dim")
    q_rank = r.int_("q_lora_rank", required=False)
    if None in (kv_rank, nope, rope, v_dim):
        return {}
    assert nope is not None and rope is not None
    no_rope = r.data.get("no_rope_layers")
    if isinstance(no_rope, list) and 0 in no_rope:
        r.refuse(
            "no_rope_layers",
            "an MLA layer without rotary (MistralLarge4TextAttention) projects no rotated key part "
            "and decompresses a wider non-rotary one: per-layer MLA widths are not modelled",
        )
    qk_dim = r.data.get("qk_head_dim")
    if qk_dim is not None and qk_dim != nope + rope:
        r.refuse("qk_head_dim", f"{qk_dim!r} is not qk_nope_head_dim + qk_rope_head_dim")
    heads, kv = r.first(*_HEAD_KEYS)[1], r.first(*_KV_KEYS)[1]
    if kv is not None and kv != heads:
        r.refuse(
            "num_key_value_heads",
            f"{kv!r} KV heads with {heads!r} query heads: MLA decompresses K and V per query "
            "head (grouped MLA is not modelled)",
        )
    r.assumed.append(
        "MLA with K and V decompressed (kv_up) for the new tokens only and cached per head, no "
        "weight absorption (in prefill what transformers computes; in decode transformers 5.24 "
        "caches the latent and decompresses the whole cache every step, which is not modelled)"
    )
    return {
        "kv_lora_rank": kv_rank,
        "q_lora_rank": q_rank,
        "v_head_dim": v_dim,
        "head_dim": nope + rope,
        "rotary_dim": rope,
        "n_kv_heads": None,
    }


_HEAD_KEYS = (
    "num_attention_heads",
    "n_head",
    "num_heads",
    "n_heads",
    "decoder_attention_heads",
    "encoder_attention_heads",
    "attention_heads",
    "decoder_num_attention_heads",
    "encoder_num_attention_heads",
)
_KV_KEYS = (
    "num_key_value_heads",
    "num_kv_heads",
    "n_head_kv",
    "multi_query_group_num",
    "num_query_groups",
    "kv_n_heads",
    "decoder_num_key_value_heads",
)


def _heads(r: _Reader, d_model: int | None, model_type: str, mla: bool) -> dict[str, Any]:
    n_heads = r.int_(*_HEAD_KEYS, what="attention heads")
    if mla:  # head dims and KV heads come from _mla
        return {"n_heads": n_heads}
    kv: int | None
    if r.data.get("multi_query") is True and not r.data.get("new_decoder_architecture"):
        kv = 1
    else:
        kv = r.int_(*_KV_KEYS, required=False)
    head_dim = r.int_("head_dim", "d_kv", "kv_channels", "attention_head_size", required=False)
    if head_dim is None and d_model and n_heads and d_model % n_heads:
        if model_type in GATED_TYPES:  # Llama-derived code: hidden_size // num_attention_heads
            head_dim = d_model // n_heads
            r.assumed.append(
                f"head_dim not given and {n_heads} heads do not divide hidden size {d_model}: "
                f"{head_dim} (hidden_size // num_attention_heads, as the family's code computes it)"
            )
        else:
            r.refuse(
                "num_attention_heads",
                f"{n_heads} heads do not divide hidden size {d_model} and head_dim is not given",
            )
    v_dim = r.int_("v_head_dim", required=False)  # values narrower than keys (MiMo-V2)
    return {
        "n_heads": n_heads,
        "n_kv_heads": kv,
        "head_dim": head_dim,
        "v_head_dim": v_dim if v_dim != head_dim else None,
    }


def _d_ff(r: _Reader, d_model: int | None, model_type: str) -> int | None:
    keys = (
        "intermediate_size",
        "n_inner",
        "ffn_dim",
        "d_ff",
        "ffn_hidden_size",
        "decoder_ffn_dim",
        "encoder_ffn_dim",
        "inner_hidden_size",
        "mlp_dim",
        "hidden_dim",
        "dim_ff",
        "dff",
        "d_inner",
    )
    key, _ = r.first(*keys)
    if key is not None:
        return r.int_(*keys)
    rkey, ratio = r.first("mlp_ratio", "expansion_ratio", "intermediate_multiple_size")
    if rkey is not None and d_model:
        if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or ratio <= 0:
            r.refuse(rkey, f"must be a positive number (got {ratio!r})")
            return None
        return int(ratio * d_model)
    if d_model and (any(k in r.data for k in keys) or model_type in FOUR_X_FFN):
        r.assumed.append("FFN width not given: 4 x hidden size (the family's convention)")
        return 4 * d_model
    r.refuse("intermediate_size", f"FFN width missing (looked for {', '.join(keys)})")
    return None


def _norm(r: _Reader, model_type: str) -> dict[str, Any]:
    t5_like = model_type in ("t5", "mt5", "umt5", "longt5", "switch_transformers", "pop2piano")
    if any(k in r.data for k in ("rms_norm_eps", "rms_norm_epsilon")) or t5_like:
        kind = "rmsnorm"
    elif any(k in r.data for k in ("layer_norm_eps", "layer_norm_epsilon", "layernorm_epsilon")):
        kind = "layernorm"
    else:
        kind = "rmsnorm" if model_type in GATED_TYPES - LAYERNORM_GATED_TYPES else "layernorm"
        r.assumed.append(f"norm type not stated (no rms_norm_eps / layer_norm_eps): {kind} assumed")
    if r.data.get("do_layer_norm_before") is False or r.data.get("normalize_before") is False:
        post = True
    elif r.data.get("do_layer_norm_before") is True or r.data.get("normalize_before") is True:
        post = False
    else:
        post = model_type in POST_NORM_TYPES
    return {"norm": kind, "norm_position": "post" if post else "pre"}


def _parallel(r: _Reader, model_type: str) -> dict[str, Any]:
    if r.data.get("parallel_attn") is True or model_type in PARALLEL_TYPES:
        two = (
            r.data.get("new_decoder_architecture") is True
            and r.data.get("num_ln_in_parallel_attn") != 1
        )
        return {"parallel": True, "parallel_norms": 2 if two else 1}
    if r.data.get("use_parallel_residual") is True:
        return {"parallel": True, "parallel_norms": 2}
    return {}


def _rotary(r: _Reader, dh: int | None) -> int | None:
    raw = r.data.get("rope_parameters")
    rope: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if r.data.get("alibi") is True or r.data.get("position_embedding_type") not in (
        None,
        "rotary",
        "absolute",
    ):
        return None
    _, rot = r.first("rotary_dim")
    if _is_int(rot):
        return int(rot)
    _, frac = r.first("partial_rotary_factor", "rotary_pct")
    frac = frac if frac is not None else rope.get("partial_rotary_factor")
    has_rope = bool(rope) or any(
        k in r.data for k in ("rope_theta", "rope_scaling", "rotary_emb_base")
    )
    has_rope = has_rope or r.data.get("position_embedding_type") == "rotary"
    if not has_rope or dh is None:
        return None
    if isinstance(frac, (int, float)) and 0 < frac <= 1:
        return max(1, int(dh * frac))
    return dh


_LAYER_KINDS = {"sliding_attention": True, "full_attention": False, "local": True, "global": False}
# Layer kinds read by cosamt.workload.hf_recurrent (never windowed).
_LAYER_KINDS.update(dict.fromkeys(hf_recurrent.LAYER_KINDS, False))
# Reference sliding-window attention: every prefill key is kept (hf_moe_hybrid).
_LAYER_KINDS.update(dict.fromkeys(hf_moe_hybrid.PREFILL_FULL_KINDS, False))


def _layer_kinds(r: _Reader) -> tuple[str, list[Any]] | None:
    """Per-layer attention kinds: ``layer_types`` or GPT-Neo's ``attention_layers``."""
    for key in ("layer_types", "attention_layers"):
        kinds = r.data.get(key)
        if isinstance(kinds, list) and kinds:
            return key, kinds
    return None


def _window(r: _Reader) -> dict[str, Any]:
    """Sliding-window attention: the window and how many layers use it."""
    kinds = _layer_kinds(r)
    if kinds is not None:
        key, values = kinds
        unknown = sorted({str(t) for t in values if t not in _LAYER_KINDS})
        if unknown:
            r.refuse(key, f"layer types {unknown} are not modelled")
            return {}
    alias = (
        "window_size" if kinds is not None and kinds[0] == "attention_layers" else "sliding_window"
    )
    _, window = r.first(alias, "sliding_window_size", "local_attention")
    if r.data.get("use_sliding_window") is False:
        window = None
    local = sum(1 for t in kinds[1] if _LAYER_KINDS[t]) if kinds is not None else None
    if local == 0:
        return {}
    if not _is_int(window) or window < 1:
        if local:
            r.refuse(key if kinds else "layer_types", "sliding-window layers without a window size")
        return {}
    if local is not None:
        return {"sliding_window": window, "sliding_layers": local}
    if r.data.get("use_sliding_window") is True:
        r.refuse(
            "max_window_layers",
            "per-layer sliding-window placement (use_sliding_window "
            "with max_window_layers) is not modelled",
        )
    return {"sliding_window": window}


def _moe(r: _Reader, n_layers: int | None) -> dict[str, Any]:
    key, experts = r.first(
        "num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"
    )
    if key is None or not _is_int(experts) or experts <= 1:
        return {}
    k = _top_k(r)
    expert_ff = hf_moe_hybrid.modality_expert_width(r) or r.int_(
        "moe_intermediate_size", "expert_intermediate_size", required=False
    )
    gated_shared = r.int_("shared_expert_intermediate_size", required=False)
    # Granite-MoE-shared / -hybrid, MiniMax-M3: one shared MLP of shared_intermediate_size.
    shared = gated_shared or _shared_mlp(r)
    _, n_shared = r.first("n_shared_experts", "num_shared_experts", "moe_num_shared_experts")
    if n_shared is not None and (not _is_int(n_shared) or n_shared < 0):
        r.refuse("n_shared_experts", f"must be a non-negative integer (got {n_shared!r})")
        n_shared = None
    if n_shared:
        shared = n_shared * (expert_ff or r.int_("intermediate_size") or 0)
    step = r.data.get("decoder_sparse_step")
    _, dense_first = r.first("first_k_dense_replace", "num_dense_layers")
    freq = r.data.get("moe_layer_freq")
    moe_layers = None
    if _is_int(step) and step > 1 and n_layers:
        moe_layers = n_layers // step
    if _is_int(dense_first) and dense_first > 0 and n_layers:
        if freq not in (None, 1) or moe_layers is not None:
            r.refuse("moe_layer_freq", "MoE every few layers after dense ones is not modelled")
        elif dense_first >= n_layers:
            return {}
        moe_layers = n_layers - dense_first
    only = r.data.get("mlp_only_layers")
    if only and n_layers:  # Qwen2-MoE: listed layers dense, the others by decoder_sparse_step
        if not isinstance(only, list) or not all(_is_int(i) and i >= 0 for i in only):
            r.refuse("mlp_only_layers", f"must be a list of layer indices (got {only!r})")
        elif dense_first:
            r.refuse("mlp_only_layers", "with first_k_dense_replace as well is not modelled")
        else:
            moe_layers = sum(_moe_flags(r, n_layers)) or None
            if moe_layers is None:
                return {}
    if _is_int(r.data.get("moe_layer_start_index")) and n_layers:
        moe_layers = sum(_moe_flags(r, n_layers))
        if moe_layers == 0:
            return {}
    kinds = r.data.get("mlp_layer_types")
    if isinstance(kinds, list):
        unknown = sorted({str(t) for t in kinds if t not in ("sparse", "dense")})
        if unknown:
            r.refuse("mlp_layer_types", f"MLP layer types {unknown} are not modelled")
        moe_layers = kinds.count("sparse")
        if moe_layers == 0:
            return {}
    if r.data.get("is_encoder_decoder") is True:
        r.refuse(key, "mixture of experts in an encoder-decoder model is not modelled")
    if gated_shared and not n_shared:  # Qwen2-MoE style: one gated shared expert
        r.assumed.append("shared-expert gate (a d_model x 1 projection) not counted")
    return {
        "n_experts": experts,
        "experts_per_token": k,
        "expert_d_ff": expert_ff,
        "shared_d_ff": shared,
        "moe_layers": moe_layers,
    }


def _shared_mlp(r: _Reader) -> int:
    """``shared_intermediate_size``: 0 means no shared MLP (GraniteMoeSharedDecoderLayer)."""
    value = r.data.get("shared_intermediate_size")
    if value is None or value == 0:
        return 0
    return r.int_("shared_intermediate_size") or 0


# Families whose router class fixes top-k (no config field): transformers'
# SwitchTransformersTop1Router (modeling_switch_transformers.py) and NllbMoeTop2Router
# (modeling_nllb_moe.py).
_ROUTER_TOP_K = {"switch_transformers": 1, "nllb-moe": 2}
_TOP_K_KEYS = (
    "num_experts_per_tok",
    "num_experts_per_token",
    "moe_top_k",
    "top_k",
    "num_selected_experts",
    "moe_topk",
    "moe_k",
)


def _top_k(r: _Reader) -> int | None:
    model_type = r.data.get("model_type")
    if r.first(*_TOP_K_KEYS)[0] is None and model_type in _ROUTER_TOP_K:
        k = _ROUTER_TOP_K[model_type]
        r.assumed.append(f"experts per token: {k} ({model_type}'s router is top-{k} by its code)")
        return k
    if r.first(*_TOP_K_KEYS)[0] is None and "num_experts_per_tok" in r.data:
        # DeepSeek-V2's default config: transformers passes it to torch.topk as k unchanged
        # (DeepseekV2Moe.top_k), so there is no default to fall back on.
        r.refuse(
            "num_experts_per_tok",
            "is null: the family's code has no default top-k (it routes with k = this value)",
        )
        return None
    return r.int_(*_TOP_K_KEYS, what="experts per token")


def _moe_flags(r: _Reader, n_layers: int) -> list[bool]:
    """Which layers are MoE, by the rule :func:`_moe` counts with (mlp_layer_types, else the
    first k dense, else every step-th layer not in mlp_only_layers)."""
    kinds = r.data.get("mlp_layer_types")
    if isinstance(kinds, list):
        return [t == "sparse" for t in kinds]
    start = r.data.get("moe_layer_start_index")
    if _is_int(start):  # ERNIE 4.5 (Ernie4_5_MoeDecoderLayer): every interval-th in start..end
        end = r.data.get("moe_layer_end_index")
        end = end if _is_int(end) else n_layers - 1
        every = r.data.get("moe_layer_interval")
        every = every if _is_int(every) and every > 0 else 1
        return [(i + 1) % every == 0 and start <= i <= end for i in range(n_layers)]
    _, dense_first = r.first("first_k_dense_replace", "num_dense_layers")
    if _is_int(dense_first) and dense_first > 0:
        return [i >= dense_first for i in range(n_layers)]
    step = r.data.get("decoder_sparse_step")
    step = step if _is_int(step) and step > 1 else 1
    only = set(r.data.get("mlp_only_layers") or ())
    return [i not in only and (i + 1) % step == 0 for i in range(n_layers)]


def _windowed_moe_layers(r: _Reader, n_layers: int) -> int | None:
    """Layers both windowed and MoE (when some layers are windowed and some MoE)."""
    kinds = _layer_kinds(r)
    if kinds is None or len(kinds[1]) != n_layers:
        r.refuse("layer_types", f"one attention type per layer expected ({n_layers} layers)")
        return None
    flags = _moe_flags(r, n_layers)
    if len(flags) != n_layers:
        r.refuse("mlp_layer_types", f"one MLP type per layer expected ({n_layers} layers)")
        return None
    both = sum(1 for t, m in zip(kinds[1], flags, strict=True) if _LAYER_KINDS.get(t) and m)
    return both or None


def _all_moe_width(r: _Reader, moe: dict[str, Any]) -> int | None:
    """With MoE on every layer and no dense FFN width given, the dense width is never used: the
    expert width stands in for it (no operator reads it)."""
    if not moe or moe["moe_layers"] is not None or moe["expert_d_ff"] is None:
        return None
    if r.first("intermediate_size", "ffn_dim", "d_ff", "ffn_hidden_size")[0] is not None:
        return None
    return int(moe["expert_d_ff"])


def _encoder_decoder(r: _Reader, model_type: str) -> dict[str, Any]:
    if r.data.get("is_encoder_decoder") is not True:
        if r.data.get("add_cross_attention") is True:
            return {"cross_attention": True}
        return {}
    if _decoder_half(r):
        return {}
    enc = r.int_(*_ENCODER_LAYER_KEYS, what="encoder layers")
    for a, b in (
        ("encoder_ffn_dim", "decoder_ffn_dim"),
        ("encoder_attention_heads", "decoder_attention_heads"),
    ):
        if a in r.data and b in r.data and r.data[a] != r.data[b]:
            r.refuse(
                a,
                f"{a} ({r.data[a]}) differs from {b} ({r.data[b]}): encoder and decoder "
                "of different widths are not modelled",
            )
    out: dict[str, Any] = {"encoder_layers": enc}
    if model_type == "whisper" or "num_mel_bins" in r.data:
        out["encoder_tokens"] = r.int_("max_source_positions", what="encoder frames")
    return out


_ENCODER_LAYER_KEYS = (
    "encoder_layers",
    "num_layers",
    "num_encoder_layers",
    "encoder_num_hidden_layers",
)


def _decoder_half(r: _Reader) -> bool:
    """The decoder sub-config of an encoder-decoder model read on its own (Canary's, Dia's):
    ``is_encoder_decoder`` but no encoder layers and only a decoder stack. Its cross-attention
    needs the encoder's width and length, which only the composite config states."""
    if r.first(*_ENCODER_LAYER_KEYS)[0] is not None or "num_hidden_layers" not in r.data:
        return False
    r.refuse(
        "is_encoder_decoder",
        "the decoder half of an encoder-decoder model (no encoder layers here; its "
        "cross-attention needs the encoder's output): point hf_config at the composite config",
    )
    return True


def _vision(r: _Reader, model_type: str) -> int | None:
    """Tokens of a vision transformer: patches of the image plus class/distillation tokens."""
    image, patch = r.data.get("image_size"), r.data.get("patch_size")
    if "vocab_size" in r.data or (image is None and patch is None):
        return None
    if image is None or patch is None:
        missing = "image_size" if image is None else "patch_size"
        r.refuse(
            missing,
            "required key missing (a vision transformer's tokens come from "
            "image_size and patch_size)",
        )
        return None
    size = image if isinstance(image, list) else [image, image]
    step = patch if isinstance(patch, list) else [patch, patch]
    if not all(_is_int(v) and v > 0 for v in (*size, *step)) or len(size) != 2 or len(step) != 2:
        r.refuse("image_size", f"image_size {image!r} / patch_size {patch!r} not understood")
        return None
    patches = math.prod(s // p for s, p in zip(size, step, strict=True))
    if patches < 1:
        r.refuse("patch_size", "larger than image_size")
        return None
    extra = EXTRA_TOKENS.get(model_type, 1) + (r.data.get("num_register_tokens") or 0)
    return patches + extra


def _int_list(r: _Reader, key: str) -> list[int] | None:
    value = r.data.get(key)
    if not isinstance(value, list) or not value or not all(_is_int(v) and v > 0 for v in value):
        r.refuse(key, f"must be a non-empty list of positive integers (got {value!r})")
        return None
    return list(value)


def _square(r: _Reader, key: str) -> int | None:
    value = r.data.get(key)
    if isinstance(value, list) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    if not _is_int(value) or value < 1:
        r.refuse(key, f"must be a positive integer or a square [n, n] (got {value!r})")
        return None
    return int(value)


def _swin(r: _Reader, model_type: str) -> dict[str, Any]:
    """Swin: stages of windowed attention with patch merging (``depths``, ``num_heads`` per
    stage, ``embed_dim`` for stage 1, ``window_size``)."""
    depths, heads = _int_list(r, "depths"), _int_list(r, "num_heads")
    embed, window = r.int_("embed_dim"), r.int_("window_size")
    image, patch = _square(r, "image_size"), _square(r, "patch_size")
    ratio = r.data.get("mlp_ratio", 4.0)
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or ratio <= 0:
        r.refuse("mlp_ratio", f"must be a positive number (got {ratio!r})")
    if depths and heads and len(depths) != len(heads):
        r.refuse("num_heads", f"one head count per stage expected ({len(depths)} depths)")
    if image and patch and image % patch:
        r.refuse("patch_size", f"{patch} does not divide image_size {image}")
    r.assumed.append(
        f"{model_type}: patch embedding, final norm and pooler not modelled (stages only)"
    )
    if None in (depths, heads, embed, window, image, patch) or r.problems:
        return {}
    assert depths is not None and heads is not None and embed and image and patch
    grid = image // patch
    v2 = model_type == "swinv2"  # Swinv2Layer: residual post-norm (cosamt.workload.swin_v2)
    return {
        "n_layers": sum(depths),
        "d_model": embed,
        "n_heads": heads[0],
        "d_ff": int(ratio * embed),
        "activation": _activation(r, model_type),
        "norm": "layernorm",
        "norm_position": "post" if v2 else "pre",
        "swin_v2": v2,
        "stage_depths": tuple(depths),
        "stage_heads": tuple(heads),
        "window_size": window,
        "image_tokens": grid * grid,
        "decoder": False,
        "default_seq_len": grid * grid,
    }


def _fields(r: _Reader, model_type: str) -> dict[str, Any]:
    if model_type in REFUSED_TYPES:
        r.refuse("model_type", REFUSED_TYPES[model_type])
    if model_type in HIERARCHICAL_TYPES:
        return _swin(r, model_type)
    if model_type in hf_deformable.TYPES:  # deformable-attention detection transformers
        return hf_deformable.fields(r, model_type)
    if model_type in hf_local.NEIGHBOURHOOD_TYPES:  # DiNAT's stages
        return {**hf_local.dinat(r, model_type), "activation": _activation(r, model_type)}
    if model_type in hf_vision.PYRAMID_TYPES:
        return hf_vision.pyramid(r, model_type)
    if model_type in hf_vision_stages.VISION_STAGE_TYPES:  # CvT, LeViT, Hiera
        return hf_vision_stages.READERS[model_type](r, model_type)
    if model_type in hf_recurrent.MAMBA_TYPES:
        return hf_recurrent.mamba(r, model_type)
    if model_type == "xlstm":  # mLSTM layers (cosamt.workload.xlstm)
        return xlstm.hf_fields(r, model_type)
    if model_type == "reformer":  # local and LSH attention (cosamt.workload.reformer)
        return reformer.hf_fields(r)
    queries = model_type in QUERY_DECODER_TYPES | hf_encdec.CONDITIONAL_TYPES.keys()
    # A hybrid's Mamba fields are read below (hf_recurrent.mamba_hybrid, hf_hybrid.fields).
    hybrid = model_type in hf_hybrid.HYBRID_TYPES
    moe_hybrid = model_type in hf_moe_hybrid.TYPES  # their layers: hf_moe_hybrid.fields
    read = hf_recurrent.HYBRID_KEYS if model_type in hf_recurrent.MAMBA_HYBRID_TYPES else set()
    read = hf_hybrid.READ_KEYS if hybrid else read
    read = hf_layers.READ_KEYS if model_type in hf_layers.PER_LAYER_TYPES else read
    read = read | hf_local.READ_KEYS.get(model_type, set())  # local attention (hf_local)
    if model_type in hf_conformer.CONFORMER_TYPES:
        read = set(hf_conformer.READ_KEYS)  # the convolution module, the streaming context
    if model_type in hf_speech.FEATURE_ENCODER_TYPES:
        read = set(hf_speech.FEATURE_ENCODER_KEYS)  # wav2vec2's convolutions (hf_speech)
    read = hf_addons.READ_KEYS.get(model_type, read)
    read = hf_misc.READ_KEYS.get(model_type, read)
    read = read | hf_moe_hybrid.READ_KEYS.get(model_type, set())
    for key, message in REFUSED_KEYS:
        skip = key in read or (queries and key == "num_queries")
        if r.data.get(key) not in (None, 0, False, []) and not skip:
            r.refuse(key, message)
    kind = r.data.get("attention_type")
    sparse = kind == "block_sparse" and model_type in hf_local.BLOCK_SPARSE_TYPES
    sparse = sparse or model_type == "informer"  # ProbSparse: hf_encdec.informer
    if isinstance(kind, str) and kind not in ("original_full", "full", "default") and not sparse:
        r.refuse("attention_type", f"attention type {kind!r} is not modelled")
    if r.data.get("no_rope_layers"):
        r.assumed.append(
            "rotary counted on every layer (no_rope_layers not modelled: vector ops only)"
        )
    parts = sorted(
        k
        for k, v in r.data.items()
        if isinstance(v, dict)
        and (k.endswith("_config") or k in ("encoder", "decoder", "generator", "question_encoder"))
        and k not in ("attn_config", "ffn_config", "quantization_config")
    )
    if parts and not any(k in r.data for k in ("hidden_size", "d_model", "n_embd")):
        r.refuse(
            parts[0],
            f"a composite config ({', '.join(parts)}): point hf_config at one sub-model's config",
        )
        return {}
    d_model = r.int_(
        "hidden_size",
        "n_embd",
        "d_model",
        "dim",
        "embed_dim",
        "model_dim",
        "emb_dim",
        what="hidden size",
    )
    enc_dec = _encoder_decoder(r, model_type)
    layer_keys = ("decoder_layers", "num_decoder_layers", "decoder_num_hidden_layers")
    n_layers = r.int_(
        *(layer_keys if "encoder_layers" in enc_dec else ()),
        "num_hidden_layers",
        "n_layer",
        "num_layers",
        "n_layers",
        *layer_keys,
        what="layer count",
    )
    mla = _mla(r)
    heads = {**_heads(r, d_model, model_type, r.data.get("kv_lora_rank") is not None), **mla}
    dh = heads.get("head_dim") or (
        d_model // heads["n_heads"] if d_model and heads["n_heads"] else None
    )
    tokens = _vision(r, model_type)
    window, moe = _window(r), _moe(r, n_layers)
    hf_moe_hybrid.note_reference_window(r)
    layers = n_layers or 0
    split = [kind.get(k) or layers for kind, k in ((window, "sliding_layers"), (moe, "moe_layers"))]
    if all(count < layers for count in split):
        window["sliding_moe_layers"] = _windowed_moe_layers(r, layers)
    decoder = model_type not in ENCODER_TYPES or r.data.get("is_decoder") is True
    base = {
        "n_layers": n_layers,
        "d_model": d_model,
        **heads,
        "d_ff": _all_moe_width(r, moe) or _d_ff(r, d_model, model_type),
        "activation": _activation(r, model_type),
        **_norm(r, model_type),
        **_parallel(r, model_type),
        "rotary_dim": mla.get("rotary_dim") or _rotary(r, dh),
        **window,
        **moe,
        **enc_dec,
        **hf_recurrent.indexer(r),
        **({} if hybrid or moe_hybrid else hf_recurrent.linear_attention(r, model_type)),
        **hf_recurrent.mamba_hybrid(r, model_type, n_layers),
        "image_tokens": tokens,
        "vocab_size": r.int_("vocab_size", required=False) if tokens is None else None,
        "decoder": decoder and tokens is None and not queries,
        "decoder_tokens": r.int_("num_queries") if queries else None,
        "default_seq_len": tokens,
    }
    if model_type in hf_layers.LAYERED_TYPES:
        return {**base, **hf_layers.fields(r, model_type, base)}
    if model_type in hf_local.LONGFORMER_TYPES:
        return {**base, **hf_local.longformer(r, model_type, base)}
    if model_type in hf_local.BLOCK_SPARSE_TYPES:
        return {**base, **hf_local.block_sparse(r, model_type, base)}
    if model_type == "mra":  # multi-resolution attention (cosamt.workload.mra)
        return {**base, **mra.hf_fields(r)}
    if model_type == "longt5":
        return {**base, **hf_local.longt5(r, model_type, base)}
    if model_type == "pegasus_x":
        return {**base, **hf_local.pegasus_x(r, model_type, base)}
    if model_type in hf_conformer.CONFORMER_TYPES | hf_conformer.REFUSED.keys():
        return {**base, **hf_conformer.fields(r, model_type)}
    if model_type in hf_speech.FEATURE_ENCODER_TYPES:
        return {**base, **hf_speech.feature_encoder_fields(r, model_type)}
    if model_type in hf_addons.TYPES:
        return {**base, **hf_addons.fields(r, model_type, base)}
    if model_type in hf_encdec.CONDITIONAL_TYPES:  # Conditional DETR, DAB-DETR
        return {**base, **hf_encdec.conditional(r, model_type)}
    if model_type in hf_encdec.NGRAM_TYPES:  # ProphetNet's n-stream decoder
        return {**base, **hf_encdec.ngram(r)}
    if model_type == "informer":  # ProbSparse attention, distilling encoder
        return {**base, **hf_encdec.informer(r)}
    if model_type == "time_series_transformer":  # Informer's layout, full attention
        return {**base, **hf_encdec.time_series(r)}
    if moe_hybrid:
        return {**base, **hf_moe_hybrid.fields(r, model_type, base)}
    if model_type == "axk2":
        return {**base, **hf_moe_hybrid.axk2(r, base)}
    if model_type == "longcat_flash":
        return {**base, **hf_moe_hybrid.longcat(r, base)}
    if model_type == "zaya":
        return {**base, **hf_moe_hybrid.zaya(r, base, r.data.get("layer_types") or [])}
    if model_type in hf_odds.TYPES:
        return {**base, **hf_odds.fields(r, model_type, base)}
    if model_type in hf_misc.TYPES:  # looped, gated and Fourier stacks
        return {**base, **hf_misc.fields(r, model_type, base)}
    return {**base, **hf_hybrid.fields(r, model_type, base)} if hybrid else base


# Where composite configs keep their language model (transformers' text_config; InternVL's
# llm_config; DeepSeek-VL's language_config).
_LANGUAGE_KEYS = ("text_config", "language_config", "llm_config")
_LAYER_KEYS = (
    "num_hidden_layers",
    "n_layer",
    "num_layers",
    "n_layers",
    "decoder_layers",
    "num_decoder_layers",
    "decoder_num_hidden_layers",
)


def _non_string_model_types(data: dict[str, Any], path: str) -> list[Problem]:
    """A problem for each ``model_type`` (at any depth) that is neither a string nor null."""
    raw = data.get("model_type")
    out = []
    if raw is not None and not isinstance(raw, str):
        out.append(Problem(f"{path}.model_type", f"expected a string, got {json_type(raw)}"))
    for k, v in data.items():
        if isinstance(v, dict):
            out += _non_string_model_types(v, f"{path}.{k}")
    return out


def config_from_dict(
    data: dict[str, Any], name: str | None = None, source: str = ""
) -> ModelConfig:
    """A :class:`ModelConfig` from a decoded ``config.json``; :class:`InputError` naming fields."""
    # model_type picks readers (set and dict lookups) before anything else is read: check it first,
    # in every sub-config too.
    wrong = _non_string_model_types(data, _PREFIX)
    if wrong:
        raise InputError(source, wrong)
    if data.get("model_type") in hf_deformable.REFUSED:
        field, message = hf_deformable.REFUSED[data["model_type"]]
        raise InputError(source, [Problem(f"{_PREFIX}.{field}", message)])
    key = next((k for k in _LANGUAGE_KEYS if isinstance(data.get(k), dict)), None)
    if key is not None and not any(data.get(k) is not None for k in _LAYER_KEYS):
        # A composite (vision- or audio-language) config with no layers of its own: its language
        # model, stated; unless the whole is something not modelled (a detector's queries, ...).
        outer = _Reader(data)
        if data.get("model_type") in REFUSED_TYPES:
            outer.refuse("model_type", REFUSED_TYPES[data["model_type"]])
        for feature, message in REFUSED_KEYS:
            if data.get(feature) not in (None, 0, False, []):
                outer.refuse(feature, message)
        if outer.problems:
            raise InputError(source, outer.problems)
        inner = config_from_dict(
            {
                "model_type": "",
                **data[key],
                **hf_layers.assistant_marker(data),
                **hf_misc.vision_marker(data),
            },
            name or str(data.get("model_type")),
            source,
        )
        towers = sorted(k for k in data if k.endswith("_config") and k != key)
        note = f"composite config: the language model ({key}) only; {', '.join(towers) or 'other towers'} not modelled"
        return inner.model_copy(update={"assumptions": (note, *inner.assumptions)})
    data = hf_composite.split_halves(data) or hf_composite.split_moe_halves(data) or data
    data = hf_composite.nest_decoder(data) or hf_speech.nest_musicgen(data, source) or data
    data = hf_speech.split_speecht5(data) or hf_speech.split_seamless(data) or data
    if hf_transducer.is_transducer(data):  # RNN-T and TDT: LSTM prediction + joint networks
        return hf_transducer.read(config_from_dict, data, name, source)
    keys = hf_composite.pair(data)
    if keys is not None:  # encoder + decoder sub-configs, each read by this reader
        return hf_composite.read_pair(config_from_dict, data, keys, name, source)
    refused = hf_composite.refused_part(data)
    if refused is not None:
        raise InputError(source, [refused])
    model_type = data.get("model_type") or ""
    for nested in ("attn_config", "ffn_config"):  # MPT, DBRX keep fields one level down
        if isinstance(data.get(nested), dict):
            data = {**data[nested], **data}
    data = hf_addons.normalise(hf_hybrid.normalise(data, model_type), model_type)
    data = hf_encdec.normalise(data, model_type)
    data = hf_moe_hybrid.normalise(data, model_type)
    data = hf_odds.normalise(data, model_type)
    data = hf_misc.normalise(data, model_type)
    reader = _Reader(hf_layers.normalise(data, model_type))
    _per_layer_overrides(reader, model_type)
    fields = _fields(reader, model_type)
    if reader.problems:
        raise InputError(source, reader.problems)
    fields = {k: v for k, v in fields.items() if v is not None}
    fields["name"] = name or model_type or "hf-model"
    fields["assumptions"] = tuple(reader.assumed)
    fields["source"] = f"Hugging Face config.json ({model_type or 'no model_type'}) at {source}"
    try:
        return ModelConfig.model_validate(fields)
    except ValidationError as exc:
        raise InputError(source, problems_from_pydantic(exc, _PREFIX)) from exc


def _per_layer_overrides(r: _Reader, model_type: str) -> None:
    """Gemma 4 (transformers >= 5.15) keeps its full-attention layers' wider head_dim in
    ``per_layer_config``; the flat fields are the other layers'. Read flat, those layers would be
    counted at the wrong width. Without ``per_layer_config`` (older configs) the configuration
    class derives it from ``global_head_dim``."""
    if model_type in GLOBAL_HEAD_DIM_TYPES and "per_layer_config" not in r.data:
        r.refuse(
            "global_head_dim" if "global_head_dim" in r.data else "per_layer_config",
            f"{model_type}'s full-attention layers have head dim global_head_dim (512 when not "
            "stated) when per_layer_config is absent; per-layer head dims are not modelled",
        )
    overrides = r.data.get("per_layer_config")
    if not isinstance(overrides, dict) or not overrides or model_type in hf_layers.GEMMA4_TYPES:
        return  # Gemma 4's: read as layer groups (cosamt.workload.hf_layers)
    fields = sorted({f for v in overrides.values() if isinstance(v, dict) for f in v})
    layers = ", ".join(sorted(str(k) for k in overrides))
    r.refuse(
        "per_layer_config",
        f"per-layer overrides ({', '.join(fields) or 'fields'} on layers {layers}) are not modelled",
    )


def load_hf_config(path: Path, name: str | None = None) -> ModelConfig:
    """Map a Hugging Face ``config.json`` on disk (no network) to a :class:`ModelConfig`.

    Every problem (unreadable file, malformed JSON, a feature not modelled, missing or bad keys)
    raises :class:`InputError` with paths such as ``hf_config.hidden_size``.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(source, [Problem(_PREFIX, f"cannot read file: {exc.strerror}")]) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            source, [Problem(_PREFIX, f"malformed JSON: {exc.msg} (line {exc.lineno})")]
        ) from exc
    if not isinstance(data, dict):
        raise InputError(source, [Problem(_PREFIX, "must be a JSON object")])
    return config_from_dict(data, name, source)
