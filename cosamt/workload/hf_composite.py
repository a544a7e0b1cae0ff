"""Composite Hugging Face configs: an encoder sub-config and a decoder sub-config in one file.

``EncoderDecoderModel`` (``encoder`` / ``decoder``), T5Gemma, Dia, Canary (``encoder_config`` /
``decoder_config``) and the speech / vision variants keep each half as a config of its own. Each
half is read with the generic reader (:func:`cosamt.workload.hf.config_from_dict`); the two become
one :class:`ModelConfig` (encoder blocks of the encoder's own shape, ``ModelConfig.encoder``, +
decoder blocks with cross-attention) when the encoder is a transformer encoder stack with the
decoder's hidden size (the width its cross-attention reads). Flat configs with per-half fields
(Moonshine; Switch Transformers and NLLB-MoE with MoE in both halves) are split into the two halves
first. Anything else is refused naming the sub-config's field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from cosamt.errors import InputError, Problem, problems_from_pydantic
from cosamt.workload import hf_conformer, hf_encdec, hf_local
from cosamt.workload.models import ModelConfig

_PREFIX = "hf_config"
Reader = Callable[[dict[str, Any], str | None, str], ModelConfig]

# (encoder key, decoder key) pairs composite configs use (MusicGen's once its audio codec is set
# aside: cosamt.workload.hf_speech).
PAIRS = (
    ("encoder", "decoder"),
    ("encoder_config", "decoder_config"),
    ("text_encoder", "decoder"),
)

# Composites that are not one encoder + one decoder: refused by the sub-config that shows it.
_REFUSED_PARTS = (
    (
        "question_encoder",
        "retrieval-augmented generation (a question encoder, retrieval of n_docs documents, a "
        "generator over each) is not modelled as one model; point hf_config at the generator",
    ),
    (
        "patcher_config",
        "the byte latent transformer (entropy patcher, local encoder and decoder cross-attending "
        "to patches, global transformer) is not modelled",
    ),
    (
        "audio_encoder",
        "an audio codec tower (audio_encoder: convolutions and LSTMs) is not modelled",
    ),
)

# A transducer of a family not read (Parakeet RNN-T / TDT and NVIDIA's streaming RNN-Ts are read
# by cosamt.workload.hf_transducer): no transformer decoder.
_TRANSDUCER = (
    "a transducer decoder (an LSTM prediction network of decoder_hidden_size, a joint network) "
    "of a family whose modelling code was not read for cosamt is not modelled (the ones read: "
    "parakeet_rnnt, parakeet_tdt, nemotron_asr_streaming, nemotron3_5_asr)"
)

_TEXT_TO_SPEECH = (
    "a non-autoregressive text-to-speech model (FastSpeech2-Conformer: conformer encoder and "
    "decoder with convolutional FFNs and no cross-attention, duration / pitch / energy "
    "predictors, a length regulator whose output length is data-dependent, a postnet) is not "
    "modelled"
)

# Sub-config fields the generic reader does not see and that make an encoder not a plain
# transformer encoder.
_NOT_PLAIN = (
    ("conv_kernel_size", "a conformer encoder (convolution module, conv_kernel_size) is"),
    ("sliding_windows", "per-layer (left, right) encoder windows (sliding_windows) are"),
    ("subsampling_factor", "a convolutional subsampling front-end (subsampling_factor) is"),
)

# The encoder's shape, for the assumption that states it.
_SHAPE = ("n_heads", "kv_heads", "dh", "d_ff", "activation", "norm", "norm_position", "rotary_dim")


# Flat encoder-decoder configs with per-half fields (Moonshine: encoder_hidden_act,
# decoder_num_attention_heads, ...): the generic name each prefixed field stands for.
_PER_HALF = ("hidden_act", "num_attention_heads", "num_key_value_heads", "num_hidden_layers")
# Families whose decoder FFN is gated and encoder FFN plain, as their code fixes it:
# transformers' MoonshineDecoderMLP (fc1 to 2 x intermediate_size, chunked into values and
# gate) beside the plain MoonshineEncoderMLP (modeling_moonshine.py).
_GATED_DECODER = frozenset({"moonshine"})


def split_halves(data: dict[str, Any]) -> dict[str, Any] | None:
    """A flat encoder-decoder config with per-half activations, as a composite with ``encoder``
    and ``decoder`` sub-configs (each the shared fields plus its own prefixed ones)."""
    if data.get("is_encoder_decoder") is not True:
        return None
    if not all(f"{half}_hidden_act" in data for half in ("encoder", "decoder")):
        return None
    prefixed = {f"{half}_{f}" for half in ("encoder", "decoder") for f in _PER_HALF}
    shared = {k: v for k, v in data.items() if k not in prefixed and k != "is_encoder_decoder"}
    shared["model_type"] = ""  # the family's structure is stated per half below
    halves = {}
    for half in ("encoder", "decoder"):
        own = {f: data[f"{half}_{f}"] for f in _PER_HALF if f"{half}_{f}" in data}
        halves[half] = {**shared, **own}
    if data.get("model_type") in _GATED_DECODER:
        halves["decoder"]["is_gated_act"] = True
    return {"model_type": data.get("model_type"), "_per_half": True, **halves}


# Flat encoder-decoder MoE configs (Switch Transformers, NLLB-MoE): each half's generic fields
# from its own keys (the first present), so each half is read as a stack of its own.
_MOE_HALF_KEYS = {
    "encoder": (
        ("num_hidden_layers", ("encoder_layers", "num_layers")),
        ("num_attention_heads", ("encoder_attention_heads",)),
        ("ffn_dim", ("encoder_ffn_dim",)),
        ("decoder_sparse_step", ("encoder_sparse_step",)),
    ),
    "decoder": (
        ("num_hidden_layers", ("decoder_layers", "num_decoder_layers")),
        ("num_attention_heads", ("decoder_attention_heads",)),
        ("ffn_dim", ("decoder_ffn_dim",)),
        ("decoder_sparse_step", ("decoder_sparse_step",)),
    ),
}


def split_moe_halves(data: dict[str, Any]) -> dict[str, Any] | None:
    """A flat encoder-decoder config with MoE in both halves (``encoder_sparse_step``), as a
    composite with ``encoder`` and ``decoder`` sub-configs."""
    if data.get("is_encoder_decoder") is not True or "encoder_sparse_step" not in data:
        return None
    own = {k for keys in _MOE_HALF_KEYS.values() for _, aliases in keys for k in aliases}
    shared = {k: v for k, v in data.items() if k not in own and k != "is_encoder_decoder"}
    halves: dict[str, Any] = {"model_type": data.get("model_type"), "_per_half": True}
    for half, keys in _MOE_HALF_KEYS.items():
        sub = dict(shared)
        for generic, aliases in keys:
            value = next((data[a] for a in aliases if data.get(a) is not None), None)
            if value is not None:
                sub[generic] = value
        halves[half] = sub
    return halves


# Families whose top-level fields are the decoder beside an encoder sub-config, the decoder
# projecting the encoder's output to its width: transformers' CohereAsrDecoder
# (``proj = nn.Linear(encoder_config.hidden_size, hidden_size)``, modeling_cohere_asr.py).
_FLAT_DECODER = frozenset({"cohere_asr", "moonshine_streaming"})
# Of these, the families that project only when the widths differ: MoonshineStreamingDecoder
# (``proj`` is nn.Identity at equal widths).
_PROJ_IF_WIDER = frozenset({"moonshine_streaming"})


def nest_decoder(data: dict[str, Any]) -> dict[str, Any] | None:
    """A config with an ``encoder_config`` and the decoder's fields at the top level (Cohere
    ASR), as a composite with ``encoder_config`` and ``decoder_config``."""
    if data.get("model_type") not in _FLAT_DECODER or not isinstance(
        data.get("encoder_config"), dict
    ):
        return None
    decoder = {k: v for k, v in data.items() if k != "encoder_config"}
    decoder["model_type"] = f"{data['model_type']}_decoder"
    proj = data["model_type"] not in _PROJ_IF_WIDER or data["encoder_config"].get(
        "hidden_size"
    ) != data.get("hidden_size")
    return {"model_type": data["model_type"], "_encoder_proj": proj,
            "encoder_config": data["encoder_config"], "decoder_config": decoder}  # fmt: skip


def refused_part(data: dict[str, Any]) -> Problem | None:
    """A composite whose parts are not an encoder and a decoder, or that has only an encoder."""
    for key, message in _REFUSED_PARTS:
        if isinstance(data.get(key), dict):
            return Problem(f"{_PREFIX}.{key}", message)
    if data.get("duration_predictor_layers") is not None:
        # transformers' FastSpeech2ConformerModel (modeling_fastspeech2_conformer.py).
        return Problem(f"{_PREFIX}.duration_predictor_layers", _TEXT_TO_SPEECH)
    enc = data.get("encoder_config")
    if isinstance(enc, dict) and not isinstance(data.get("decoder_config"), dict):
        if data.get("decoder_hidden_size") is not None:
            return _not_plain("encoder_config", enc) or Problem(
                f"{_PREFIX}.decoder_hidden_size", _TRANSDUCER
            )
        return _not_plain("encoder_config", enc) or Problem(
            f"{_PREFIX}.encoder_config",
            "an encoder sub-config with the decoder's fields at the top level is not read "
            "(point hf_config at one part)",
        )
    return None


def pair(data: dict[str, Any]) -> tuple[str, str] | None:
    """The (encoder, decoder) keys of a composite encoder + decoder config, if it is one."""
    for enc, dec in PAIRS:
        if isinstance(data.get(enc), dict) and isinstance(data.get(dec), dict):
            return enc, dec
    return None


def _not_plain(key: str, sub: dict[str, Any]) -> Problem | None:
    if sub.get("model_type") in hf_conformer.CONFORMER_TYPES | hf_conformer.REFUSED.keys():
        return None  # read as a conformer, or refused by name (cosamt.workload.hf_conformer)
    if sub.get("model_type") in hf_encdec.WINDOWED_ENCODERS:
        windows = hf_encdec.layer_windows(sub)  # per-layer windows (read_pair)
        return (
            Problem(f"{_PREFIX}.{key}.sliding_windows", windows)
            if isinstance(windows, str)
            else None
        )
    for field, what in _NOT_PLAIN:
        if sub.get(field) not in (None, 0, False, []):
            return Problem(f"{_PREFIX}.{key}.{field}", f"{what} not modelled")
    return None


def read_encoder(read: Reader, sub: dict[str, Any], key: str, source: str) -> ModelConfig:
    """An encoder sub-config read alone (refused first if it is not one cosamt models)."""
    problem = _not_plain(key, sub)
    if problem is not None:
        raise InputError(source, [problem])
    return _part(read, sub, key, source)


def _part(read: Reader, sub: dict[str, Any], key: str, source: str) -> ModelConfig:
    """One half, read alone; its problems re-rooted under ``hf_config.<key>``. The composite
    states the structure, so the half's own ``is_encoder_decoder`` flag is dropped."""
    flat = {k: v for k, v in sub.items() if k != "is_encoder_decoder"}
    try:
        return read(flat, None, source)
    except InputError as exc:
        rooted = [
            Problem(p.path.replace(_PREFIX, f"{_PREFIX}.{key}", 1), p.message) for p in exc.problems
        ]
        raise InputError(source, rooted) from exc


