"""Decoder-only and encoder-only families read from their modelling code in transformers 5.24
(``src/transformers/models/<type>/modeling_<type>.py``, ``configuration_<type>.py``), each into
structures cosamt already builds (``docs/workloads.md``, "Looped, gated and Fourier stacks"):

* ``dory`` (``DoryModel``, ``DoryDecoderLayer``, ``DoryAttention``, ``DoryMLP``): layer groups
  over the layers as they *run*: ``n_input_layers``, then the ``n_recurrent_layers`` looped
  ``n_recurrent_loops`` times, then ``n_output_layers``; each layer sliding-window or full
  attention (``layer_types``) with a sigmoid gate per output feature (``gate_proj``), an
  ``attn_sub_norm`` before ``o_proj``, sandwich norms, the gated MLP with ``ffn_sub_norm``.
* ``neomme`` (``NeoMMEEncoderLayer``, ``NeoMMEAttention``, ``NeoMMESigmoidGatedProjection``):
  a bidirectional pre-norm encoder, each ``sliding_attention`` layer windowed by its own
  ``per_layer_config`` window (else the config's ``sliding_window``), the sigmoid-gated output
  projection, rotary on ``partial_rotary_factor`` of each layer type's head, the plain MLP.
* ``mllama_text_model`` (``MllamaTextModel``, ``MllamaCrossAttentionDecoderLayer``,
  ``MllamaTextCrossAttention``; the language model of ``mllama``): the layers at
  ``cross_attention_layers`` are cross-attention alone (a ``cross`` layer group) to the vision
  tokens, the others Llama's self-attention layers; every layer the gated MLP.
* ``rwkv`` (``RwkvBlock``, ``RwkvSelfAttention``, ``RwkvFeedForward``): RWKV-4's time and
  channel mixing (``ModelConfig.rwkv``: :mod:`cosamt.workload.rwkv_ops`).
* ``recurrent_gemma`` (``RecurrentGemmaDecoderLayer``, ``RecurrentGemmaRecurrentBlock``,
  ``RecurrentGemmaAttention``, ``RecurrentGemmaMlp``): ``block_types`` repeated over the
  layers, Griffin's recurrent block (a layer group of mixer ``rglru``:
  :mod:`cosamt.workload.rglru`) or local attention (``attention_window_size``), every layer the
  gated MLP of ``intermediate_size // 2``.
* ``convbert`` (``ConvBertSelfAttention``, ``SeparableConv1D``, ``ConvBertSelfOutput``): BERT's
  post-norm block with mixed attention, ``num_attention_heads // head_ratio`` attention heads
  beside as many span-based dynamic convolution heads (``span_kernel``:
  :mod:`cosamt.workload.convbert`).
* ``nystromformer`` (``NystromformerSelfAttention``): with ``num_landmarks`` equal to
  ``segment_means_seq_len`` (the default) the code's exact softmax attention, plus the
  depthwise convolution over V (``value_conv``: :mod:`cosamt.workload.value_conv`); the
  landmark path is refused.
* ``yoso`` (``YosoSelfAttention``, ``YosoCumulation``): with ``use_expectation`` (the default)
  the exact expected collision kernel in place of softmax (``yoso_hash_bits``:
  :mod:`cosamt.workload.yoso`), and ``conv_window``'s convolution over V (``value_conv``).
* ``zamba`` (``ZambaModel``, ``ZambaHybridLayer``, ``ZambaMambaDecoderLayer``): per
  ``layers_block_type`` a Mamba layer (a ``mamba`` group without FFN) or a hybrid layer (a
  ``zamba`` group: :mod:`cosamt.workload.zamba`).
* ``zamba2`` (``Zamba2Model``, ``Zamba2HybridLayer``, ``Zamba2MLP``, ``Zamba2MambaMixer``):
  Zamba's layers with Mamba-2 mixers and each hybrid layer's adapter on the shared MLP
  (``shared_adapter_rank``).
* ``xlnet`` (``XLNetModel``, ``XLNetLayer``, ``XLNetRelativeAttention``, ``XLNetFeedForward``):
  the content stream a forward over a sequence runs, relative positional attention
  (``relative_attention``: :mod:`cosamt.workload.xlnet`), post-norm sublayers; prefill only.
* ``fnet`` (``FNetLayer``, ``FNetBasicFourierTransform``, ``FNetBasicOutput``): BERT's
  post-norm block with the real part of a 2D DFT in place of self-attention
  (``fourier_mixing``: :mod:`cosamt.workload.fourier`, the DFT as GEMMs).

Anything these readers cannot model is refused naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosamt.workload.hf_layers import _groups

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

TYPES = frozenset(
    {"dory", "neomme", "fnet", "mllama_text_model", "rwkv", "recurrent_gemma", "convbert"}
    | {"nystromformer", "yoso", "zamba", "zamba2", "xlnet"}
)
# Config keys the generic reader refuses (or reads wrongly) that these readers take.
READ_KEYS: dict[str, frozenset[str]] = {
    "neomme": frozenset({"per_layer_config"}),
    "mllama_text_model": frozenset({"cross_attention_layers"}),
    "recurrent_gemma": frozenset({"block_types"}),
    "convbert": frozenset({"conv_kernel_size"}),
    "nystromformer": frozenset({"conv_kernel_size"}),
    "zamba": frozenset({"mamba_d_state", "mamba_expand", "layers_block_type"}),
    "zamba2": frozenset({"mamba_d_state", "mamba_expand", "layers_block_type"}),
}
# Mllama's vision tokens, carried from the composite config to its text config.
VISION_TOKENS_KEY = "_mllama_vision_tokens"
# act(gate) * up of a plain activation (DoryMLP).
_GATED = {"silu": "swiglu", "gelu": "geglu", "relu": "reglu", "relu2": "relu2glu"}
_ATTENTION_KINDS = frozenset({"sliding_attention", "full_attention"})
# DoryConfig's fields that count layers (halved with num_hidden_layers by its __post_init__).
_DORY_COUNTS = ("num_hidden_layers", "n_input_layers", "n_output_layers", "n_recurrent_layers")


def normalise(data: dict[str, Any], model_type: str) -> dict[str, Any]:
    """A family's fields as its configuration class leaves them, for the generic reader."""
    if model_type == "dory":
        return _dory_normalise(data)
    if model_type == "xlnet":  # XLNetFeedForward's activation: ff_activation
        return {"hidden_act": data.get("ff_activation", "gelu"), **data}
    if model_type == "fnet":  # no attention heads: a placeholder the Fourier mixing ignores
        return {"num_attention_heads": 1, **data}
    if model_type == "rwkv":  # RwkvFeedForward: 4 x hidden when intermediate_size is None
        d = data.get("hidden_size", 4096)
        ff = data.get("intermediate_size")
        width = 4 * d if ff is None and isinstance(d, int) else ff
        # RwkvFeedForward's activation: torch.square(torch.relu(key)), no config field.
        return {**data, "num_attention_heads": 1, "intermediate_size": width, "hidden_act": "relu2"}
    if model_type == "neomme":  # per_layer_config is read here (layer groups), not generically
        return {k: v for k, v in data.items() if k != "per_layer_config"} | {
            "_per_layer_config": data.get("per_layer_config")
        }
    return data


