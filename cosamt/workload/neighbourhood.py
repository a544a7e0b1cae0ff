"""Dilated neighbourhood attention transformers (DiNAT: Hassani and Shi 2022, arXiv:2209.15001;
transformers' ``DinatModel``, modeling_dinat.py): Swin-like stages whose attention is
neighbourhood attention (NATTEN's ``natten2dqkrpb`` / ``natten2dav``): every token attends to
exactly ``kernel`` x ``kernel`` keys, its (dilated) neighbourhood, clamped inside the grid.

Shape (:class:`Neighbourhood`, held by ``ModelConfig.neighbourhood``) and operators:

* a layer (``DinatLayer``): ``layernorm_before``; when the grid is smaller than the dilated
  window (``kernel x dilation``) ``maybe_pad`` pads it to that side, and the attention's
  ``query`` / ``key`` / ``value`` projections, scores (``kernel^2`` per query), P.V and output
  ``dense`` run on the padded grid, then it is cropped; residual; ``layernorm_after``; the MLP
  (``mlp_ratio`` x width); residual. Layers of a stage that pad alike are one block type;
* between stages ``DinatDownsampler``: a 3 x 3 convolution of stride 2 (padding 1) from C to 2C
  channels, counted as a GEMM over each output token's 3 x 3 x C patch, then a LayerNorm.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from cosamt.workload.einsum import Einsum

if TYPE_CHECKING:
    from cosamt.workload.models import ModelConfig
    from cosamt.workload.transformer import BlockPlan

PositiveInt = Annotated[int, Field(gt=0, strict=True)]
DOWNSAMPLE_TAPS = 9  # DinatDownsampler's 3 x 3 convolution


class NeighbourhoodStage(BaseModel):
    """One stage: its layers' dilations (one per layer) and attention heads."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    heads: PositiveInt
    """Attention heads of the stage (``num_heads[i]``)."""
    dilations: tuple[PositiveInt, ...]
    """Dilation of each layer's neighbourhood (``dilations[i]``; its length is the depth)."""


class Neighbourhood(BaseModel):
    """DiNAT's stages: stage ``i`` has width ``d_model x 2^i`` on a grid that each downsampler
    takes from side ``s`` to ``(s - 1) // 2 + 1``; ``ModelConfig.image_tokens`` is stage 1's grid."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kernel: PositiveInt
    """Neighbourhood side (``kernel_size``): ``kernel^2`` keys per query."""
    mlp_ratio: Annotated[float, Field(gt=0)]
    """MLP width over the stage's width (``mlp_ratio``)."""
    stages: tuple[NeighbourhoodStage, ...]
    """The stages, in order."""


def grids(first: int, stages: int) -> list[int]:
    """Grid side of every stage from stage 1's (the downsampler: stride 2, padding 1, 3 x 3)."""
    sides = [first]
    for _ in range(stages - 1):
        sides.append((sides[-1] - 1) // 2 + 1)
    return sides


def stages(model: ModelConfig, b: int) -> list[tuple[BlockPlan, tuple[Einsum, ...]]]:
    """Per stage: its layer blocks (grouped by padded side), then the downsampler."""
    from cosamt.workload import transformer as t  # it imports this module

    spec = model.neighbourhood
    assert spec is not None
    sides = grids(math.isqrt(model.image_tokens or 0), len(spec.stages))
    out: list[tuple[BlockPlan, tuple[Einsum, ...]]] = []
    for i, (stage, side) in enumerate(zip(spec.stages, sides, strict=True)):
        width = model.d_model * 2**i
        shaped = model.model_copy(update={"d_model": width, "n_heads": stage.heads})
        d_ff = int(spec.mlp_ratio * width)
        padded = [max(side, spec.kernel * dil) for dil in stage.dilations]
        kinds = sorted(set(padded))
        for pad in kinds:
            count = padded.count(pad)
            p = f"s{i + 1}." if len(kinds) == 1 else f"s{i + 1}.pad{pad}."
            note = f", padded to {pad}x{pad} for attention" if pad > side else ""
            label = f"stage {i + 1} ({side}x{side} tokens, {spec.kernel}x{spec.kernel} neighbourhoods{note})"
            plan = t.BlockPlan(p, label, count, side * side, spec.kernel**2, False, False)
            out.append((plan, tuple(_layer(shaped, p, b, side, pad, d_ff, count))))
        if i + 1 < len(spec.stages):
            merged = sides[i + 1] ** 2
            p = f"down{i + 1}."
            plan = t.BlockPlan(p, f"downsampler {i + 1} -> {i + 2}", 1, merged, 0, False, False)
            ops = (
                t._projection(f"{p}conv", b, merged, DOWNSAMPLE_TAPS * width, 2 * width, 1),
                t._norm(f"{p}norm", model.norm, b, merged, 2 * width, 1),
            )
            out.append((plan, ops))
    return out


def _layer(
    model: ModelConfig, p: str, b: int, side: int, pad: int, d_ff: int, c: int
) -> list[Einsum]:
    """One DinatLayer on a side x side grid, its attention on the pad x pad one."""
    from cosamt.workload import transformer as tr  # it imports this module

    assert model.neighbourhood is not None
    m, attended, w = side * side, pad * pad, model.d_model
    return [
        tr._norm(f"{p}norm1", model.norm, b, m, w, c),
        tr._projection(f"{p}qkv_proj", b, attended, w, 3 * w, c),
        *tr._attention_core(model, p, b, attended, model.neighbourhood.kernel**2, c),
        tr._projection(f"{p}out_proj", b, attended, w, w, c),
        tr._residual(f"{p}residual1", b, m, w, c),
        tr._norm(f"{p}norm2", model.norm, b, m, w, c),
        *tr._dense_ffn(model, p, b, m, d_ff, c),
        tr._residual(f"{p}residual2", b, m, w, c),
    ]


def assumptions() -> list[str]:
    return [
        "neighbourhood attention: every query's kernel x kernel (dilated) neighbours, exactly "
        "kernel^2 keys as NATTEN computes them (its K/V tiles counted as kernel^2 keys per query, "
        "not the grid); the relative position bias (one add per score) not counted; the "
        "downsampler's 3x3 stride-2 convolution counted as a GEMM over each output token's "
        "im2col patch (exact MACs); the patch embedding (two 3x3 stride-2 convolutions), the "
        "final norm and the pooler are not modelled (stages only)"
    ]
