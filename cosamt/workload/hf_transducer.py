"""Parakeet TDT configs (transformers' ``ParakeetTDTConfig``, ``models/parakeet/
configuration_parakeet.py``; the model ``ParakeetForTDT`` of ``modeling_parakeet.py``): a
conformer ``encoder_config`` read by the generic reader (:mod:`cosamt.workload.hf_conformer`),
the prediction network from ``decoder_hidden_size`` and ``num_decoder_layers``, the joint
network's head from ``vocab_size`` and ``durations``, its activation ``hidden_act``. See
:mod:`cosamt.workload.transducer`.

The RNN-T variants (``parakeet_rnnt``; ``nemotron_asr_streaming`` and ``nemotron3_5_asr`` on a
streaming encoder) stay refused: their prediction and joint networks (``ParakeetForRNNT``) were
not read for this model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from cosamt.errors import InputError, Problem, problems_from_pydantic
from cosamt.workload.models import ModelConfig
from cosamt.workload.transducer import Transducer

_PREFIX = "hf_config"
TRANSDUCER_TYPES = frozenset({"parakeet_tdt"})
Reader = Callable[[dict[str, Any], str | None, str], ModelConfig]


def is_transducer(data: dict[str, Any]) -> bool:
    return data.get("model_type") in TRANSDUCER_TYPES and isinstance(
        data.get("encoder_config"), dict
    )


def _positive(data: dict[str, Any], key: str, problems: list[Problem]) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.append(Problem(f"{_PREFIX}.{key}", f"must be a positive integer (got {value!r})"))
        return 1
    return value


def read(read_half: Reader, data: dict[str, Any], name: str | None, source: str) -> ModelConfig:
    """The conformer encoder, the LSTM prediction network and the joint network."""
    from cosamt.workload.hf_composite import read_encoder  # it reads the halves alike

    enc = read_encoder(read_half, data["encoder_config"], "encoder_config", source)
    problems: list[Problem] = []
    if enc.conformer is None:
        problems.append(
            Problem(f"{_PREFIX}.encoder_config.model_type", "a conformer encoder is expected")
        )
    hidden = _positive(data, "decoder_hidden_size", problems)
    layers = _positive(data, "num_decoder_layers", problems)
    vocab = _positive(data, "vocab_size", problems)
    durations = data.get("durations")
    if not isinstance(durations, list):
        problems.append(Problem(f"{_PREFIX}.durations", "expected a list of durations"))
        durations = []
    act = data.get("hidden_act", "relu")
    if act not in ("relu", "gelu", "silu"):
        problems.append(
            Problem(f"{_PREFIX}.hidden_act", f"joint activation {act!r} is not modelled")
        )
    if problems:
        raise InputError(source, problems)
    notes = (
        f"Parakeet TDT (ParakeetForTDT): {enc.n_layers} conformer encoder blocks from "
        f"encoder_config, encoder_projector {enc.d_model} -> {hidden}, a {layers}-layer LSTM "
        f"prediction network and the joint network (no Transformer decoder)",
        *(f"encoder_config: {a}" for a in enc.assumptions),
    )
    fields = {
        "name": name or str(data.get("model_type")),
        "n_layers": layers,
        "d_model": hidden,
        "n_heads": 1,  # no attention in the decoder: unused
        "d_ff": hidden,  # no FFN: unused
        "activation": act,
        "encoder_layers": enc.n_layers,
        "encoder": enc.model_copy(update={"decoder": False}),
        "transducer": Transducer(vocab_size=vocab, durations=len(durations)),
        "assumptions": notes,
        "source": f"Hugging Face config.json ({data.get('model_type')}) at {source}",
    }
    try:
        return ModelConfig.model_validate(fields)
    except ValidationError as exc:
        raise InputError(source, problems_from_pydantic(exc, _PREFIX)) from exc
