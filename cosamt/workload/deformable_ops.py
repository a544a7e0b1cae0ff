"""Operators of a deformable-attention detection transformer (``ModelConfig.deformable``):
Deformable DETR (transformers' ``DeformableDetrEncoderLayer`` / ``DeformableDetrDecoderLayer``
in ``models/deformable_detr/modeling_deformable_detr.py``), RT-DETR and its derivatives
(``RTDetrDecoderLayer`` in ``models/rt_detr/modeling_rt_detr.py``, ``RTDetrV2DecoderLayer``,
``DFineDecoderLayer``, ``Deimv2DecoderLayer``, the PP-DocLayout ones).

A deformable attention of ``m`` queries against ``v`` value tokens, ``H`` heads of ``dh``
features, ``S`` sampled locations per query and head (levels x points: the dimension ``n``,
a query's keys)::

    value_proj         V[b,v,f]      += X[b,v,e] * W[e,f]           (if not D-FINE's)
    sampling_offsets   O[b,m,f]      += Q[b,m,e] * W[e,f]           f = H * S * 2
    attention_weights  A[b,m,f]      += Q[b,m,e] * W[e,f]           f = H * S
    attention_softmax  over each head's S weights                    (vector)
    sample             T[b,m,h,n,d]   = sum_j w_j G[b,m,h,n,j,d]    (vector: bilinear, 4 taps)
    sample_sum         Y[b,m,h,d]    += P[b,m,h,n] * T[b,m,h,n,d]   (mac)
    output_proj        Z[b,m,f]      += Y[b,m,e] * W[e,f]           (if not D-FINE's)

The sampling (``grid_sample``, bilinear, zero padding) reads four neighbours per sampled
location and channel at data-dependent addresses: a vector operator of 2 ops (multiply by the
bilinear weight, add) per tap, its input the gathered taps (no reuse between them is assumed).
An encoder layer (Deformable DETR): deformable self-attention over the ``seq_len`` tokens,
residual, norm, FFN, residual, norm. A decoder layer: self-attention over the object queries,
residual, norm, deformable cross-attention against the value tokens, residual and norm (or
D-FINE's gate), FFN, residual, norm.
"""

from __future__ import annotations

import dataclasses

from cosamt.workload.deformable import Deformable
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    SILU_OPS,
    SOFTMAX_OPS,
    BlockPlan,
    _attention_core,
    _dense_ffn,
    _elementwise,
    _norm,
    _projection,
    _residual,
    _self_attention,
    activation_op,
)

BILINEAR_TAPS = 4  # grid_sample(mode="bilinear"): the four neighbours of a sampled location
TAP_OPS = 2  # per tap and channel: multiply by its bilinear weight, add
SIGMOID_OPS = SILU_OPS  # negate, exp, add 1, divide
GATE_MIX_OPS = 3  # g1 * residual + g2 * output: two multiplies, an add


def plans(model: ModelConfig, seq_len: int) -> list[BlockPlan]:
    """The encoder layers over ``seq_len`` tokens, then the decoder layers of the object
    queries, their cross-attention against all feature levels' tokens."""
    spec, queries = model.deformable, model.decoder_tokens
    assert spec is not None and queries is not None and model.encoder is not None
    values = seq_len * spec.value_tokens
    label = f"decoder ({queries} object queries, deformable cross-attention on {values} tokens)"
    decoder = BlockPlan("dec.", label, model.n_layers, queries, queries, False, False, values, True)
    what = "deformable self-attention" if model.encoder.deformable else "attention"
    label = f"encoder ({what} over {seq_len} tokens)"
    encoder = BlockPlan("enc.", label, model.encoder.n_layers, seq_len, seq_len, False, False)
    return [*_text_plans(model), encoder, decoder]


def _text_plans(model: ModelConfig) -> list[BlockPlan]:
    """A text tower's layers over the text tokens, then its projection to d_model (once)."""
    text, spec = model.text_encoder, model.encoder.deformable if model.encoder else None
    if text is None or spec is None or spec.text_tokens is None:
        return []
    t = spec.text_tokens
    label = f"text encoder ({text.name}, {t} text tokens)"
    layers = BlockPlan("enc.text.", label, text.n_layers, t, t, False, False)
    proj = BlockPlan("enc.text_proj.", "text projection to d_model", 1, t, 0, False, False)
    return [layers, dataclasses.replace(proj, special="text_projection")]


