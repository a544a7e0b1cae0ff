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
