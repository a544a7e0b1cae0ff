"""Speech and music composites read into the encoder + decoder form of
:mod:`cosamt.workload.hf_composite`.

MusicGen Melody (``MusicgenMelodyForConditionalGeneration``) has the same towers, its text and
chroma conditioning prepended to the decoder's tokens instead (:mod:`cosamt.workload.prefix`).

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

wav2vec2 encoders (``Wav2Vec2Model``, ``models/wav2vec2/modeling_wav2vec2.py``; the default
encoder of ``SpeechEncoderDecoderModel``, ``speech-encoder-decoder``): the convolutional feature
encoder, the feature projection and the position convolution
(:mod:`cosamt.workload.feature_encoder`) before post-norm ``Wav2Vec2EncoderLayer`` blocks.

SpeechT5 (``speecht5``) as ``SpeechT5ForSpeechToText`` (``models/speecht5/modeling_speecht5.py``,
the speech-to-text model the speech seq2seq mapping names): ``SpeechT5EncoderWithSpeechPrenet``
(``SpeechT5SpeechEncoderPrenet``: wav2vec2's feature encoder, projection and position
convolution, a sinusoidal embedding added; ``SpeechT5Encoder``: a LayerNorm, then post-norm
``SpeechT5EncoderLayer``s whose attention adds a relative position bias,
:mod:`cosamt.workload.relative_bias`) and ``SpeechT5DecoderWithTextPrenet`` (token embeddings,
post-norm ``SpeechT5DecoderLayer``s with cross-attention), the flat config split into the two.

SeamlessM4T (``seamless_m4t``, ``seamless_m4t_v2``) as ``SeamlessM4TForTextToText`` /
``SeamlessM4Tv2ForTextToText`` (the model the seq2seq LM mapping names, which gives the type
its class): ``text_encoder`` (``SeamlessM4TEncoder``: pre-norm ``SeamlessM4TEncoderLayer``s)
and ``text_decoder`` (``SeamlessM4TDecoder``: pre-norm ``SeamlessM4TDecoderLayer``s with
cross-attention), the flat config split into the two; the speech encoder, the text-to-unit
model and the vocoder of the speech models are not modelled (stated).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosamt.errors import InputError, Problem
from cosamt.workload.feature_encoder import FeatureEncoder

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

_PREFIX = "hf_config"

MUSICGEN_TYPES = frozenset({"musicgen", "musicgen_melody"})
# MusicgenMelodyForConditionalGeneration: the conditioning prepended, not cross-attended.
_PREPENDED = frozenset({"musicgen_melody"})

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


def nest_musicgen(data: dict[str, Any], source: str) -> dict[str, Any] | None:
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
            f"the LM head (when counted) is the decoder's lm_heads, {books} heads of "
            f"{vocab} logits on the same hidden state, as one head of {books * vocab}; the "
            f"decoder's input embeddings (the {books} codebooks' summed) are not counted; "
            "seq_len is the decoder's steps (codebook frames, the delay pattern's included)"
        )
    widths = (text.get("d_model") or text.get("hidden_size"), dec.get("hidden_size"))
    if data["model_type"] in _PREPENDED:
        return {
            "model_type": data["model_type"],
            "_prefix": _prefix(data, widths[0] != widths[1], source),
            "_notes": tuple(notes),
            "text_encoder": text,
            "decoder": decoder,
        }
    proj = widths[0] != widths[1] and dec.get("cross_attention_hidden_size") is None
    return {
        "model_type": data["model_type"],
        "_encoder_proj": proj,
        "_proj_class": "MusicgenForConditionalGeneration.enc_to_dec_proj",
        "_notes": tuple(notes),
        "text_encoder": text,
        "decoder": decoder,
    }


def _prefix(data: dict[str, Any], text_proj: bool, source: str) -> dict[str, Any]:
    """MusicgenMelodyForConditionalGeneration's chroma_length frames of num_chroma features."""
    problems = []
    for key in ("chroma_length", "num_chroma"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(Problem(f"{_PREFIX}.{key}", f"must be a positive integer ({value!r})"))
    if problems:
        raise InputError(source, problems)
    return {
        "chroma_frames": data["chroma_length"],
        "chroma_width": data["num_chroma"],
        "text_proj": text_proj,
    }


# model_type -> wav2vec2's convolutional front-end before a post-norm encoder (Wav2Vec2Model);
# speecht5_encoder: SpeechT5's speech encoder as split_speecht5 writes it (with the bias).
SPEECHT5_ENCODER = "speecht5_encoder"
FEATURE_ENCODER_TYPES = frozenset({"wav2vec2", SPEECHT5_ENCODER})
# Read here, not refused by the generic reader.
FEATURE_ENCODER_KEYS = frozenset({"conv_kernel"})
_FEATURE_NORMS = ("group", "layer")
_FEATURE_ACTS = ("gelu", "relu", "silu")  # ACT2FN names counted as the FFN's activations


def _int_list(r: _Reader, key: str, length: int | None) -> tuple[int, ...] | None:
    value = r.data.get(key)
    items = value if isinstance(value, list) else []
    ok = bool(items) and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in items
    )
    if not ok or (length is not None and len(items) != length):
        want = f"{length} positive integers" if length else "a list of positive integers"
        r.refuse(key, f"expected {want} (got {value!r})")
        return None
    return tuple(items)