def _check_encoder(
    enc: ModelConfig,
    dec: ModelConfig,
    key: str,
    proj: bool,
    windowed: bool = False,
    cross_width: int | None = None,
) -> list[Problem]:
    """``windowed``: the encoder's window is a known bidirectional one (:mod:`hf_local`);
    ``cross_width``: the width the decoder's cross-attention reads (Dia's cross_hidden_size)."""
    problems = []
    if cross_width is not None and cross_width != enc.d_model:
        problems.append(
            Problem(
                f"{_PREFIX}.{key}",
                f"the decoder's cross_hidden_size ({cross_width}) is not the encoder's hidden "
                f"size ({enc.d_model})",
            )
        )
    elif enc.d_model != dec.d_model and not proj and cross_width is None:
        # transformers then projects the encoder's output (enc_to_dec_proj) or gives the
        # cross-attention its own widths (Dia's cross_hidden_size): neither is modelled.
        problems.append(
            Problem(
                f"{_PREFIX}.{key}",
                f"the encoder's hidden size ({enc.d_model}) differs from the decoder's "
                f"({dec.d_model}): cross-attention over a projected or differently sized "
                "encoder output is not modelled",
            )
        )
    for field, what in (
        ("sliding_window", "a windowed encoder (sliding_window) of this family"),
        ("cross_attention", "an encoder with cross-attention"),
        ("stage_depths", "a hierarchical encoder"),
        ("encoder_layers", "an encoder that is itself an encoder-decoder"),
        ("kv_lora_rank", "an MLA encoder (kv_lora_rank)"),
    ):
        if getattr(enc, field) not in (None, False) and not (
            windowed and field == "sliding_window"
        ):
            problems.append(Problem(f"{_PREFIX}.{key}", f"{what} is not modelled"))
    return problems


