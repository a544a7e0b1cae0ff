"""Operators of a conformer speech encoder (``ModelConfig.conformer``), as transformers'
``ParakeetEncoder`` computes them (``models/parakeet/modeling_parakeet.py``).

The front-end (``ParakeetEncoderSubsamplingConv2D``), one block type of count 1 before the
encoder blocks: the log-mel spectrogram (``subsampling factor`` x T frames of ``mel_bins``
features, one channel) through a strided ``k x k`` convolution to ``C`` channels and a ReLU,
then per further layer a strided depthwise ``k x k`` convolution, a pointwise (1 x 1) one and a
ReLU, then a linear layer from the flattened ``C x`` remaining frequency bins to the hidden size
on every encoder frame, and the input scale (``hidden_states * input_scale``: sqrt(hidden) or
1.0, multiplied either way). A convolution is a GEMM over each output position's ``k x k`` x
input-channel patch (the depthwise one: per channel, over its ``k x k`` taps): exact MACs, an
overlapping patch's inputs counted once per output position that reads them.

A block (``ParakeetEncoderBlock``)::

    x = x + 0.5 * FFN1(LN(x))                       # ff1_*
    x = x + MHSA_rel(LN(x), pos)                    # att_*, pos_*
    x = x + Conv(LN(x))                             # conv_*
    x = x + 0.5 * FFN2(LN(x))                       # ff2_*
    x = LN(x)                                       # out_norm

The relative-position attention (``ParakeetEncoderAttention``, Transformer-XL's, Dai et al. 2019
sec. 3.3): Q, K, V projections; the 2T - 1 relative position embeddings (T - 1 ... -(T - 1),
one set per batch element) projected by ``relative_k_proj`` (``pos_proj``, H x head_dim wide);
the biases u and v added to Q (``pos_bias``); content scores (Q + u) Kᵀ (``att_qk``) and position
scores (Q + v) Rᵀ against all 2T - 1 positions (``pos_qk``, as the source computes them before
the relative shift keeps T of them); the kept position scores scaled and added to the content
scores (``pos_add``); ``att_softmax``; ``att_av``; the output projection. The convolution module
(``ParakeetEncoderConvolutionModule``): pointwise conv to 2 x hidden (``conv_pw1``), GLU, the
depthwise conv of ``conv_kernel`` taps (:func:`cosamt.workload.transformer.depthwise_conv`),
batch norm (inference: running statistics), the activation, pointwise conv (``conv_pw2``).

The streaming conformer (``Conformer.causal``, ``NemotronAsrStreamingEncoder``): the same
operators, the front-end's sizes from its causal padding, ``conv_ln`` (a LayerNorm) in place of
``conv_bn``; its chunk-limited attention mask is added to the scores as the source does (every
score computed, the masked ones set to -inf before the softmax): counted as the full T x T scores
(stated).
"""

from __future__ import annotations

from cosamt.errors import InputError, Problem
from cosamt.workload.conformer import Conformer
from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    RELU_OPS,
    SILU_OPS,
    BlockPlan,
    _attention_core,
    _elementwise,
    _norm,
    _projection,
    _residual,
    activation_ops,
    depthwise_conv,
)

# GLU a * sigmoid(g) = a / (1 + exp(-g)): negate, exp, add 1, divide (as SiLU's count).
GLU_OPS = SILU_OPS
# Batch norm with running statistics, unfused: subtract the mean, multiply by 1/sqrt(var + eps)
# (precomputed per channel), multiply by gamma, add beta.
BATCHNORM_OPS = 4
HALF_STEP_OPS = 2  # residual + 0.5 * y: multiply, add
POS_BIAS_OPS = 2  # Q + u and Q + v
POS_ADD_OPS = 2  # the kept position score times the scaling, added to the content score
SCALE_OPS = 1  # hidden_states * input_scale


def _vector(name: str, op: str, ops: int, b: int, m: int, f: int, c: int) -> Einsum:
    return _elementwise(name, op, ops, {"b": b, "m": m, "f": f}, [("X", _BMF, Role.INPUT)],
                        ("Y", _BMF), c)  # fmt: skip


def _half_step(name: str, b: int, m: int, d: int, c: int) -> Einsum:
    return _elementwise(
        name,
        "add",
        HALF_STEP_OPS,
        {"b": b, "m": m, "f": d},
        [("A", _BMF, Role.INPUT), ("B", _BMF, Role.INPUT)],
        ("Y", _BMF),
        c,
    )


