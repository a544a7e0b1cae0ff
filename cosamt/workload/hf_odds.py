"""Single families with one structure beside a plain block, read from their modelling code in
transformers 5.24 (``src/transformers/models/<type>/modeling_<type>.py``); operators in
:mod:`cosamt.workload.odds`:

* ``voxtral_realtime_text`` (the language model of ``voxtral_realtime``;
  ``VoxtralRealtimeTextDecoderLayer``, ``VoxtralRealtimeTextAdaRmsNorm``): a Mistral-like
  decoder whose FFN input, after ``post_attention_layernorm``, is scaled by 1 + an MLP of the
  time embedding, ``nn.Linear(hidden_size, 32)``, GELU, ``nn.Linear(32, hidden_size)`` (the 32
  is the code's, no config field).

Anything these readers cannot model is refused naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

# VoxtralRealtimeTextAdaRmsNorm's bottleneck: nn.Linear(config.hidden_size, 32).
_ADA_NORM_WIDTH = 32
TYPES = frozenset({"voxtral_realtime_text"})


def fields(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """A family's structure beside the generic fields ``base``."""
    if model_type == "voxtral_realtime_text":
        r.assumed.append(
            "voxtral_realtime_text: the time embedding is VoxtralRealtimeModel's (one per "
            "forward, from num_delay_tokens); read alone the text model has none"
        )
        return {"time_ada_norm": _ADA_NORM_WIDTH}
    return {}
