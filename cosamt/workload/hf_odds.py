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

Anything these readers cannot model is refused naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosamt.workload.hf_layers import _groups

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

# VoxtralRealtimeTextAdaRmsNorm's bottleneck: nn.Linear(config.hidden_size, 32).
_ADA_NORM_WIDTH = 32
TYPES = frozenset({"voxtral_realtime_text", "mistral_large4_text"})


def normalise(data: dict[str, Any], model_type: str) -> dict[str, Any]:
    """A family's fields under the names the generic reader looks for (or away from them)."""
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
    return {}


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
        "router's group-limited top-k are vector work, not counted"
    )
    groups = [
        {"mixer": "attention", "ffn": "moe" if kind == "sparse" else "dense", "no_rope": not r_}
        for kind, r_ in zip(mlp, rope, strict=True)
    ]
    return {**out, "layer_groups": _groups(groups)}
