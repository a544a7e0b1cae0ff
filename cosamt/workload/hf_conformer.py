"""Conformer speech encoders in Hugging Face configs (transformers' ``ParakeetEncoderConfig``,
``models/parakeet/configuration_parakeet.py``; the blocks of ``modeling_parakeet.py``): the
generic fields (hidden size, heads, layers, ``intermediate_size``, ``hidden_act``) plus the
convolution module's kernel and the subsampling front-end, read into
:class:`cosamt.workload.conformer.Conformer`.

The encoder sub-config of Canary, Cohere ASR and the Parakeet CTC / RNN-T / TDT composites is
a ``parakeet_encoder``. NVIDIA's streaming encoder (``nemotron_asr_streaming_encoder``,
transformers' ``NemotronAsrStreamingEncoderConfig`` / ``NemotronAsrStreamingEncoder``,
``models/nemotron_asr_streaming/``; the encoder of ``nemotron_asr_streaming`` and
``nemotron3_5_asr``) is the same conformer with causal convolutions, a LayerNorm in the
convolution module and chunk-limited attention (``sliding_window`` - 1 frames of left context,
chunks of ``default_num_lookahead_tokens`` + 1 frames): ``Conformer.causal``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from cosamt.workload.conformer import Conformer

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

# model_type -> the conformer of transformers' ParakeetEncoder, or its streaming variant.
STREAMING_TYPES = frozenset({"nemotron_asr_streaming_encoder"})
CONFORMER_TYPES = frozenset({"parakeet_encoder"}) | STREAMING_TYPES
REFUSED: dict[str, tuple[str, str]] = {}
# Read here, not by the generic reader: the streaming encoder's attention context.
READ_KEYS = frozenset({"conv_kernel_size", "sliding_window"})


def fields(r: _Reader, model_type: str) -> dict[str, Any]:
    """A conformer encoder's own fields: ``conformer``, bidirectional, no vocabulary."""
    if model_type in REFUSED:
        r.refuse(*REFUSED[model_type])
        return {}
    kernel = r.int_("conv_kernel_size", what="convolution-module kernel")
    factor = r.int_("subsampling_factor", what="subsampling factor")
    channels = r.int_("subsampling_conv_channels", what="subsampling channels")
    sub_kernel = r.int_("subsampling_conv_kernel_size", what="subsampling kernel")
    stride = r.int_("subsampling_conv_stride", what="subsampling stride")
    mel = r.int_("num_mel_bins", what="mel bins")
    if None in (kernel, factor, channels, sub_kernel, stride, mel):
        return {}
    assert factor is not None and stride is not None and mel is not None
    layers = round(math.log2(factor))
    if 2**layers != factor or layers < 1:
        # The source takes int(log2(factor)) strided convolutions: a factor that is not a power
        # of two would not subsample by itself.
        r.refuse("subsampling_factor", f"{factor} is not a power of two (2, 4, 8, ...)")
        return {}
    assert kernel is not None and channels is not None and sub_kernel is not None
    streaming = _streaming(r) if model_type in STREAMING_TYPES else {}
    if streaming is None:
        return {}
    conf = Conformer(conv_kernel=kernel, sub_layers=layers, sub_channels=channels,
                     sub_kernel=sub_kernel, sub_stride=stride, mel_bins=mel,
                     **streaming)  # fmt: skip
    # NemotronAsrStreamingEncoderConfig.subsampling_out_hidden_size sizes its linear layer from
    # the causal lengths themselves: it always runs.
    if not conf.causal and conf.lengths(mel)[-1] != mel // stride**layers:
        # ParakeetEncoderSubsamplingConv2D sizes its linear layer from mel // stride**layers.
        r.refuse(
            "num_mel_bins",
            f"{mel} mel bins leave {conf.lengths(mel)[-1]} bins after the front-end, but its "
            f"linear layer reads {mel // stride**layers} (the model would not run)",
        )
        return {}
    # The streaming encoder's sliding_window is its attention context (in conf), not a window.
    return {"conformer": conf, "decoder": False, "vocab_size": None, "sliding_window": None}


def _streaming(r: _Reader) -> dict[str, Any] | None:
    """NemotronAsrStreamingEncoder's attention context: ``sliding_window`` - 1 frames of left
    context (``_resolve_attn_context``), ``default_num_lookahead_tokens`` of lookahead."""
    window = r.int_("sliding_window", what="streaming attention window")
    lookahead = r.data.get("default_num_lookahead_tokens")
    if isinstance(lookahead, bool) or not isinstance(lookahead, int) or lookahead < 0:
        r.refuse("default_num_lookahead_tokens", f"must be a non-negative integer ({lookahead!r})")
        return None
    if window is None:
        return None
    return {"causal": True, "left_context": window - 1, "lookahead": lookahead}