def _split_notes(data: dict[str, Any], enc: ModelConfig) -> list[str]:
    notes = []
    if data.get("_per_half"):
        gated = data.get("model_type") in _GATED_DECODER
        notes.append(
            "a flat config split by its encoder_ / decoder_ fields"
            + (
                "; the decoder's FFN gated, the encoder's plain (the family's code)"
                if gated
                else ""
            )
        )
    if enc.moe:
        notes.append(
            f"encoder: MoE FFN on {enc.moe_layers or enc.n_layers} of {enc.n_layers} layers, "
            f"top-{enc.experts_per_token} of {enc.n_experts} experts, balanced routing"
        )
    return notes


# Decoder families with per-token work the generic reading does not count (vector ops only).
_DECODER_NOTES = {
    "moonshine_streaming_decoder": "the decoder's heads: MoonshineStreamingConfig states no "
    "num_key_value_heads and MoonshineStreamingAttention reshapes its queries by "
    "num_key_value_heads, so multi-head attention (KV heads = heads); the encoder positions "
    "(pos_emb, an add) are not counted",
    "cohere_asr_decoder": "the decoder's embedding layernorm (CohereAsrDecoder.embedding_layernorm, "
    "after the token and position embeddings are added) is not counted",
    "canary_decoder": "the decoder's embedding layernorm (CohereAsrDecoder.embedding_layernorm, "
    "after the token and position embeddings are added) is not counted",
}


