"""Reading stacks whose layers differ by per-layer fields, as ``ModelConfig.layer_groups``:
Gemma 4's ``per_layer_config`` and LFM2's short-convolution layers.

* ``gemma4_text``, ``gemma4_unified_text`` (``Gemma4*TextAttention``): ``layer_types``
  ``sliding_attention`` (keys capped at ``sliding_window``) or ``full_attention``; each layer's
  ``head_dim`` and ``num_key_value_heads`` are the flat fields unless ``per_layer_config`` (keys:
  layer indices) overrides them. Both rope types these configs use (``default``,
  ``proportional``) give cos/sin tables as wide as the layer's head dim, so every feature is
  rotated (``proportional`` with cos 1, sin 0 beyond ``partial_rotary_factor``). Every layer has the
  gated MLP of ``intermediate_size``. ``hidden_size_per_layer_input`` (per-layer inputs) and
  ``num_kv_shared_layers`` (the last layers reuse K and V; an assistant's every layer its
  target's) are read here too, their operators built by :mod:`cosamt.workload.per_layer`.
* ``lfm2``, ``lfm2_moe``, ``lfm3`` (``Lfm2DecoderLayer``, ``Lfm3DecoderLayer``): ``layer_types`` ``conv``
  (``Lfm2ShortConv``: :mod:`cosamt.workload.short_conv`) or attention (``lfm2``: without
  ``layer_types``, ``full_attn_idxs``, all layers when absent); every layer's FFN is
  ``w2(silu(w1 x) * w3 x)`` (SiLU fixed in the code: the configs have no activation field).
  ``lfm2`` with ``block_auto_adjust_ff_dim`` narrows ``intermediate_size`` as ``Lfm2MLP`` does;
  ``lfm2_moe`` has dense layers below ``num_dense_layers``, MoE above. ``lfm3`` adds a sigmoid
  gate per head on the attention output (``use_attention_gate``) and sandwich norms around
  every sublayer (``use_sandwich_norm``).

Anything else per layer is refused naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

GEMMA4_TYPES = frozenset({"gemma4_text", "gemma4_unified_text"})
# Gemma 4 fields read here (not refused by name): cosamt.workload.per_layer.
READ_KEYS = frozenset({"hidden_size_per_layer_input", "num_kv_shared_layers"})
# Composite configs whose language model is a drafting assistant: every layer reads its target's
# K and V (Gemma4UnifiedAssistantConfig sets num_kv_shared_layers to num_hidden_layers).
ASSISTANT_TYPES = frozenset({"gemma4_unified_assistant"})
ASSISTANT_KEY = "_assistant_target_width"  # set on the text config by assistant_marker
ORDERED_KEY = "_assistant_ordered_embeddings"
LFM_TYPES = frozenset({"lfm2", "lfm2_moe", "lfm3"})
GEMMA3N_TYPES = frozenset({"gemma3n_text"})
PER_LAYER_TYPES = GEMMA4_TYPES | GEMMA3N_TYPES  # READ_KEYS read, not refused
LAYERED_TYPES = PER_LAYER_TYPES | LFM_TYPES
_FFN_WIDTHS = "_ffn_widths"  # Gemma 3n's intermediate_size list (normalise keeps one width)
# Fields Gemma 4's per_layer_config may override, and the generic names they set.
_OVERRIDES = {"head_dim": "head_dim", "num_key_value_heads": "n_kv_heads"}
_GEMMA4_ROPE = ("default", "proportional")
_LFM_KINDS: dict[str, tuple[str, ...]] = {
    "lfm2": ("full_attention", "conv"),
    "lfm2_moe": ("full_attention", "conv"),
    "lfm3": ("full_attention", "sliding_attention", "conv"),
}
_LFM_LAYER_TYPES = "_lfm_layer_types"  # the original layer list (normalise maps conv away)

Layer = dict[str, Any]  # one layer's LayerGroup fields without its count


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def normalise(data: dict[str, Any], model_type: str) -> dict[str, Any]:
    """LFM2's fields under the generic names: RMSNorm (``norm_eps``), SiLU, and ``conv`` layers
    hidden from the attention reader (which would refuse the kind); the list kept aside. Gemma
    3n's per-layer ``intermediate_size`` list as its one width when all agree (kept aside)."""
    widths = data.get("intermediate_size")
    if model_type in GEMMA3N_TYPES and isinstance(widths, list):
        one = widths[0] if widths and all(w == widths[0] for w in widths) else None
        return {**data, "intermediate_size": one, _FFN_WIDTHS: widths}
    if model_type not in LFM_TYPES:
        return data
    out = {**data, "hidden_act": "silu", "rms_norm_eps": data.get("norm_eps", 1e-5)}
    kinds = data.get("layer_types")
    if isinstance(kinds, list):
        out[_LFM_LAYER_TYPES] = kinds
        out["layer_types"] = ["full_attention" if k == "conv" else k for k in kinds]
    return out


