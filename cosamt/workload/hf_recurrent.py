"""Reading sparse (indexed) attention and Gated DeltaNet layers from a Hugging Face config.

``layer_types`` entries ``indexed_attention`` (DeepSeek-V3.2's lightning indexer: ``index_n_heads``,
``index_head_dim``, ``index_topk``) and ``linear_attention`` (Gated DeltaNet: ``linear_num_key_heads``,
``linear_num_value_heads``, ``linear_key_head_dim``, ``linear_value_head_dim``,
``linear_conv_kernel_dim``). Only the forms checked against transformers' modelling code are read;
anything else is refused naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

# Families whose linear-attention layers are Qwen3-Next's Gated DeltaNet and whose full-attention
# layers gate their output with a sigmoid of a second query-projection half (Qwen3_5Attention is
# Qwen3NextAttention).
GATED_DELTANET_TYPES = frozenset(
    {"qwen3_next", "qwen3_5", "qwen3_5_text", "qwen3_5_moe", "qwen3_5_moe_text"}
)
# Gated DeltaNet hybrids whose full-attention layers have no output gate: OLMo-Hybrid
# (OlmoHybridGatedDeltaNet: separate q, k, v, g, a, b projections of the same widths as
# Qwen3-Next's fused ones; OlmoHybridAttention is Olmo3Attention).
UNGATED_DELTANET_TYPES = frozenset({"olmo_hybrid"})
LAYER_KINDS = frozenset({"indexed_attention", "linear_attention"})
# Linear-attention families read from transformers' modelling code and refused: (the config field
# carrying the unmodelled structure, why). Each differs from Gated DeltaNet hybrids as stated.
LINEAR_REFUSED = {
    "qwen4_exp_text": (
        "hc_count",
        "hyper-connections (Qwen4ExpTextGatedResidual over hc_count streams), n-gram "
        "embeddings and indexed attention beside Gated DeltaNet are not modelled",
    ),
    "glm5_next_text": (
        "hc_mult",
        "hyper-connections (Glm5NextTextHyperConnection, hc_mult streams) and forget-gated "
        "linear attention beside indexed attention are not modelled",
    ),
}
# Fields of indexed-attention configs whose structure is not modelled (hyper-connections,
# KV shared across layers, a gated norm, per-layer overrides, clamped SwiGLU, pooled keys).
_INDEXED_REFUSED = (
    ("hc_mult", "hyper-connections (hc_mult) are not modelled"),
    ("kv_source_layers", "KV shared across layers (kv_source_layers) is not modelled"),
    ("gated_norm_rank", "the low-rank gated norm (gated_norm_rank) is not modelled"),
    ("per_layer_config", "per-layer overrides (per_layer_config) are not modelled"),
    ("index_kpool", "pooled indexer keys (index_kpool) are not modelled"),
)


def _kinds(r: _Reader) -> list[Any]:
    kinds = r.data.get("layer_types")
    return kinds if isinstance(kinds, list) else []


def indexer(r: _Reader) -> dict[str, Any]:
    """The ``indexer`` field when every layer is ``indexed_attention``."""
    kinds = _kinds(r)
    if "indexed_attention" not in kinds:
        return {}
    if any(k != "indexed_attention" for k in kinds):
        others = sorted({str(k) for k in kinds} - {"indexed_attention"})
        r.refuse("layer_types", f"indexed attention mixed with {others} layers is not modelled")
        return {}
    for key, message in _INDEXED_REFUSED:
        value = r.data.get(key)
        if key == "kv_source_layers" and value == list(range(len(kinds))):
            continue  # every layer its own source: no sharing (MistralLarge4TextConfig's default)
        if key == "gated_norm_rank" and r.data.get("model_type") == "axk2":
            continue  # A.X-K2's gated norm: read by hf_moe_hybrid.axk2
        if value not in (None, 0, False, []):
            r.refuse(key, message)
    shared = r.data.get("indexer_types")
    if isinstance(shared, list) and any(t != "full" for t in shared):
        r.refuse(
            "indexer_types",
            "layers reusing another layer's top-k ('shared' indexer) are not modelled",
        )
    if r.data.get("model_type") == "mistral_large4_text":
        r.refuse(
            "q_lora_rank" if "q_lora_rank" in r.data else "index_n_heads",
            "MistralLarge4TextAttention has no query latent whatever q_lora_rank says (q_proj "
            "from the hidden states, the indexer's queries from their LayerNorm): not modelled",
        )
    elif r.data.get("kv_lora_rank") is None or r.data.get("q_lora_rank") is None:
        r.refuse(
            "q_lora_rank",
            "indexed attention is modelled on MLA with a query latent (kv_lora_rank, "
            "q_lora_rank): the indexer's queries come from that latent",
        )
    heads = r.int_("index_n_heads", what="indexer heads")
    dim = r.int_("index_head_dim", what="indexer head dim")
    topk = r.int_("index_topk", what="keys per query of indexed attention")
    rope = r.data.get("qk_rope_head_dim") or 0
    if None in (heads, dim, topk) or not isinstance(rope, int) or (dim and rope > dim):
        return {}
    r.assumed.append(
        "indexed attention as DeepSeek-V3.2 (transformers' DeepseekV32Indexer): indexer queries "
        "from the query latent, one shared LayerNorm'd key, per-head weights, ReLU scores"
    )
    return {"indexer": {"heads": heads, "head_dim": dim, "topk": topk, "rotary_dim": rope}}


def linear_attention(r: _Reader, model_type: str) -> dict[str, Any]:
    """The ``linear_attention`` field (and the gated attention output) of a Gated DeltaNet
    hybrid; other linear-attention forms are refused by name."""
    kinds = _kinds(r)
    conv = r.data.get("linear_conv_kernel_dim")
    interval, layers_ = r.data.get("full_attention_interval"), r.data.get("num_hidden_layers")
    if not kinds and conv is not None and isinstance(interval, int) and isinstance(layers_, int):
        # Older Qwen3-Next configs: every interval-th layer full (as Qwen3NextConfig derives it).
        kinds = [
            "full_attention" if (i + 1) % interval == 0 else "linear_attention"
            for i in range(layers_)
        ]
    if "linear_attention" not in kinds and conv is None:
        return {}
    key = "linear_conv_kernel_dim" if conv is not None else "layer_types"
    if model_type in LINEAR_REFUSED:
        field, why = LINEAR_REFUSED[model_type]
        r.refuse(field if field in r.data else key, f"{model_type}: {why}")
        return {}
    if model_type not in GATED_DELTANET_TYPES | UNGATED_DELTANET_TYPES:
        r.refuse(key, f"{model_type or 'this'} linear-attention layers are not modelled")
        return {}
    others = sorted({str(k) for k in kinds} - {"linear_attention", "full_attention"})
    if others:
        r.refuse("layer_types", f"linear attention with {others} layers is not modelled")
        return {}
    fields = {
        "k_heads": r.int_("linear_num_key_heads"),
        "v_heads": r.int_("linear_num_value_heads"),
        "k_dim": r.int_("linear_key_head_dim"),
        "v_dim": r.int_("linear_value_head_dim"),
        "conv_kernel": r.int_("linear_conv_kernel_dim"),
    }
    layers = kinds.count("linear_attention")
    if None in fields.values() or not layers:
        if not layers:
            r.refuse("layer_types", "linear_conv_kernel_dim without linear_attention layers")
        return {}
    if model_type in UNGATED_DELTANET_TYPES:
        return _olmo_hybrid(r, {"layers": layers, **fields})
    r.assumed.append(
        f"{model_type}: linear-attention layers as Qwen3-Next's Gated DeltaNet, full-attention "
        "layers with a sigmoid output gate (transformers' Qwen3NextAttention)"
    )
    return {
        "linear_attention": {"layers": layers, **fields},
        "attention_output_gate": True,
    }


def _olmo_hybrid(r: _Reader, la: dict[str, Any]) -> dict[str, Any]:
    """OLMo-Hybrid: its DeltaNet's conv activation is ``hidden_act``, beta doubled with
    ``linear_allow_neg_eigval``; rotary only when ``rope_parameters`` has a ``rope_theta``
    (OlmoHybridModel), and then on the full-attention layers alone."""
    if r.data.get("hidden_act", "silu") not in ("silu", "swish"):
        r.refuse(
            "hidden_act", "OLMo-Hybrid's convolution activation other than SiLU is not modelled"
        )
    doubled = r.data.get("linear_allow_neg_eigval", False)
    if not isinstance(doubled, bool):
        r.refuse("linear_allow_neg_eigval", f"must be true or false (got {doubled!r})")
        return {}
    rope = r.data.get("rope_parameters")
    r.assumed.append(
        "olmo_hybrid: linear-attention layers Gated DeltaNet (OlmoHybridGatedDeltaNet), "
        "full-attention layers without an output gate; the attention layers norm their "
        "sublayers' outputs (as OLMo 2): counted as the same RMSNorms before them"
    )
    out: dict[str, Any] = {"linear_attention": {**la, "beta_doubled": doubled}}
    if not isinstance(rope, dict) or rope.get("rope_theta") is None:
        out["rotary_dim"] = None  # no rotary embedding at all (the released checkpoints)
    return out


# Pure Mamba stacks read by :func:`mamba` (transformers' MambaMixer, FalconMambaMixer,
# Mamba2Mixer): the Mamba version of each.
MAMBA_TYPES = {"mamba": 1, "falcon_mamba": 1, "mamba2": 2}


def mamba(r: _Reader, model_type: str) -> dict[str, Any]:
    """All the fields of a pure Mamba model: every layer RMSNorm, mixer, residual add."""
    d = r.int_("hidden_size", what="hidden size")
    layers = r.int_("num_hidden_layers", what="layer count")
    n = r.int_("state_size", what="SSM state size")
    kernel = r.int_("conv_kernel", what="convolution taps")
    expand = r.data.get("expand", 2)
    act = r.data.get("hidden_act", "silu")
    if act not in ("silu", "swish"):
        r.refuse("hidden_act", f"a Mamba mixer with {act!r} (not SiLU) is not modelled")
    if not isinstance(expand, int) or isinstance(expand, bool) or expand < 1:
        r.refuse("expand", f"must be a positive integer (got {expand!r})")
        return {}
    if None in (d, layers, n, kernel):
        return {}
    assert d is not None
    version = MAMBA_TYPES[model_type]
    ssm: dict[str, Any] = {"version": version, "d_state": n, "conv_kernel": kernel}
    if version == 1:
        ssm["d_inner"] = r.int_("intermediate_size", required=False) or expand * d
        rank = r.data.get("time_step_rank", "auto")
        ssm["dt_rank"] = -(-d // 16) if rank == "auto" else r.int_("time_step_rank")
        ssm["bcdt_norm"] = model_type == "falcon_mamba"
    else:
        heads, head_dim = r.int_("num_heads"), r.int_("head_dim")
        ssm |= {"d_inner": expand * d, "heads": heads, "groups": r.int_("n_groups")}
        if heads and head_dim and heads * head_dim != expand * d:
            r.refuse("head_dim", f"num_heads x head_dim is not expand x hidden_size ({expand * d})")
    if None in ssm.values():
        return {}
    r.assumed.append(
        f"{model_type}: every layer RMSNorm, Mamba-{version} mixer, residual add (no attention, "
        "no FFN); the final norm is the LM head's"
    )
    return {
        "n_layers": layers,
        "d_model": d,
        "n_heads": 1,  # no attention: the field is unused
        "d_ff": ssm["d_inner"],  # no FFN: unused
        "activation": "silu",
        "norm": "rmsnorm",
        "norm_position": "pre",
        "ssm": ssm,
        "vocab_size": r.int_("vocab_size", required=False),
        "decoder": True,
    }


# Hybrid stacks whose Mamba layers are Mamba-2 (BambaMixer follows Mamba2Mixer) and whose other
# layers are attention, every layer with the same FFN.
MAMBA_HYBRID_TYPES = frozenset({"bamba"})
HYBRID_KEYS = frozenset({"mamba_d_state", "mamba_expand", "attn_layer_indices"})


def mamba_hybrid(r: _Reader, model_type: str, n_layers: int | None) -> dict[str, Any]:
    """The ``ssm`` field of a Bamba-style hybrid: Mamba-2 on the layers not in
    ``attn_layer_indices``."""
    if model_type not in MAMBA_HYBRID_TYPES or not n_layers:
        return {}
    d = r.int_("hidden_size", what="hidden size")
    expand = r.int_("mamba_expand")
    heads, head_dim = r.int_("mamba_n_heads"), r.int_("mamba_d_head")
    ssm = {
        "version": 2,
        "d_state": r.int_("mamba_d_state"),
        "conv_kernel": r.int_("mamba_d_conv"),
        "heads": heads,
        "groups": r.int_("mamba_n_groups"),
    }
    attn = r.data.get("attn_layer_indices") or []
    if not isinstance(attn, list) or not all(
        isinstance(i, int) and 0 <= i < n_layers for i in attn
    ):
        r.refuse("attn_layer_indices", f"must list layer indices below {n_layers} (got {attn!r})")
        return {}
    if None in (d, expand, head_dim, *ssm.values()):
        return {}
    assert d is not None and expand is not None
    if heads and head_dim and heads * head_dim != expand * d:
        r.refuse("mamba_d_head", "mamba_n_heads x mamba_d_head is not mamba_expand x hidden_size")
        return {}
    layers = n_layers - len(set(attn))
    if not layers:
        return {}
    r.assumed.append(
        f"{model_type}: Mamba-2 mixer (as Mamba2Mixer) on {layers} layers, attention on "
        f"{len(set(attn))} (attn_layer_indices), every layer its FFN"
    )
    return {"ssm": {**ssm, "d_inner": expand * d, "layers": layers}}
