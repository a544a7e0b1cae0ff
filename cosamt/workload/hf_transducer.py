"""Transducer configs (transformers 5.24's ``ParakeetTDTConfig`` and ``ParakeetRNNTConfig``,
``models/parakeet/configuration_parakeet.py``, the models ``ParakeetForTDT`` and
``ParakeetForRNNT`` of ``modeling_parakeet.py``; ``NemotronAsrStreamingConfig`` /
``NemotronAsrStreamingForRNNT`` and ``Nemotron3_5AsrConfig`` / ``Nemotron3_5AsrForRNNT``, whose
decoder and joint network are the Parakeet RNN-T's): a conformer ``encoder_config`` read by the
generic reader (:mod:`cosamt.workload.hf_conformer`; the streaming conformer for the Nemotron
types), the prediction network from ``decoder_hidden_size`` and ``num_decoder_layers``, the joint
network's head from ``vocab_size`` (and ``durations``, TDT only), its activation ``hidden_act``;
Nemotron 3.5 ASR's prompt fusion from ``num_prompts`` and ``prompt_intermediate_size``. See
:mod:`cosamt.workload.transducer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from cosamt.errors import InputError, Problem, problems_from_pydantic
from cosamt.workload.models import ModelConfig
from cosamt.workload.transducer import PromptProjector, Transducer

_PREFIX = "hf_config"
# model_type -> the modelling class (the joint head has a duration part for TDT only).
TRANSDUCER_CLASSES = {
    "parakeet_tdt": "ParakeetForTDT",
    "parakeet_rnnt": "ParakeetForRNNT",
    "nemotron_asr_streaming": "NemotronAsrStreamingForRNNT",
    "nemotron3_5_asr": "Nemotron3_5AsrForRNNT",
}
TRANSDUCER_TYPES = frozenset(TRANSDUCER_CLASSES)
_PROMPTED = frozenset({"nemotron3_5_asr"})  # Nemotron3_5AsrPromptProjector
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
    model_type = str(data.get("model_type"))
    kind = TRANSDUCER_CLASSES[model_type]
    durations = data.get("durations") if model_type == "parakeet_tdt" else []
    if not isinstance(durations, list):
        problems.append(Problem(f"{_PREFIX}.durations", "expected a list of durations"))
        durations = []
    prompt = None
    if model_type in _PROMPTED:
        prompt = PromptProjector(
            prompts=_positive(data, "num_prompts", problems),
            intermediate=_positive(data, "prompt_intermediate_size", problems),
        )
    act = data.get("hidden_act", "relu")
    if act not in ("relu", "gelu", "silu"):
        problems.append(
            Problem(f"{_PREFIX}.hidden_act", f"joint activation {act!r} is not modelled")
        )
    if problems:
        raise InputError(source, problems)
    fusion = "prompt_projector, " if prompt is not None else ""
    notes = (
        f"{'TDT' if model_type == 'parakeet_tdt' else 'RNN-T'} transducer ({kind}): "
        f"{enc.n_layers} conformer "
        f"encoder blocks from encoder_config, {fusion}encoder_projector {enc.d_model} -> "
        f"{hidden}, a {layers}-layer LSTM prediction network and the joint network (no "
        "Transformer decoder)",
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
        "transducer": Transducer(
            vocab_size=vocab, durations=len(durations), kind=kind, prompt=prompt
        ),
        "assumptions": notes,
        "source": f"Hugging Face config.json ({data.get('model_type')}) at {source}",
    }
    try:
        return ModelConfig.model_validate(fields)
    except ValidationError as exc:
        raise InputError(source, problems_from_pydantic(exc, _PREFIX)) from exc
