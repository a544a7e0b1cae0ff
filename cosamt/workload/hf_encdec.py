"""Encoder-decoder families beyond the plain cross-attention, read from their modelling code in
transformers (``src/transformers/models/<type>/modeling_<type>.py``); operators in
:mod:`cosamt.workload.encdec_ops`:

* ``conditional_detr`` (``ConditionalDetrDecoderLayer``, ``ConditionalDetrDecoder``) and
  ``dab-detr`` (``DabDetrDecoderLayer``, ``DabDetrDecoder``, ``DabDetrEncoder``): DETR's object
  queries (``num_queries``) with the conditional cross-attention; DAB-DETR's ``num_patterns``
  pattern embeddings repeat the queries (``DabDetrModel.forward``), its ``query_dim`` must be 4
  (the anchors' x, y, w, h: ``ref_point_head`` reads ``query_dim // 2 * hidden_size`` and the
  width/height modulation reads the anchors' w and h).
* ``prophetnet``, ``xlm-prophetnet`` (``ProphetNetNgramSelfAttention``, ``ProphetNetDecoderLayer``,
  ``ProphetNetEncoderLayer``; XLM-ProphetNet's classes are copies): the n-stream decoder
  (``ngram``, ``num_buckets``), heads under ``num_encoder_attention_heads`` /
  ``num_decoder_attention_heads``, post-norm layers (``LayerNorm(attention_output +
  hidden_states)``).
* ``informer`` (``InformerProbSparseAttention``, ``InformerConvLayer``, ``InformerEncoder``,
  ``InformerDecoder``): ``attention_type`` prob (``sampling_factor``) or full, ``distil``, the
  decoder's ``prediction_length`` tokens (required: the modelling code raises without it).
* Dia's decoder sub-config (``DiaCrossAttention``): ``cross_hidden_size``,
  ``cross_num_attention_heads``, ``cross_num_key_value_heads``, ``cross_head_dim``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosamt.workload.encdec_kinds import ConditionalQueries, CrossShape, InformerShape, NgramStreams

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

CONDITIONAL_TYPES = {"conditional_detr": "conditional", "dab-detr": "dab"}
READ_KEYS = {"num_queries", "num_patterns", "query_dim", "keep_query_pos"}


def conditional(r: _Reader, model_type: str) -> dict[str, Any]:
    """Fields of a Conditional DETR / DAB-DETR config (beside DETR's)."""
    variant = CONDITIONAL_TYPES[model_type]
    out: dict[str, Any] = {"norm_position": "post"}  # both decoders' layers: add, then LayerNorm
    if r.data.get("normalize_before") is True:
        r.assumed.append(
            "normalize_before only adds a final encoder LayerNorm (DabDetrEncoder.norm, not "
            "counted); the layers stay post-norm as DabDetrEncoderLayer computes them"
        )
    queries = r.int_("num_queries")
    keep = r.data.get("keep_query_pos") is True
    if variant == "dab":
        if r.data.get("query_dim", 4) != 4:
            r.refuse(
                "query_dim",
                f"{r.data.get('query_dim')!r}: DAB-DETR's anchors are (x, y, w, h); other "
                "reference point sizes are not modelled",
            )
        patterns = r.data.get("num_patterns") or 0
        if not isinstance(patterns, int) or isinstance(patterns, bool) or patterns < 0:
            r.refuse("num_patterns", f"must be a non-negative integer (got {patterns!r})")
        elif patterns and queries:
            queries *= patterns  # DabDetrModel.forward repeats the queries per pattern
            r.assumed.append(f"num_patterns {patterns}: {queries} decoder queries")
    out["decoder_tokens"] = queries
    out["conditional_queries"] = ConditionalQueries(variant=variant, keep_query_pos=keep)
    return out


_CROSS_KEYS = ("cross_hidden_size", "cross_num_attention_heads", "cross_num_key_value_heads",
               "cross_head_dim")  # fmt: skip


def cross_shape(sub: dict[str, Any]) -> CrossShape | None:
    """Dia's cross-attention widths from its decoder sub-config (all four keys), else None."""
    values = [sub.get(k) for k in _CROSS_KEYS]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        return None
    width, heads, kv, dim = values
    return CrossShape(kv_width=width, n_heads=heads, n_kv_heads=kv, head_dim=dim)


def cross_problem(sub: dict[str, Any]) -> str | None:
    """A decoder sub-config with some but not all of the cross-attention keys, or bad values."""
    present = [k for k in _CROSS_KEYS if sub.get(k) is not None]
    if present and cross_shape(sub) is None:
        return (
            f"cross-attention widths ({', '.join(_CROSS_KEYS)}) must all be positive integers "
            f"(got {', '.join(f'{k}={sub.get(k)!r}' for k in _CROSS_KEYS)})"
        )
    return None


# Encoders with per-layer (left, right) windows: MoonshineStreamingEncoder's
# sliding_window_mask_function (dist = q - kv; 0 <= dist < left, or 0 < -dist < right).
WINDOWED_ENCODERS = frozenset({"moonshine_streaming_encoder"})


def layer_windows(sub: dict[str, Any]) -> tuple[int, ...] | str:
    """Keys per query of each layer's window (left + right - 1, right when > 0), or why not."""
    pairs = sub.get("sliding_windows")
    layers = sub.get("num_hidden_layers")
    ok = isinstance(pairs, list) and all(
        isinstance(p, list | tuple)
        and len(p) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in p)
        for p in pairs
    )
    if not ok or not isinstance(pairs, list) or len(pairs) != layers:
        return f"one (left, right) pair of non-negative integers per layer expected (got {pairs!r})"
    keys = tuple(left + max(right - 1, 0) for left, right in pairs)
    if 0 in keys:
        return f"a window without keys ({pairs!r})"
    return keys


