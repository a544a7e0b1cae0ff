"""Single families with one structure beside a plain block, read from their modelling code in
transformers 5.24 (``src/transformers/models/<type>/modeling_<type>.py``); operators in
:mod:`cosamt.workload.odds`:

* ``voxtral_realtime_text`` (the language model of ``voxtral_realtime``;
  ``VoxtralRealtimeTextDecoderLayer``, ``VoxtralRealtimeTextAdaRmsNorm``): a Mistral-like
  decoder whose FFN input, after ``post_attention_layernorm``, is scaled by 1 + an MLP of the
  time embedding, ``nn.Linear(hidden_size, 32)``, GELU, ``nn.Linear(32, hidden_size)`` (the 32
  is the code's, no config field).
* ``mistral_large4_text`` (``MistralLarge4TextAttention``, ``MistralLarge4TextIndexer``,
  ``MistralLarge4TextDecoderLayer``; also ``mistral_large4``'s language model): MLA without a
  query latent (``q_proj`` from the hidden state, whatever ``q_lora_rank`` says), DeepSeek
  sparse attention on every layer with the indexer's queries from a LayerNorm of the hidden
  state (``q_input_norm``, ``wq_b``); on the layers where ``no_rope_layers`` is 0 no rotary
  anywhere: ``kv_a_proj_with_mqa`` yields the latent only and ``kv_b_proj`` decompresses
  ``qk_nope_head_dim + qk_rope_head_dim`` key features per head; the MLP on
  ``mlp_layer_types`` dense, ``MistralLarge4TextMoE`` (shared experts) on sparse. Read as
  layer groups (rotary or not, dense or MoE).
* ``dots3_note_text`` (``Dots3NoteTextAttention``, ``Dots3NoteTextIndexer``,
  ``Dots3NoteTextMoE``, ``Dots3NoteTextConfig``; also ``dots3_note``'s language model): MLA
  with a query latent on every layer, DeepSeek sparse attention on the ``indexed_attention``
  layers and keys within ``sliding_window`` on the ``sliding_attention`` ones, whose
  ``per_layer_config`` gives them their own heads, KV latent and non-rotary QK width (the
  transformers heterogeneous config: a sparse map of overrides of the global fields); a sigmoid
  gate per head on the attention output (``g_proj``); the MLP on ``mlp_layer_types`` dense, the
  MoE with ``n_shared_experts`` x ``shared_experts_intermediate_size`` shared on sparse.
* ``hy_v4``, ``hy_v4_vl_text`` (``HYV4Attention``, ``HYV4HyperConnection``,
  ``HYV4DecoderLayer``, ``HYV4HyperHead``, ``HYV4MoE``; the VL text model's classes are the
  same): MLA with a query latent, DeepSeek sparse attention whose ``indexer_types`` ``shared``
  layers reuse the previous full layer's top-k (no indexer of their own), an element-wise
  sigmoid gate on the attention output (``gate_proj``: heads x v_head_dim), ``hc_mult``
  hyper-connection streams around every sublayer and a head collapsing them; the MLP on
  ``mlp_layer_types`` dense, the MoE with shared experts on sparse.

Anything these readers cannot model is refused naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosamt.workload.hf_layers import _groups

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

# VoxtralRealtimeTextAdaRmsNorm's bottleneck: nn.Linear(config.hidden_size, 32).
_ADA_NORM_WIDTH = 32
_HY_TYPES = frozenset({"hy_v4", "hy_v4_vl_text"})
TYPES = frozenset({"voxtral_realtime_text", "mistral_large4_text", "dots3_note_text"}) | _HY_TYPES
# Dots3's per-layer MLA fields, as ModelConfig / LayerGroup names (the others must equal the
# global value: per-layer query latents, values or rotary widths are not modelled).
_DOTS3_OVERRIDES = {"num_attention_heads", "num_key_value_heads", "kv_lora_rank",
                    "qk_nope_head_dim", "head_dim"}  # fmt: skip
_DOTS3_SAME = ("q_lora_rank", "qk_rope_head_dim", "v_head_dim")
_DOTS3_KINDS = ("indexed_attention", "sliding_attention")


def normalise(data: dict[str, Any], model_type: str) -> dict[str, Any]:
    """A family's fields under the names the generic reader looks for (or away from them)."""
    if model_type == "dots3_note_text":
        # Kept aside: the generic reader refuses per_layer_config and indexed attention beside
        # windowed layers; it reads the indexer of an all-indexed stack, which this reader splits.
        out = {k: v for k, v in data.items() if k not in ("per_layer_config", "layer_types")}
        kinds = data.get("layer_types")
        out["_layer_types"], out["_per_layer_config"] = kinds, data.get("per_layer_config")
        if isinstance(kinds, list):
            out["layer_types"] = ["indexed_attention"] * len(kinds)
        return out
    if model_type in _HY_TYPES:
        # Kept aside: the generic indexed-attention reader refuses both; this reader takes them.
        out = {k: v for k, v in data.items() if k not in ("hc_mult", "indexer_types")}
        return {**out, "_hc_mult": data.get("hc_mult"), "_indexer_types": data.get("indexer_types")}
    if model_type != "mistral_large4_text":
        return data
    # Kept aside: the generic reader refuses MLA with no_rope_layers; this reader takes them.
    out = {k: v for k, v in data.items() if k not in ("no_rope_layers", "q_lora_rank")}
    layers, no_rope = data.get("num_hidden_layers"), data.get("no_rope_layers")
    if no_rope is None and isinstance(layers, int) and not isinstance(layers, bool):
        # MistralLarge4TextConfig.__post_init__: NoPE on every 4th layer (1 = rotary).
        no_rope = [int((i + 1) % 4 != 0) for i in range(layers)]
    out["_no_rope_layers"] = no_rope
    out["_q_lora_rank"] = data.get("q_lora_rank")
    return out