def _groups(layers: list[Layer]) -> list[dict[str, Any]]:
    """Identical layers merged into groups, in the order they first occur."""
    counts: dict[tuple[tuple[str, Any], ...], int] = {}
    for layer in layers:
        key = tuple(sorted(layer.items()))
        counts[key] = counts.get(key, 0) + 1
    return [{"count": n, **dict(key)} for key, n in counts.items()]


def _per_layer(r: _Reader, layers: int) -> dict[int, dict[str, Any]] | None:
    """``per_layer_config`` as {layer index: overrides}; refused where a key is not a layer
    index or a field not one the groups carry."""
    raw = r.data.get("per_layer_config") or {}
    if not isinstance(raw, dict):
        r.refuse("per_layer_config", f"expected an object of layer overrides (got {raw!r})")
        return None
    out: dict[int, dict[str, Any]] = {}
    for key, fields in raw.items():
        index = int(key) if isinstance(key, str) and key.isdigit() else None
        if index is None or index >= layers or not isinstance(fields, dict):
            r.refuse(
                f"per_layer_config.{key}",
                f"expected a layer index below {layers} with an object of overrides",
            )
            continue
        for field, value in fields.items():
            if field not in _OVERRIDES:
                r.refuse(
                    f"per_layer_config.{key}.{field}",
                    f"a per-layer {field} is not modelled (per layer: {', '.join(_OVERRIDES)})",
                )
            elif not _is_int(value) or value < 1:
                r.refuse(
                    f"per_layer_config.{key}.{field}", f"must be a positive integer (got {value!r})"
                )
        out[index] = fields
    return out


def _gemma4_rope(r: _Reader) -> None:
    rope = r.data.get("rope_parameters")
    if not isinstance(rope, dict):
        return
    for kind, params in rope.items():
        rope_type = params.get("rope_type", "default") if isinstance(params, dict) else None
        if rope_type not in _GEMMA4_ROPE:
            r.refuse(
                f"rope_parameters.{kind}.rope_type",
                f"{rope_type!r}: only {', '.join(_GEMMA4_ROPE)} (cos/sin as wide as the head) "
                "are modelled",
            )


def assistant_marker(data: dict[str, Any]) -> dict[str, Any]:
    """For an assistant's composite config: its target's width, carried to the text config."""
    if data.get("model_type") not in ASSISTANT_TYPES:
        return {}
    return {  # the configuration class's defaults
        ASSISTANT_KEY: data.get("backbone_hidden_size", 3840),
        ORDERED_KEY: data.get("use_ordered_embeddings", False),
    }


def _per_layer_input(r: _Reader) -> dict[str, Any]:
    """``hidden_size_per_layer_input`` (0: none) as ``per_layer_input``."""
    width = r.data.get("hidden_size_per_layer_input")
    if width in (None, 0):
        return {}
    if not _is_int(width) or width < 1:
        r.refuse("hidden_size_per_layer_input", f"must be a non-negative integer (got {width!r})")
        return {}
    return {"per_layer_input": width}


