"""Shapes of convolutional / hierarchical vision transformers held by
``ModelConfig.vision_stages`` (one of the specs below, told apart by ``kind``); their operators
are built by :mod:`cosamt.workload.vision_stage_ops`, read from Hugging Face configs by
:mod:`cosamt.workload.hf_vision_stages` (see ``docs/workloads.md``).

* :class:`Cvt`: CvT (Wu et al. 2021, arXiv:2103.15808; transformers' modeling_cvt.py): per stage
  a convolutional token embedding (``CvtConvEmbeddings``: a strided, padded convolution, then a
  LayerNorm) and blocks whose Q, K and V come from depthwise convolutions with batch norm
  (``CvtSelfAttentionConvProjection``, K and V strided) before their linear projections.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt


def conv_side(side: int, kernel: int, stride: int, padding: int) -> int:
    """Output side of a padded strided convolution (torch's Conv2d)."""
    return (side + 2 * padding - kernel) // stride + 1


class CvtStage(BaseModel):
    """One CvT stage (``CvtStage``): the token embedding from the previous stage's channels,
    then ``depth`` blocks (``CvtLayer``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    depth: PositiveInt
    """Blocks of the stage (``depth[i]``)."""
    width: PositiveInt
    """Channels of the stage (``embed_dim[i]``)."""
    heads: PositiveInt
    """Attention heads (``num_heads[i]``); must divide ``width``."""
    d_ff: PositiveInt
    """MLP width (``int(embed_dim[i] * mlp_ratio[i])``)."""
    patch: PositiveInt
    """Token-embedding convolution side (``patch_sizes[i]``)."""
    patch_stride: PositiveInt
    """Its stride (``patch_stride[i]``)."""
    patch_padding: NonNegativeInt
    """Its padding (``patch_padding[i]``)."""
    qkv_kernel: PositiveInt
    """Side of the depthwise Q/K/V convolutions (``kernel_qkv[i]``)."""
    kv_stride: PositiveInt
    """Stride of the K and V convolutions (``stride_kv[i]``)."""
    kv_padding: NonNegativeInt
    """Their padding (``padding_kv[i]``)."""
    q_padding: NonNegativeInt
    """Padding of the Q convolution (stride 1: the queries keep the grid)."""
    class_token: bool = False
    """A class token joins the stage's tokens (``cls_token[i]``): not convolved, it is a query,
    a key and a value."""


class Cvt(BaseModel):
    """CvT's stages on a square ``image_side`` image of ``channels`` channels."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kind: Literal["cvt"] = "cvt"
    image_side: PositiveInt
    """Input image side in pixels."""
    channels: PositiveInt
    """Input image channels."""
    stages: tuple[CvtStage, ...]
    """The stages, in order."""

    def grids(self) -> list[tuple[int, int]]:
        """Per stage: (token-grid side, key/value grid side)."""
        side, out = self.image_side, []
        for s in self.stages:
            side = conv_side(side, s.patch, s.patch_stride, s.patch_padding)
            out.append((side, conv_side(side, s.qkv_kernel, s.kv_stride, s.kv_padding)))
        return out

    def check(self) -> None:
        """Raise ValueError where the shapes do not compose (``ModelConfig`` calls it)."""
        for i, (s, (side, kv)) in enumerate(zip(self.stages, self.grids(), strict=True), start=1):
            if s.width % s.heads:
                raise ValueError(f"cvt stage {i}: {s.heads} heads do not divide {s.width}")
            if side < 1 or kv < 1:
                raise ValueError(f"cvt stage {i}: the image leaves no tokens")
            if conv_side(side, s.qkv_kernel, 1, s.q_padding) != side:
                raise ValueError(f"cvt stage {i}: the query convolution must keep the grid")

    @property
    def layers(self) -> int:
        return sum(s.depth for s in self.stages)

    @property
    def first(self) -> tuple[int, int, int]:
        """Stage 1's width, heads and MLP width."""
        s = self.stages[0]
        return s.width, s.heads, s.d_ff

    @property
    def first_tokens(self) -> int:
        """Stage 1's tokens (its grid and class token)."""
        return self.grids()[0][0] ** 2 + (1 if self.stages[0].class_token else 0)


VisionStages = Cvt  # one spec per family, told apart by ``kind``