def _capacity_note(sub: dict[str, Any], dec: ModelConfig) -> list[str]:
    capacity = sub.get("expert_capacity")
    if not dec.moe or not isinstance(capacity, int):
        return []
    return [
        f"expert_capacity ({capacity}) not applied: transformers drops the tokens routed to an "
        f"expert beyond it; the counts are balanced routing's, the same while each touched "
        f"expert gets at most {capacity} tokens"
    ]


def read_pair(
    read: Reader, data: dict[str, Any], keys: tuple[str, str], name: str | None, source: str
) -> ModelConfig:
    """Encoder blocks (the encoder sub-config's layers) + decoder blocks with cross-attention."""
    enc_key, dec_key = keys
    problems = [p for p in (refused_part(data), _not_plain(enc_key, data[enc_key])) if p]
    if problems:
        raise InputError(source, problems)
    windowed_sub = data[enc_key].get("model_type") in hf_encdec.WINDOWED_ENCODERS
    enc_sub = {
        k: v for k, v in data[enc_key].items() if not (windowed_sub and k == "sliding_windows")
    }
    enc = _part(read, enc_sub, enc_key, source)
    dec = _part(read, data[dec_key], dec_key, source)
    windows = hf_encdec.layer_windows(data[enc_key])
    if windowed_sub and not isinstance(windows, str):
        # Moonshine Streaming: each encoder layer its own window (checked by _not_plain above)
        own = {**enc.model_dump(exclude_unset=True), "layer_windows": windows, "decoder": False}
        enc = ModelConfig.model_validate(own)
    # A bidirectional window whose keys per query the family's mask fixes (T5Gemma).
    windowed = hf_local.bidirectional_encoder(str(data.get("model_type")), enc)
    enc = windowed or enc
    proj = bool(data.get("_encoder_proj"))
    # Dia's DiaCrossAttention: K/V from the encoder's width, heads of its own (hf_encdec).
    cross = hf_encdec.cross_shape(data[dec_key])
    prefix = data.get("_prefix")  # MusicGen Melody (cosamt.workload.hf_speech, prefix)
    text_proj = prefix is not None and prefix.get("text_proj") is True
    problems = _check_encoder(
        enc,
        dec,
        enc_key,
        proj or text_proj,
        windowed is not None,
        cross.kv_width if cross else None,
    )
    bad_cross = hf_encdec.cross_problem(data[dec_key])
    if bad_cross is not None:
        problems.append(Problem(f"{_PREFIX}.{dec_key}.cross_hidden_size", bad_cross))
    if not dec.decoder:
        problems.append(Problem(f"{_PREFIX}.{dec_key}", "the decoder is not a causal decoder"))
    if dec.encoder_layers is not None or dec.decoder_tokens is not None:
        problems.append(Problem(f"{_PREFIX}.{dec_key}", "is itself an encoder-decoder"))
    if problems:
        raise InputError(source, problems)
    outer = data.get("model_type") or "composite"
    tokens = (
        f"{enc.image_tokens} image tokens" if enc.image_tokens else "the instance's seq_len tokens"
    )
    shape = ", ".join(f"{f} {getattr(enc, f)}" for f in _SHAPE)
    uses = (
        f"every decoder block with cross-attention against the encoder's output ({tokens})"
        if prefix is None
        else f"no cross-attention: the encoder's output ({tokens}) is prepended to the decoder's"
    )
    notes = (
        f"composite config ({enc_key} + {dec_key}): {enc.n_layers} encoder blocks read from "
        f"{enc_key} ({shape}), {dec.n_layers} decoder blocks from {dec_key}, {uses}",
        *_split_notes(data, enc),
        *_capacity_note(data[dec_key], dec),
        *(
            [
                f"the decoder projects the encoder's output {enc.d_model} -> {dec.d_model} "
                f"({data.get('_proj_class', 'CohereAsrDecoder.proj')}) on every decoder "
                "forward, each decode step included, as the source computes it (the "
                "cross-attention K/V are cached all the same)"
            ]
            if proj
            else []
        ),
        *data.get("_notes", ()),  # what a family's nesting states (cosamt.workload.hf_speech)
        *([_DECODER_NOTES[t]] if (t := data[dec_key].get("model_type")) in _DECODER_NOTES else []),
        *([hf_local.MERGED_NOTE] if outer in hf_local.MERGED_CROSS_TYPES else []),
        *(f"{enc_key}: {a}" for a in enc.assumptions),
        *(f"{dec_key}: {a}" for a in dec.assumptions),
    )
    fields = dec.model_dump(exclude_unset=True)
    fields.update(
        name=name or str(outer),
        encoder_layers=enc.n_layers,
        encoder=enc.model_copy(update={"decoder": False}),
        encoder_tokens=enc.image_tokens,
        encoder_proj=proj,
        cross_shape=cross,
        prefix_conditioning=prefix,
        cross_attention=False,  # the encoder-decoder plan adds cross-attention to every block
        merged_cross_attention=outer in hf_local.MERGED_CROSS_TYPES,
        decoder=True,
        assumptions=notes,
        source=f"Hugging Face config.json ({outer}: {enc_key} + {dec_key}) at {source}",
    )
    fields = {k: v for k, v in fields.items() if v is not None}
    try:
        return ModelConfig.model_validate(fields)
    except ValidationError as exc:
        raise InputError(source, problems_from_pydantic(exc, _PREFIX)) from exc