def _shared_from(r: _Reader, kinds: list[Any]) -> int | None:
    """The first layer reusing K and V (``Gemma4TextConfig.kv_sharing_modes``): the last
    ``num_kv_shared_layers``; all of them in an assistant (its target's K and V), else each
    shared layer's type needs an earlier layer of that type computing them."""
    layers, shared = len(kinds), r.data.get("num_kv_shared_layers") or 0
    target = r.data.get(ASSISTANT_KEY)
    if not _is_int(shared) or not 0 <= shared <= layers:
        r.refuse("num_kv_shared_layers", f"must be an integer from 0 to {layers} (got {shared!r})")
        return None
    if target is not None:
        if not _is_int(target) or target < 1:
            r.refuse("backbone_hidden_size", f"must be a positive integer (got {target!r})")
        if shared not in (0, layers):
            r.refuse(
                "num_kv_shared_layers",
                f"an assistant reusing its target's K and V on {shared} of {layers} layers is "
                "not modelled (all of them: 0 or num_hidden_layers)",
            )
        if r.data.get(ORDERED_KEY) is True:
            r.refuse(
                "use_ordered_embeddings",
                "the assistant's centroid-masked LM head (use_ordered_embeddings) is not modelled",
            )
        return 0  # Gemma4UnifiedAssistantConfig: every layer reads its target's K and V
    first = layers - shared
    if shared == layers:
        r.refuse(
            "num_kv_shared_layers",
            f"all {layers} layers reuse K and V computed outside the model (an assistant's "
            "target): read as the assistant's composite config (gemma4_unified_assistant)",
        )
        return None
    if not set(kinds[first:]) <= set(kinds[:first]):
        r.refuse(
            "num_kv_shared_layers",
            "a layer type among the last num_kv_shared_layers has no earlier layer computing "
            "its K and V (the configuration class refuses it)",
        )
        return None
    if shared and r.data.get("use_double_wide_mlp") is True:
        r.refuse(
            "use_double_wide_mlp",
            "the KV-shared layers' MLP of twice intermediate_size is not modelled",
        )
        return None
    return first


def _check_producers(r: _Reader, layers: list[Layer], kinds: list[Any], first: int) -> None:
    """A shared layer attends over its producer's K and V (the last earlier layer of its type):
    their head shapes must agree."""
    shape = ("head_dim", "n_kv_heads")
    for i in range(first, len(kinds)):
        producer = max(j for j in range(first) if kinds[j] == kinds[i])
        if any(layers[i].get(k) != layers[producer].get(k) for k in shape):
            r.refuse(
                f"per_layer_config.{i:02d}",
                f"layer {i} reuses layer {producer}'s K and V but its head_dim / KV heads differ",
            )


def _gemma4(r: _Reader, base: dict[str, Any]) -> tuple[list[Layer], dict[str, Any]]:
    out, extra = _gemma_layers(r, base)
    r.assumed.append(
        "gemma4: per layer its layer_types window and per_layer_config head_dim / KV heads; "
        "rotary on every feature of each head (default and proportional rope: cos/sin as wide "
        "as the head); the post-attention and post-FFN norms, v_norm and the layer scalar are "
        "not counted (vector work)"
    )
    return out, extra


def _sparsity(r: _Reader, layers: int) -> list[bool] | None:
    """Which layers sparsify the FFN gate (``activation_sparsity_pattern`` > 0; without it
    ``Gemma3nTextConfig`` gives the first 10 of more than 10 layers 0.95)."""
    pattern = r.data.get("activation_sparsity_pattern")
    if pattern is None:
        return [layers > 10 and i < 10 for i in range(layers)]
    if isinstance(pattern, (int, float)) and not isinstance(pattern, bool):
        pattern = [pattern] * layers
    ok = isinstance(pattern, list) and len(pattern) == layers
    if not ok or not all(isinstance(v, (int, float)) and 0 <= v < 1 for v in pattern):
        r.refuse(
            "activation_sparsity_pattern",
            f"one target sparsity in [0, 1) per layer expected ({layers} layers)",
        )
        return None
    return [v > 0 for v in pattern]


def _altup(r: _Reader) -> dict[str, Any] | None:
    """AltUp's copies and LAuReL's rank (``Gemma3nTextConfig``'s defaults where absent)."""
    inputs = r.data.get("altup_num_inputs", 4)
    active = r.data.get("altup_active_idx", 0)
    rank = r.data.get("laurel_rank", 64)
    scale = r.data.get("altup_correct_scale", True)
    if not _is_int(inputs) or inputs < 2:
        r.refuse("altup_num_inputs", f"at least 2 copies are modelled (got {inputs!r})")
    elif not _is_int(active) or not 0 <= active < inputs:
        r.refuse("altup_active_idx", f"must index one of the {inputs} copies (got {active!r})")
    if not _is_int(rank) or rank < 1:
        r.refuse("laurel_rank", f"must be a positive integer (got {rank!r})")
    if not isinstance(scale, bool):
        r.refuse("altup_correct_scale", f"must be true or false (got {scale!r})")
    if r.problems:
        return None
    return {"inputs": inputs, "laurel_rank": rank, "correct_scale": scale}


