"""Operators of a pyramid vision transformer (``ModelConfig.pyramid``: PVT, PVT v2, SegFormer's
MiT encoder; Wang et al. arXiv:2102.12122 and arXiv:2106.13797, Xie et al. arXiv:2105.15203).
Per stage up to three block types: the patch embedding (a strided convolution as a GEMM over
each output token's kernel x kernel x channels patch, then a norm), the stage's blocks, and its
closing norm.

A block: norm; Q from every token; the spatial reduction (a sr x sr convolution of stride sr: a
GEMM over each reduced token's sr x sr x width patch, then a norm) when sr_ratio > 1; K and V
from the reduced tokens; attention of every token over the reduced ones; output projection;
residual add; norm; FFN (up projection, in a Mix-FFN a 3x3 depthwise convolution, activation,
down projection); residual add.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum
from cosamt.workload.models import ModelConfig
from cosamt.workload.pyramid import PyramidStage
from cosamt.workload.transformer import (
    BlockPlan,
    _attention_core,
    _norm,
    _projection,
    _residual,
    activation_op,
    depthwise_conv,
)

DW_TAPS = 9  # the Mix-FFN's 3x3 depthwise convolution


def _block(model: ModelConfig, s: PyramidStage, p: str, m: int, n: int, b: int) -> list[Einsum]:
    """One block of a stage with ``m`` tokens whose keys and values come from ``n`` tokens."""
    c, w = s.depth, s.width
    stage = model.model_copy(update={"d_model": w, "n_heads": s.heads, "d_ff": s.d_ff})
    ops = [_norm(f"{p}norm1", model.norm, b, m, w, c), _projection(f"{p}q_proj", b, m, w, w, c)]
    if s.sr_ratio > 1:
        ops += [
            _projection(f"{p}sr_conv", b, n, s.sr_ratio**2 * w, w, c),
            _norm(f"{p}sr_norm", model.norm, b, n, w, c),
        ]
    dwconv = [depthwise_conv(f"{p}dwconv", b, m, s.d_ff, DW_TAPS, c)] if s.mix_ffn else []
    ops += [
        _projection(f"{p}kv_proj", b, n, w, 2 * w, c),
        *_attention_core(stage, p, b, m, n, c),
        _projection(f"{p}out_proj", b, m, w, w, c),
        _residual(f"{p}residual1", b, m, w, c),
        _norm(f"{p}norm2", model.norm, b, m, w, c),
        _projection(f"{p}ffn1", b, m, w, s.d_ff, c),
        *dwconv,
        activation_op(model, f"{p}act", b, m, s.d_ff, c),
        _projection(f"{p}ffn2", b, m, s.d_ff, w, c),
        _residual(f"{p}residual2", b, m, w, c),
    ]
    return ops


def stages(model: ModelConfig, b: int) -> list[tuple[BlockPlan, tuple[Einsum, ...]]]:
    """Per stage: its patch embedding, its blocks (over the patches and a class token if any),
    its closing norm if any."""
    pyr = model.pyramid
    assert pyr is not None
    out: list[tuple[BlockPlan, tuple[Einsum, ...]]] = []
    channels = pyr.channels
    for i, (s, side) in enumerate(zip(pyr.stages, pyr.grids(), strict=True), start=1):
        patches, w = side * side, s.width
        m = patches + (1 if s.class_token else 0)
        reduced = (side // s.sr_ratio) ** 2 if s.sr_ratio > 1 else m
        e = f"embed{i}."
        embed = (
            _projection(f"{e}patch_conv", b, patches, s.kernel**2 * channels, w, 1),
            _norm(f"{e}norm", model.norm, b, patches, w, 1),
        )
        label = f"patch embedding {i} ({s.kernel}x{s.kernel} stride {s.stride})"
        out.append((BlockPlan(e, label, 1, patches, 0, False, False), embed))
        p = f"s{i}."
        cls = " + a class token" if s.class_token else ""
        label = f"stage {i} ({side}x{side} tokens{cls}, keys/values from {reduced})"
        plan = BlockPlan(p, label, s.depth, m, reduced, False, False)
        out.append((plan, tuple(_block(model, s, p, m, reduced, b))))
        if s.closing_norm:
            n = f"norm{i}."
            norm = (_norm(f"{n}norm", model.norm, b, m, w, 1),)
            out.append((BlockPlan(n, f"stage {i} output norm", 1, m, 0, False, False), norm))
        channels = w
    return out


def assumptions() -> list[str]:
    return [
        "pyramid stages: each strided convolution (patch embedding, spatial reduction) counted as "
        "a GEMM over its output tokens' im2col patches (exact MACs; an overlapping patch's input "
        "counted once per output token it feeds); the 3x3 depthwise convolution as 9 taps per "
        "element with its input indexed by the output token (neighbours' halo not counted as "
        "traffic); PVT's learned position embeddings (an add per token after each patch "
        "embedding, no MACs) and the classifier head are not modelled"
    ]
