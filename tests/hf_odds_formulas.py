"""MACs of single families with an odd structure, written from transformers' modelling code
(5.24.0, read for this test, not from cosamt). Used by tests/test_hf_corpus.py and
tests/test_hf_odds.py; keyed by the corpus type (the composite's, when the structure is in its
language model)."""

from __future__ import annotations

from typing import Any


def voxtral_realtime_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """VoxtralRealtimeModel's language model (modeling_voxtral_realtime.py; the audio tower and
    the projector not counted, as for Voxtral), per VoxtralRealtimeTextDecoderLayer:
    VoxtralRealtimeTextAttention (q_proj heads x head_dim, k_proj and v_proj kv x head_dim,
    o_proj; keys within sliding_window), the gated VoxtralRealtimeTextMLP, and
    VoxtralRealtimeTextAdaRmsNorm: linear1 (hidden -> 32) and linear2 (32 -> hidden) applied to
    t_cond, which VoxtralRealtimeModel.forward builds once per forward from a one-element
    time_tensor (shape [1, hidden]): one row per layer, independent of the tokens."""
    text = cfg["text_config"]
    d, heads, kv, dh = (text[k] for k in ("hidden_size", "num_attention_heads",
                                           "num_key_value_heads", "head_dim"))  # fmt: skip
    n = min(m, text["sliding_window"]) if text.get("sliding_window") else m
    attention = m * d * (heads + 2 * kv) * dh + 2 * heads * m * n * dh + m * heads * dh * d
    mlp = 3 * m * d * text["intermediate_size"]
    ada = d * 32 + 32 * d
    return {"dense": text["num_hidden_layers"] * (attention + mlp + ada)}


ODDS = {"voxtral_realtime": voxtral_realtime_macs}


def odds_macs(model_type: str, cfg: dict[str, Any], m: int) -> dict[str, int]:
    """The formula of a corpus type this file covers."""
    return ODDS[model_type](cfg, m)