def _gemma3n(r: _Reader, base: dict[str, Any]) -> tuple[list[Layer], dict[str, Any]]:
    widths = r.data.get(_FFN_WIDTHS)
    if widths is not None and r.data.get("intermediate_size") is None:
        r.refuse(
            "intermediate_size",
            f"per-layer FFN widths ({sorted(set(map(str, widths)))}) are not modelled (one "
            "width for every layer)",
        )
    elif widths is not None and len(widths) != base["n_layers"]:
        r.refuse("intermediate_size", f"one FFN width per layer expected ({base['n_layers']})")
    sparse, altup = _sparsity(r, base["n_layers"]), _altup(r)
    if sparse is None or altup is None or r.problems:
        return [], {}
    out, extra = _gemma_layers(r, base)
    for layer, gated in zip(out, sparse, strict=False):
        if gated:
            layer["sparse_gate"] = True
    r.assumed.append(
        "gemma3n: per layer its layer_types window; rotary on every feature of each head "
        "(default rope)"
    )
    return out, {**extra, "altup": altup}


def _gemma_layers(r: _Reader, base: dict[str, Any]) -> tuple[list[Layer], dict[str, Any]]:
    layers = base["n_layers"]
    kinds = r.data.get("layer_types")
    if not isinstance(kinds, list) or len(kinds) != layers:
        r.refuse("layer_types", f"one layer type per layer expected ({layers} layers)")
        return [], {}
    if r.data.get("use_bidirectional_attention") == "all":
        r.refuse(
            "use_bidirectional_attention",
            "'all' (bidirectional text attention, a halved window) is not modelled",
        )
    _gemma4_rope(r)
    overrides = _per_layer(r, layers)
    extra = _per_layer_input(r)
    first = _shared_from(r, kinds)
    if overrides is None or first is None or r.problems:
        return [], {}
    flat = {"head_dim": base.get("head_dim"), "n_kv_heads": base.get("n_kv_heads")}
    out: list[Layer] = []
    for i, kind in enumerate(kinds):
        layer: Layer = {"mixer": "attention", "ffn": "dense", "window": kind == "sliding_attention"}
        for field, value in overrides.get(i, {}).items():
            name = _OVERRIDES[field]
            if value != flat[name]:
                layer[name] = value
        if "head_dim" in layer and base.get("rotary_dim"):
            layer["rotary_dim"] = layer["head_dim"]  # cos/sin as wide as the layer's head
        if i >= first and first < layers:
            layer["kv_shared"] = True
        out.append(layer)
    if 0 < first < layers:
        _check_producers(r, out, kinds, first)
    if r.data.get(ASSISTANT_KEY) is not None:
        extra["assistant_target_width"] = r.data[ASSISTANT_KEY]
    return out, extra


def _lfm_kinds(r: _Reader, model_type: str, layers: int) -> list[str] | None:
    kinds = r.data.get(_LFM_LAYER_TYPES)
    if kinds is None and model_type == "lfm2":  # Lfm2Config: from full_attn_idxs, else all
        idxs = r.data.get("full_attn_idxs")
        idxs = range(layers) if idxs is None else idxs
        if not isinstance(idxs, (list, range)) or not all(_is_int(i) for i in idxs):
            r.refuse("full_attn_idxs", f"expected a list of layer indices (got {idxs!r})")
            return None
        kinds = ["full_attention" if i in idxs else "conv" for i in range(layers)]
    allowed = _LFM_KINDS[model_type]
    if not isinstance(kinds, list) or len(kinds) != layers or not set(kinds) <= set(allowed):
        r.refuse(
            "layer_types",
            f"one of {', '.join(allowed)} per layer expected ({layers} layers; got {kinds!r}; "
            f"{model_type}'s configuration class gives no default)",
        )
        return None
    return kinds


