"""Operators of the vision backbones in :mod:`cosamt.workload.vision_stages`
(``ModelConfig.vision_stages``).

CvT (transformers' ``CvtStage``, ``CvtLayer``, ``CvtSelfAttention``), per stage:

* ``embedN.``: ``patch_conv`` (``CvtConvEmbeddings.projection``, a k x k convolution of stride s
  and padding p, as a GEMM over each output token's k x k x C_in patch: exact MACs) and
  ``norm`` (its LayerNorm);
* ``sN.`` (``depth`` blocks): ``norm1`` (``layernorm_before``), ``q_conv`` / ``k_conv`` /
  ``v_conv`` (the depthwise k x k convolutions of ``CvtSelfAttentionConvProjection``, k^2 taps
  per output element, K and V on the strided grid) each followed by its batch norm
  (``q_bn`` ...), ``q_proj`` and ``kv_proj`` (``projection_query``, ``projection_key`` and
  ``projection_value``, over the convolved tokens and the class token), the attention core of
  the queries over the keys, ``out_proj``, ``residual1``, ``norm2`` (``layernorm_after``),
  ``ffn1``, ``act`` (GELU), ``ffn2``, ``residual2``.
"""

from __future__ import annotations

from cosamt.workload.conformer_ops import BATCHNORM_OPS
from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    BlockPlan,
    _attention_core,
    _elementwise,
    _norm,
    _projection,
    _residual,
    activation_op,
    depthwise_conv,
)
from cosamt.workload.vision_stages import Cvt, CvtStage


def _batch_norm(name: str, b: int, m: int, f: int, c: int) -> Einsum:
    """Batch norm with running statistics (inference): per element."""
    dims = {"b": b, "m": m, "f": f}
    inputs = [("X", _BMF, Role.INPUT), ("G", ("f",), Role.WEIGHT)]
    return _elementwise(name, "batchnorm", BATCHNORM_OPS, dims, inputs, ("Y", _BMF), c)


def strided_depthwise_conv(name: str, b: int, m: int, width: int, taps: int, c: int) -> Einsum:
    """``Y[b,m,f] += X[b,m,j,f] * W[f,j]``: a strided depthwise convolution over its ``m``
    output tokens' im2col patches of ``taps`` taps (exact MACs; an input element is read once
    per output token whose patch holds it)."""
    bmjf = ("b", "m", "j", "f")
    return Einsum(
        name=name,
        dims={"b": b, "m": m, "j": taps, "f": width},
        tensors=(
            Tensor("X", bmjf, Role.INPUT),
            Tensor("W", ("f", "j"), Role.WEIGHT),
            Tensor("Y", _BMF, Role.OUTPUT),
        ),
        count=c,
    )


def _kv_conv(name: str, s: CvtStage, b: int, kv_side: int, c: int) -> Einsum:
    """The K or V depthwise convolution: on the grid itself when unstrided, else im2col."""
    conv = depthwise_conv if s.kv_stride == 1 else strided_depthwise_conv
    return conv(name, b, kv_side * kv_side, s.width, s.qkv_kernel**2, c)


def _cvt_block(
    model: ModelConfig, s: CvtStage, p: str, side: int, kv_side: int, b: int
) -> list[Einsum]:
    """One CvtLayer on a ``side`` x ``side`` grid (and a class token if any), its keys and
    values from the ``kv_side`` x ``kv_side`` strided grid."""
    c, w, taps = s.depth, s.width, s.qkv_kernel**2
    cls = 1 if s.class_token else 0
    m, n = side * side + cls, kv_side * kv_side + cls
    stage = model.model_copy(update={"d_model": w, "n_heads": s.heads, "d_ff": s.d_ff})
    return [
        _norm(f"{p}norm1", model.norm, b, m, w, c),
        depthwise_conv(f"{p}q_conv", b, side * side, w, taps, c),
        _batch_norm(f"{p}q_bn", b, side * side, w, c),
        _kv_conv(f"{p}k_conv", s, b, kv_side, c),
        _batch_norm(f"{p}k_bn", b, kv_side * kv_side, w, c),
        _kv_conv(f"{p}v_conv", s, b, kv_side, c),
        _batch_norm(f"{p}v_bn", b, kv_side * kv_side, w, c),
        _projection(f"{p}q_proj", b, m, w, w, c),
        _projection(f"{p}kv_proj", b, n, w, 2 * w, c),
        *_attention_core(stage, p, b, m, n, c),
        _projection(f"{p}out_proj", b, m, w, w, c),
        _residual(f"{p}residual1", b, m, w, c),
        _norm(f"{p}norm2", model.norm, b, m, w, c),
        _projection(f"{p}ffn1", b, m, w, s.d_ff, c),
        activation_op(model, f"{p}act", b, m, s.d_ff, c),
        _projection(f"{p}ffn2", b, m, s.d_ff, w, c),
        _residual(f"{p}residual2", b, m, w, c),
    ]


def _cvt(model: ModelConfig, spec: Cvt, b: int) -> list[tuple[BlockPlan, tuple[Einsum, ...]]]:
    out: list[tuple[BlockPlan, tuple[Einsum, ...]]] = []
    channels = spec.channels
    for i, (s, (side, kv)) in enumerate(zip(spec.stages, spec.grids(), strict=True), start=1):
        e, patches = f"embed{i}.", side * side
        embed = (
            _projection(f"{e}patch_conv", b, patches, s.patch**2 * channels, s.width, 1),
            _norm(f"{e}norm", model.norm, b, patches, s.width, 1),
        )
        label = f"token embedding {i} ({s.patch}x{s.patch} stride {s.patch_stride})"
        out.append((BlockPlan(e, label, 1, patches, 0, False, False), embed))
        cls = 1 if s.class_token else 0
        tokens = patches + cls
        label = f"stage {i} ({side}x{side} tokens{' + a class token' if cls else ''}, "
        label += f"keys/values from {kv}x{kv})"
        plan = BlockPlan(f"s{i}.", label, s.depth, tokens, kv * kv + cls, False, False)
        out.append((plan, tuple(_cvt_block(model, s, f"s{i}.", side, kv, b))))
        channels = s.width
    return out


def stages(model: ModelConfig, b: int) -> list[tuple[BlockPlan, tuple[Einsum, ...]]]:
    """Every block type of ``model.vision_stages``, in execution order."""
    spec = model.vision_stages
    assert spec is not None
    return _cvt(model, spec, b)


def assumptions(model: ModelConfig) -> list[str]:
    spec = model.vision_stages
    assert spec is not None
    return [
        "cvt: each convolution (token embedding; the depthwise Q/K/V projections, k^2 taps per "
        "output element) counted with exact MACs; the embedding and the strided K/V ones over "
        "their output tokens' im2col patches (an overlapping patch's input counted once per "
        "output token it feeds), the unstrided Q one with its input indexed by the output "
        "token (the neighbours' halo not counted as traffic); batch norm with running statistics, "
        f"{BATCHNORM_OPS} vector ops per element; the classifier's LayerNorm and head not "
        "modelled"
    ]
