"""Multi-scale deformable attention (Zhu et al., "Deformable DETR", ICLR 2021, eq. 3) as
transformers computes it (``DeformableDetrMultiscaleDeformableAttention`` in
``models/deformable_detr/modeling_deformable_detr.py``; ``RTDetrMultiscaleDeformableAttention``,
``RTDetrV2MultiscaleDeformableAttention``, ``DFineMultiscaleDeformableAttention``,
``Deimv2MultiscaleDeformableAttention`` and the PP-DocLayout copies).

Each query attends to a few sampled points of every feature level instead of to every key:
a value projection of the value tokens (all feature levels' pixels), a linear layer from each
query to ``heads x samples x 2`` sampling offsets and one to ``heads x samples`` attention
weights (a softmax over a head's samples), a bilinear sampling of the values at every sampled
location (``grid_sample``: a data-dependent gather of four neighbours per sample and channel),
the weighted sum over the samples, and the output projection. D-FINE and DEIMv2 sample the
decoder's input memory as is (no value or output projection) and replace the residual add and
norm after it by a gate (``DFineGate``: a ``2d -> 2d`` projection of [residual, output],
a sigmoid and a gated sum, then the norm).

Held by :class:`cosamt.workload.models.ModelConfig` (``deformable``): on an encoder's own shape
its self-attention is deformable (Deformable DETR's encoder: queries are the value tokens);
on the encoder-decoder model its decoder's cross-attention is. Operators:
:mod:`cosamt.workload.deformable_ops`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt


class Deformable(BaseModel):
    """The fields of a deformable attention the generic ones do not give."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    points: tuple[PositiveInt, ...] = Field(min_length=1)
    """Sampling points per head of every sampled feature level (``decoder_n_points`` /
    ``encoder_n_points`` repeated over ``num_feature_levels``, or D-FINE's per-level list)."""
    value_proj: bool = True
    """The values are projected (``value_proj``) before sampling; D-FINE and DEIMv2 sample the
    encoder's output as is."""
    output_proj: bool = True
    """The sampled sum is projected (``output_proj``); not in D-FINE and DEIMv2."""
    gateway: bool = False
    """D-FINE's / DEIMv2's gate (``DFineGate``) in place of the residual add after the
    cross-attention: ``sigmoid(W [residual, output])`` split in two, ``g1 * residual + g2 *
    output``, then the norm."""
    value_tokens: PositiveInt = 1
    """The decoder's value tokens (all feature levels' pixels) per token of the instance's
    ``seq_len``: 1 when ``seq_len`` counts every level's pixels (Deformable DETR, whose encoder
    runs over all of them), ``sum (s_top / s_l)^2`` over the levels' strides when ``seq_len``
    is the top level's (RT-DETR's AIFI encoder attends over that level only)."""
    text_tokens: PositiveInt | None = None
    """Grounding DINO: text tokens fused into every encoder layer (``GroundingDinoFusionLayer``:
    bi-directional vision-text attention; ``GroundingDinoTextEnhancerLayer``: self-attention and
    FFN of the text) and cross-attended by every decoder layer (``encoder_attn_text``);
    ``None``: no text."""
    text_width: PositiveInt | None = None
    """Grounding DINO's encoder: the text tower's hidden size, projected to ``d_model``
    (``text_projection``) once before the layers; ``None``: no text tower modelled."""

    @property
    def samples(self) -> int:
        """Sampled locations per query and head, over all levels."""
        return sum(self.points)