def _lfm_d_ff(r: _Reader, d_ff: int) -> tuple[int, str]:
    """Lfm2MLP's width: with block_auto_adjust_ff_dim, 2/3 of intermediate_size, times
    block_ffn_dim_multiplier rounded up to block_multiple_of (when the multiplier is set)."""
    if r.data.get("block_auto_adjust_ff_dim", True) is not True:
        return d_ff, ""
    width = int(2 * d_ff / 3)
    mult, multiple = (
        r.data.get("block_ffn_dim_multiplier", 1.0),
        r.data.get("block_multiple_of", 256),
    )
    if mult is not None:
        if not isinstance(mult, (int, float)) or isinstance(mult, bool) or mult <= 0:
            r.refuse("block_ffn_dim_multiplier", f"must be a positive number (got {mult!r})")
            return d_ff, ""
        if not _is_int(multiple) or multiple < 1:
            r.refuse("block_multiple_of", f"must be a positive integer (got {multiple!r})")
            return d_ff, ""
        width = multiple * -(-int(mult * width) // multiple)
    return width, f"; FFN width {width} (block_auto_adjust_ff_dim of intermediate_size {d_ff})"


def _lfm(r: _Reader, model_type: str, base: dict[str, Any]) -> tuple[list[Layer], dict[str, Any]]:
    layers = base["n_layers"]
    kinds = _lfm_kinds(r, model_type, layers)
    taps = r.int_("conv_L_cache", what="the short convolution's taps")
    if kinds is None or taps is None:
        return [], {}
    dense = r.data.get("num_dense_layers", 2) if model_type == "lfm2_moe" else layers
    if not _is_int(dense) or dense < 0:
        r.refuse("num_dense_layers", f"must be a non-negative integer (got {dense!r})")
        return [], {}
    extra: dict[str, Any] = {"activation": "swiglu", "norm": "rmsnorm", "moe_layers": None}
    note = ""
    if model_type == "lfm2" and base.get("d_ff"):
        extra["d_ff"], note = _lfm_d_ff(r, base["d_ff"])
    out: list[Layer] = []
    for i, kind in enumerate(kinds):
        mixer = "conv" if kind == "conv" else "attention"
        layer: Layer = {"mixer": mixer, "ffn": "dense" if i < dense else "moe"}
        if kind == "sliding_attention":
            layer["window"] = True
        out.append(layer)
    if any(k == "conv" for k in kinds):
        extra["short_conv_kernel"] = taps
    if model_type == "lfm3":
        extra |= _lfm3(r)
    r.assumed.append(
        f"{model_type}: conv layers Lfm2ShortConv, the others attention; every FFN "
        "w2(silu(w1 x) * w3 x) (SiLU fixed in the code)" + note
    )
    return out, extra


def _lfm3(r: _Reader) -> dict[str, Any]:
    """Lfm3Attention's per-head output gate (g_proj: hidden -> heads, sigmoid, times each head's
    output) and Lfm3DecoderLayer's sandwich norms (post_operator_norm, post_ffn_norm), both on
    by default (Lfm3Config)."""
    extra: dict[str, Any] = {}
    for key, field, value in (
        ("use_attention_gate", "attention_gate", "head"),
        ("use_sandwich_norm", "sandwich_norm", True),
    ):
        flag = r.data.get(key, True)
        if not isinstance(flag, bool):
            r.refuse(key, f"must be true or false (got {flag!r})")
        elif flag:
            extra[field] = value
    return extra


def fields(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """``layer_groups`` and a family's corrections to the generic fields ``base``."""
    if not base.get("n_layers") or r.problems:
        return {}
    if model_type in GEMMA4_TYPES:
        layers, extra = _gemma4(r, base)
    elif model_type in GEMMA3N_TYPES:
        layers, extra = _gemma3n(r, base)
    else:
        layers, extra = _lfm(r, model_type, base)
    if not layers:
        return {}
    if not any(layer["ffn"] == "moe" for layer in layers):  # expert fields unused
        extra |= {"n_experts": None, "experts_per_token": None, "shared_d_ff": 0}
    if not any(layer.get("window") for layer in layers):
        extra["sliding_window"] = None
    return {**extra, "sliding_layers": None, "layer_groups": _groups(layers)}
