"""Families whose blocks add small structures to a plain Transformer block, read from their
modelling code in transformers 5.24 (``src/transformers/models/<type>/modeling_<type>.py``):

* ``bitnet`` (``BitNetAttention``, ``BitNetMLP``): the gated FFN of ``hidden_act`` relu2
  (``relu2glu``) and the sub-norms before ``o_proj`` and ``down_proj`` (``sub_norms``).
* ``openai_privacy_filter`` (``OpenAIPrivacyFilterAttention``, ``OpenAIPrivacyFilterExperts``):
  a bidirectional encoder (``is_causal = False``), every layer a bidirectional sliding window
  (``create_bidirectional_sliding_window_mask``: ``|q - k| <= sliding_window``, so 2w + 1 keys)
  and MoE of the clamped SwiGLU (``_apply_gate``; the config has no activation field).
  ``gpt_oss`` (``GptOssExperts._apply_gate``) has the same clamped SwiGLU.
* ``xmod`` (``XmodOutput.lang_adapter``, ``XmodAdapter``): after the FFN's residual add, a
  LayerNorm (``adapter_layer_norm``, or the FFN's own reused: ``adapter_reuse_layer_norm``), the
  language's bottleneck adapter (``hidden_size // adapter_reduction_factor``, ``hidden_act``)
  and its residual add; ``pre_norm`` places the block's norms before the sublayers.
* ``cpmant`` (``CpmAntModel``, ``CpmAntDenseGatedACT``): ``prompt_length`` prompt tokens
  prepended to every input, the gated FFN gelu(w_0 x) * w_1 x, RMSNorms (``CpmAntLayerNorm``),
  heads of ``dim_head``.
* ``mobilebert`` (``MobileBertLayer``): the bottlenecked block of
  :mod:`cosamt.workload.mobilebert` (``use_bottleneck``, ``intra_bottleneck_size``,
  ``key_query_shared_bottleneck``, ``use_bottleneck_attention``, ``num_feedforward_networks``,
  ``normalization_type``).
* ``squeezebert`` (``SqueezeBertModule``): every projection a grouped 1x1 convolution
  (``q_groups``, ``k_groups``, ``v_groups``, ``post_attention_groups``, ``intermediate_groups``,
  ``output_groups``): :mod:`cosamt.workload.squeezebert`.
* ``jetmoe`` (``JetMoeMoA``, ``JetMoeAttention``, ``JetMoeMoE``): the mixture of attention
  heads (``attention_experts``: ``num_local_experts`` query/output experts, top
  ``num_experts_per_tok``, each of ``num_key_value_heads`` x ``kv_channels`` features) and the
  MoE FFN of the same experts and top-k (gated: ``input_linear`` chunked in two).
* ``doge`` (``DogeAttention``, ``DogeMLP``): dynamic mask attention (``keep_window_size``) and
  the gated MLP; ``is_moe`` (``DogeCDMoE``'s product-key experts) is refused.

Stacks read into ``ModelConfig.layer_groups`` (:mod:`cosamt.workload.hybrid`):

* ``afmoe`` (``AfmoeAttention``, ``AfmoeDecoderLayer``): ``layer_types`` sliding / full
  attention, rotary on the sliding layers only, a sigmoid gate per output feature
  (``gate_proj``), sandwich norms, dense below ``num_dense_layers`` and MoE (shared experts of
  ``num_shared_experts`` x ``moe_intermediate_size``) above.
* ``mimo_v2_flash`` (``MiMoV2FlashAttention``): ``layer_types`` sliding / full attention, the
  sliding layers with twice ``num_key_value_heads``; ``mlp_layer_types`` dense / sparse;
  rotary on ``int(head_dim * partial_rotary_factor)`` features of each layer type.
* ``llama4_text`` (``Llama4TextAttention``, ``Llama4TextMoe``, ``Llama4TextDecoderLayer``; also
  ``llama4``'s language model): ``layer_types`` ``chunked_attention`` (block-diagonal causal in
  chunks of ``attention_chunk_size``: ``window_kind`` chunked) or full; rotary where
  ``no_rope_layers`` is 1; MoE on ``moe_layers`` (experts and an always-on shared expert of
  ``intermediate_size``), the gated MLP of ``intermediate_size_mlp`` elsewhere.

Anything these readers cannot model is refused naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosamt.workload.hf_layers import _groups

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

GROUPED_TYPES = frozenset({"afmoe", "mimo_v2_flash", "llama4_text"})
TYPES = frozenset(
    {
        "bitnet",
        "openai_privacy_filter",
        "gpt_oss",
        "xmod",
        "cpmant",
        "mobilebert",
        "squeezebert",
        "jetmoe",
        "doge",
    }
)
TYPES |= GROUPED_TYPES
# Experts of GPT-OSS's clamped SwiGLU (their _apply_gate: alpha 1.702 and limit 7.0 in the code).
_CLAMPED_SWIGLU = frozenset({"openai_privacy_filter", "gpt_oss"})
# Config keys the generic reader refuses that these families' readers take.
READ_KEYS: dict[str, frozenset[str]] = {
    "xmod": frozenset({"adapter_reduction_factor"}),
    "llama4_text": frozenset({"attention_chunk_size"}),
    "doge": frozenset({"keep_window_size"}),
}
# Llama 4's own lists, kept aside (normalise hands the generic reader windowed layers).
_LLAMA4_LISTS = ("layer_types", "no_rope_layers", "moe_layers")


def normalise(data: dict[str, Any], model_type: str) -> dict[str, Any]:
    """A family's fields under the generic names the reader looks for."""
    if model_type == "openai_privacy_filter" and "hidden_act" not in data:
        return {**data, "hidden_act": "silu"}  # the experts' gate: SiLU-like, read below
    if model_type == "llama4_text":
        return _llama4_normalise(data)
    if model_type == "cpmant":  # CpmAntConfig's names; torch.nn.GELU in CpmAntDenseGatedACT
        return {"head_dim": data.get("dim_head"), "rms_norm_eps": data.get("eps"),
                "hidden_act": "gelu", **data}  # fmt: skip
    return data


