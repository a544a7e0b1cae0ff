"""Local and sparse attention as the families' code fixes it: how many keys each query reads.

cosamt's sliding window (``ModelConfig.sliding_window``) caps the keys per query; a causal
decoder's window of ``w`` is ``w`` keys (transformers' ``sliding_window_overlay``:
``kv_idx > q_idx - w``). A bidirectional encoder window is the same cap with keys on both sides
of the query, its width fixed by the family's mask function, read here from the modelling code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosamt.workload.models import ModelConfig

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

# Keys per query of a bidirectional encoder window of ``sliding_window`` w, per family:
# - t5gemma: ``create_bidirectional_sliding_window_mask`` (masking_utils,
#   ``sliding_window_bidirectional_overlay``: abs(q_idx - kv_idx) <= w): 2w + 1 keys;
# - t5gemma2: ``T5Gemma2TextEncoder`` with ``sliding_window_mask_function(w, is_causal=False)``
#   (modeling_t5gemma2.py): (w + 1) // 2 keys at or before the query, w // 2 after it: w keys.
_BIDIRECTIONAL_KEYS = {
    "t5gemma": (lambda w: 2 * w + 1, "|i - j| <= {w}: 2 x {w} + 1"),
    "t5gemma2": (lambda w: w, "(w + 1) // 2 at or before the query, w // 2 after: {w}"),
}


def bidirectional_encoder(model_type: str, enc: ModelConfig) -> ModelConfig | None:
    """The encoder with its window as keys per query, for a family whose bidirectional window
    is known; ``None`` for any other family (its windowed encoder stays refused)."""
    window = enc.sliding_window
    if window is None or model_type not in _BIDIRECTIONAL_KEYS:
        return None
    keys_of, how = _BIDIRECTIONAL_KEYS[model_type]
    keys = keys_of(window)
    layers = enc.sliding_layers or enc.n_layers
    note = (
        f"bidirectional sliding window {window} on {layers} of {enc.n_layers} encoder layers: "
        f"keys per query capped at {keys} ({how.format(w=window)}; {model_type}'s mask), the "
        f"band counted as m x min(tokens, {keys}) (the fewer keys of the first and last "
        f"queries not subtracted)"
    )
    return enc.model_copy(update={"sliding_window": keys, "assumptions": (*enc.assumptions, note)})


# Decoders whose self-attention also attends to the encoder's output (one softmax over both key
# sets): transformers' T5Gemma2MergedAttention (modeling_t5gemma2.py).
MERGED_CROSS_TYPES = frozenset({"t5gemma2"})
MERGED_NOTE = (
    "merged self- and cross-attention in every decoder block (T5Gemma2MergedAttention): one "
    "q_proj and o_proj, the encoder tokens' K/V by the same k_proj / v_proj, one softmax over "
    "the decoder's keys (window-capped on sliding layers) plus all encoder tokens"
)


# Longformer's local attention (LongformerSelfAttention; LED's encoder wraps it,
# LEDEncoderSelfAttention): ``attention_window`` w per layer, w // 2 keys on each side plus the
# query itself.
LONGFORMER_TYPES = frozenset({"longformer", "led"})
READ_KEYS = {
    "longformer": {"attention_window"},
    "led": {"attention_window"},
    "longt5": {"encoder_attention_type"},
    "pegasus_x": {"num_global_tokens"},
}

# BigBird's block-sparse attention (BigBirdBlockSparseAttention; BigBird-Pegasus's encoder:
# BigBirdPegasusEncoderAttention), cosamt.workload.block_sparse.
BLOCK_SPARSE_TYPES = frozenset({"big_bird", "bigbird_pegasus"})


def _attention_window(r: _Reader, layers: int) -> int | None:
    """One window for every layer (an int, or a list of equal ones), even and positive."""
    raw = r.data.get("attention_window")
    values: list[Any] = raw if isinstance(raw, list) else [raw]
    ok = all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 and v % 2 == 0 for v in values
    )
    if not values or not ok or (isinstance(raw, list) and len(raw) != layers):
        r.refuse(
            "attention_window",
            f"must be an even positive integer or one per layer ({layers}) (got {raw!r})",
        )
        return None
    if len(set(values)) > 1:
        r.refuse(
            "attention_window",
            f"per-layer windows of different widths ({sorted(set(values))}) are not modelled",
        )
        return None
    return int(values[0])


def block_sparse(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """``attention_type`` ``block_sparse`` with ``block_size`` and ``num_random_blocks``: on
    BigBird's layers, on BigBird-Pegasus's encoder (its decoder is dense, like Pegasus's)."""
    if r.data.get("attention_type") != "block_sparse":
        return {}
    size = r.int_("block_size", what="block size")
    rand = r.data.get("num_random_blocks")
    if not isinstance(rand, int) or isinstance(rand, bool) or rand < 0:
        r.refuse("num_random_blocks", f"must be a non-negative integer (got {rand!r})")
        return {}
    if size is None:
        return {}
    if r.data.get("is_decoder") is True or r.data.get("add_cross_attention") is True:
        r.refuse(
            "attention_type",
            "block_sparse in a decoder is not modelled (transformers falls back to "
            "original_full with cross-attention or a cache)",
        )
        return {}
    spec = {"block_size": size, "random_blocks": rand}
    if model_type == "big_bird":
        return {"block_sparse": spec}
    return {"encoder": {**_encoder_shape(model_type, base), "block_sparse": spec}}


def _encoder_shape(model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """A flat encoder-decoder's encoder (the decoder's widths), as ``ModelConfig.encoder``."""
    shape = ("d_model", "n_heads", "n_kv_heads", "head_dim", "d_ff", "activation", "norm")
    encoder = {k: base[k] for k in (*shape, "norm_position") if base.get(k) is not None}
    layers = base.get("encoder_layers") or 0
    return {**encoder, "name": f"{model_type}-encoder", "n_layers": layers, "decoder": False}


def longformer(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """Longformer's (LED's encoder's) sliding band: ``attention_window`` w, keys per query
    w // 2 + 1 + w // 2 = w + 1 (the ``2 * one_sided_attn_window_size + 1`` scores per query
    LongformerSelfAttention asserts). Global attention runs only on the tokens a caller marks in
    ``global_attention_mask``: the bare LongformerModel / LEDModel mark none, so none is counted."""
    layers = base.get("encoder_layers") or base.get("n_layers") or 0
    window = _attention_window(r, layers)
    if window is None:
        return {}
    keys = window + 1
    note = (
        f"{model_type}: local attention of attention_window {window} ({window // 2} keys each side "
        f"and the query: keys per query capped at {keys}, the band counted as m x min(tokens, "
        f"{keys}) as the Longformer paper counts it; transformers' _sliding_chunks_query_key_matmul "
        f"computes overlapping chunks, about twice the band's products, and pads the sequence to "
        f"a multiple of {window}: neither counted); no global attention: the bare model marks no "
        f"token in global_attention_mask (task heads do: the classifier its first token, QA the "
        f"question), so query_global / key_global / value_global do not run"
    )
    r.assumed.append(note)
    if model_type == "longformer":
        return {"sliding_window": keys}
    # LED: the encoder has the decoder's widths (BART-like) and the band; the decoder is dense.
    return {"encoder": {**_encoder_shape(model_type, base), "sliding_window": keys}}


def longt5(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """LongT5's encoder (LongT5LocalAttention): blocks of ``local_radius + 1`` tokens, each query
    attending to the keys within ``local_radius`` of it (``_mask_local_attention_mask``:
    abs(relative position) < block_len): 2 x local_radius + 1 keys; ``transient-global``
    (LongT5TransientGlobalAttention) adds one side key per ``global_block_size`` tokens
    (:mod:`cosamt.workload.transient_global`)."""
    kind = r.data.get("encoder_attention_type")
    if kind not in ("local", "transient-global"):
        r.refuse("encoder_attention_type", f"{kind!r} attention is not modelled")
        return {}
    radius = r.int_("local_radius", what="local attention radius")
    block = r.int_("global_block_size") if kind == "transient-global" else None
    if radius is None or r.problems:
        return {}
    keys = 2 * radius + 1
    r.assumed.append(
        f"{model_type}: local encoder attention of local_radius {radius}: keys per query capped "
        f"at {keys} (|i - j| <= {radius}), counted as m x min(tokens, {keys}); LongT5LocalAttention "
        f"computes each block of {radius + 1} queries against 3 blocks of keys (3 x {radius + 1}, "
        "the sequence padded to whole blocks) and masks the rest: those products not counted"
    )
    encoder = {**_encoder_shape(model_type, base), "sliding_window": keys}
    return {"encoder": {**encoder, "transient_global_block": block}}


def pegasus_x(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """Pegasus-X's encoder (PegasusXGlobalLocalAttention): ``num_global_tokens`` global tokens,
    local blocks of ``block_size``, ``stagger_local_blocks`` (:mod:`cosamt.workload.global_local`);
    its decoder is Pegasus's."""
    block = r.int_("block_size", what="local block size")
    tokens = r.int_("num_global_tokens", what="global tokens")
    stagger = r.data.get("stagger_local_blocks", True)
    if not isinstance(stagger, bool):
        r.refuse("stagger_local_blocks", f"must be true or false (got {stagger!r})")
        return {}
    if block is None or tokens is None:
        return {}
    spec = {"block_size": block, "global_tokens": tokens, "stagger": stagger}
    return {"encoder": {**_encoder_shape(model_type, base), "global_local": spec}}


# Dilated neighbourhood attention (cosamt.workload.neighbourhood).
NEIGHBOURHOOD_TYPES = frozenset({"dinat"})
DINAT_IMAGE = 224  # the paper's ImageNet-1k resolution; DinatConfig states none


def _stem_side(image: int) -> int:
    """DinatPatchEmbeddings: two 3 x 3 convolutions of stride 2, padding 1."""
    for _ in range(2):
        image = (image - 1) // 2 + 1
    return image


def dinat(r: _Reader, model_type: str) -> dict[str, Any]:
    """DiNAT (DinatModel): ``depths``, ``num_heads`` and ``dilations`` per stage, ``kernel_size``,
    ``embed_dim``, ``mlp_ratio``; the image side from ``image_size`` if given, else 224."""
    lists = [r.data.get(k) for k in ("depths", "num_heads", "dilations")]
    depths, heads, dilations = (v if isinstance(v, list) else [] for v in lists)
    ok = len(depths) == len(heads) == len(dilations) > 0
    if not ok or not all(
        isinstance(d, list) and len(d) == n for d, n in zip(dilations, depths, strict=True)
    ):
        r.refuse(
            "dilations", "depths, num_heads and dilations (one per layer) must match per stage"
        )
        return {}
    embed, kernel = r.int_("embed_dim"), r.int_("kernel_size")
    ratio = r.data.get("mlp_ratio", 3.0)
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or ratio <= 0:
        r.refuse("mlp_ratio", f"must be a positive number (got {ratio!r})")
    if r.data.get("patch_size", 4) != 4:
        r.refuse("patch_size", "DinatPatchEmbeddings supports patch size 4 only")
    scale = r.data.get("layer_scale_init_value") or 0
    if scale:
        r.refuse("layer_scale_init_value", "layer scale (a multiply per element) is not modelled")
    image = r.data.get("image_size", DINAT_IMAGE)
    if not isinstance(image, int) or isinstance(image, bool) or image < 1:
        r.refuse("image_size", f"must be a positive integer (got {image!r})")
    if r.problems or embed is None or kernel is None:
        return {}
    if "image_size" not in r.data:
        r.assumed.append(
            f"{model_type}: DinatConfig states no image size: {DINAT_IMAGE} x {DINAT_IMAGE} "
            "(the paper's ImageNet-1k resolution)"
        )
    side = _stem_side(image)
    stages = [{"heads": h, "dilations": tuple(d)} for h, d in zip(heads, dilations, strict=True)]
    return {
        "n_layers": sum(depths),
        "d_model": embed,
        "n_heads": heads[0],
        "d_ff": int(ratio * embed),
        "norm": "layernorm",
        "norm_position": "pre",
        "neighbourhood": {"kernel": kernel, "mlp_ratio": ratio, "stages": stages},
        "image_tokens": side * side,
        "decoder": False,
        "default_seq_len": side * side,
    }
