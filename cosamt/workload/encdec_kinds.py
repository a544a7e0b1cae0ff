"""Shapes of encoder-decoder structures beyond the plain cross-attention, held by
:class:`cosamt.workload.models.ModelConfig`; their operators are built by
:mod:`cosamt.workload.encdec_ops` (see ``docs/workloads.md``, "Encoder-decoder variants").

* :class:`CrossShape`: cross-attention with widths of its own (Dia's ``DiaCrossAttention``: K and
  V projected from the encoder's narrower output, its own heads and head dim).
* :class:`ConditionalQueries`: Conditional DETR's and DAB-DETR's decoder (content and spatial
  halves of Q and K concatenated per head in cross-attention, ``ConditionalDetrDecoderLayer``,
  ``DabDetrDecoderLayer``).
* :class:`NgramStreams`: ProphetNet's n-stream self-attention (``ProphetNetNgramSelfAttention``).
* :class:`InformerShape`: Informer's ProbSparse attention and distilling convolutions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from cosamt.limits import Heads, Width

QueryVariant = Literal["conditional", "dab"]


class CrossShape(BaseModel):
    """Cross-attention widths that differ from the decoder's self-attention (Dia)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kv_width: Width
    """Width of the encoder output K and V are projected from (Dia's ``cross_hidden_size``)."""
    n_heads: Heads
    """Query heads of the cross-attention (``cross_num_attention_heads``)."""
    n_kv_heads: Heads
    """Key/value heads of the cross-attention (``cross_num_key_value_heads``)."""
    head_dim: Width
    """Per-head features of the cross-attention (``cross_head_dim``)."""


class ConditionalQueries(BaseModel):
    """A DETR decoder whose queries carry a spatial part (Meng et al. 2021, Conditional DETR,
    arXiv:2108.06152; Liu et al. 2022, DAB-DETR, arXiv:2201.12329), as transformers builds it."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    variant: QueryVariant
    """``conditional`` (``ConditionalDetrDecoder``: reference points from the query embeddings
    once, ``query_scale`` on layers after the first) or ``dab`` (``DabDetrDecoder``: per layer
    ``ref_point_head`` on the anchors' sine embedding, ``query_scale`` after the first,
    ``ref_anchor_head``; ``DabDetrEncoder``: ``query_scale`` before every encoder layer)."""
    keep_query_pos: bool = False
    """DAB-DETR's ``keep_query_pos``: the cross-attention's query position projection on every
    layer (else on the first only)."""


class NgramStreams(BaseModel):
    """ProphetNet's decoder (Qi et al. 2020, arXiv:2001.04063; ``ProphetNetNgramSelfAttention``,
    ``ProphetNetDecoder``): ``ngram`` predicting streams beside the main stream, every stream's
    tokens through the layer's projections, cross-attention and FFN."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    ngram: Heads
    """Predicting streams (``ngram``): the decoder runs (1 + ngram) x its tokens."""
    buckets: Width
    """Relative position buckets (``num_buckets``): ``relative_pos_embeddings`` projects every
    stream's hidden state to buckets x heads position logits."""


class InformerShape(BaseModel):
    """Informer (Zhou et al. 2021, arXiv:2012.07436) as transformers builds it
    (``InformerProbSparseAttention``, ``InformerConvLayer``, ``InformerEncoder``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    sampling_factor: Width | None = None
    """ProbSparse self-attention's ``sampling_factor`` (``attention_type: prob``) in both halves;
    ``None``: full attention (``attention_type: full``)."""
    distil: bool = False
    """``distil``: an ``InformerConvLayer`` (Conv1d k=3, BatchNorm, ELU, MaxPool k=3 s=2) after
    every encoder layer but the last, halving the tokens (ceil(L / 2))."""
