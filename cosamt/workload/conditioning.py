"""The shape of conditioning prepended to a decoder's tokens (MusicGen Melody); its operators
are in :mod:`cosamt.workload.prefix`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PositiveInt


class PrefixConditioning(BaseModel):
    """What MusicGen Melody prepends to the decoder's tokens besides the text encoder's output."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    chroma_frames: PositiveInt
    """Chroma frames prepended (``chroma_length``: the melody repeated or truncated to it)."""
    chroma_width: PositiveInt
    """Chroma features per frame (``num_chroma``), projected to the decoder's width unless equal
    to it."""
    text_proj: bool
    """``enc_to_dec_proj``: the text encoder is narrower or wider than the decoder."""
