"""Shape of a pyramid vision transformer (PVT v2, SegFormer's MiT encoder): stages of
spatial-reduction attention and Mix-FFN, each opened by an overlapping patch embedding. Held by
:class:`cosamt.workload.models.ModelConfig`; its operators are built by
:mod:`cosamt.workload.pyramid_ops` (see ``docs/workloads.md``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PositiveInt


class PyramidStage(BaseModel):
    """One stage: a ``kernel`` x ``kernel`` convolution with ``stride`` (padding kernel // 2) from
    the previous stage's channels to ``width``, then ``depth`` blocks of attention whose keys and
    values come from the grid reduced by ``sr_ratio`` (a ``sr_ratio`` x ``sr_ratio`` convolution
    with that stride, then a norm) and a Mix-FFN (``d_ff`` wide, a 3x3 depthwise convolution
    between its two projections), then a norm."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    depth: PositiveInt
    """Blocks of the stage."""
    width: PositiveInt
    """Channels (hidden size) of the stage."""
    heads: PositiveInt
    """Attention heads; ``width`` must be a multiple."""
    d_ff: PositiveInt
    """Mix-FFN width."""
    kernel: PositiveInt
    """Patch-embedding convolution side."""
    stride: PositiveInt
    """Patch-embedding convolution stride."""
    sr_ratio: PositiveInt
    """Spatial reduction of keys and values per side (1: none)."""


class Pyramid(BaseModel):
    """The stages of a pyramid vision transformer on a square ``image_side`` image of
    ``channels`` channels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image_side: PositiveInt
    """Input image side in pixels."""
    channels: PositiveInt
    """Input image channels."""
    stages: tuple[PyramidStage, ...]
    """The stages, in order."""

    def grids(self) -> list[int]:
        """Token-grid side of every stage (a padded strided convolution's output side)."""
        side, out = self.image_side, []
        for s in self.stages:
            side = (side + 2 * (s.kernel // 2) - s.kernel) // s.stride + 1
            out.append(side)
        return out