def attention_ops(
    model: ModelConfig, spec: Deformable, p: str, b: int, m: int, v: int, c: int
) -> list[Einsum]:
    """Deformable attention of ``m`` queries against ``v`` value tokens (names ``{p}...``)."""
    d, h, s, dh = model.d_model, model.n_heads, spec.samples, model.dh
    ops = [_projection(f"{p}value_proj", b, v, d, d, c)] if spec.value_proj else []
    # The samples are a query's keys (n): the softmax normalises over them, the sum reduces them.
    heads = {"b": b, "m": m, "h": h, "n": s}
    weights = ("b", "m", "h", "n")
    sampled = ("b", "m", "h", "n", "d")
    ops += [
        _projection(f"{p}sampling_offsets", b, m, d, h * s * 2, c),
        _projection(f"{p}attention_weights", b, m, d, h * s, c),
        _elementwise(
            f"{p}attention_softmax",
            "softmax",
            SOFTMAX_OPS,
            heads,
            [("A", weights, Role.INPUT)],
            ("P", weights),
            c,
        ),
        Einsum(
            name=f"{p}sample",
            dims={**heads, "j": BILINEAR_TAPS, "d": dh},
            tensors=(
                Tensor("G", ("b", "m", "h", "n", "j", "d"), Role.INPUT),
                Tensor("T", sampled, Role.OUTPUT),
            ),
            kind=OpKind.VECTOR,
            ops_per_point=TAP_OPS,
            count=c,
            op="bilinear gather",
        ),
        Einsum(
            name=f"{p}sample_sum",
            dims={**heads, "d": dh},
            tensors=(
                Tensor("P", weights, Role.INPUT),
                Tensor("T", sampled, Role.INPUT),
                Tensor("Y", ("b", "m", "h", "d"), Role.OUTPUT),
            ),
            count=c,
        ),
    ]
    if spec.output_proj:
        ops.append(_projection(f"{p}output_proj", b, m, d, d, c))
    return ops


