"""MACs of speech and music composites, written from transformers 5.24's modelling code (read
for this test, not from cosamt). Used by tests/test_hf_corpus.py and tests/test_hf_speech.py."""

from __future__ import annotations

from typing import Any

MUSICGEN = ("musicgen",)


def t5_encoder_macs(cfg: dict[str, Any], t: int) -> int:
    """T5EncoderModel at t tokens, num_layers T5Blocks: T5Attention's q, k, v, o
    (d_model <-> num_heads x d_kv), Q K^T and P V per head, T5DenseActDense's wi and wo
    (d_model <-> d_ff; is_gated_act false)."""
    d, h, dk, ff = cfg["d_model"], cfg["num_heads"], cfg["d_kv"], cfg["d_ff"]
    assert not cfg["is_gated_act"]
    per_layer = 4 * t * d * h * dk + 2 * h * t * t * dk + 2 * t * d * ff
    return int(cfg["num_layers"]) * per_layer


def musicgen_macs(cfg: dict[str, Any], t: int) -> dict[str, int]:
    """MusicgenForConditionalGeneration.forward at t text tokens and t decoder steps: the T5
    text encoder; enc_to_dec_proj (Linear(text d_model, decoder hidden_size), the widths
    differing); num_hidden_layers MusicgenDecoderLayers, each MusicgenAttention (q, k, v,
    out_proj: hidden x hidden, head_dim = hidden // heads) over the t steps, the encoder_attn
    (q and out_proj on the t steps, k and v on the t projected text states) and fc1 / fc2
    (hidden <-> ffn_dim). The EnCodec audio_encoder does not run in this forward (decoder
    tokens given)."""
    text, dec = cfg["text_encoder"], cfg["decoder"]
    d, h, ff = dec["hidden_size"], dec["num_attention_heads"], dec["ffn_dim"]
    dh = d // h
    proj = t * text["d_model"] * d if text["d_model"] != d else 0
    self_attn = 4 * t * d * d + 2 * h * t * t * dh
    cross = 2 * t * d * d + 2 * t * d * d + 2 * h * t * t * dh
    layer = self_attn + cross + 2 * t * d * ff
    return {
        "encoder": t5_encoder_macs(text, t),
        "dense": proj + dec["num_hidden_layers"] * layer,
    }


WAV2VEC2 = ("wav2vec2",)


