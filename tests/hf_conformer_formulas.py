"""MACs of a conformer speech encoder, written from the paper and transformers' modelling code
(read for this test, not from cosamt): Gulati et al. 2020 (arXiv:2005.08100, Fig. 1-2: FFN/2,
MHSA with relative positions, convolution module, FFN/2) as ``modeling_parakeet.py`` builds it.
Used by tests/test_hf_corpus.py and tests/test_conformer.py."""

from __future__ import annotations

import math
from typing import Any

CONFORMER = ("parakeet_encoder", "nemotron_asr_streaming_encoder")
STREAMING = ("nemotron_asr_streaming_encoder",)


def _conv_out(length: int, kernel: int, stride: int) -> int:
    """torch.nn.Conv2d's output length with padding (kernel - 1) // 2 per side."""
    return (length + 2 * ((kernel - 1) // 2) - kernel) // stride + 1


def _causal_out(length: int, kernel: int, stride: int) -> int:
    """NemotronAsrStreamingEncoderCausalConv2D: padded by kernel - 1 before and stride - 1 after
    (time_pad, freq_pad), then an unpadded Conv2d."""
    return (length + (kernel - 1) + (stride - 1) - kernel) // stride + 1


def streaming_frontend_macs(cfg: dict[str, Any], t: int) -> int:
    """NemotronAsrStreamingEncoderSubsamplingConv2D: conv_in (Conv2d(1, C, k, s), causal), then
    per further layer a causal depthwise Conv2d(C, C, k, s, groups=C) and a pointwise
    Conv2d(C, C, 1), then Linear(subsampling_out_hidden_size, hidden) on the t frames. Its input:
    the most mel frames whose causal lengths end at t (the causal padding adds a frame: 8t mel
    frames would give t + 1)."""
    c, k, s = (cfg[f"subsampling_conv_{x}"] for x in ("channels", "kernel_size", "stride"))
    layers = int(math.log2(cfg["subsampling_factor"]))

    def subsampled(length: int) -> list[int]:
        out = []
        for _ in range(layers):
            length = _causal_out(length, k, s)
            out.append(length)
        return out

    mel = max(n for n in range(1, (t + 1) * cfg["subsampling_factor"]) if subsampled(n)[-1] == t)
    times, freqs = subsampled(mel), subsampled(cfg["num_mel_bins"])
    total = 0
    for i, (time, freq) in enumerate(zip(times, freqs, strict=True)):
        total += time * freq * c * k * k + (time * freq * c * c if i else 0)
    return total + t * c * freqs[-1] * cfg["hidden_size"]


def frontend_macs(cfg: dict[str, Any], t: int) -> int:
    """ParakeetEncoderSubsamplingConv2D on subsampling_factor x t mel frames: Conv2d(1, C, k,
    stride s) then per further layer a depthwise Conv2d(C, C, k, s, groups=C) and a pointwise
    Conv2d(C, C, 1), then Linear(C * (mel // s**layers), hidden) on the t frames."""
    c, k, s = (cfg[f"subsampling_conv_{x}"] for x in ("channels", "kernel_size", "stride"))
    layers = int(math.log2(cfg["subsampling_factor"]))
    time, freq = cfg["subsampling_factor"] * t, cfg["num_mel_bins"]
    total = 0
    for i in range(layers):
        time, freq = _conv_out(time, k, s), _conv_out(freq, k, s)
        # One input channel into the first convolution, one per channel in the depthwise ones:
        # k x k MACs per output element either way; the pointwise ones C per output element.
        total += time * freq * c * k * k + (time * freq * c * c if i else 0)
    assert time == t
    return total + t * c * (cfg["num_mel_bins"] // s**layers) * cfg["hidden_size"]


def block_macs(cfg: dict[str, Any], t: int) -> int:
    """ParakeetEncoderBlock at t frames. Two FFNs (linear1, linear2 of intermediate_size).
    ParakeetEncoderAttention: q, k, v projections; relative_k_proj of the 2t - 1 relative
    position embeddings (Transformer-XL's W_{k,R}, Dai et al. 2019 sec. 3.3); the content scores
    (q + u) k^T over t keys and the position scores (q + v) R^T over all 2t - 1 positions (the
    relative shift then keeps t); P.V; o_proj. ParakeetEncoderConvolutionModule:
    pointwise_conv1 (hidden -> 2 hidden), the depthwise conv of conv_kernel_size taps,
    pointwise_conv2 (hidden -> hidden)."""
    d, heads, ff = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
    kv = cfg.get("num_key_value_heads") or heads
    dh = cfg.get("head_dim") or d // heads
    positions = 2 * t - 1
    ffn = 2 * (t * d * ff + t * ff * d)
    attn = t * d * (heads + 2 * kv) * dh + positions * d * heads * dh
    attn += heads * t * t * dh + heads * t * positions * dh + heads * t * t * dh
    attn += t * heads * dh * d
    conv = t * d * 2 * d + t * d * cfg["conv_kernel_size"] + t * d * d
    return ffn + attn + conv


def conformer_macs(cfg: dict[str, Any], t: int) -> int:
    """The whole encoder: the front-end, then num_hidden_layers blocks. The streaming
    conformer's block (NemotronAsrStreamingEncoderBlock) has the same MACs as Parakeet's: its
    causal depthwise conv (left-padded by kernel - 1) still has conv_kernel_size taps per output
    frame, its LayerNorm replaces a batch norm (no MACs either), and the chunk-limited mask is
    added to the full t x t scores (eager_attention_forward computes them all)."""
    front = streaming_frontend_macs if cfg["model_type"] in STREAMING else frontend_macs
    return front(cfg, t) + cfg["num_hidden_layers"] * block_macs(cfg, t)


TRANSDUCER = ("parakeet_tdt", "parakeet_rnnt", "nemotron_asr_streaming", "nemotron3_5_asr")


def tdt_macs(cfg: dict[str, Any], frames: int, tokens: int) -> int:
    """ParakeetForTDT.forward (ParakeetForRNNT.forward: ``durations`` absent) beyond its encoder, at ``frames`` encoder frames and ``tokens``
    decoder tokens: encoder_projector (encoder hidden -> decoder_hidden_size) per frame;
    ParakeetTDTDecoder: nn.LSTM(decoder_hidden_size, decoder_hidden_size, num_decoder_layers),
    each layer 4 gates of W_ih x + W_hh h per token, then decoder_projector per token;
    ParakeetTDTJointNetwork: head(act(enc + dec)) to vocab_size + len(durations) logits per
    frame x token pair (Xu et al. 2023, arXiv:2304.06795, sec. 3: the token and duration
    distributions from one joint network); ParakeetRNNTJointNetwork's head has vocab_size
    outputs. Nemotron3_5AsrForRNNT.get_audio_features first runs
    Nemotron3_5AsrPromptProjector on every frame: linear_1 (hidden + num_prompts ->
    prompt_intermediate_size), ReLU, linear_2 (back to hidden)."""
    h, enc = cfg["decoder_hidden_size"], cfg["encoder_config"]["hidden_size"]
    lstm = cfg["num_decoder_layers"] * tokens * (4 * h * h + 4 * h * h)
    head = frames * tokens * h * (cfg["vocab_size"] + len(cfg.get("durations", ())))
    prompt = 0
    if cfg["model_type"] == "nemotron3_5_asr":
        inter = cfg["prompt_intermediate_size"]
        prompt = frames * ((enc + cfg["num_prompts"]) * inter + inter * enc)
    return prompt + frames * enc * h + lstm + tokens * h * h + head
