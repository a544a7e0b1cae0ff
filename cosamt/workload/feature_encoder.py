"""Shape of a wav2vec 2.0 front-end (Baevski et al. 2020, arXiv:2006.11477, sec. 2) as
transformers' ``Wav2Vec2Model`` builds it (``models/wav2vec2/modeling_wav2vec2.py``): the
convolutional feature encoder on the raw waveform (``Wav2Vec2FeatureEncoder``: ``conv_dim``,
``conv_kernel``, ``conv_stride``; a GroupNorm on the first layer's output, ``feat_extract_norm``
``group``, or a LayerNorm after every layer, ``layer``; the ``feat_extract_activation`` after
each), the feature projection (``Wav2Vec2FeatureProjection``: LayerNorm of the last conv's
channels, Linear to the hidden size) and the convolutional position embedding
(``Wav2Vec2PositionalConvEmbedding``: a grouped Conv1d of ``num_conv_pos_embeddings`` taps in
``num_conv_pos_embedding_groups`` groups, padded by half its taps on each side, the extra last
frame of an even kernel dropped by ``Wav2Vec2SamePadLayer``, the activation, added to the
hidden states, then ``Wav2Vec2Encoder.layer_norm``). Held by
:class:`cosamt.workload.models.ModelConfig` (``feature_encoder``); its operators are built by
:mod:`cosamt.workload.feature_encoder_ops`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, PositiveInt, model_validator


class FeatureEncoder(BaseModel):
    """The convolutions before a wav2vec2-style encoder's transformer layers."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    channels: tuple[PositiveInt, ...]
    """Output channels of each feature-encoder convolution (``conv_dim``); one input channel
    (the waveform) into the first."""
    kernels: tuple[PositiveInt, ...]
    """Taps of each convolution (``conv_kernel``)."""
    strides: tuple[PositiveInt, ...]
    """Stride of each convolution (``conv_stride``); none is padded."""
    norm: Literal["group", "layer"]
    """``group``: a GroupNorm of one channel per group on the first convolution's output (each
    channel normalised over time); ``layer``: a LayerNorm over the channels after every one."""
    activation: str
    """After every convolution and the position convolution (``feat_extract_activation``)."""
    pos_taps: PositiveInt
    """Taps of the grouped position convolution (``num_conv_pos_embeddings``)."""
    pos_groups: PositiveInt
    """Its groups (``num_conv_pos_embedding_groups``)."""

    @model_validator(mode="after")
    def _check(self) -> FeatureEncoder:
        if not self.channels or not (len(self.channels) == len(self.kernels) == len(self.strides)):
            raise ValueError("feature_encoder: one kernel and stride per convolution, at least one")
        return self

    def lengths(self, samples: int) -> list[int]:
        """Frames after each convolution, from ``samples`` at the input (unpadded Conv1d)."""
        out = []
        for kernel, stride in zip(self.kernels, self.strides, strict=True):
            samples = (samples - kernel) // stride + 1
            out.append(samples)
        return out

    def input_samples(self, frames: int) -> int:
        """The fewest waveform samples the convolutions turn into ``frames`` frames: the
        receptive field plus (frames - 1) times the total stride."""
        for kernel, stride in zip(reversed(self.kernels), reversed(self.strides), strict=True):
            frames = (frames - 1) * stride + kernel
        return frames

    @property
    def pos_frames_extra(self) -> int:
        """Frames the position convolution computes beyond the input's (padding taps // 2 on
        each side: one more for an even kernel, dropped afterwards)."""
        return 2 * (self.pos_taps // 2) - self.pos_taps + 1