NGRAM_TYPES = frozenset({"prophetnet", "xlm-prophetnet"})
# ProphetNet's own names for the generic fields (ProphetNetConfig).
_NGRAM_ALIASES = {
    "num_encoder_attention_heads": "encoder_attention_heads",
    "num_decoder_attention_heads": "decoder_attention_heads",
}


def normalise(data: dict[str, Any], model_type: str) -> dict[str, Any]:
    """ProphetNet's head counts under the generic encoder / decoder keys."""
    if model_type not in NGRAM_TYPES:
        return data
    extra = {new: data[old] for old, new in _NGRAM_ALIASES.items() if old in data}
    return {**data, **extra}


def ngram(r: _Reader) -> dict[str, Any]:
    """Fields of a ProphetNet config: the predicting streams and the post-norm layers."""
    streams, buckets = r.int_("ngram"), r.int_("num_buckets")
    out: dict[str, Any] = {"norm_position": "post"}
    if streams is not None and buckets is not None:
        out["ngram_streams"] = NgramStreams(ngram=streams, buckets=buckets)
    return out


def informer(r: _Reader) -> dict[str, Any]:
    """Fields of an Informer config (InformerConfig; modeling_informer.py)."""
    kind = r.data.get("attention_type", "prob")
    factor = None
    if kind == "prob":
        factor = r.int_("sampling_factor", what="ProbSparse's sampling factor")
    elif kind != "full":
        r.refuse("attention_type", f"{kind!r}: Informer's attention is 'prob' or 'full'")
    distil = r.data.get("distil", True)
    if not isinstance(distil, bool):
        r.refuse("distil", f"must be true or false (got {distil!r})")
    return _forecaster(r, "InformerEncoder and InformerDecoder", factor, distil is True)


def time_series(r: _Reader) -> dict[str, Any]:
    """Fields of a TimeSeriesTransformerConfig (modeling_time_series_transformer.py): Informer's
    layout with full attention and no distilling (``TimeSeriesTransformerEncoderLayer``,
    ``TimeSeriesTransformerDecoderLayer``: BART's post-norm layers)."""
    return _forecaster(
        r, "TimeSeriesTransformerEncoder and TimeSeriesTransformerDecoder", None, False
    )


def _forecaster(r: _Reader, classes: str, factor: int | None, distil: bool) -> dict[str, Any]:
    """The fields Informer and the Time Series Transformer share: the decoder runs the
    prediction window's tokens, the encoder the instance's seq_len (the context window)."""
    window = r.data.get("prediction_length")
    if window is None:
        r.refuse(
            "prediction_length",
            f"the prediction window (the decoder's tokens) is not stated: {classes} raise "
            "without it",
        )
    queries = r.int_("prediction_length") if window is not None else None
    context = r.data.get("context_length")
    if isinstance(context, int):
        r.assumed.append(
            f"context_length {context}: the encoder runs the instance's seq_len tokens (set it "
            "to the context length)"
        )
    return {
        "norm_position": "post",  # TimeSeriesTransformerEncoderLayer: add, then LayerNorm
        "decoder": False,
        "decoder_tokens": queries,
        "informer": InformerShape(sampling_factor=factor, distil=distil),
    }