def feature_encoder_fields(r: _Reader, model_type: str) -> dict[str, Any]:
    """``Wav2Vec2Model``'s front-end and the post-norm encoder layers
    (``Wav2Vec2EncoderLayer``); the stable-layer-norm variant, adapters and an attention adapter
    are refused by name."""
    channels = _int_list(r, "conv_dim", None)
    n = len(channels) if channels else None
    kernels, strides = _int_list(r, "conv_kernel", n), _int_list(r, "conv_stride", n)
    layers = r.data.get("num_feat_extract_layers")
    if n is not None and layers not in (None, n):
        r.refuse(
            "num_feat_extract_layers", f"{layers} differs from the {n} convolutions of conv_dim"
        )
    norm = r.data.get("feat_extract_norm")
    if norm not in _FEATURE_NORMS:
        r.refuse("feat_extract_norm", f"must be one of {_FEATURE_NORMS} (got {norm!r})")
    act = r.data.get("feat_extract_activation")
    if act not in _FEATURE_ACTS:
        r.refuse("feat_extract_activation", f"activation {act!r} is not modelled")
    taps = r.int_("num_conv_pos_embeddings", what="position convolution taps")
    groups = r.int_("num_conv_pos_embedding_groups", what="position convolution groups")
    if r.data.get("do_stable_layer_norm") is True:
        r.refuse(
            "do_stable_layer_norm",
            "the stable-layer-norm encoder (Wav2Vec2EncoderStableLayerNorm: pre-norm layers, a "
            "final LayerNorm after them) is not modelled",
        )
    if r.data.get("add_adapter") is True:
        r.refuse("add_adapter", "the convolutional adapter after the encoder is not modelled")
    if r.data.get("adapter_attn_dim") is not None:
        r.refuse("adapter_attn_dim", "per-layer attention adapters are not modelled")
    if channels is None or kernels is None or strides is None or taps is None or groups is None:
        return {}
    if r.problems:
        return {}
    fe = FeatureEncoder(channels=channels, kernels=kernels, strides=strides, norm=norm,
                        activation=act, pos_taps=taps, pos_groups=groups)  # fmt: skip
    bias = model_type == SPEECHT5_ENCODER
    return {"feature_encoder": fe, "decoder": False, "vocab_size": None, "norm": "layernorm",
            "norm_position": "post", "relative_position_bias": bias}  # fmt: skip


