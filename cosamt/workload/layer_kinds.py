"""Shapes of layer kinds beside plain attention: DeepSeek's sparse (indexed) attention and
Gated DeltaNet linear attention. Held by :class:`cosamt.workload.models.ModelConfig`; their
operators are built by :mod:`cosamt.workload.recurrent` (see ``docs/workloads.md``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PositiveInt = Annotated[int, Field(gt=0, strict=True)]


class Indexer(BaseModel):
    """The lightning indexer of DeepSeek sparse attention (DeepSeek-V3.2): ``heads`` query heads
    of ``head_dim`` features (from the query latent) score every key against one shared
    ``head_dim``-wide key; attention then reads the ``topk`` best keys per query."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    heads: PositiveInt
    """Indexer query heads (``index_n_heads``)."""
    head_dim: PositiveInt
    """Features per indexer head and of the shared indexer key (``index_head_dim``)."""
    topk: PositiveInt
    """Keys each query attends to (``index_topk``)."""
    rotary_dim: Annotated[int, Field(ge=0, strict=True)] = 0
    """Rotated features of the indexer's query heads and key (``qk_rope_head_dim``)."""


class LinearAttention(BaseModel):
    """Gated DeltaNet layers (Qwen3-Next, Qwen3.5): a recurrent ``k_dim`` x ``v_dim`` state per
    value head, a short causal convolution over Q, K and V, a gated RMSNorm on the output."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    layers: PositiveInt
    """Layers with linear attention (the others have full attention)."""
    k_heads: PositiveInt
    """Query/key heads (``linear_num_key_heads``)."""
    v_heads: PositiveInt
    """Value heads, one state each (``linear_num_value_heads``); a multiple of ``k_heads``."""
    k_dim: PositiveInt
    """Features per query/key head (``linear_key_head_dim``)."""
    v_dim: PositiveInt
    """Features per value head (``linear_value_head_dim``)."""
    conv_kernel: PositiveInt
    """Taps of the depthwise causal convolution (``linear_conv_kernel_dim``)."""
