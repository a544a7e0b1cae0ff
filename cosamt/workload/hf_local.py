"""Local and sparse attention as the families' code fixes it: how many keys each query reads.

cosamt's sliding window (``ModelConfig.sliding_window``) caps the keys per query; a causal
decoder's window of ``w`` is ``w`` keys (transformers' ``sliding_window_overlay``:
``kv_idx > q_idx - w``). A bidirectional encoder window is the same cap with keys on both sides
of the query, its width fixed by the family's mask function, read here from the modelling code.
"""

from __future__ import annotations

from cosamt.workload.models import ModelConfig

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