# SpeechT5Config's fields of the speech encoder prenet (SpeechT5SpeechEncoderPrenet).
_PRENET_KEYS = ("conv_dim", "conv_kernel", "conv_stride", "num_feat_extract_layers",
                "feat_extract_norm", "feat_extract_activation", "conv_bias",
                "num_conv_pos_embeddings", "num_conv_pos_embedding_groups")  # fmt: skip
# The text-to-speech and voice-conversion heads the same config sizes (SpeechT5ForTextToSpeech,
# SpeechT5ForSpeechToSpeech: the speech decoder prenet and postnet, a vocoder).
SPEECHT5_NOTE = (
    "SpeechT5 read as SpeechT5ForSpeechToText (speech encoder prenet, text decoder prenet and "
    "postnet); the text-to-speech and speech-to-speech models' speech decoder prenet and postnet "
    "(speech_decoder_*) and the HiFi-GAN vocoder are not modelled; the sinusoidal positions and "
    "token embeddings are not counted"
)


def split_speecht5(data: dict[str, Any]) -> dict[str, Any] | None:
    """SpeechT5's flat config as a composite: the speech encoder (prenet fields, encoder_*
    sizes) and the text decoder (decoder_* sizes; SpeechT5DecoderLayer is post-norm)."""
    if data.get("model_type") != "speecht5":
        return None
    keys = ("hidden_size", "hidden_act", "layer_norm_eps")
    common: dict[str, Any] = {k: data[k] for k in keys if k in data}
    encoder: dict[str, Any] = {
        **common,
        **{k: data[k] for k in _PRENET_KEYS if k in data},
        "model_type": SPEECHT5_ENCODER,
        "num_hidden_layers": data.get("encoder_layers"),
        "num_attention_heads": data.get("encoder_attention_heads"),
        "intermediate_size": data.get("encoder_ffn_dim"),
    }
    decoder: dict[str, Any] = {
        **common,
        "model_type": "",  # the structure is stated by the fields below
        "is_decoder": True,
        "normalize_before": False,  # SpeechT5DecoderLayer: each sublayer's norm after its add
        "num_hidden_layers": data.get("decoder_layers"),
        "num_attention_heads": data.get("decoder_attention_heads"),
        "intermediate_size": data.get("decoder_ffn_dim"),
        "vocab_size": data.get("vocab_size"),
    }
    return {"model_type": "speecht5", "_notes": (SPEECHT5_NOTE,), "encoder": encoder,
            "decoder": decoder}  # fmt: skip


SEAMLESS_TYPES = {"seamless_m4t": "SeamlessM4TForTextToText",
                  "seamless_m4t_v2": "SeamlessM4Tv2ForTextToText"}  # fmt: skip


def split_seamless(data: dict[str, Any]) -> dict[str, Any] | None:
    """SeamlessM4T's flat config as its text-to-text model: the text encoder (encoder_* sizes)
    and the text decoder (decoder_* sizes), both pre-norm, of ``activation_function``."""
    kind = SEAMLESS_TYPES.get(str(data.get("model_type")))
    if kind is None:
        return None
    keys = ("hidden_size", "activation_function", "layer_norm_eps")
    common: dict[str, Any] = {k: data[k] for k in keys if k in data}
    common["model_type"] = ""  # the structure is stated by the fields below
    halves = {}
    for half in ("encoder", "decoder"):
        halves[half] = {
            **common,
            "num_hidden_layers": data.get(f"{half}_layers"),
            "num_attention_heads": data.get(f"{half}_attention_heads"),
            "intermediate_size": data.get(f"{half}_ffn_dim"),
        }
    halves["decoder"].update(is_decoder=True, vocab_size=data.get("vocab_size"))
    note = (
        f"SeamlessM4T read as {kind} (the model the seq2seq LM mapping names): the text "
        "encoder and decoder and the LM head; the speech encoder (a conformer with an adapter), "
        "the text-to-unit model and the HiFi-GAN vocoder of the speech-input and speech-output "
        "models are not modelled; token embeddings and sinusoidal positions are not counted"
    )
    return {"model_type": data["model_type"], "_notes": (note,), **halves}