def _gateway(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    """``DFineGate``: sigmoid of a 2d -> 2d projection of [residual, output], the gated sum."""
    d = model.d_model
    return [
        _projection(f"{p}gate_proj", b, m, 2 * d, 2 * d, c),
        _elementwise(
            f"{p}gate_sigmoid",
            "sigmoid",
            SIGMOID_OPS,
            {"b": b, "m": m, "f": 2 * d},
            [("X", _BMF, Role.INPUT)],
            ("G", _BMF),
            c,
        ),
        _elementwise(
            f"{p}gate_mix",
            "gated sum",
            GATE_MIX_OPS,
            {"b": b, "m": m, "f": d},
            [(t, _BMF, Role.INPUT) for t in ("R", "O", "G1", "G2")],
            ("Y", _BMF),
            c,
        ),
    ]


def _fusion(model: ModelConfig, text: int, p: str, b: int, s: int, c: int) -> list[Einsum]:
    """``GroundingDinoBiMultiHeadAttention`` between ``s`` vision and ``text`` text tokens in
    ``encoder_ffn_dim // 2`` features and ``heads // 2`` heads: the vision queries' scores
    against the text keys, once, softmax-ed along the text for the vision side and (transposed)
    along the vision tokens for the text side; each side's values, output projection and
    ``param * delta`` residual (2 ops: scale, add)."""
    d, e, h, norm = model.d_model, model.d_ff // 2, model.n_heads // 2, model.norm
    fused = model.model_copy(update={"n_heads": h, "n_kv_heads": None, "head_dim": e // h})
    to_text = _attention_core(fused, f"{p}fuse_v", b, s, text, c)
    to_vision = _attention_core(fused, f"{p}fuse_t", b, text, s, c)[1:]  # the scores, transposed
    return [
        _norm(f"{p}fuse_vnorm", norm, b, s, d, c),
        _norm(f"{p}fuse_tnorm", norm, b, text, d, c),
        _projection(f"{p}fuse_vproj", b, s, d, 2 * e, c),  # vision_proj, values_vision_proj
        _projection(f"{p}fuse_tproj", b, text, d, 2 * e, c),  # text_proj, values_text_proj
        *to_text,
        *to_vision,
        _projection(f"{p}fuse_vout", b, s, e, d, c),
        _projection(f"{p}fuse_tout", b, text, e, d, c),
        _scaled_residual(f"{p}fuse_vresidual", b, s, d, c),
        _scaled_residual(f"{p}fuse_tresidual", b, text, d, c),
    ]


def _scaled_residual(name: str, b: int, m: int, d: int, c: int) -> Einsum:
    inputs = [("A", _BMF, Role.INPUT), ("B", _BMF, Role.INPUT), ("G", ("f",), Role.WEIGHT)]
    return _elementwise(name, "scaled add", 2, {"b": b, "m": m, "f": d}, inputs, ("Y", _BMF), c)


def _text_enhancer(model: ModelConfig, text: int, p: str, b: int, c: int) -> list[Einsum]:
    """``GroundingDinoTextEnhancerLayer``: self-attention of the text tokens (``heads // 2``
    heads over d), residual, norm, FFN of ``encoder_ffn_dim // 2``, residual, norm."""
    d, e, h, norm = model.d_model, model.d_ff // 2, model.n_heads // 2, model.norm
    enhancer = model.model_copy(update={"n_heads": h, "n_kv_heads": None, "head_dim": d // h})
    return [
        _projection(f"{p}text_qkv_proj", b, text, d, 3 * d, c),
        *_attention_core(enhancer, f"{p}text_", b, text, text, c),
        _projection(f"{p}text_out_proj", b, text, d, d, c),
        _residual(f"{p}text_residual1", b, text, d, c),
        _norm(f"{p}text_norm1", norm, b, text, d, c),
        _projection(f"{p}text_ffn1", b, text, d, e, c),
        activation_op(model, f"{p}text_act", b, text, e, c),
        _projection(f"{p}text_ffn2", b, text, e, d, c),
        _residual(f"{p}text_residual2", b, text, d, c),
        _norm(f"{p}text_norm2", norm, b, text, d, c),
    ]


def _text_cross(model: ModelConfig, text: int, p: str, b: int, m: int, c: int) -> list[Einsum]:
    """Grounding DINO's ``encoder_attn_text``: the queries attend to the text tokens."""
    d, norm = model.d_model, model.norm
    return [
        _projection(f"{p}tq_proj", b, m, d, d, c),
        _projection(f"{p}tkv_proj", b, text, d, 2 * d, c),
        *_attention_core(model, f"{p}t", b, m, text, c),
        _projection(f"{p}tout_proj", b, m, d, d, c),
        _residual(f"{p}tresidual", b, m, d, c),
        _norm(f"{p}tnorm", norm, b, m, d, c),
    ]


def block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """One encoder layer (``plan.cross_n`` None: deformable self-attention) or decoder layer."""
    spec = model.deformable
    assert spec is not None
    p, m, c, d, norm = plan.prefix, plan.m, plan.count, model.d_model, model.norm
    if plan.special == "text_projection":  # GroundingDinoModel.text_projection
        assert spec.text_width is not None
        return [_projection(f"{p}text_projection", b, m, spec.text_width, d, c)]
    text = spec.text_tokens
    if plan.cross_n is None:
        ops = [] if text is None else _fusion(model, text, p, b, m, c)
        ops += [] if text is None else _text_enhancer(model, text, p, b, c)
        ops += attention_ops(model, spec, p, b, m, m, c)
    else:
        own = dataclasses.replace(plan, cross_n=None)
        ops = [*_self_attention(model, own, b), _residual(f"{p}residual1", b, m, d, c)]
        ops += [_norm(f"{p}norm1", norm, b, m, d, c)]
        ops += [] if text is None else _text_cross(model, text, p, b, m, c)
        ops += attention_ops(model, spec, f"{p}x", b, m, plan.cross_n, c)
    if spec.gateway:
        ops += _gateway(model, p, b, m, c)
    else:
        ops.append(_residual(f"{p}xresidual" if plan.cross_n else f"{p}residual1", b, m, d, c))
    ops.append(_norm(f"{p}xnorm" if plan.cross_n else f"{p}norm1", norm, b, m, d, c))
    ops += _dense_ffn(model, p, b, m, model.d_ff, c)
    return [*ops, _residual(f"{p}residual2", b, m, d, c), _norm(f"{p}norm2", norm, b, m, d, c)]


def assumptions(model: ModelConfig, seq_len: int) -> list[str]:
    """What the deformable operators leave out, for every report."""
    spec = model.deformable
    assert spec is not None and model.encoder is not None
    values = seq_len * spec.value_tokens
    enc = model.encoder.deformable
    where = (
        f"the instance's seq_len ({seq_len}) is the tokens of all {len(spec.points)} feature "
        "levels together (sum of H_l x W_l), which the encoder runs over"
        if enc is not None
        else f"the instance's seq_len ({seq_len}) is the top feature level's H x W tokens, the "
        f"encoder's; the decoder samples all levels' {values} tokens "
        f"({spec.value_tokens} x seq_len: the strides' levels of an image whose sides are "
        "multiples of the largest stride)"
    )
    text = []
    if spec.text_tokens is not None:
        text = [
            f"text: {spec.text_tokens} text tokens (max_text_len, the most the model reads: a "
            "shorter prompt does less work); the vision-text fusion's global max shift and "
            "score clamps are not counted"
        ]
    tower = model.text_encoder
    if tower is not None:
        text.append(
            f"text tower: {tower.n_layers} layers of {tower.name} (text_config, read as a plain "
            f"encoder: enc.text.) over the {spec.text_tokens} text tokens, then text_projection "
            "to d_model (enc.text_proj.); its embeddings and the sub-sentence attention masks "
            "(vector work) are not modelled"
        )
        text += [f"text tower: {a}" for a in tower.assumptions]
    return [
        f"deformable attention: {where}",
        *text,
        f"deformable attention: {spec.samples} sampled locations per query and head "
        f"(points per level {list(spec.points)}); bilinear sampling as a gather of "
        f"{BILINEAR_TAPS} taps per location and channel ({TAP_OPS} vector ops per tap), each "
        "tap read from the value tokens (no reuse between neighbouring samples); the sampling "
        "locations and bilinear weights (per location, not per channel) are not counted",
        "detection transformer: the CNN/vision backbone, the input projections of its feature "
        "maps, any convolutional neck (RT-DETR's CCFM fusion), the query selection, the "
        "query position MLP, the box, class, mask and reading-order heads are not modelled",
    ]
