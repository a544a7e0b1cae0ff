"""Operators of a wav2vec2-style front-end (``ModelConfig.feature_encoder``; see
:mod:`cosamt.workload.feature_encoder`), one block type of count 1 (``feat.``) before the
encoder's layers, as transformers' ``Wav2Vec2Model`` computes it:

* ``convN`` (``Wav2Vec2FeatureEncoder``'s N-th ``nn.Conv1d``, unpadded: a GEMM over each output
  frame's ``kernel`` x input-channel patch, exact MACs, an overlapping patch's samples counted
  once per output frame that reads them), ``normN`` (the first layer's GroupNorm, or every
  layer's LayerNorm), ``actN``;
* ``proj_norm``, ``proj`` (``Wav2Vec2FeatureProjection``: LayerNorm of the last channels, Linear
  to the hidden size);
* ``pos_conv`` (``Wav2Vec2PositionalConvEmbedding``: the grouped Conv1d as
  ``Y[b,m,g,f] += X[b,m,j,g,e] * W[g,e,j,f]``, on every frame it computes, the padding's extra
  one included), ``pos_act``, ``pos_add`` (onto the hidden states), ``pos_norm``
  (``Wav2Vec2Encoder.layer_norm``, before the post-norm layers).
"""

from __future__ import annotations

from cosamt.errors import InputError, Problem
from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.feature_encoder import FeatureEncoder
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    LAYERNORM_OPS,
    BlockPlan,
    _elementwise,
    _norm,
    _projection,
    _residual,
    activation_ops,
)


def _vector(name: str, op: str, ops: int, b: int, m: int, f: int) -> Einsum:
    return _elementwise(name, op, ops, {"b": b, "m": m, "f": f}, [("X", _BMF, Role.INPUT)],
                        ("Y", _BMF), 1)  # fmt: skip


def frames(fe: FeatureEncoder, tokens: int) -> list[int]:
    """Frames after each convolution from the fewest samples giving ``tokens`` frames."""
    out = fe.lengths(fe.input_samples(tokens))
    if out[-1] != tokens:  # cannot happen for positive sizes: the inverse is exact
        raise InputError("", [Problem("seq_len", f"no waveform gives {tokens} frames")])
    return out


def _pos_conv(name: str, fe: FeatureEncoder, b: int, m: int, d: int) -> Einsum:
    g = fe.pos_groups
    return Einsum(
        name=name,
        dims={
            "b": b,
            "m": m + fe.pos_frames_extra,
            "j": fe.pos_taps,
            "g": g,
            "e": d // g,
            "f": d // g,
        },
        tensors=(
            Tensor("X", ("b", "m", "j", "g", "e"), Role.INPUT),
            Tensor("W", ("g", "e", "j", "f"), Role.WEIGHT),
            Tensor("Y", ("b", "m", "g", "f"), Role.OUTPUT),
        ),
        count=1,
    )


def frontend(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The feature encoder, the feature projection and the position convolution."""
    fe = model.feature_encoder
    assert fe is not None
    p, t, d = plan.prefix, plan.m, model.d_model
    act, act_ops = fe.activation, activation_ops(fe.activation)
    ops: list[Einsum] = []
    c_in = 1
    for i, (length, c, k) in enumerate(zip(frames(fe, t), fe.channels, fe.kernels, strict=True)):
        n = i + 1
        ops.append(_projection(f"{p}conv{n}", b, length, c_in * k, c, 1))
        if fe.norm == "layer":
            ops.append(_norm(f"{p}norm{n}", "layernorm", b, length, c, 1))
        elif i == 0:  # GroupNorm(C, C): each channel over the frames, a LayerNorm's ops
            ops.append(_vector(f"{p}norm1", "groupnorm", LAYERNORM_OPS, b, length, c))
        ops.append(_vector(f"{p}act{n}", act, act_ops, b, length, c))
        c_in = c
    return [
        *ops,
        _norm(f"{p}proj_norm", "layernorm", b, t, c_in, 1),
        _projection(f"{p}proj", b, t, c_in, d, 1),
        _pos_conv(f"{p}pos_conv", fe, b, t, d),
        _vector(f"{p}pos_act", act, act_ops, b, t, d),
        _residual(f"{p}pos_add", b, t, d, 1),
        _norm(f"{p}pos_norm", "layernorm", b, t, d, 1),
    ]


def assumptions(model: ModelConfig, tokens: int) -> list[str]:
    fe = model.feature_encoder
    assert fe is not None
    samples = fe.input_samples(tokens)
    return [
        f"wav2vec2 feature encoder (transformers' Wav2Vec2FeatureEncoder; SpeechT5's is a copy): "
        f"the {tokens} encoder "
        f"frames are the instance's seq_len; the {len(fe.channels)} convolutions run on "
        f"{samples} waveform samples, the fewest giving {tokens} frames; each convolution a GEMM "
        "over its output frames' patches (exact MACs; the waveform's normalisation by the "
        "feature extractor is not modelled)",
        f"the position convolution (Wav2Vec2PositionalConvEmbedding: {fe.pos_taps} taps, "
        f"{fe.pos_groups} groups) counted on the {tokens + fe.pos_frames_extra} frames it "
        "computes; its weight norm is folded into the weights; SpecAugment masking and dropout "
        "are training-only (not counted)",
    ]
