"""Deformable-attention detection transformers in Hugging Face configs, read into an
encoder-decoder :class:`~cosamt.workload.models.ModelConfig` with ``deformable`` set
(:mod:`cosamt.workload.deformable`).

Deformable DETR (``DeformableDetrConfig``; ``DeformableDetrEncoderLayer`` and
``DeformableDetrDecoderLayer`` in ``models/deformable_detr/modeling_deformable_detr.py``): an
encoder of deformable self-attention over every feature level's pixels (``encoder_n_points``
per level and head), a decoder of ``num_queries`` object queries with self-attention and
deformable cross-attention (``decoder_n_points``). The instance's ``seq_len`` is the tokens of
all ``num_feature_levels`` levels together (the config gives no image size; the levels'
sizes do not change the deformable operators' work, only their sum does).

RT-DETR and its derivatives (``RTDetrHybridEncoder``, ``RTDetrDecoderLayer`` in
``models/rt_detr/modeling_rt_detr.py``; RT-DETR v2, D-FINE, DEIMv2, PP-DocLayout V2/V3/V4):
the hybrid encoder's transformer part is AIFI (``RTDetrAIFILayer``: ``encoder_layers`` plain
encoder layers over the top feature level only, ``encode_proj_layers``); its convolutional
fusion (CCFM) is a stated, unmodelled neck like the backbone. The instance's ``seq_len`` is the
top level's H x W tokens (no image size in the configs: ``anchor_image_size`` and
``eval_size`` are null, anchors come from the input's shape); the decoder samples all levels,
sum over ``feat_strides`` of (s_top / s)^2 tokens per top-level token. D-FINE and DEIMv2 sample
the memory without value and output projections and gate the cross-attention's residual
(``DFineGate``, ``Deimv2Gate``); DEIMv2's decoder has RMSNorms and a SwiGLU FFN of
``decoder_ffn_dim // 2`` (``Deimv2SwiGLUFFN``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from cosamt.errors import problems_from_pydantic
from cosamt.workload.deformable import Deformable
from cosamt.workload.models import ModelConfig

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

# Grounding DINO's layers (GroundingDinoEncoderLayer, GroundingDinoDecoderLayer); MM Grounding
# DINO reuses them (modular_mm_grounding_dino.py).
GROUNDING_TYPES = frozenset({"grounding-dino", "mm-grounding-dino"})
DEFORMABLE_DETR_TYPES = frozenset({"deformable_detr"}) | GROUNDING_TYPES
# D-FINE's decoder (DFineMultiscaleDeformableAttention, DFineGate) and DEIMv2's copy of it.
DFINE_TYPES = frozenset({"d_fine", "deimv2"})
RT_DETR_TYPES = (
    frozenset({"rt_detr", "rt_detr_v2", "pp_doclayout_v2", "pp_doclayout_v3", "pp_doclayout_v4"})
    | DFINE_TYPES
)
# Deformable decoders whose token counts no config field gives: refused by name (hf.py, before
# the composite reading: OmDet-Turbo has a text_config and no generic layer count).
REFUSED = {
    "omdet-turbo": (
        "backbone_config",
        "OmDet-Turbo's feature levels come from a timm backbone (backbone_config.out_indices) "
        "whose strides no field states, and its decoder's self-attention runs over num_queries "
        "plus the task prompt's tokens (OmDetTurboDeformableTransformerDecoderLayer concatenates "
        "task_features), a count no field gives: not modelled",
    ),
}
TYPES = DEFORMABLE_DETR_TYPES | RT_DETR_TYPES
_ACTS = {"relu": "relu", "gelu": "gelu", "silu": "silu", "swish": "silu"}


def _activation(r: _Reader, key: str) -> str | None:
    value = r.data.get(key)
    if not isinstance(value, str) or value not in _ACTS:
        r.refuse(key, f"unsupported activation {value!r}; supported: {', '.join(sorted(_ACTS))}")
        return None
    return _ACTS[value]


def _points(r: _Reader, key: str, levels: int) -> tuple[int, ...] | None:
    """Sampling points per head of each level: one count for all levels, or one per level."""
    value = r.data.get(key)
    if isinstance(value, list):
        if len(value) != levels or not all(type(v) is int and v > 0 for v in value):
            r.refuse(key, f"must be {levels} positive integers, one per level (got {value!r})")
            return None
        return tuple(value)
    points = r.int_(key, what="sampling points per level and head")
    return None if points is None else (points,) * levels


def _encoder(
    r: _Reader, model_type: str, d: int, act_key: str, deformable: Deformable | None
) -> ModelConfig | None:
    """The encoder stack's own shape (its heads, FFN and activation are the encoder's)."""
    layers, heads = r.int_("encoder_layers"), r.int_("encoder_attention_heads")
    ffn, act = r.int_("encoder_ffn_dim"), _activation(r, act_key)
    if heads is not None and d % heads:
        r.refuse("encoder_attention_heads", f"{heads} heads do not divide d_model {d}")
    if None in (layers, heads, ffn, act) or r.problems:
        return None
    pre = r.data.get("normalize_before") is True  # RTDetrEncoderLayer's normalize_before
    try:
        return ModelConfig.model_validate(
            {
                "name": f"{model_type} encoder",
                "n_layers": layers,
                "d_model": d,
                "n_heads": heads,
                "d_ff": ffn,
                "activation": act,
                "norm": "layernorm",
                "norm_position": "pre" if pre else "post",
                "decoder": False,
                "deformable": deformable,
            }
        )
    except ValidationError as exc:  # a shape the encoder cannot have: named, not a crash
        r.problems += problems_from_pydantic(exc, "hf_config")
        return None


def _decoder(r: _Reader, act_key: str) -> dict[str, Any]:
    heads, d = (
        r.data.get("decoder_attention_heads"),
        r.data.get("d_model", r.data.get("hidden_size")),
    )
    if isinstance(heads, int) and isinstance(d, int) and heads > 0 and d % heads:
        r.refuse("decoder_attention_heads", f"{heads} heads do not divide d_model {d}")
    return {
        "n_layers": r.int_("decoder_layers"),
        "n_heads": r.int_("decoder_attention_heads"),
        "d_ff": r.int_("decoder_ffn_dim"),
        "activation": _activation(r, act_key),
        "norm": "layernorm",
        "norm_position": "post",
        "decoder": False,
        "decoder_tokens": r.int_("num_queries"),
    }


def fields(r: _Reader, model_type: str) -> dict[str, Any]:
    """A deformable detection transformer's fields: the decoder's shape, its encoder's own."""
    if model_type in DEFORMABLE_DETR_TYPES:
        return _deformable_detr(r, model_type)
    return _rt_detr(r, model_type)