def _dory_normalise(data: dict[str, Any]) -> dict[str, Any]:
    """DoryConfig.__post_init__: a released config lists attention and mlp as separate blocks
    (``layer_types`` alternating, every count doubled); each (attention, mlp) pair is one layer,
    so the list keeps its even entries and the counts are halved."""
    kinds = data.get("layer_types")
    if not isinstance(kinds, list) or "mlp" not in kinds:
        return data
    out = dict(data)
    out["_dory_blocks"] = kinds
    out["layer_types"] = kinds[::2]
    for key in _DORY_COUNTS:
        value = data.get(key, 8 if key in ("n_input_layers", "n_output_layers") else None)
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = value // 2
    return out


def fields(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """A family's structure and corrections to the generic fields ``base``."""
    if not base.get("n_layers") or r.problems:
        return {}
    if model_type == "dory":
        return _dory(r, base)
    if model_type == "fnet":
        return _fnet(r, base)
    if model_type == "mllama_text_model":
        return _mllama(r, base)
    if model_type == "rwkv":
        return _rwkv(r, base)
    if model_type == "recurrent_gemma":
        return _recurrent_gemma(r, base)
    if model_type == "convbert":
        return _convbert(r, base)
    if model_type == "nystromformer":
        return _nystromformer(r, base)
    if model_type == "yoso":
        return _yoso(r, base)
    if model_type == "zamba":
        return _zamba(r, base)
    if model_type == "zamba2":
        return _zamba2(r, base)
    if model_type == "xlnet":
        return _xlnet(r, base)
    return _neomme(r, base)


def _count(r: _Reader, key: str, default: int, minimum: int = 0) -> int | None:
    value = r.data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        r.refuse(key, f"must be an integer of at least {minimum} (got {value!r})")
        return None
    return value


def _attention_kinds(r: _Reader, layers: int) -> list[str] | None:
    kinds = r.data.get("layer_types")
    if not isinstance(kinds, list) or len(kinds) != layers or not set(kinds) <= _ATTENTION_KINDS:
        r.refuse(
            "layer_types",
            f"one of {', '.join(sorted(_ATTENTION_KINDS))} per layer expected ({layers} layers)",
        )
        return None
    return kinds


def _default_rope(r: _Reader, kinds: list[str]) -> bool:
    """Every layer type's rope parameters of the default rope type (else refused)."""
    rope = r.data.get("rope_parameters")
    for kind in sorted(set(kinds)):
        params = rope.get(kind) if isinstance(rope, dict) else None
        if not isinstance(params, dict) or params.get("rope_type", "default") != "default":
            r.refuse(f"rope_parameters.{kind}", "the default rope type per layer type is needed")
            return False
    return True


def _dory(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """DoryModel.forward: layers[:n_input_layers] once, layers[n_input_layers:][:n_recurrent]
    n_recurrent_loops times (per_loop: each loop its own KV cache; last_loop: earlier loops read
    the last loop's, attending to as many keys), then the last n_output_layers once."""
    blocks = r.data.get("_dory_blocks")
    if isinstance(blocks, list) and blocks[1::2] != ["mlp"] * (len(blocks) // 2):
        r.refuse("layer_types", "attention and mlp blocks alternating (as released) expected")
        return {}
    layers = base["n_layers"]
    kinds = _attention_kinds(r, layers)
    n_in, n_out = _count(r, "n_input_layers", 8), _count(r, "n_output_layers", 8)
    loops = _count(r, "n_recurrent_loops", 2, minimum=1)
    if kinds is None or n_in is None or n_out is None or loops is None:
        return {}
    n_rec = r.data.get("n_recurrent_layers")
    n_rec = layers - n_in - n_out if n_rec is None else n_rec
    if not isinstance(n_rec, int) or n_rec < 0 or n_in + n_rec + n_out != layers:
        r.refuse(
            "n_recurrent_layers",
            f"n_input_layers + n_recurrent_layers + n_output_layers must be {layers} (got "
            f"{n_in} + {n_rec!r} + {n_out}; DoryConfig.validate_architecture)",
        )
        return {}
    mode = r.data.get("recurrent_kv_cache_mode", "per_loop")
    if mode not in ("per_loop", "last_loop"):
        r.refuse("recurrent_kv_cache_mode", f"per_loop or last_loop expected (got {mode!r})")
    if r.data.get("mlp_bias") or not _default_rope(r, kinds) or r.problems:
        if r.data.get("mlp_bias"):
            r.refuse("mlp_bias", "biases are not modelled")
        return {}
    run = kinds[:n_in] + kinds[n_in : n_in + n_rec] * loops + kinds[layers - n_out :]
    out = [
        {"mixer": "attention", "ffn": "dense", "window": kind == "sliding_attention"}
        for kind in run
    ]
    r.assumed.append(
        f"dory: {n_rec} recurrent layers run {loops} times (n_recurrent_loops) between "
        f"{n_in} input and {n_out} output layers: counted as the {len(run)} layers that run "
        f"({mode} KV cache: each run attends to the same keys); DoryL2Norm (no weight) counted "
        "as an RMSNorm; the interpolating residual h + r * (o - h) counted as one add per "
        "element (the code: subtract, multiply, add); the per-loop norm(h) + input mix and the "
        "learned scales (sqk on Q, s_gate, suv_gate, suv_up: one multiply per element) are not "
        "counted"
    )
    act = base.get("activation")
    if act not in _GATED:
        r.refuse("hidden_act", f"DoryMLP's act(gate) * up with {act!r} is not modelled")
        return {}
    extra: dict[str, Any] = {
        "n_layers": len(run),
        "activation": _GATED[act],
        "norm": "rmsnorm",
        "norm_position": "pre",
        "attention_gate": "element",
        "sub_norms": True,
        "sandwich_norm": True,
        "moe_layers": None,
        "sliding_layers": None,
        "sliding_moe_layers": None,
        "layer_groups": _groups(out),
    }
    if not any(layer["window"] for layer in out):
        extra["sliding_window"] = None
    return extra


# NeoMMEConfig's per-layer-type rotary fractions when rope_parameters leave them out.
_NEOMME_ROTARY = {"full_attention": 0.25, "sliding_attention": 1.0}


def _neomme_windows(r: _Reader, kinds: list[str]) -> list[int | None] | None:
    """Each layer's window: its per_layer_config entry's sliding_window (the config class's
    sparse overrides), else the config's sliding_window; full-attention layers have none."""
    overrides = r.data.get("_per_layer_config") or {}
    flat = r.data.get("sliding_window", 256)
    if not isinstance(overrides, dict):
        r.refuse("per_layer_config", f"expected an object of layer overrides (got {overrides!r})")
        return None
    stray = [k for k in overrides if not (str(k).isdigit() and int(k) < len(kinds))]
    if stray:
        r.refuse(f"per_layer_config.{stray[0]}", f"not a layer index below {len(kinds)}")
        return None
    out: list[int | None] = []
    for i, kind in enumerate(kinds):
        entry = overrides.get(f"{i:02d}", overrides.get(str(i), {}))
        if not isinstance(entry, dict) or set(entry) - {"sliding_window"}:
            r.refuse(
                f"per_layer_config.{i:02d}",
                f"only a per-layer sliding_window is modelled ({entry!r})",
            )
            return None
        window = entry.get("sliding_window", flat if kind == "sliding_attention" else None)
        if (kind == "sliding_attention") != (window is not None) or not (
            window is None
            or (isinstance(window, int) and not isinstance(window, bool) and window > 0)
        ):
            r.refuse(
                f"per_layer_config.{i:02d}.sliding_window",
                f"a positive window on sliding_attention layers and none on full_attention ones "
                f"expected (layer {i}: {kind}, window {window!r})",
            )
            return None
        out.append(window)
    return out


def _neomme_rotary(r: _Reader, kinds: list[str], head_dim: int) -> dict[str, int] | None:
    """NeoMMEConfig.convert_rope_params_to_dict: int(head_dim x partial_rotary_factor) per
    layer type (0.25 on full_attention, 1.0 on sliding_attention when not stated)."""
    if not _default_rope(r, kinds):
        return None
    rope = r.data["rope_parameters"]
    out = {}
    for kind in sorted(set(kinds)):
        factor = rope[kind].get("partial_rotary_factor", _NEOMME_ROTARY[kind])
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not 0 < factor <= 1:
            r.refuse(f"rope_parameters.{kind}.partial_rotary_factor", f"in (0, 1] ({factor!r})")
            return None
        out[kind] = max(1, int(head_dim * factor))
    return out


def _neomme(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """NeoMMEModel: bidirectional layers (NeoMMEAttention.is_causal False) masked by
    create_bidirectional_sliding_window_mask (|q - k| <= window: 2 w + 1 keys) where the layer's
    per_layer_config window is set, create_bidirectional_mask elsewhere; NeoMMEAttention:
    q, k, v, rotary, o_proj(attention * sigmoid(gate_proj(x))); NeoMMEMLP: down(act(up(x)))."""
    layers, dh = base["n_layers"], base.get("head_dim")
    kinds = _attention_kinds(r, layers)
    if kinds is None or not dh:
        if not dh:
            r.refuse("head_dim", "NeoMME's head_dim is needed")
        return {}
    windows, rotary = _neomme_windows(r, kinds), _neomme_rotary(r, kinds, dh)
    if windows is None or rotary is None or r.problems:
        return {}
    if r.data.get("mlp_bias") or r.data.get("attention_bias"):
        r.refuse(
            "mlp_bias" if r.data.get("mlp_bias") else "attention_bias", "biases are not modelled"
        )
        return {}
    keys = [None if w is None else 2 * w + 1 for w in windows]
    common = max(set(k for k in keys if k), key=keys.count, default=None)
    main = rotary.get("sliding_attention") or rotary["full_attention"]
    out = []
    for kind, k in zip(kinds, keys, strict=True):
        layer: dict[str, Any] = {"mixer": "attention", "ffn": "dense", "window": k is not None}
        layer |= {"window_size": k} if k is not None and k != common else {}
        layer |= {"rotary_dim": rotary[kind]} if rotary[kind] != main else {}
        out.append(layer)
    r.assumed.append(
        "neomme: windows per layer from per_layer_config (else sliding_window), bidirectional "
        "(2 w + 1 keys); not counted: the exclusive self-attention on each head's output "
        "(its projection on the unit value removed: about 6 ops per element), the value "
        "embeddings added to V on the first and last full-attention layers, the initial-state "
        "mix (lambdas) before each layer, the residual_multiplier scale, and the input "
        "embedding's projection from embedding_rank (embeddings are not modelled)"
    )
    return {
        "decoder": False,
        "norm": "rmsnorm",
        "norm_position": "pre",
        "activation": base.get("activation"),
        "rotary_dim": main,
        "sliding_window": common,
        "window_kind": "bidirectional",
        "attention_gate": "element",
        "sliding_layers": None,
        "layer_groups": _groups(out),
    }


def _fnet(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """FNetLayer: LayerNorm(x + Re(fftn(x))) (FNetFourierTransform), then BERT's
    intermediate and output (FNetIntermediate, FNetOutput: LayerNorm(ffn + input)). The
    TPU path's DFT matrices are sliced to the input's length (_two_dim_matmul) or must equal
    tpu_short_seq_length (FNetModel.forward); either way the transform of the sequence."""
    if base.get("activation") not in ("gelu", "relu", "silu"):
        r.refuse("hidden_act", f"{base.get('activation')!r} is not modelled for FNet")
        return {}
    r.assumed.append(
        "fnet: no attention heads (num_attention_heads is a placeholder, unused); "
        + (
            "the DFT-matrix path (use_tpu_fourier_optimizations)"
            if r.data.get("use_tpu_fourier_optimizations")
            else "torch.fft.fftn"
        )
        + " counted as the DFT's GEMMs"
    )
    return {
        "n_heads": 1,
        "n_kv_heads": None,
        "head_dim": None,
        "decoder": False,
        "norm": "layernorm",
        "norm_position": "post",
        "rotary_dim": None,
        "fourier_mixing": True,
    }


def vision_marker(data: dict[str, Any]) -> dict[str, Any]:
    """For Mllama's composite config: the vision tokens every cross-attention layer reads,
    carried to its text config. MllamaModel.forward: the vision tower's output (per image,
    max_num_tiles tiles of (image_size // patch_size)^2 + 1 patches: MllamaVisionModel's
    num_patches, the tiles the image processor pads to max_num_tiles) through
    multi_modal_projector, reshaped to one sequence of tiles x patches per image."""
    vision = data.get("vision_config")
    if data.get("model_type") != "mllama" or not isinstance(vision, dict):
        return {}
    sizes = [vision.get(k) for k in ("image_size", "patch_size", "max_num_tiles")]
    image, patch, tiles = (
        v if isinstance(v, int) and not isinstance(v, bool) else 0 for v in sizes
    )
    if min(image, patch, tiles) <= 0:
        return {VISION_TOKENS_KEY: None}
    return {VISION_TOKENS_KEY: tiles * ((image // patch) ** 2 + 1)}


def _mllama(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """MllamaTextModel: MllamaCrossAttentionDecoderLayer at cross_attention_layers (q_proj of
    the text, k_proj / v_proj of the vision tokens, no rotary, o_proj; the MLP; each sublayer's
    output times tanh of a scalar gate), MllamaSelfAttentionDecoderLayer elsewhere."""
    layers = base["n_layers"]
    cross = r.data.get("cross_attention_layers") or []
    if not isinstance(cross, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < layers for i in cross
    ):
        r.refuse("cross_attention_layers", f"expected layer indices below {layers} ({cross!r})")
        return {}
    if not cross:
        return {}
    tokens = r.data.get(VISION_TOKENS_KEY)
    if not isinstance(tokens, int):
        r.refuse(
            "cross_attention_layers",
            "the cross-attention layers read the vision tower's tokens, which only the "
            "composite mllama config states (vision_config: image_size, patch_size, "
            "max_num_tiles): point hf_config at it",
        )
        return {}
    out = [
        {"mixer": "cross" if i in set(cross) else "attention", "ffn": "dense"}
        for i in range(layers)
    ]
    r.assumed.append(
        f"mllama: {len(set(cross))} cross-attention layers (cross_attention_layers) attend to "
        f"{tokens} vision tokens: one image of max_num_tiles tiles (the processor pads every "
        "image to them; padded tiles are masked, not skipped), each (image_size // "
        "patch_size)^2 + 1 patches; their K/V computed in prefill, cached in decode; the vision "
        "tower and multi_modal_projector are not counted; the tanh gates (a scalar multiply "
        "per element) are not counted"
    )
    return {"layer_groups": _groups(out), "cross_tokens": tokens, "norm_position": "pre"}


def _rwkv(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """RwkvSelfAttention: key, value, receptance (hidden -> attention_hidden_size, the hidden
    size when None) and output projections around the WKV recurrence; RwkvFeedForward: key
    (hidden -> intermediate_size), squared ReLU, value, receptance (hidden -> hidden)."""
    width = r.data.get("attention_hidden_size") or base.get("d_model")
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        r.refuse("attention_hidden_size", f"a positive integer expected (got {width!r})")
        return {}
    r.assumed.append(
        "rwkv: no attention heads (num_attention_heads is a placeholder, unused); LayerNorms "
        "(RwkvBlock's ln1, ln2)"
    )
    return {
        "rwkv": {"attention_width": width},
        "n_heads": 1,
        "n_kv_heads": None,
        "head_dim": None,
        "rotary_dim": None,
        "sliding_window": None,
        "activation": "relu2",
        "norm": "layernorm",
        "norm_position": "pre",
        "decoder": True,
    }


_GRIFFIN_BLOCKS = {"recurrent": "rglru", "attention": "attention"}


def _recurrent_gemma(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """RecurrentGemmaConfig.layers_block_type: (block_types x 100)[:num_hidden_layers],
    recurrent -> RecurrentGemmaRecurrentBlock, attention -> RecurrentGemmaAttention (causal,
    create_sliding_window_causal_mask of attention_window_size); RecurrentGemmaMlp:
    down(act(gate(x)) * up(x)) of intermediate_size // 2; RMSNorms before both sublayers."""
    layers = base["n_layers"]
    kinds = r.data.get("block_types", ["recurrent", "recurrent", "attention"])
    if not isinstance(kinds, list) or not kinds or not set(kinds) <= set(_GRIFFIN_BLOCKS):
        r.refuse("block_types", f"a list of recurrent / attention expected (got {kinds!r})")
        return {}
    ff, act = base.get("d_ff"), base.get("activation")
    window = _count(r, "attention_window_size", 2048, minimum=1)
    width = _count(r, "lru_width", base.get("d_model") or 0, minimum=1)
    taps = _count(r, "conv1d_width", 4, minimum=1)
    heads = base.get("n_heads")
    if None in (window, width, taps) or not ff or act not in _GATED or not heads:
        if act not in _GATED:
            r.refuse("hidden_activation", f"the MLP's act(gate) * up with {act!r} not modelled")
        return {}
    assert width is not None
    if width % heads:
        r.refuse("lru_width", f"{width} is not a multiple of num_attention_heads {heads}")
        return {}
    run = (kinds * (layers // len(kinds) + 1))[:layers]
    out = [{"mixer": _GRIFFIN_BLOCKS[k], "ffn": "dense", "window": k == "attention"} for k in run]
    r.assumed.append(
        "recurrent_gemma: the MLP of intermediate_size // 2 (RecurrentGemmaMlp); the "
        "embedding's sqrt(hidden) normaliser, the biases and the logits soft cap are not counted"
    )
    return {
        "d_ff": ff // 2,
        "activation": _GATED[act],
        "norm": "rmsnorm",
        "norm_position": "pre",
        "sliding_window": window,
        "sliding_layers": None,
        "rglru": {"width": width, "blocks": heads, "conv_kernel": taps},
        "layer_groups": _groups(out),
    }


def _convbert(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """ConvBertSelfAttention: num_attention_heads // head_ratio heads (1 when that is 0) of
    (hidden // heads) // 2 features for attention and as many for the convolution;
    ConvBertSelfOutput: dense(hidden -> hidden) on their concatenation, so 2 x heads x head
    size must be the hidden size; ConvBertIntermediate / ConvBertOutput: nn.Linear when
    num_groups is 1 (GroupedLinearLayer otherwise)."""
    heads, d = base.get("n_heads"), base.get("d_model")
    ratio = _count(r, "head_ratio", 2, minimum=1)
    taps = _count(r, "conv_kernel_size", 9, minimum=1)
    groups = r.data.get("num_groups", 1)
    if groups != 1:
        r.refuse(
            "num_groups",
            f"grouped FFN projections (GroupedLinearLayer, {groups!r}) are not modelled",
        )
    if ratio is None or taps is None or not heads or not d or r.problems:
        return {}
    h = max(1, heads // ratio)
    size = (d // h) // 2
    if 2 * h * size != d or taps % 2 == 0:
        r.refuse(
            "head_ratio" if taps % 2 else "conv_kernel_size",
            f"{h} heads of {size} features twice must be the hidden size {d}, with an odd kernel "
            f"({taps}) (ConvBertSelfOutput's dense and the unfold's padding)",
        )
        return {}
    r.assumed.append(
        f"convbert: {h} attention heads (num_attention_heads // head_ratio) and {h} convolution "
        f"heads of {size} features; the embeddings' projection (embedding_size) is not modelled"
    )
    return {
        "n_heads": h,
        "n_kv_heads": None,
        "head_dim": size,
        "span_kernel": taps,
        "decoder": False,
        "norm": "layernorm",
        "norm_position": "post",
    }


def _nystromformer(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """NystromformerSelfAttention.forward: when num_landmarks == segment_means_seq_len (both
    config constants, 64 by default) softmax(Q K^T) V, the ordinary attention, whatever the
    input's length; otherwise the landmark approximation (segment means of Q and K over
    segment_means_seq_len // num_landmarks tokens, three softmax kernels, iterative_inv's six
    Newton-Schulz steps). Then context += conv(V) when conv_kernel_size is set."""
    landmarks = r.data.get("num_landmarks", 64)
    segment = r.data.get("segment_means_seq_len", 64)
    if landmarks != segment:
        r.refuse(
            "num_landmarks",
            f"the Nystrom landmark approximation ({landmarks} landmarks of segment means over "
            f"segment_means_seq_len {segment}, the Moore-Penrose iteration) is not modelled",
        )
        return {}
    taps = r.data.get("conv_kernel_size", 65)
    if taps is not None and (not isinstance(taps, int) or isinstance(taps, bool) or taps < 1):
        r.refuse("conv_kernel_size", f"a positive integer or null expected (got {taps!r})")
        return {}
    r.assumed.append(
        f"nystromformer: num_landmarks = segment_means_seq_len ({landmarks}), so the code runs "
        "exact softmax attention (the landmark path is not taken)"
        + (f"; a {taps}-tap depthwise convolution over each head's values" if taps else "")
    )
    return {"value_conv": taps, "decoder": False}


def _yoso(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """YosoSelfAttention.forward: with use_expectation, YosoCumulation (queries and keys
    L2-normalised, (1 - acos(q k^T) / pi) ** hash_code_len, times V), the context
    L2-normalised, plus conv(V) (a Conv2d of kernel (conv_window, 1), groups = heads) when
    conv_window is set; without it, YosoLSHCumulation (num_hash random hashes, CUDA kernels)."""
    if r.data.get("use_expectation", True) is not True:
        r.refuse(
            "use_expectation",
            "YOSO's LSH-sampled attention (YosoLSHCumulation: num_hash hashes of hash_code_len "
            "bits, bucket cumulation) is not modelled",
        )
        return {}
    bits = _count(r, "hash_code_len", 9, minimum=1)
    window = r.data.get("conv_window")
    if window is not None and (
        not isinstance(window, int) or isinstance(window, bool) or window < 1
    ):
        r.refuse("conv_window", f"a positive integer or null expected (got {window!r})")
        return {}
    if bits is None:
        return {}
    r.assumed.append(
        "yoso: use_expectation, so the expected collision probability of every query and key "
        "is computed exactly (YosoCumulation); num_hash is unused on that path"
    )
    return {"yoso_hash_bits": bits, "value_conv": window, "decoder": False}


_ZAMBA_KINDS = {"linear_attention": "mamba", "mamba": "mamba", "hybrid": "zamba"}


def _zamba(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """ZambaConfig.__post_init__ (attention_hidden_size 2 x hidden, attention_head_dim
    2 x hidden // heads, mamba_dt_rank auto: ceil(hidden / 16), the default
    layers_block_type), ZambaModel: ZambaHybridLayer on hybrid layers, ZambaMambaDecoderLayer
    on the others; ZambaMambaMixer of mamba_expand x hidden channels in n_mamba_heads heads."""
    layers, d, heads = base["n_layers"], base.get("d_model"), base.get("n_heads")
    if not d or not heads:
        return {}
    kinds = r.data.get("layers_block_type")
    if kinds is None:
        period, offset = r.data.get("attn_layer_period", 6), r.data.get("attn_layer_offset", 4)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (period, offset)):
            r.refuse("attn_layer_period", "integers attn_layer_period, attn_layer_offset needed")
            return {}
        kinds = ["linear_attention", "linear_attention", "hybrid"] + [
            "hybrid" if i % period == offset else "linear_attention" for i in range(layers - 3)
        ]
    if not isinstance(kinds, list) or len(kinds) != layers or not set(kinds) <= set(_ZAMBA_KINDS):
        r.refuse("layers_block_type", f"hybrid / linear_attention per layer expected ({layers})")
        return {}
    width = r.data.get("attention_hidden_size") or 2 * d
    dh = r.data.get("attention_head_dim") or 2 * d // heads
    if width != 2 * d:
        r.refuse(
            "attention_hidden_size", f"{width}: the concatenation is 2 x hidden_size ({2 * d})"
        )
    if r.data.get("hidden_mamba_act", "silu") != "silu":
        r.refuse("hidden_mamba_act", "a Mamba activation other than SiLU is not modelled")
    expand = _count(r, "mamba_expand", 2, minimum=1)
    state = _count(r, "mamba_d_state", 16, minimum=1)
    taps = _count(r, "mamba_d_conv", 4, minimum=1)
    mamba_heads = _count(r, "n_mamba_heads", 2, minimum=1)
    rank = r.data.get("mamba_dt_rank", "auto")
    rank = -(-d // 16) if rank == "auto" else rank
    act = base.get("activation")
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        r.refuse("mamba_dt_rank", f"a positive integer or auto expected (got {rank!r})")
    if act not in _GATED:
        r.refuse("hidden_act", f"ZambaMLP's act(gate) * up with {act!r} is not modelled")
    if r.problems or None in (expand, state, taps, mamba_heads) or not isinstance(dh, int):
        return {}
    assert expand is not None and mamba_heads is not None and isinstance(act, str)
    if (expand * d) % mamba_heads:
        r.refuse("n_mamba_heads", f"{mamba_heads} does not divide {expand * d} Mamba channels")
        return {}
    out = [
        {"mixer": _ZAMBA_KINDS[k], "ffn": "dense" if _ZAMBA_KINDS[k] == "zamba" else None}
        for k in kinds
    ]
    r.assumed.append(
        "zamba: one shared attention block (ZambaAttentionDecoderLayer) reused by every hybrid "
        f"layer on the hidden state beside the input embeddings ({width} features), no "
        "residual inside it, a per-layer linear, then the Mamba sublayer; Mamba layers have no "
        f"MLP; the {mamba_heads} Mamba heads (each its own x_proj, dt_proj, B and C) counted as "
        "one Mamba-1 mixer over all channels: the same MACs and weights, the per-head B, C and "
        "dt counted once (their words, not their work)"
    )
    return {
        "head_dim": dh,
        "activation": _GATED[act],
        "norm": "rmsnorm",
        "norm_position": "pre",
        "rotary_dim": None,
        "ssm": {
            "version": 1,
            "d_inner": expand * d,
            "d_state": state,
            "conv_kernel": taps,
            "dt_rank": rank,
        },
        "layer_groups": _groups(out),
    }


# Zamba2Config.__post_init__'s default layers_block_type.
_ZAMBA2_DEFAULT = (
    ["linear_attention"]
    + (["linear_attention"] * 5 + ["hybrid"]) * 7
    + ["linear_attention"] * 4
    + ["hybrid"]
    + ["linear_attention"] * 3
    + ["hybrid"]
    + ["linear_attention"] * 2
)


def _zamba2(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """Zamba2Config.__post_init__ sets attention_hidden_size = 2 x hidden, attention_head_dim =
    2 x hidden // heads and mamba_headdim = mamba_expand x hidden // n_mamba_heads whatever the
    config says; Zamba2Model: Zamba2HybridLayer on the hybrid layers (the shared block of
    num_mem_blocks sets of weights used in turn, Zamba2MLP's fused gate_up_proj plus the
    layer's adapter of adapter_rank, the layer's linear, then the Mamba-2 layer),
    Zamba2MambaDecoderLayer elsewhere."""
    layers, d, heads = base["n_layers"], base.get("d_model"), base.get("n_heads")
    if not d or not heads:
        return {}
    kinds = r.data.get("layers_block_type") or _ZAMBA2_DEFAULT
    if not isinstance(kinds, list) or len(kinds) != layers or not set(kinds) <= set(_ZAMBA_KINDS):
        r.refuse("layers_block_type", f"hybrid / linear_attention per layer expected ({layers})")
        return {}
    for key in ("use_shared_attention_adapter", "use_mem_rope"):
        if r.data.get(key):
            what = "adapters on q, k, v" if "adapter" in key else "rotary in the shared block"
            r.refuse(key, f"Zamba2's {what} ({key}) is not modelled")
    expand = _count(r, "mamba_expand", 2, minimum=1)
    state = _count(r, "mamba_d_state", 64, minimum=1)
    taps = _count(r, "mamba_d_conv", 4, minimum=1)
    mamba_heads = _count(r, "n_mamba_heads", 8, minimum=1)
    groups = _count(r, "mamba_ngroups", 1, minimum=1)
    rank = _count(r, "adapter_rank", 128, minimum=1)
    blocks = _count(r, "num_mem_blocks", 1, minimum=1)
    act = base.get("activation")
    if act not in _GATED:
        r.refuse("hidden_act", f"Zamba2MLP's act(gate) * up with {act!r} is not modelled")
    if r.problems or None in (expand, state, taps, mamba_heads, groups, rank, blocks):
        return {}
    assert expand is not None and mamba_heads is not None and isinstance(act, str)
    if (expand * d) % mamba_heads or 2 * d % heads:
        r.refuse("n_mamba_heads", f"{mamba_heads} Mamba heads of {expand * d} channels, {heads} "
                 f"attention heads of {2 * d}: each must divide its width")  # fmt: skip
        return {}
    out = [
        {"mixer": _ZAMBA_KINDS[k], "ffn": "dense" if _ZAMBA_KINDS[k] == "zamba" else None}
        for k in kinds
    ]
    r.assumed.append(
        f"zamba2: {blocks} set(s) of the shared attention block's weights (num_mem_blocks) used "
        "in turn by the hybrid layers (the same operators), on the hidden state beside the "
        f"input embeddings ({2 * d} features, attention_head_dim {2 * d // heads} as "
        "Zamba2Config derives them), each hybrid layer's adapter of adapter_rank on the MLP's "
        "gate and up projection, its linear, then the Mamba-2 layer; Mamba layers have no MLP; "
        "no rotary (use_mem_rope false)"
    )
    return {
        "head_dim": 2 * d // heads,
        "n_kv_heads": r.data.get("num_key_value_heads") or heads,
        "d_ff": r.data.get("intermediate_size") or 4 * d,
        "activation": _GATED[act],
        "norm": "rmsnorm",
        "norm_position": "pre",
        "rotary_dim": None,
        "ssm": {
            "version": 2,
            "d_inner": expand * d,
            "d_state": state,
            "conv_kernel": taps,
            "heads": mamba_heads,
            "groups": groups,
        },
        "shared_adapter_rank": rank,
        "layer_groups": _groups(out),
    }


def _xlnet(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """XLNetModel.forward on input_ids alone: no target_mapping, so no query stream (output_g
    None); attn_type bi with no perm_mask or input_mask: no attention mask (bidirectional);
    mems of earlier segments absent on a first forward (klen = qlen); XLNetRelativeAttention:
    q, k, v, r projections of d_model -> n_head x d_head, ac + rel_shift(bd), softmax, P.V,
    o back, LayerNorm(out + h); XLNetFeedForward: layer_1, ff_activation, layer_2,
    LayerNorm(out + inp)."""
    if r.data.get("attn_type", "bi") != "bi":
        r.refuse("attn_type", "XLNet's uni-directional attention (attn_type uni) is not modelled")
    if r.data.get("bi_data"):
        r.refuse("bi_data", "bidirectional data (forward and backward position streams over a "
                 "doubled batch) is not modelled")  # fmt: skip
    heads, d = base.get("n_heads"), base.get("d_model")
    dh = r.data.get("d_head") or (d // heads if d and heads else None)
    if r.problems or not isinstance(dh, int):
        return {}
    r.assumed.append(
        "xlnet: read as a bidirectional stack of its content stream (XLNetModel.forward over a "
        "sequence); generation's query stream with target_mapping and perm_mask and the mems "
        "cache are not modelled, so there is no decode phase"
    )
    return {
        "head_dim": dh,
        "n_kv_heads": None,
        "rotary_dim": None,
        "decoder": False,
        "norm": "layernorm",
        "norm_position": "post",
        "relative_attention": True,
    }
