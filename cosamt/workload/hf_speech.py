"""Speech and music composites read into the encoder + decoder form of
:mod:`cosamt.workload.hf_composite`.

MusicGen (transformers 5.24's ``MusicgenForConditionalGeneration``,
``models/musicgen/modeling_musicgen.py``): a T5 ``text_encoder`` (``T5EncoderModel``), a
``decoder`` (``MusicgenForCausalLM``: pre-norm ``MusicgenDecoderLayer`` blocks with
self-attention, cross-attention over the text encoder's output and a plain FFN, then one LM head
per codebook, ``lm_heads``) and an ``audio_encoder`` (EnCodec). ``forward`` projects the text
encoder's output to the decoder's width (``enc_to_dec_proj``, when the widths differ and the
decoder has no ``cross_attention_hidden_size``) on every call, each generation step included.
EnCodec runs only outside the decoder's work: ``generate`` decodes the finished codes to a
waveform once (``audio_encoder.decode``), and ``forward`` encodes an audio prompt only when no
decoder tokens are given: a back-end, not modelled and stated (as DETR's CNN backbone is a stated
front-end).
"""

from __future__ import annotations

from typing import Any

_PREFIX = "hf_config"

MUSICGEN_TYPES = frozenset({"musicgen"})

BACK_END_NOTE = (
    "the audio_encoder (EnCodec, EncodecModel: convolutions and LSTMs) is not modelled: it "
    "decodes the generated codes to a waveform once after generation (audio_encoder.decode) "
    "and encodes an audio prompt only when one is given instead of decoder tokens; a back-end, "
    "like a vocoder"
)
GUIDANCE_NOTE = (
    "classifier-free guidance (generate's guidance_scale runs the decoder on a doubled batch, "
    "conditional and unconditional) is not modelled: the instance's batch is the batch the "
    "decoder runs"
)


def nest_musicgen(data: dict[str, Any]) -> dict[str, Any] | None:
    """MusicGen as a composite without its ``audio_encoder``: ``text_encoder`` as the encoder, ``decoder`` with its LM heads
    as one head of ``num_codebooks`` x ``vocab_size`` logits (the heads read the same hidden
    state: the same MACs), ``enc_to_dec_proj`` as the encoder projection."""
    if data.get("model_type") not in MUSICGEN_TYPES:
        return None
    text, dec = data.get("text_encoder"), data.get("decoder")
    if not isinstance(text, dict) or not isinstance(dec, dict):
        return None
    if not isinstance(data.get("audio_encoder"), dict):
        return None
    decoder = dict(dec)
    notes = [BACK_END_NOTE, GUIDANCE_NOTE]
    books, vocab = dec.get("num_codebooks"), dec.get("vocab_size")
    if isinstance(books, int) and isinstance(vocab, int) and books > 0 and vocab > 0:
        decoder["vocab_size"] = books * vocab
        notes.append(
            f"the LM head (when counted) is MusicgenForCausalLM.lm_heads, {books} heads of "
            f"{vocab} logits on the same hidden state, as one head of {books * vocab}; the "
            f"decoder's input embeddings (the {books} codebooks' summed) are not counted; "
            "seq_len is the decoder's steps (codebook frames, the delay pattern's included)"
        )
    widths = (text.get("d_model") or text.get("hidden_size"), dec.get("hidden_size"))
    proj = widths[0] != widths[1] and dec.get("cross_attention_hidden_size") is None
    return {
        "model_type": data["model_type"],
        "_encoder_proj": proj,
        "_proj_class": "MusicgenForConditionalGeneration.enc_to_dec_proj",
        "_notes": tuple(notes),
        "text_encoder": text,
        "decoder": decoder,
    }
