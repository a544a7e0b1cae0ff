"""Shape of a conformer speech encoder (Gulati et al. 2020, arXiv:2005.08100; the Fast Conformer
of Rekesh et al. 2023, arXiv:2305.05084) as transformers' ``ParakeetEncoder`` builds it
(``models/parakeet/modeling_parakeet.py``): a convolutional subsampling front-end
(``ParakeetEncoderSubsamplingConv2D``), then blocks of a half-step FFN, relative-position
self-attention (``ParakeetEncoderAttention``), a convolution module
(``ParakeetEncoderConvolutionModule``), a half-step FFN and a closing norm
(``ParakeetEncoderBlock``). Held by :class:`cosamt.workload.models.ModelConfig` (the encoder's
own shape); its operators are built by :mod:`cosamt.workload.conformer_ops` (see
``docs/workloads.md``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PositiveInt


class Conformer(BaseModel):
    """The fields of a conformer encoder the generic ones do not give: the convolution module's
    depthwise kernel and the subsampling front-end's convolutions."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    conv_kernel: PositiveInt
    """Taps of the convolution module's depthwise convolution (``conv_kernel_size``)."""
    sub_layers: PositiveInt
    """Strided convolutions of the front-end: log2(``subsampling_factor``); the first a full
    convolution from one input channel, each further one depthwise then pointwise."""
    sub_channels: PositiveInt
    """Channels of the front-end's convolutions (``subsampling_conv_channels``)."""
    sub_kernel: PositiveInt
    """Side of the front-end's square kernels (``subsampling_conv_kernel_size``)."""
    sub_stride: PositiveInt
    """Stride of the front-end's convolutions in time and frequency
    (``subsampling_conv_stride``)."""
    mel_bins: PositiveInt
    """Mel features per input frame (``num_mel_bins``): the front-end's frequency axis."""

    @property
    def padding(self) -> int:
        """Padding per side of every front-end convolution: (kernel - 1) // 2, as the source."""
        return (self.sub_kernel - 1) // 2

    def out_length(self, length: int) -> int:
        """A front-end convolution's output length along one axis (PyTorch's Conv2d)."""
        return (length + 2 * self.padding - self.sub_kernel) // self.sub_stride + 1

    def lengths(self, length: int) -> list[int]:
        """The axis' length after each front-end convolution, from ``length`` at the input."""
        out = []
        for _ in range(self.sub_layers):
            length = self.out_length(length)
            out.append(length)
        return out

    @property
    def input_frames_per_token(self) -> int:
        """Mel frames per encoder frame: stride ** layers (the subsampling factor)."""
        return int(self.sub_stride**self.sub_layers)