def wav2vec2_macs(cfg: dict[str, Any], t: int) -> int:
    """Wav2Vec2Model at t encoder frames, from the fewest waveform samples giving them.
    Wav2Vec2FeatureEncoder: per conv_dim[i] an unpadded nn.Conv1d(in, conv_dim[i],
    conv_kernel[i], conv_stride[i]) (in: 1, then the previous conv_dim), L_out x out x in x k
    MACs. Wav2Vec2FeatureProjection: Linear(conv_dim[-1], hidden) per frame.
    Wav2Vec2PositionalConvEmbedding: Conv1d(hidden, hidden, K, padding=K // 2, groups=G) on t +
    2 (K // 2) - K + 1 frames (Wav2Vec2SamePadLayer then drops the extra one of an even K), each
    hidden x (hidden / G) x K MACs. num_hidden_layers Wav2Vec2EncoderLayers: q, k, v, out_proj
    (hidden x hidden), Q K^T and P V per head, intermediate_dense and output_dense."""
    kernels, strides, dims = cfg["conv_kernel"], cfg["conv_stride"], cfg["conv_dim"]
    samples = t
    for k, s in zip(reversed(kernels), reversed(strides), strict=True):
        samples = (samples - 1) * s + k
    total, length, c_in = 0, samples, 1
    for k, s, c in zip(kernels, strides, dims, strict=True):
        length = (length - k) // s + 1
        total += length * c * c_in * k
        c_in = c
    assert length == t
    d, h, ff = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
    taps, groups = cfg["num_conv_pos_embeddings"], cfg["num_conv_pos_embedding_groups"]
    pos_frames = t + 2 * (taps // 2) - taps + 1
    front = total + t * dims[-1] * d + pos_frames * d * (d // groups) * taps
    layer = 4 * t * d * d + 2 * h * t * t * (d // h) + 2 * t * d * ff
    return front + cfg["num_hidden_layers"] * layer


SPEECHT5 = ("speecht5",)


def speecht5_macs(cfg: dict[str, Any], t: int) -> dict[str, int]:
    """SpeechT5ForSpeechToText.forward at t encoder frames and t decoder tokens.
    SpeechT5SpeechEncoderPrenet: the feature encoder, projection and position convolution of
    wav2vec2 (SpeechT5FeatureEncoder, SpeechT5FeatureProjection, SpeechT5PositionalConvEmbedding
    are copies), then encoder_layers SpeechT5EncoderLayers whose SpeechT5Attention adds
    matmul(q, position_bias^T): per head t x t x head_dim more MACs (position_bias is
    SpeechT5RelativePositionalEncoding's t x t x head_dim lookup). decoder_layers
    SpeechT5DecoderLayers: self-attention, encoder_attn over the t frames, the FFN of
    decoder_ffn_dim."""
    d = cfg["hidden_size"]
    enc = {
        **cfg,
        "num_attention_heads": cfg["encoder_attention_heads"],
        "intermediate_size": cfg["encoder_ffn_dim"],
        "num_hidden_layers": cfg["encoder_layers"],
    }
    h_enc = cfg["encoder_attention_heads"]
    bias = cfg["encoder_layers"] * h_enc * t * t * (d // h_enc)
    h, ff = cfg["decoder_attention_heads"], cfg["decoder_ffn_dim"]
    dh = d // h
    self_attn = 4 * t * d * d + 2 * h * t * t * dh
    cross = 2 * t * d * d + 2 * t * d * d + 2 * h * t * t * dh
    layer = self_attn + cross + 2 * t * d * ff
    return {"encoder": wav2vec2_macs(enc, t) + bias, "dense": cfg["decoder_layers"] * layer}


MUSICGEN_MELODY = ("musicgen_melody",)


def musicgen_melody_macs(cfg: dict[str, Any], t: int) -> dict[str, int]:
    """MusicgenMelodyForConditionalGeneration.forward at t text tokens and t decoder steps, the
    melody's chroma chroma_length frames long: the T5 text encoder; enc_to_dec_proj (text d_model
    -> decoder hidden_size) on the t text states and audio_enc_to_dec_proj (num_chroma -> hidden)
    on the chroma frames; MusicgenMelodyDecoder prepends both (torch.cat([encoder_hidden_states,
    inputs_embeds])) and runs num_hidden_layers MusicgenMelodyDecoderLayers (self-attention and
    fc1 / fc2 only) over chroma_length + 2t positions."""
    text, dec = cfg["text_encoder"], cfg["decoder"]
    d, h, ff = dec["hidden_size"], dec["num_attention_heads"], dec["ffn_dim"]
    n = cfg["chroma_length"] + t + t
    proj = (t * text["d_model"] * d if text["d_model"] != d else 0) + (
        cfg["chroma_length"] * cfg["num_chroma"] * d if cfg["num_chroma"] != d else 0
    )
    layer = 4 * n * d * d + 2 * h * n * n * (d // h) + 2 * n * d * ff
    return {
        "encoder": t5_encoder_macs(text, t),
        "dense": proj + dec["num_hidden_layers"] * layer,
    }


SEAMLESS = ("seamless_m4t", "seamless_m4t_v2")


def seamless_macs(cfg: dict[str, Any], t: int) -> dict[str, int]:
    """SeamlessM4TForTextToText (SeamlessM4Tv2ForTextToText: the same layers, copied) at t
    source and t target tokens: encoder_layers SeamlessM4TEncoderLayers (SeamlessM4TAttention's
    q, k, v, out_proj of hidden x hidden, Q K^T and P V per head of hidden //
    encoder_attention_heads; SeamlessM4TFeedForwardNetwork's fc1 / fc2 of encoder_ffn_dim) and
    decoder_layers SeamlessM4TDecoderLayers (self-attention, cross_attention over the t encoder
    states, the FFN of decoder_ffn_dim)."""
    d = cfg["hidden_size"]

    def attention(heads: int, m: int, n: int) -> int:
        return 2 * m * d * d + 2 * n * d * d + 2 * heads * m * n * (d // heads)

    h_enc, h_dec = cfg["encoder_attention_heads"], cfg["decoder_attention_heads"]
    enc = attention(h_enc, t, t) + 2 * t * d * cfg["encoder_ffn_dim"]
    dec = 2 * attention(h_dec, t, t) + 2 * t * d * cfg["decoder_ffn_dim"]
    return {"encoder": cfg["encoder_layers"] * enc, "dense": cfg["decoder_layers"] * dec}