def _llama4_normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Llama4TextConfig's per-layer lists (its __post_init__ defaults where absent) kept under
    private names; the chunked layers handed to the generic reader as windowed ones of
    attention_chunk_size."""
    out = {k: v for k, v in data.items() if k not in _LLAMA4_LISTS}
    layers, chunk = data.get("num_hidden_layers"), data.get("attention_chunk_size", 8192)
    count = layers if isinstance(layers, int) and not isinstance(layers, bool) else 0
    interval = data.get("no_rope_layer_interval", 4)
    no_rope = data.get("no_rope_layers") or [
        int((i + 1) % interval != 0) if isinstance(interval, int) and interval else 1
        for i in range(count)
    ]
    step = data.get("interleave_moe_layer_step", 1)
    moe = data.get("moe_layers")
    if moe is None and isinstance(step, int) and step > 0:
        moe = list(range(step - 1, count, step))
    kinds = data.get("layer_types")
    if kinds is None and isinstance(no_rope, list):
        chunked = chunk is not None
        kinds = ["chunked_attention" if r and chunked else "full_attention" for r in no_rope]
    for key, value in zip(_LLAMA4_LISTS, (kinds, no_rope, moe), strict=True):
        out[f"_{key}"] = value
    if isinstance(kinds, list):
        out["layer_types"] = ["sliding_attention" if k == "chunked_attention" else k for k in kinds]
        out["sliding_window"] = chunk
    return out


def fields(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """A family's add-ons and corrections to the generic fields ``base``."""
    if model_type == "bitnet":
        return _bitnet(r, base)
    if model_type == "xmod":
        return _xmod(r, base)
    if model_type == "cpmant":
        return _cpmant(r)
    if model_type == "mobilebert":
        return _mobilebert(r, base)
    if model_type == "squeezebert":
        return _squeezebert(r)
    if model_type == "jetmoe":
        return _jetmoe(r, base)
    if model_type == "doge":
        return _doge(r)
    if model_type in GROUPED_TYPES:
        return _grouped(r, model_type, base)
    out: dict[str, Any] = {}
    # The privacy filter's config has no activation field (normalise gave it SiLU).
    if model_type in _CLAMPED_SWIGLU and base.get("activation") in ("swiglu", "silu"):
        out["activation"] = "swiglu_clamped"
        r.assumed.append(
            f"{model_type}: the experts' clamped SwiGLU of the modelling code, "
            "(clamp(up, -7, 7) + 1) * g * sigmoid(1.702 g) with g = min(gate, 7); the attention "
            "sinks (one more logit per head and query in the softmax) are not counted"
        )
    if model_type == "openai_privacy_filter":
        out |= _privacy_filter(r, base)
    return out