def fields(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """A family's structure beside the generic fields ``base``."""
    if model_type == "voxtral_realtime_text":
        r.assumed.append(
            "voxtral_realtime_text: the time embedding is VoxtralRealtimeModel's (one per "
            "forward, from num_delay_tokens); read alone the text model has none"
        )
        return {"time_ada_norm": _ADA_NORM_WIDTH}
    if model_type == "mistral_large4_text":
        return _mistral_large4(r, base)
    if model_type == "dots3_note_text":
        return _dots3(r, base)
    if model_type in _HY_TYPES:
        return _hy_v4(r, model_type, base)
    return {}


def _hy_v4(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """HYV4DecoderLayer i: HYV4Attention (its own indexer where indexer_types[i] is full, the
    previous full layer's top-k where shared), HYV4MLP where mlp_layer_types[i] is dense, HYV4MoE
    where sparse; hyper-connections of hc_mult streams around both sublayers."""
    layers = base.get("n_layers")
    if not layers or r.problems or base.get("indexer") is None:
        return {}
    streams, kinds = r.data.get("_hc_mult"), r.data.get("_indexer_types")
    mlp = r.data.get("mlp_layer_types")
    if not isinstance(streams, int) or isinstance(streams, bool) or streams < 2:
        r.refuse("hc_mult", f"HYV4HyperConnection needs at least 2 streams (got {streams!r})")
        return {}
    if not isinstance(kinds, list) or len(kinds) != layers or not set(kinds) <= {"full", "shared"}:
        r.refuse("indexer_types", f"one of full, shared per layer expected ({layers} layers)")
        return {}
    if kinds[0] != "full":
        r.refuse("indexer_types", "a shared layer reuses an earlier full layer's top-k: none")
        return {}
    if not isinstance(mlp, list) or len(mlp) != layers or not set(mlp) <= {"dense", "sparse"}:
        r.refuse("mlp_layer_types", f"one of dense, sparse per layer expected ({layers} layers)")
        return {}
    r.assumed.append(
        f"{model_type}: the attention sinks (one more logit per head and query), the experts' "
        "swiglu_limit clamps, the router's sigmoid, bias and group steps (counted as softmax + "
        "top-k) are vector work not counted; shared-indexer layers attend over the top-k keys "
        "of the previous full layer; as for every MLA, decode counts kv_up on the new token "
        "with K and V cached per head (transformers' expand_kv decompresses the whole cached "
        "latent every step)"
    )
    groups = [
        {
            "mixer": "attention",
            "ffn": "moe" if ffn == "sparse" else "dense",
            "shared_indexer": kind == "shared",
        }
        for kind, ffn in zip(kinds, mlp, strict=True)
    ]
    out: dict[str, Any] = {"moe_layers": None, "hyper_connections": streams}
    out["attention_gate"] = "element"
    if "sparse" not in mlp:
        out |= {"n_experts": None, "experts_per_token": None, "shared_d_ff": 0}
    return {**out, "layer_groups": _groups(groups)}


def _dots3(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """Dots3NoteTextDecoderLayer i: Dots3NoteTextAttention of per_layer_config[i] (the global
    fields where it states none), its indexer on indexed_attention layers, its window on
    sliding_attention ones; the MLP where mlp_layer_types[i] is dense, Dots3NoteTextMoE where
    sparse."""
    layers = base.get("n_layers")
    if not layers or r.problems or base.get("indexer") is None:
        return {}
    kinds, mlp = r.data.get("_layer_types"), r.data.get("mlp_layer_types")
    if not isinstance(kinds, list) or len(kinds) != layers or not set(kinds) <= set(_DOTS3_KINDS):
        r.refuse("layer_types", f"one of {', '.join(_DOTS3_KINDS)} per layer expected")
        return {}
    if not isinstance(mlp, list) or len(mlp) != layers or not set(mlp) <= {"dense", "sparse"}:
        r.refuse("mlp_layer_types", f"one of dense, sparse per layer expected ({layers} layers)")
        return {}
    overrides = _dots3_overrides(r, layers, base)
    window = r.int_("sliding_window") if "sliding_attention" in kinds else None
    shared = r.int_("shared_experts_intermediate_size")
    n_shared = r.data.get("n_shared_experts")
    if overrides is None or ("sliding_attention" in kinds and window is None) or shared is None:
        return {}
    if not isinstance(n_shared, int) or isinstance(n_shared, bool) or n_shared < 1:
        r.refuse("n_shared_experts", "Dots3NoteTextMoE has n_shared_experts >= 1 shared experts")
        return {}
    groups = []
    for i, (kind, ffn) in enumerate(zip(kinds, mlp, strict=True)):
        sliding = kind == "sliding_attention"
        layer = {"mixer": "attention", "ffn": "moe" if ffn == "sparse" else "dense",
                 "window": sliding, "no_indexer": sliding, **overrides.get(i, {})}  # fmt: skip
        groups.append(layer)
    r.assumed.append(
        "dots3_note_text: the latents' scales (q_lora_scale, kv_lora_scale), the RMSNorm of the "
        "shared rotated key part (k_rope_only_layernorm) and the router's sigmoid, bias and "
        "group steps (counted as softmax + top-k) are vector work, not counted; as for every "
        "MLA, decode counts kv_up on the new token with K and V cached per head (transformers' "
        "expand_kv decompresses the whole cached latent every step)"
    )
    out: dict[str, Any] = {"moe_layers": None, "sliding_layers": None, "sliding_moe_layers": None}
    out |= {"sliding_window": window, "attention_gate": "head", "shared_d_ff": n_shared * shared}
    if "sparse" not in mlp:
        out |= {"n_experts": None, "experts_per_token": None, "shared_d_ff": 0}
    return {**out, "layer_groups": _groups(groups)}


def _dots3_overrides(
    r: _Reader, layers: int, base: dict[str, Any]
) -> dict[int, dict[str, int]] | None:
    """per_layer_config as each layer's LayerGroup overrides: heads, KV latent and QK head dim
    (qk_nope_head_dim + the global qk_rope_head_dim); num_key_value_heads must equal the heads
    (MLA decompresses K and V per query head) and head_dim is the rotary tables' (not read)."""
    raw = r.data.get("_per_layer_config") or {}
    if not isinstance(raw, dict):
        r.refuse("per_layer_config", "expected an object of layer overrides")
        return None
    rope, flat_dh = base.get("rotary_dim"), base.get("head_dim")
    out: dict[int, dict[str, int]] = {}
    for key, fields in raw.items():
        index = int(key) if isinstance(key, str) and key.isdigit() else None
        path = f"per_layer_config.{key}"
        if index is None or index >= layers or not isinstance(fields, dict):
            r.refuse(path, f"expected a layer index below {layers} with an object of overrides")
            continue
        for field, value in fields.items():
            same = field in _DOTS3_SAME and value == r.data.get(field)
            if field not in _DOTS3_OVERRIDES and not same:
                r.refuse(f"{path}.{field}", f"a per-layer {field} is not modelled")
            elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
                r.refuse(f"{path}.{field}", f"must be a positive integer (got {value!r})")
        if r.problems:
            continue
        heads = fields.get("num_attention_heads", base.get("n_heads"))
        if fields.get("num_key_value_heads", heads) != heads:
            r.refuse(f"{path}.num_key_value_heads", "must equal the layer's heads (MLA)")
            continue
        nope = fields.get("qk_nope_head_dim", r.data.get("qk_nope_head_dim"))
        layer = {"n_heads": heads, "kv_lora_rank": fields.get("kv_lora_rank"),
                 "head_dim": nope + rope if isinstance(nope, int) and rope else None}  # fmt: skip
        flat = {"n_heads": base.get("n_heads"), "kv_lora_rank": base.get("kv_lora_rank"),
                "head_dim": flat_dh}  # fmt: skip
        out[index] = {k: v for k, v in layer.items() if v is not None and v != flat[k]}
    return None if r.problems else out


def _mistral_large4(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """MistralLarge4TextDecoderLayer i: MLA with rotary where no_rope_layers[i] is 1 (the
    indexer too), the MLP where mlp_layer_types[i] is dense, MistralLarge4TextMoE where sparse
    (MistralLarge4TextConfig derives it from first_k_dense_replace when absent)."""
    layers = base.get("n_layers")
    if not layers or r.problems:
        return {}
    rope = r.data.get("_no_rope_layers")
    if not isinstance(rope, list) or len(rope) != layers or not set(rope) <= {0, 1}:
        r.refuse("no_rope_layers", f"one 0 or 1 per layer expected ({layers} layers)")
        return {}
    mlp = r.data.get("mlp_layer_types")
    if mlp is None:
        dense = r.data.get("first_k_dense_replace", 1)
        dense = min(dense, layers) if isinstance(dense, int) and dense >= 0 else layers
        mlp = ["dense"] * dense + ["sparse"] * (layers - dense)
    if not isinstance(mlp, list) or len(mlp) != layers or not set(mlp) <= {"dense", "sparse"}:
        r.refuse("mlp_layer_types", f"one of dense, sparse per layer expected ({layers} layers)")
        return {}
    out: dict[str, Any] = {"q_lora_rank": None, "moe_layers": None}
    if "sparse" not in mlp:
        out |= {"n_experts": None, "experts_per_token": None, "shared_d_ff": 0}
    if r.data.get("_q_lora_rank") is not None:
        r.assumed.append(
            "mistral_large4_text: q_lora_rank ignored (MistralLarge4TextAttention's q_proj is "
            "one projection of the hidden state)"
        )
    r.assumed.append(
        "mistral_large4_text: no rotary on the no_rope_layers 0 layers (MLA then has no rotated "
        "key part, and its indexer none); the queries' log-position softmax scaling "
        "(MistralLarge4TextSoftmaxScaling, attention and indexer), LeRoPE's scale and the "
        "router's group-limited top-k are vector work, not counted; as for every MLA, decode "
        "counts kv_up on the new token with K and V cached per head (transformers' expand_kv "
        "decompresses the whole cached latent every step)"
    )
    groups = [
        {
            "mixer": "attention",
            "ffn": "moe" if kind == "sparse" else "dense",
            "no_rope": not r_,
            "no_rope_slices": not r_,
        }
        for kind, r_ in zip(mlp, rope, strict=True)
    ]
    return {**out, "layer_groups": _groups(groups)}
