"""Conditioning prepended to a decoder's tokens (MusicGen Melody; transformers 5.24's
``MusicgenMelodyForConditionalGeneration``, ``models/musicgen_melody/modeling_musicgen_melody.py``).

``forward`` projects the text encoder's output to the decoder's width (``enc_to_dec_proj``, when
the widths differ) and the melody's chroma features (``num_chroma`` per frame) likewise
(``audio_enc_to_dec_proj``), repeats or truncates the chroma to ``chroma_length`` frames, and
concatenates chroma then text as ``encoder_hidden_states``; ``MusicgenMelodyDecoder`` prepends
those to its own input embeddings (``torch.cat([encoder_hidden_states, inputs_embeds])``) and
runs its causal self-attention layers over the whole sequence: no cross-attention. In
generation only the first step passes them (``prepare_inputs_for_generation`` drops them
after it): the later steps find them in the self-attention KV cache.

Block types (``ModelConfig.prefix_conditioning``): ``enc.`` (the text encoder, prefill only),
``dec.cond.`` (prefill only: ``text_proj`` on the text tokens, ``chroma_proj`` on the chroma
frames), ``dec.`` on chroma + text + the decoder's own tokens in prefill, one token against
that many cached keys in decode.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import BlockPlan, _projection


def tokens(model: ModelConfig, encoder_tokens: int) -> int:
    """Tokens prepended to the decoder's: the chroma frames and the text encoder's tokens."""
    prefix = model.prefix_conditioning
    assert prefix is not None
    return prefix.chroma_frames + encoder_tokens


def ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The text and chroma projections (each only where the widths differ)."""
    prefix = model.prefix_conditioning
    assert prefix is not None and model.encoder is not None
    p, d = plan.prefix, model.d_model
    out = []
    if prefix.text_proj:
        out.append(_projection(f"{p}text_proj", b, plan.m, model.encoder.d_model, d, 1))
    if prefix.chroma_width != d:
        out.append(
            _projection(f"{p}chroma_proj", b, prefix.chroma_frames, prefix.chroma_width, d, 1)
        )
    return out


def assumptions(model: ModelConfig, phase: str, encoder_tokens: int) -> list[str]:
    prefix = model.prefix_conditioning
    assert prefix is not None
    total = tokens(model, encoder_tokens)
    where = (
        f"the decoder runs on them and its own tokens ({total} + seq_len)"
        if phase == "prefill"
        else f"decode: they are in the self-attention KV cache ({total} keys besides the steps'), "
        "the text encoder and the projections ran before"
    )
    return [
        f"conditioning prepended, no cross-attention (MusicgenMelodyDecoder): "
        f"{prefix.chroma_frames} chroma frames (chroma_length; the melody's chroma assumed "
        f"{prefix.chroma_frames} frames long: the source projects the frames given, then repeats "
        f"or truncates them to chroma_length) and the {encoder_tokens} text tokens; {where}"
        + (
            "; the LM heads (when counted) run on every position, the prefix's included (the "
            "source's logits cover encoder_len + tgt_len)"
            if phase == "prefill"
            else ""
        ),
    ]