def _bitnet(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """BitNetMLP: down_proj(ffn_sub_norm(act(gate_proj(x)) * up_proj(x))); BitNetAttention:
    o_proj(attn_sub_norm(attention)). Both norms are RMSNorms (BitNetRMSNorm)."""
    heads, dh, d = base.get("n_heads"), base.get("head_dim"), base.get("d_model")
    if heads and d and (dh or d // heads) * heads != d:
        r.refuse("head_dim", "attn_sub_norm is hidden_size wide: heads x head_dim must equal it")
    r.assumed.append(
        "bitnet: the projections as the modelling code's nn.Linear (a checkpoint's ternary "
        "weight quantisation is not modelled: ordinary MACs)"
    )
    return {"sub_norms": True}


def _privacy_filter(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """OpenAIPrivacyFilterModel: bidirectional attention in a band of sliding_window tokens
    either side on every layer (the mask: |q - k| <= sliding_window), a token classifier."""
    window = base.get("sliding_window")
    if window is None or base.get("sliding_layers") is not None:
        r.refuse("sliding_window", "every layer's bidirectional window is needed (a positive int)")
        return {}
    r.assumed.append(
        "openai_privacy_filter: Q and K each scaled by head_dim^-0.25 and the router's top-k "
        "softmax divided by k, its output times k: scalars, not counted; the token "
        "classification head is not modelled"
    )
    return {"decoder": False, "sliding_window": 2 * window + 1, "window_kind": "bidirectional"}


def _xmod(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """XmodLayer: the FFN's output plus its input, then lang_adapter: an optional LayerNorm,
    dense1 -> act -> dense2 of the token's language, plus the residual (the normed or the raw
    sum: ln_before_adapter; the same operators), then the post-norm (pre_norm false)."""
    factor, d = r.int_("adapter_reduction_factor"), base.get("d_model")
    languages = r.data.get("languages") or ["default"]
    if not isinstance(languages, list):
        r.refuse("languages", f"expected a list of language codes (got {languages!r})")
        return {}
    if factor is None or not d:
        return {}
    if d < factor:
        r.refuse("adapter_reduction_factor", f"{factor} leaves no bottleneck of hidden size {d}")
        return {}
    norm = any(r.data.get(k, v) is True for k, v in _ADAPTER_NORMS.items())
    pre = r.data.get("pre_norm") is True
    return {
        "adapter": {"width": d // factor, "norm": norm, "languages": len(languages)},
        "norm_position": "pre" if pre else base.get("norm_position"),
    }


# XmodConfig's defaults: the adapter reuses the FFN's LayerNorm (no norm of its own).
_ADAPTER_NORMS = {"adapter_layer_norm": False, "adapter_reuse_layer_norm": True}


Layer = dict[str, Any]  # one layer's LayerGroup fields without its count


def _grouped(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """Per-layer structure as layer groups, and the family's model-wide add-ons."""
    layers = base.get("n_layers")
    if not layers or r.problems:
        return {}
    kinds = r.data.get("layer_types")
    allowed = _LAYER_KINDS[model_type]
    if not isinstance(kinds, list) or len(kinds) != layers or not set(kinds) <= allowed:
        r.refuse(
            "layer_types",
            f"one of {', '.join(sorted(allowed))} per layer expected ({layers} layers)",
        )
        return {}
    if model_type == "llama4_text":
        out, extra = _llama4(r, base)
    elif model_type == "afmoe":
        out, extra = _afmoe(r, kinds)
    else:
        out, extra = _mimo(r, kinds, base)
    if r.problems or not out:
        return {}
    if not any(layer["ffn"] == "moe" for layer in out):
        extra |= {"n_experts": None, "experts_per_token": None, "shared_d_ff": 0}
    if not any(layer.get("window") for layer in out):
        extra["sliding_window"] = None
    return {
        **extra,
        "moe_layers": None,
        "sliding_layers": None,
        "sliding_moe_layers": None,
        "layer_groups": _groups(out),
    }


_ATTENTION_KINDS = frozenset({"sliding_attention", "full_attention"})
_LAYER_KINDS = dict.fromkeys(("afmoe", "mimo_v2_flash", "llama4_text"), _ATTENTION_KINDS)


def _afmoe(r: _Reader, kinds: list[str]) -> tuple[list[Layer], dict[str, Any]]:
    """AfmoeDecoderLayer i: AfmoeAttention (sliding_window on sliding_attention layers, rotary
    there only: apply_rotary_pos_emb under is_local_attention), the MLP below num_dense_layers,
    AfmoeSparseMoeBlock from there on."""
    dense = r.data.get("num_dense_layers", 1)
    if not isinstance(dense, int) or isinstance(dense, bool) or dense < 0:
        r.refuse("num_dense_layers", f"must be a non-negative integer (got {dense!r})")
        return [], {}
    layers = [
        {
            "mixer": "attention",
            "ffn": "dense" if i < dense else "moe",
            "window": kind == "sliding_attention",
            "no_rope": kind != "sliding_attention",
        }
        for i, kind in enumerate(kinds)
    ]
    r.assumed.append(
        "afmoe: rotary on the sliding-window layers only; the router's sigmoid scores, top-k "
        "with the expert bias and normalisation counted as softmax + top-k; route_scale and "
        "the muP input scale are scalars (not counted)"
    )
    return layers, {"attention_gate": "element", "sandwich_norm": True}


def _mimo(r: _Reader, kinds: list[str], base: dict[str, Any]) -> tuple[list[Layer], dict[str, Any]]:
    """MiMoV2FlashAttention: on sliding_attention layers num_key_value_heads x 2 (and sinks),
    keys capped at sliding_window; MiMoV2FlashDecoderLayer: the MLP on mlp_layer_types dense,
    MiMoV2FlashMoE (no shared experts) on sparse; MiMoV2FlashRotaryEmbedding: int(head_dim x
    partial_rotary_factor) rotated features per layer type."""
    mlp = r.data.get("mlp_layer_types")
    kv, dh = base.get("n_kv_heads") or base.get("n_heads"), base.get("head_dim")
    if not isinstance(mlp, list) or len(mlp) != len(kinds) or not set(mlp) <= {"dense", "sparse"}:
        r.refuse(
            "mlp_layer_types", f"one of dense, sparse per layer expected ({len(kinds)} layers)"
        )
        return [], {}
    if not kv or not dh:
        r.refuse("head_dim", "MiMo-V2-Flash's head_dim and num_key_value_heads are needed")
        return [], {}
    rotary = {kind: _partial_rotary(r, kind, dh) for kind in sorted(set(kinds))}
    if None in rotary.values():
        return [], {}
    full = rotary.get("full_attention") or rotary["sliding_attention"]
    layers = []
    for kind, ffn in zip(kinds, mlp, strict=True):
        layer: Layer = {"mixer": "attention", "ffn": "moe" if ffn == "sparse" else "dense"}
        if kind == "sliding_attention":
            layer |= {"window": True, "n_kv_heads": 2 * kv}
            if rotary[kind] != full:
                layer["rotary_dim"] = rotary[kind]
        layers.append(layer)
    r.assumed.append(
        f"mimo_v2_flash: {2 * kv} KV heads on the sliding-window layers, {kv} on the full ones; "
        "their attention sinks (one more logit per head and query) and the values' "
        "attention_value_scale are not counted; group-limited routing counted as softmax + top-k"
    )
    return layers, {"rotary_dim": full}


def _partial_rotary(r: _Reader, kind: str, head_dim: int) -> int | None:
    """MiMoV2FlashRotaryEmbedding.compute_default_rope_parameters: int(head_dim x the layer
    type's partial_rotary_factor, 0.334 when absent)."""
    rope = r.data.get("rope_parameters")
    params = rope.get(kind) if isinstance(rope, dict) else None
    if not isinstance(params, dict):
        r.refuse(f"rope_parameters.{kind}", "the layer type's rope parameters are needed")
        return None
    if params.get("rope_type", "default") != "default":
        r.refuse(f"rope_parameters.{kind}.rope_type", "only the default rope type is modelled")
        return None
    factor = params.get("partial_rotary_factor", 0.334)
    if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not 0 < factor <= 1:
        r.refuse(f"rope_parameters.{kind}.partial_rotary_factor", f"must be in (0, 1] ({factor!r})")
        return None
    return max(1, int(head_dim * factor))


def _llama4(r: _Reader, base: dict[str, Any]) -> tuple[list[Layer], dict[str, Any]]:
    """Llama4TextDecoderLayer i: Llama4TextAttention (rotary when no_rope_layers[i] is 1;
    chunked_attention layers masked by create_chunked_causal_mask: a query sees the keys of its
    chunk up to itself), then Llama4TextMoe on moe_layers (top-k routed experts of
    intermediate_size plus the shared expert, a Llama4TextMLP of intermediate_size, on every
    token) or Llama4TextMLP of intermediate_size_mlp."""
    layers = base["n_layers"]
    kinds, no_rope, moe = (r.data.get(f"_{key}") for key in _LLAMA4_LISTS)
    for key, value in zip(_LLAMA4_LISTS, (kinds, no_rope, moe), strict=True):
        if not isinstance(value, list) or (key != "moe_layers" and len(value) != layers):
            r.refuse(key, f"one entry per layer expected ({layers} layers; got {value!r})")
            return [], {}
    assert isinstance(kinds, list) and isinstance(no_rope, list) and isinstance(moe, list)
    unknown = sorted({str(k) for k in kinds} - {"chunked_attention", "full_attention"})
    if unknown:
        r.refuse("layer_types", f"layer types {unknown} are not modelled")
        return [], {}
    if not all(isinstance(i, int) and 0 <= i < layers for i in moe):
        r.refuse("moe_layers", f"expected layer indices below {layers} (got {moe!r})")
        return [], {}
    chunked = "chunked_attention" in kinds
    if chunked and r.int_("attention_chunk_size") is None:
        return [], {}
    ff, mlp = (
        base.get("d_ff"),
        r.int_("intermediate_size_mlp", required=any(i not in moe for i in range(layers))),
    )
    out = [
        {
            "mixer": "attention",
            "ffn": "moe" if i in moe else "dense",
            "window": kind == "chunked_attention",
            "no_rope": not rope,
        }
        for i, (kind, rope) in enumerate(zip(kinds, no_rope, strict=True))
    ]
    r.assumed.append(
        "llama4_text: rotary where no_rope_layers is 1; the NoPE layers' attention temperature "
        "(a scale per query position) and the L2 Q/K norms are not counted; the router's top-k "
        "then sigmoid counted as softmax + top-k, the routing weight scaling each expert's "
        "input (the combine's multiply); transformers' reference runs every expert on every "
        "token with zero-weighted inputs for the unselected: counted as top-k routing, the "
        "computation it equals"
    )
    extra: dict[str, Any] = {"expert_d_ff": ff, "shared_d_ff": ff}
    extra |= {"d_ff": mlp} if mlp else {}
    return out, {**extra, **({"window_kind": "chunked"} if chunked else {})}


def _cpmant(r: _Reader) -> dict[str, Any]:
    """CpmAntModel.forward: prompt_length prompt tokens before the input, through every block
    (dropped after the last); CpmAntFFNBlock: w_out(gelu(w_0 x) * w_1 x); its attention mask
    (context all ones) lets every token see all of them."""
    prompt = r.data.get("prompt_length", 32)
    if not isinstance(prompt, int) or isinstance(prompt, bool) or prompt < 0:
        r.refuse("prompt_length", f"must be a non-negative integer (got {prompt!r})")
        return {}
    r.assumed.append(
        "cpmant: the FFN gelu(w_0 x) * w_1 x (CpmAntDenseGatedACT); the mask of CpmAntModel "
        "(context all ones) is not causal, so the full score matrix is its real count; the "
        "segment-relative position bias (an add per score) is not counted"
    )
    return {"activation": "geglu", "prompt_tokens": prompt}


# MobileBertConfig's defaults.
_MOBILE_FLAGS = {
    "use_bottleneck": True,
    "key_query_shared_bottleneck": True,
    "use_bottleneck_attention": False,
}


def _mobilebert(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """MobileBertConfig.__post_init__: true_hidden_size is intra_bottleneck_size with
    use_bottleneck, else hidden_size; MobileBertSelfAttention: heads of true_hidden_size //
    num_attention_heads features, the value projection from hidden_size unless
    use_bottleneck_attention."""
    flags = {k: r.data.get(k, v) for k, v in _MOBILE_FLAGS.items()}
    for key, value in flags.items():
        if not isinstance(value, bool):
            r.refuse(key, f"must be true or false (got {value!r})")
    norm = r.data.get("normalization_type", "no_norm")
    if norm not in ("no_norm", "layer_norm"):
        r.refuse("normalization_type", f"{norm!r}: only no_norm and layer_norm are modelled")
    ffns = r.int_("num_feedforward_networks", required=False) or 4
    d, heads = base.get("d_model"), base.get("n_heads")
    inner = r.int_("intra_bottleneck_size") if flags["use_bottleneck"] else d
    if r.problems or not inner or not heads:
        return {}
    if inner % heads:
        r.refuse("num_attention_heads", f"{heads} heads do not divide the inner width {inner}")
        return {}
    plain_inputs = not (flags["key_query_shared_bottleneck"] or flags["use_bottleneck_attention"])
    if flags["use_bottleneck"] and plain_inputs and inner != d:
        r.refuse(
            "key_query_shared_bottleneck",
            "Q and K from the hidden states into projections of true_hidden_size features "
            "(neither shared nor attention bottleneck) do not fit (transformers would fail)",
        )
        return {}
    mobile = {
        "inner": inner,
        "bottleneck": flags["use_bottleneck"],
        "shared_qk": flags["key_query_shared_bottleneck"],
        "bottleneck_attention": flags["use_bottleneck_attention"],
        "ffns": ffns,
        "no_norm": norm == "no_norm",
    }
    return {"mobile": mobile, "head_dim": inner // heads, "norm_position": "post"}


# SqueezeBertConfig's keys (and defaults) for ConvGroups' fields.
_CONV_GROUPS = {
    "q_groups": ("q", 4),
    "k_groups": ("k", 4),
    "v_groups": ("v", 4),
    "post_attention_groups": ("post", 1),
    "intermediate_groups": ("intermediate", 4),
    "output_groups": ("output", 4),
}


def _squeezebert(r: _Reader) -> dict[str, Any]:
    """SqueezeBertModule: the Conv1d(kernel_size=1, groups=...) of each projection; the encoder
    needs embedding_size = hidden_size (SqueezeBertEncoder asserts it)."""
    groups = {}
    for key, (field, default) in _CONV_GROUPS.items():
        value = r.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            r.refuse(key, f"must be a positive integer (got {value!r})")
        groups[field] = value
    size, d, ff = (r.data.get(k) for k in ("embedding_size", "hidden_size", "intermediate_size"))
    if size is not None and size != d:
        r.refuse("embedding_size", f"{size} is not hidden_size {d} (SqueezeBertEncoder refuses it)")
    channels = {"intermediate_groups": (d, ff), "output_groups": (ff, d)}
    for key, value in groups.items():
        cin, cout = channels.get(_GROUP_KEYS[key], (d, d))
        if isinstance(cin, int) and isinstance(cout, int) and (cin % value or cout % value):
            r.refuse(_GROUP_KEYS[key], f"{value} groups do not divide {cin} -> {cout} channels")
    return {"conv_groups": groups}


_GROUP_KEYS = {field: key for key, (field, _default) in _CONV_GROUPS.items()}


def _jetmoe(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """JetMoeAttention: query heads = top_k x num_key_value_heads of kv_channels features
    (JetMoeMoA's experts project kv_channels x num_key_value_heads each); keys and values of
    num_key_value_heads heads repeated for the k experts' query heads."""
    heads, kv, k = base.get("n_heads"), base.get("n_kv_heads"), base.get("experts_per_token")
    if base.get("n_experts") is None or not kv or not k:
        r.refuse("num_local_experts", "JetMoE's attention experts need the experts and top-k")
        return {}
    if heads != k * kv:
        r.refuse(
            "num_attention_heads",
            f"{heads} is not num_experts_per_tok x num_key_value_heads = {k * kv} (JetMoeMoA "
            "reshapes k experts' queries into the heads)",
        )
        return {}
    return {"attention_experts": True}


def _doge(r: _Reader) -> dict[str, Any]:
    """DogeDecoderLayer: DogeAttention with prepare_dynamic_mask (dt_states of the values added
    to the scores, the top keep_window_size keys kept per query), DogeMLP unless is_moe."""
    if r.data.get("is_moe", False) is not False:
        r.refuse(
            "is_moe",
            "Doge's cross-domain MoE (DogeCDMoE: product-key routing over num_experts "
            "single-neuron experts beside the MLP) is not modelled",
        )
        return {}
    keep = r.int_("keep_window_size")
    r.assumed.append(
        "doge: is_moe false, so DogeMLP on every layer (num_experts unused); the learned "
        "residual scales (input_residual, post_attention_residual: one multiply per element) "
        "are not counted"
    )
    no_moe = {"n_experts": None, "experts_per_token": None, "expert_d_ff": None}
    return {**no_moe, "shared_d_ff": 0, "moe_layers": None, "dynamic_mask_keys": keep}
