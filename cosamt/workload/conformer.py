"""Shape of a conformer speech encoder (Gulati et al. 2020, arXiv:2005.08100; the Fast Conformer
of Rekesh et al. 2023, arXiv:2305.05084) as transformers' ``ParakeetEncoder`` builds it
(``models/parakeet/modeling_parakeet.py``): a convolutional subsampling front-end
(``ParakeetEncoderSubsamplingConv2D``), then blocks of a half-step FFN, relative-position
self-attention (``ParakeetEncoderAttention``), a convolution module
(``ParakeetEncoderConvolutionModule``), a half-step FFN and a closing norm
(``ParakeetEncoderBlock``). Held by :class:`cosamt.workload.models.ModelConfig` (the encoder's
own shape); its operators are built by :mod:`cosamt.workload.conformer_ops` (see
``docs/workloads.md``).

NVIDIA's streaming conformer (``NemotronAsrStreamingEncoder``,
``models/nemotron_asr_streaming/modeling_nemotron_asr_streaming.py``) is the same block with
three differences (``causal``): the front-end's convolutions are causal
(``NemotronAsrStreamingEncoderCausalConv2D``: ``kernel - 1`` frames of padding before and
``stride - 1`` after, on the time and the frequency axis), the convolution module's depthwise
convolution is causal and followed by a LayerNorm in place of the batch norm
(``NemotronAsrStreamingEncoderConvolutionModule``), and attention is masked to chunks
(``chunked_limited_mask_function``: chunks of ``lookahead + 1`` frames, each query seeing its own
chunk and ``(sliding_window - 1) // (lookahead + 1)`` chunks before it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt, model_validator


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
    causal: bool = False
    """NVIDIA's streaming conformer: causal front-end and depthwise convolutions, a LayerNorm in
    the convolution module, attention masked to chunks (``left_context``, ``lookahead``)."""
    left_context: NonNegativeInt | None = None
    """Streaming: frames of left attention context (``sliding_window - 1``)."""
    lookahead: NonNegativeInt | None = None
    """Streaming: frames of right context (``default_num_lookahead_tokens``); chunks of
    ``lookahead + 1`` frames."""

    @model_validator(mode="after")
    def _check_streaming(self) -> Conformer:
        if self.causal != (self.left_context is not None and self.lookahead is not None):
            raise ValueError("conformer: causal needs left_context and lookahead, and only it")
        return self

    @property
    def total_padding(self) -> int:
        """Padding of every front-end convolution along one axis: (kernel - 1) // 2 per side
        (``ParakeetEncoderSubsamplingConv2D``), or kernel - 1 before and stride - 1 after
        (``NemotronAsrStreamingEncoderCausalConv2D``)."""
        if self.causal:
            return self.sub_kernel - 1 + self.sub_stride - 1
        return 2 * ((self.sub_kernel - 1) // 2)

    def out_length(self, length: int) -> int:
        """A front-end convolution's output length along one axis (PyTorch's Conv2d)."""
        return (length + self.total_padding - self.sub_kernel) // self.sub_stride + 1

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

    def input_frames(self, tokens: int) -> int:
        """Mel frames the front-end runs on for ``tokens`` encoder frames: ``tokens`` x the
        factor (Parakeet); for the causal front-end, whose padding adds a frame, the most that
        subsample to ``tokens`` (0 if none)."""
        if not self.causal:
            return tokens * self.input_frames_per_token
        top = (tokens + 1) * self.input_frames_per_token
        return next((n for n in range(top, 0, -1) if self.lengths(n)[-1] == tokens), 0)

    @property
    def chunk_keys(self) -> int | None:
        """Streaming: the most keys a query's chunk-limited mask keeps (its chunk and the
        chunks of left context)."""
        if self.left_context is None or self.lookahead is None:
            return None
        chunk = self.lookahead + 1
        return (self.left_context // chunk + 1) * chunk