def _text_tokens(r: _Reader, model_type: str, d: int | None) -> int | None:
    """Grounding DINO's text tokens: ``max_text_len`` (GroundingDinoModel truncates to it); the
    fusion's and text enhancer's heads (half the encoder's) must divide their widths."""
    if model_type not in GROUNDING_TYPES:
        return None
    text = r.int_("max_text_len", what="text tokens")
    heads, ffn = r.data.get("encoder_attention_heads"), r.data.get("encoder_ffn_dim")
    if isinstance(heads, int) and isinstance(ffn, int) and d:
        half = heads // 2
        if half < 1 or (ffn // 2) % half or d % half:
            r.refuse(
                "encoder_attention_heads",
                f"{heads} // 2 heads must divide encoder_ffn_dim // 2 ({ffn // 2}) and d_model "
                f"({d}): the fusion and text enhancer layers' heads",
            )
    return text


def _deformable_detr(r: _Reader, model_type: str) -> dict[str, Any]:
    d, levels = r.int_("d_model"), r.int_("num_feature_levels")
    text = _text_tokens(r, model_type, d)
    if d is None or levels is None:
        return {}
    enc_points = _points(r, "encoder_n_points", levels)
    dec_points = _points(r, "decoder_n_points", levels)
    base = _decoder(r, "activation_function")
    if enc_points is None or dec_points is None or r.problems:
        return {}
    tower = _text_tower(r) if text is not None else None
    if r.problems:
        return {}
    width = tower.d_model if tower is not None else None
    own = Deformable(points=enc_points, text_tokens=text, text_width=width)
    encoder = _encoder(r, model_type, d, "activation_function", own)
    if encoder is None:
        return {}
    r.assumed.append(
        f"{model_type}: the backbone's feature maps and the extra levels' convolutions to "
        f"{levels} levels are not modelled; nor are with_box_refine's per-layer heads, or "
        "two_stage's proposals (enc_output and the heads over every encoder token, the top-k "
        "selection)"
    )
    return {
        **base,
        "d_model": d,
        "encoder_layers": encoder.n_layers,
        "encoder": encoder,
        "deformable": Deformable(points=dec_points, text_tokens=text),
        "text_encoder": tower,
    }


def _text_tower(r: _Reader) -> ModelConfig | None:
    """Grounding DINO's ``text_config`` (a BERT by default), read by the generic reader as an
    encoder of its own; problems inside it are reported under ``hf_config.text_config``."""
    from cosamt.errors import InputError
    from cosamt.workload.hf import config_from_dict  # the reader that called this one

    sub = r.data.get("text_config")
    if not isinstance(sub, dict):
        r.refuse("text_config", "the text tower's config is missing")
        return None
    try:
        tower = config_from_dict(sub, str(sub.get("model_type") or "text tower"))
    except InputError as exc:
        for problem in exc.problems:
            r.refuse(problem.path.replace("hf_config", "text_config", 1), problem.message)
        return None
    if tower.decoder or tower.encoder_layers is not None or tower.image_tokens is not None:
        r.refuse("text_config", "the text tower is not a bidirectional text encoder")
        return None
    return tower


def _value_tokens(r: _Reader) -> int | None:
    """All levels' tokens per top-level token: sum over feat_strides of (s_top / s)^2."""
    strides = r.data.get("feat_strides")
    if (
        not isinstance(strides, list)
        or not strides
        or not all(isinstance(s, int) and s > 0 for s in strides)
    ):
        r.refuse("feat_strides", f"must be a list of positive integers (got {strides!r})")
        return None
    top = strides[-1]
    if any(top % s for s in strides) or max(strides) != top:
        r.refuse("feat_strides", f"{strides}: each stride must divide the last (the top level's)")
        return None
    levels = r.data.get("num_feature_levels")
    if levels != len(strides):
        r.refuse(
            "num_feature_levels",
            f"{levels!r} levels for {len(strides)} feat_strides: extra levels (3x3 stride-2 "
            "convolutions of the last map) are not modelled",
        )
        return None
    if r.data.get("encode_proj_layers") != [len(strides) - 1]:
        r.refuse(
            "encode_proj_layers",
            f"{r.data.get('encode_proj_layers')!r}: AIFI on levels other than the top one "
            f"([{len(strides) - 1}]) is not modelled",
        )
        return None
    return sum((top // s) ** 2 for s in strides)


def _rt_detr(r: _Reader, model_type: str) -> dict[str, Any]:
    d = r.int_("d_model", "hidden_size")
    hidden = r.int_("encoder_hidden_dim")
    if d is not None and hidden is not None and hidden != d:
        r.refuse("encoder_hidden_dim", f"{hidden} differs from d_model {d}: not modelled")
    values = _value_tokens(r)
    method = r.data.get("decoder_method", "default")
    if method != "default":
        r.refuse("decoder_method", f"{method!r} sampling (not bilinear) is not modelled")
    if r.data.get("encoder_type", "hybrid") != "hybrid":  # DEIMv2's LiteEncoder: no AIFI
        r.refuse("encoder_type", f"{r.data.get('encoder_type')!r} encoder is not modelled")
    levels = r.data.get("decoder_n_levels", r.data.get("num_feature_levels"))
    if levels != r.data.get("num_feature_levels"):
        r.refuse("decoder_n_levels", "sampling fewer levels than the memory has is not modelled")
    base = _decoder(r, "decoder_activation_function")
    dfine = model_type in DFINE_TYPES
    if dfine:
        eval_idx = r.data.get("eval_idx", -1)
        layers = base["n_layers"]
        if layers is not None and eval_idx not in (-1, layers - 1):
            # DFineDecoder adds decoder_layers - eval_idx - 1 layers after the first ones.
            r.refuse("eval_idx", f"{eval_idx!r}: decoder layers beyond decoder_layers not modelled")
    if model_type == "deimv2":  # Deimv2DecoderLayer: RMSNorms, Deimv2SwiGLUFFN
        act = base["activation"]
        base["norm"], base["activation"] = "rmsnorm", "swiglu"
        if act is not None and base["d_ff"] is not None:
            base["d_ff"] //= 2
            r.assumed.append(
                f"deimv2: the decoder FFN is SwiGLU of decoder_ffn_dim // 2 = {base['d_ff']} "
                f"(Deimv2SwiGLUFFN; decoder_activation_function {act!r} unused)"
            )
    if d is None or values is None or not isinstance(levels, int) or r.problems:
        return {}
    points = _points(r, "decoder_n_points", levels)
    encoder = _encoder(r, model_type, d, "encoder_activation_function", None)
    if points is None or encoder is None or r.problems:
        return {}
    gate = dfine and r.data.get("use_gateway", True) is not False
    spec = Deformable(
        points=points,
        value_proj=not dfine,
        output_proj=not dfine,
        gateway=gate,
        value_tokens=values,
    )
    if model_type == "pp_doclayout_v2":
        r.assumed.append(
            "pp_doclayout_v2: the reading-order model (reading_order_config, run on the "
            "detections) is not modelled"
        )
    return {**base, "d_model": d, "encoder_layers": encoder.n_layers, "encoder": encoder,
            "deformable": spec}  # fmt: skip
