"""Shapes of small structural add-ons to a Transformer block, held by
:class:`cosamt.workload.models.ModelConfig`; their operators are built by
:mod:`cosamt.workload.addons` (see ``docs/workloads.md``, "Small add-ons").

* :class:`Adapter`: X-MOD's per-language bottleneck adapter after each FFN (transformers'
  ``XmodAdapter`` in ``XmodOutput.lang_adapter``).
* :class:`MobileBottleneck`: MobileBERT's bottlenecked block (``MobileBertLayer``), built by
  :mod:`cosamt.workload.mobilebert`.
* :class:`ConvGroups`: SqueezeBERT's grouped 1x1 convolutions (``SqueezeBertModule``), built by
  :mod:`cosamt.workload.squeezebert`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, PositiveInt

from cosamt.limits import Width

# What ``ModelConfig.sliding_window`` caps: a causal band (``sliding``), a bidirectional band
# (``bidirectional``: OpenAI's privacy filter, |q - k| <= w), or the keys of the query's chunk
# (``chunked``: Llama 4's block-diagonal causal attention).
WindowKind = Literal["sliding", "chunked", "bidirectional"]
# A sigmoid gate on the attention output from its own projection of the layer input: one gate per
# output feature (AFMoE's ``gate_proj``) or one per head (LFM3's ``g_proj``).
AttentionGate = Literal["element", "head"]


class Adapter(BaseModel):
    """A bottleneck adapter after the FFN's residual add (X-MOD, Pfeiffer et al. 2022,
    arXiv:2205.06266): optionally a LayerNorm of the sum, ``dense1`` (hidden -> ``width``), the
    model's activation, ``dense2`` (``width`` -> hidden), a residual add. One adapter per language;
    each token runs its language's adapter only."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    width: Width
    """Bottleneck width (``hidden_size // adapter_reduction_factor``)."""
    norm: bool = True
    """A LayerNorm before the adapter (``adapter_layer_norm``, or the FFN's own reused:
    ``adapter_reuse_layer_norm``)."""
    languages: PositiveInt = 1
    """Adapters per layer (``len(languages)``); one runs per token."""


class MobileBottleneck(BaseModel):
    """MobileBERT's block (Sun et al. 2020, arXiv:2004.02984; transformers' ``MobileBertLayer``):
    the hidden state squeezed to ``inner`` features (``Bottleneck``), attention and ``ffns``
    stacked FFNs at that width, each sublayer post-normed, and the output expanded back
    (``OutputBottleneck``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    inner: Width
    """Width inside the block (``true_hidden_size``: ``intra_bottleneck_size`` with
    ``use_bottleneck``, else the hidden size)."""
    bottleneck: bool = True
    """``use_bottleneck``: the input and output bottlenecks (hidden <-> ``inner``)."""
    shared_qk: bool = True
    """``key_query_shared_bottleneck``: Q and K from a second bottleneck of the hidden state,
    V from the hidden state itself."""
    bottleneck_attention: bool = False
    """``use_bottleneck_attention``: Q, K and V all from the input bottleneck."""
    ffns: PositiveInt = 4
    """``num_feedforward_networks``: FFNs per block (the last one's output feeds the output
    bottleneck)."""
    no_norm: bool = True
    """``normalization_type`` ``no_norm``: every norm is ``NoNorm``, x * w + b (2 ops per
    element); else LayerNorm."""


class ConvGroups(BaseModel):
    """SqueezeBERT (Iandola et al. 2020, arXiv:2006.11316; transformers' ``SqueezeBertModule``):
    every projection a 1x1 convolution of ``groups`` groups, block-diagonal: each group's
    ``in / groups`` channels map to its ``out / groups`` channels only."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    q: PositiveInt = 4
    """Groups of the query convolution (``q_groups``)."""
    k: PositiveInt = 4
    """Groups of the key convolution (``k_groups``)."""
    v: PositiveInt = 4
    """Groups of the value convolution (``v_groups``)."""
    post: PositiveInt = 1
    """Groups of the attention output convolution (``post_attention_groups``)."""
    intermediate: PositiveInt = 4
    """Groups of the FFN's first convolution (``intermediate_groups``)."""
    output: PositiveInt = 4
    """Groups of the FFN's second convolution (``output_groups``)."""