def _ffn(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    """``ParakeetEncoderFeedForward``: linear1, the activation, linear2, its half-step add."""
    d, f = model.d_model, model.d_ff
    return [
        _norm(f"{p}_norm", model.norm, b, m, d, c),
        _projection(f"{p}_up", b, m, d, f, c),
        _vector(f"{p}_act", model.activation, activation_ops(model.activation), b, m, f, c),
        _projection(f"{p}_down", b, m, f, d, c),
        _half_step(f"{p}_residual", b, m, d, c),
    ]


def _position_scores(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    """(Q + v) against the 2m - 1 projected relative positions, per query head."""
    h, dh, positions = model.n_heads, model.dh, 2 * m - 1
    q = ("b", "h", "m", "d")
    return [
        Einsum(
            name=f"{p}pos_qk",
            dims={"b": b, "h": h, "m": m, "n": positions, "d": dh},
            tensors=(
                Tensor("Q", q, Role.INPUT),
                Tensor("R", ("b", "h", "n", "d"), Role.INPUT),
                Tensor("S", ("b", "h", "m", "n"), Role.OUTPUT),
            ),
            count=c,
        )
    ]


def _attention(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    h, dh = model.n_heads, model.dh
    qkv = (h + 2 * model.kv_heads) * dh
    # att_qk, att_softmax, att_av: not the menu's qk-softmax-av chain (pos_add comes between).
    qk, softmax, av = _attention_core(model, f"{p}att_", b, m, m, c)
    scores = qk.tensor("S").dims
    pos_add = _elementwise(
        f"{p}pos_add",
        "add",
        POS_ADD_OPS,
        dict(softmax.dims),
        [("S", scores, Role.INPUT), ("B", scores, Role.INPUT)],
        ("Y", scores),
        c,
    )
    return [
        _norm(f"{p}att_norm", model.norm, b, m, d, c),
        _projection(f"{p}qkv_proj", b, m, d, qkv, c),
        _projection(f"{p}pos_proj", b, 2 * m - 1, d, h * dh, c),
        _vector(f"{p}pos_bias", "add", POS_BIAS_OPS, b, m, h * dh, c),
        qk,
        *_position_scores(model, p, b, m, c),
        pos_add,
        softmax,
        av,
        _projection(f"{p}out_proj", b, m, h * dh, d, c),
        _residual(f"{p}att_residual", b, m, d, c),
    ]


def _conv_norm(conf: Conformer, p: str, b: int, m: int, d: int, c: int) -> Einsum:
    """The batch norm after the depthwise convolution, or the streaming conformer's LayerNorm."""
    if conf.causal:
        return _norm(f"{p}conv_ln", "layernorm", b, m, d, c)
    return _vector(f"{p}conv_bn", "batchnorm", BATCHNORM_OPS, b, m, d, c)


def _convolution(
    model: ModelConfig, conf: Conformer, p: str, b: int, m: int, c: int
) -> list[Einsum]:
    d = model.d_model
    return [
        _norm(f"{p}conv_norm", model.norm, b, m, d, c),
        _projection(f"{p}conv_pw1", b, m, d, 2 * d, c),
        _vector(f"{p}conv_glu", "glu", GLU_OPS, b, m, d, c),
        depthwise_conv(f"{p}conv_dw", b, m, d, conf.conv_kernel, c),
        _conv_norm(conf, p, b, m, d, c),
        _vector(f"{p}conv_act", model.activation, activation_ops(model.activation), b, m, d, c),
        _projection(f"{p}conv_pw2", b, m, d, d, c),
        _residual(f"{p}conv_residual", b, m, d, c),
    ]


def block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """One conformer block: FFN/2, relative-position MHSA, convolution module, FFN/2, norm."""
    conf = model.conformer
    assert conf is not None
    p, m, c = plan.prefix, plan.m, plan.count
    return [
        *_ffn(model, f"{p}ff1", b, m, c),
        *_attention(model, plan, b),
        *_convolution(model, conf, p, b, m, c),
        *_ffn(model, f"{p}ff2", b, m, c),
        _norm(f"{p}out_norm", model.norm, b, m, model.d_model, c),
    ]


def _strided_depthwise(name: str, b: int, m: int, channels: int, taps: int) -> Einsum:
    """``Y[b,m,f] += X[b,m,j,f] * W[f,j]``: a strided depthwise convolution, each output
    position's ``taps`` inputs per channel (its patch) an operand of its own."""
    return Einsum(
        name=name,
        dims={"b": b, "m": m, "j": taps, "f": channels},
        tensors=(
            Tensor("X", ("b", "m", "j", "f"), Role.INPUT),
            Tensor("W", ("f", "j"), Role.WEIGHT),
            Tensor("Y", _BMF, Role.OUTPUT),
        ),
        count=1,
    )


def frontend_frames(conf: Conformer, tokens: int) -> list[tuple[int, int]]:
    """(time, frequency) sizes after each front-end convolution, from ``tokens`` x the
    subsampling factor mel frames (:meth:`Conformer.input_frames`); the last time size must be
    ``tokens``."""
    frames = conf.input_frames(tokens)
    times, freqs = conf.lengths(frames), conf.lengths(conf.mel_bins)
    if frames == 0 or times[-1] != tokens:
        raise InputError(
            "",
            [
                Problem(
                    "seq_len",
                    f"no number of mel frames (tried {frames}) subsamples to {tokens} "
                    f"encoder frames",
                )
            ],
        )
    return list(zip(times, freqs, strict=True))


def frontend(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The subsampling convolutions, their ReLUs, the linear layer to the hidden size and the
    input scale."""
    conf = model.conformer
    assert conf is not None
    p, ch, taps = plan.prefix, conf.sub_channels, conf.sub_kernel**2
    grid = frontend_frames(conf, plan.m)
    t1, f1 = grid[0]
    ops = [
        _projection(f"{p}conv1", b, t1 * f1, taps, ch, 1),
        _vector(f"{p}act1", "relu", RELU_OPS, b, t1 * f1, ch, 1),
    ]
    for i, (t, f) in enumerate(grid[1:], start=2):
        ops += [
            _strided_depthwise(f"{p}dw{i}", b, t * f, ch, taps),
            _projection(f"{p}pw{i}", b, t * f, ch, ch, 1),
            _vector(f"{p}act{i}", "relu", RELU_OPS, b, t * f, ch, 1),
        ]
    t, f = grid[-1]
    return [
        *ops,
        _projection(f"{p}linear", b, t, ch * f, model.d_model, 1),
        _vector(f"{p}scale", "mul", SCALE_OPS, b, t, model.d_model, 1),
    ]


def assumptions(model: ModelConfig, tokens: int) -> list[str]:
    """What the conformer operators count and leave out."""
    conf = model.conformer
    assert conf is not None
    factor = conf.input_frames_per_token
    kind = "NemotronAsrStreamingEncoder" if conf.causal else "ParakeetEncoder"
    frames = conf.input_frames(tokens)
    most = ", the most that subsample to them (causal padding)" if conf.causal else ""
    out = [
        f"conformer encoder (transformers' {kind}): its {tokens} tokens are the "
        f"instance's seq_len read as encoder frames after the {factor}x subsampling front-end, "
        f"which runs on {frames} frames of {conf.mel_bins} mel bins{most} (the feature "
        "extractor itself is not modelled)",
        "conformer front-end convolutions as GEMMs over each output position's kernel patch "
        "(exact MACs; an overlapping patch's inputs counted once per output position reading "
        "them); the convolution module's depthwise convolution indexed by the output frame (its "
        "neighbours at a tile's edge are not traffic)",
        f"relative-position attention: the 2T - 1 = {2 * tokens - 1} position embeddings "
        "projected per batch element and scored against every query before the relative shift "
        "(as the source computes them); the sinusoidal embeddings themselves, the shift (a "
        "reshape) and the padding masks are not counted",
        f"batch norm with running statistics, {BATCHNORM_OPS} vector ops per element; dropout "
        "and layerdrop are training-only (not counted)",
    ]
    if conf.causal:
        out[-1] = (
            "the convolution module's LayerNorm (NemotronAsrStreamingEncoderConvolutionModule); "
            "dropout and layerdrop are training-only (not counted)"
        )
        out.append(
            f"streaming attention: the chunk-limited mask (chunks of {conf.lookahead} + 1 "
            f"frames, {conf.left_context} frames of left context: at most {conf.chunk_keys} "
            "keys per query) is applied as the source applies it, to every score of the "
            f"{tokens} x {tokens} matrix: counted in full (an upper bound for a kernel that "
            "skips the masked chunks); offline (no cache), as the forward without use_cache"
        )
    return out
