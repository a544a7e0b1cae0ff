"""Shape of a pyramid vision transformer (PVT, PVT v2, SegFormer's MiT encoder): stages of
spatial-reduction attention and an FFN (a Mix-FFN in PVT v2 and SegFormer), each opened by a
patch embedding (overlapping in PVT v2 and SegFormer). Held by
:class:`cosamt.workload.models.ModelConfig`; its operators are built by
:mod:`cosamt.workload.pyramid_ops` (see ``docs/workloads.md``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt


class PyramidStage(BaseModel):
    """One stage: a ``kernel`` x ``kernel`` convolution with ``stride`` and ``padding`` from the
    previous stage's channels to ``width`` (then a norm), then ``depth`` blocks of attention whose
    keys and values come from the grid reduced by ``sr_ratio`` (a ``sr_ratio`` x ``sr_ratio``
    convolution with that stride, then a norm) and an FFN ``d_ff`` wide (a Mix-FFN: a 3x3
    depthwise convolution between its two projections, when ``mix_ffn``), then a norm when
    ``closing_norm``."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    depth: PositiveInt
    """Blocks of the stage."""
    width: PositiveInt
    """Channels (hidden size) of the stage."""
    heads: PositiveInt
    """Attention heads; ``width`` must be a multiple."""
    d_ff: PositiveInt
    """FFN width."""
    kernel: PositiveInt
    """Patch-embedding convolution side."""
    stride: PositiveInt
    """Patch-embedding convolution stride."""
    sr_ratio: PositiveInt
    """Spatial reduction of keys and values per side (1: none)."""
    padding: NonNegativeInt
    """Patch-embedding convolution padding per side."""
    mix_ffn: bool = True
    """A 3x3 depthwise convolution between the FFN's projections (PVT v2, SegFormer)."""
    class_token: bool = False
    """A class token joins the patch tokens (PVT v1's last stage); needs ``sr_ratio`` 1."""
    closing_norm: bool = True
    """A norm closes the stage (PVT v1: after the last stage only)."""


class Pyramid(BaseModel):
    """The stages of a pyramid vision transformer on a square ``image_side`` image of
    ``channels`` channels."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

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
            side = (side + 2 * s.padding - s.kernel) // s.stride + 1
            out.append(side)
        return out
