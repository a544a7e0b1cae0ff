"""Operators of the vision backbones in :mod:`cosamt.workload.vision_stages`
(``ModelConfig.vision_stages``).

LeViT (transformers' ``LevitPatchEmbeddings``, ``LevitAttention``, ``LevitMLPLayer``,
``LevitAttentionSubsample``): ``stem.`` (``conv1`` ... ``conv4``, each with its batch norm,
Hardswish between); per stage ``sN.`` (``depth`` layers): ``qkv_proj`` (to heads x (2 key_dim +
ratio key_dim)) and its batch norm, the attention core, ``attn_act`` (Hardswish), ``out_proj``
and its batch norm, ``residual1``, then the MLP (``ffn1``, batch norm, ``act``, ``ffn2``,
batch norm, ``residual2``); between stages ``downN.``: ``kv_proj`` over every token,
``q_proj`` over every stride-th token per side, the attention core of those queries over every
key, ``attn_act``, ``out_proj`` to the next width (no residual), then the next width's MLP.

Perceiver (``PerceiverEncoder``, ``PerceiverLayer``, ``PerceiverSelfAttention``): ``xattn.``
(``norm_latents``, ``norm_inputs``, ``q_proj`` of the latents, ``kv_proj`` of the inputs, the
core of the latents over the inputs, ``out_proj`` back to d_latents, the query residual, the
MLP: ``norm2``, ``ffn1``, ``act``, ``ffn2``, ``residual2``), then ``latent.`` (num_blocks x
num_self_attends_per_block layers of pre-norm self-attention over the latents and the MLP).

Hiera (transformers' ``HieraPatchEmbeddings``, ``HieraLayer``, ``HieraMaskUnitAttention``):
``embed.patch_conv``; per stage ``sN.first.`` (its first layer, when it differs: pooling,
a new width, mask units kept from the stage before) and ``sN.`` (the others): ``norm1``
(``layernorm_before``), with a new width ``res_proj`` (``HieraLayer.proj``) and ``res_pool``
(the max over ``query_stride`` tokens), ``qkv_proj``, ``q_pool`` (the queries' max), the
attention core per mask unit (windows x heads; one window for global attention), ``out_proj``,
``residual1``, ``norm2``, ``ffn1``, ``act``, ``ffn2``, ``residual2``.

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
from cosamt.workload.vision_stages import (
    MOBILEVIT_MOBILENET_BLOCKS,
    MOBILEVIT_TRANSFORMER_LAYERS,
    Cvt,
    CvtStage,
    Hiera,
    HieraLayer,
    Levit,
    MobileVit,
    Perceiver,
)


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


HARDSWISH_OPS = 5  # nn.Hardswish: x * clamp(x + 3, 0, 6) / 6: add, max, min, multiply, divide


def _hardswish(name: str, b: int, m: int, f: int, c: int) -> Einsum:
    dims = {"b": b, "m": m, "f": f}
    return _elementwise(
        name, "hardswish", HARDSWISH_OPS, dims, [("X", _BMF, Role.INPUT)], ("Y", _BMF), c
    )


def _linear_bn(name: str, b: int, m: int, e: int, f: int, c: int) -> list[Einsum]:
    """MLPLayerWithBN: a bias-free linear layer, then BatchNorm1d over its outputs."""
    return [_projection(name, b, m, e, f, c), _batch_norm(f"{name}_bn", b, m, f, c)]


def _levit_mlp(p: str, b: int, m: int, width: int, ratio: int, c: int) -> list[Einsum]:
    """A residual LevitMLPLayer: linear_up, Hardswish, linear_down (each with its batch norm)."""
    if ratio == 0:
        return []
    hidden = width * ratio
    return [
        *_linear_bn(f"{p}ffn1", b, m, width, hidden, c),
        _hardswish(f"{p}act", b, m, hidden, c),
        *_linear_bn(f"{p}ffn2", b, m, hidden, width, c),
        _residual(f"{p}residual2", b, m, width, c),
    ]


def _levit_heads(model: ModelConfig, heads: int, key_dim: int, ratio: int) -> ModelConfig:
    """The attention core's shape: ``heads`` of ``key_dim`` query/key and ratio x key_dim value
    features."""
    update = {
        "n_heads": heads,
        "n_kv_heads": None,
        "head_dim": key_dim,
        "v_head_dim": ratio * key_dim,
    }
    return model.model_copy(update=update)


def _levit(model: ModelConfig, spec: Levit, b: int) -> list[tuple[BlockPlan, tuple[Einsum, ...]]]:
    stem: list[Einsum] = []
    convs = spec.stem()
    for j, (side, cin, cout) in enumerate(convs, start=1):
        stem += [
            _projection(f"stem.conv{j}", b, side * side, spec.kernel**2 * cin, cout, 1),
            _batch_norm(f"stem.conv{j}_bn", b, side * side, cout, 1),
        ]
        stem += [_hardswish(f"stem.act{j}", b, side * side, cout, 1)] if j < len(convs) else []
    out = [
        (
            BlockPlan(
                "stem.",
                "convolutional stem (4 convolutions)",
                1,
                convs[-1][0] ** 2,
                0,
                False,
                False,
            ),
            tuple(stem),
        )
    ]
    grids = spec.grids()
    for i, (s, side) in enumerate(zip(spec.stages, grids, strict=True), start=1):
        p, m, c, w = f"s{i}.", side * side, s.depth, s.width
        heads = _levit_heads(model, s.heads, s.key_dim, s.attention_ratio)
        value = s.heads * s.attention_ratio * s.key_dim
        ops = [
            *_linear_bn(f"{p}qkv_proj", b, m, w, s.heads * 2 * s.key_dim + value, c),
            *_attention_core(heads, p, b, m, m, c),
            _hardswish(f"{p}attn_act", b, m, value, c),
            *_linear_bn(f"{p}out_proj", b, m, value, w, c),
            _residual(f"{p}residual1", b, m, w, c),
            *_levit_mlp(p, b, m, w, s.mlp_ratio, c),
        ]
        out.append(
            (BlockPlan(p, f"stage {i} ({side}x{side} tokens)", c, m, m, False, False), tuple(ops))
        )
        if i > len(spec.downs):
            continue
        d, nxt = spec.downs[i - 1], spec.stages[i].width
        p, q = f"down{i}.", grids[i] ** 2
        heads = _levit_heads(model, d.heads, d.key_dim, d.attention_ratio)
        value = d.heads * d.attention_ratio * d.key_dim
        ops = [
            *_linear_bn(f"{p}kv_proj", b, m, w, d.heads * d.key_dim + value, 1),
            *_linear_bn(f"{p}q_proj", b, q, w, d.heads * d.key_dim, 1),  # every stride-th token
            *_attention_core(heads, p, b, q, m, 1),
            _hardswish(f"{p}attn_act", b, q, value, 1),
            *_linear_bn(f"{p}out_proj", b, q, value, nxt, 1),
            *_levit_mlp(p, b, q, nxt, d.mlp_ratio, 1),
        ]
        label = f"attention downsampling {i} -> {i + 1} ({side}x{side} -> {grids[i]}x{grids[i]})"
        out.append((BlockPlan(p, label, 1, q, m, False, False), tuple(ops)))
    return out


def _max_pool(name: str, b: int, m: int, f: int, stride: int, c: int) -> Einsum:
    """Hiera's max over ``stride`` tokens (``view(..., stride, -1, ...).max``): stride - 1
    comparisons per output element."""
    dims = {"b": b, "m": m, "f": f}
    return _elementwise(name, "max", stride - 1, dims, [("X", _BMF, Role.INPUT)], ("Y", _BMF), c)


def _hiera_layer(
    model: ModelConfig, spec: Hiera, x: HieraLayer, p: str, b: int, c: int
) -> list[Einsum]:
    """One HieraLayer: ``x.tokens`` in, ``x.tokens // x.query_stride`` out."""
    n, a, w, qs = x.tokens, x.width_in, x.width, x.query_stride
    m, d_ff = n // qs, int(w * spec.mlp_ratio)
    stage = model.model_copy(
        update={"d_model": w, "n_heads": x.heads, "d_ff": d_ff, "head_dim": None}
    )
    ops = [_norm(f"{p}norm1", model.norm, b, n, a, c)]
    if a != w:  # the residual: HieraLayer.proj of the normed input, max-pooled
        ops.append(_projection(f"{p}res_proj", b, n, a, w, c))
        ops += [_max_pool(f"{p}res_pool", b, m, w, qs, c)] if qs > 1 else []
    ops.append(_projection(f"{p}qkv_proj", b, n, a, 3 * w, c))
    ops += [_max_pool(f"{p}q_pool", b, m, w, qs, c)] if qs > 1 else []
    return [
        *ops,
        *_attention_core(stage, p, b * x.windows, m // x.windows, n // x.windows, c),
        _projection(f"{p}out_proj", b, m, w, w, c),
        _residual(f"{p}residual1", b, m, w, c),
        _norm(f"{p}norm2", model.norm, b, m, w, c),
        _projection(f"{p}ffn1", b, m, w, d_ff, c),
        activation_op(model, f"{p}act", b, m, d_ff, c),
        _projection(f"{p}ffn2", b, m, d_ff, w, c),
        _residual(f"{p}residual2", b, m, w, c),
    ]


def _hiera(model: ModelConfig, spec: Hiera, b: int) -> list[tuple[BlockPlan, tuple[Einsum, ...]]]:
    tokens = spec.first_tokens
    embed = (
        _projection(
            "embed.patch_conv", b, tokens, spec.patch**2 * spec.channels, spec.embed_dim, 1
        ),
    )
    label = f"patch embedding ({spec.patch}x{spec.patch} stride {spec.patch_stride})"
    out: list[tuple[BlockPlan, tuple[Einsum, ...]]] = [
        (BlockPlan("embed.", label, 1, tokens, 0, False, False), embed)
    ]
    layers, start = spec.layers(), 0
    for i, depth in enumerate(spec.depths, start=1):
        stage = layers[start : start + depth]
        start += depth
        # HieraStage: only its first layer may differ (pooling, a new width, mask units kept).
        groups = (
            [(stage[:1], f"s{i}.first."), (stage[1:], f"s{i}.")]
            if stage[0] != stage[-1]
            else [(stage, f"s{i}.")]
        )
        for group, p in groups:
            if not group:
                continue
            x = group[0]
            assert all(y == x for y in group)  # one block type: identical layers
            m = x.tokens // x.query_stride
            where = f"{x.windows} mask units" if x.windows > 1 else "global attention"
            pool = f", queries pooled from {x.tokens}" if x.query_stride > 1 else ""
            plan = BlockPlan(
                p,
                f"stage {i} ({m} tokens{pool}, {where})",
                len(group),
                m // x.windows,
                x.tokens // x.windows,
                False,
                False,
            )
            out.append((plan, tuple(_hiera_layer(model, spec, x, p, b, len(group)))))
    return out


Blocks = list[tuple[BlockPlan, tuple[Einsum, ...]]]


def _conv_bn_act(
    model: ModelConfig, p: str, b: int, side: int, e: int, f: int, c: int, act: bool = True
) -> list[Einsum]:
    """MobileViTConvLayer: a convolution (a GEMM over each of the side^2 output positions'
    ``e`` = k^2 x C_in inputs), its batch norm and (``act``) the model's activation."""
    m = side * side
    ops = [_projection(f"{p}conv", b, m, e, f, c), _batch_norm(f"{p}bn", b, m, f, c)]
    return ops + ([activation_op(model, f"{p}act", b, m, f, c)] if act else [])


def _inverted_residual(
    model: ModelConfig,
    spec: MobileVit,
    p: str,
    b: int,
    side: int,
    cin: int,
    cout: int,
    stride: int,
    c: int,
) -> list[Einsum]:
    """MobileViTInvertedResidual on a grid of ``side`` (its input): expand_1x1, the 3 x 3
    depthwise conv_3x3 of ``stride``, reduce_1x1 (no activation), the residual add when the
    stride is 1 and the widths agree."""
    hidden, out = spec.expanded(cin), (side - 1) // stride + 1
    conv = depthwise_conv if stride == 1 else strided_depthwise_conv
    m = out * out
    ops = [
        *_conv_bn_act(model, f"{p}expand_", b, side, cin, hidden, c),
        conv(f"{p}dw_conv", b, m, hidden, 9, c),
        _batch_norm(f"{p}dw_bn", b, m, hidden, c),
        activation_op(model, f"{p}dw_act", b, m, hidden, c),
        *_conv_bn_act(model, f"{p}reduce_", b, out, hidden, cout, c, act=False),
    ]
    return ops + ([_residual(f"{p}residual", b, m, cout, c)] if stride == 1 and cin == cout else [])


def _mobilevit(model: ModelConfig, spec: MobileVit, b: int) -> Blocks:
    from cosamt.workload.transformer import _block  # the plain pre-norm ViT block

    sides, k2, neck = spec.sides(), spec.kernel**2, spec.neck
    out: Blocks = [
        (BlockPlan("stem.", "3x3 stride-2 stem", 1, sides[0] ** 2, 0, False, False),
         tuple(_conv_bn_act(model, "stem.", b, sides[0], 9 * spec.channels, neck[0], 1)))
    ]  # fmt: skip

    def residuals(p: str, label: str, side: int, cin: int, cout: int, stride: int, c: int) -> None:
        ops = _inverted_residual(model, spec, p, b, side, cin, cout, stride, c)
        m = ((side - 1) // stride + 1) ** 2
        out.append((BlockPlan(p, label, c, m, 0, False, False), tuple(ops)))

    for i, blocks in enumerate(MOBILEVIT_MOBILENET_BLOCKS, start=1):
        stride, side, cin, cout = (1 if i == 1 else 2), sides[i - 1], neck[i - 1], neck[i]
        residuals(
            f"mv{i}.first." if blocks > 1 else f"mv{i}.",
            f"inverted residual {i}",
            side,
            cin,
            cout,
            stride,
            1,
        )
        if blocks > 1:
            residuals(f"mv{i}.", f"inverted residuals {i}", sides[i], cout, cout, 1, blocks - 1)
    for j, layers in enumerate(MOBILEVIT_TRANSFORMER_LAYERS):
        i, side, cin, cout, width = j + 3, sides[j + 3], neck[j + 2], neck[j + 3], spec.hidden[j]
        residuals(
            f"vit{i}.down.", f"MobileViT layer {i}: downsampling", sides[j + 2], cin, cout, 2, 1
        )
        p, m = f"vit{i}.local.", side * side
        local = [
            *_conv_bn_act(model, p, b, side, k2 * cout, cout, 1),
            _projection(f"{p}conv_1x1", b, m, cout, width, 1),
        ]
        out.append(
            (
                BlockPlan(p, f"MobileViT layer {i}: local representation", 1, m, 0, False, False),
                tuple(local),
            )
        )
        area, patches = spec.patch**2, (side // spec.patch) ** 2
        stage = model.model_copy(
            update={"d_model": width, "n_heads": spec.heads, "d_ff": int(width * spec.mlp_ratio)}
        )
        label = f"MobileViT layer {i}: {area} x {patches} unfolded patches"
        plan = BlockPlan(f"vit{i}.", label, layers, patches, patches, False, False)
        out.append((plan, tuple(_block(stage, plan, b * area))))
        p = f"vit{i}.fuse."
        fuse = [
            _norm(f"{p}norm", model.norm, b, m, width, 1),
            *_conv_bn_act(model, f"{p}proj_", b, side, width, cout, 1),
            *_conv_bn_act(model, f"{p}fusion_", b, side, k2 * 2 * cout, cout, 1),
        ]
        out.append(
            (
                BlockPlan(p, f"MobileViT layer {i}: fold and fuse", 1, m, 0, False, False),
                tuple(fuse),
            )
        )
    ops = _conv_bn_act(model, "exp.", b, sides[-1], neck[5], neck[6], 1)
    out.append((BlockPlan("exp.", "1x1 expansion", 1, sides[-1] ** 2, 0, False, False), tuple(ops)))
    return out


def _perceiver_core(
    model: ModelConfig, spec: Perceiver, p: str, b: int, m: int, n: int, cross: bool, c: int
) -> list[Einsum]:
    heads, qk, v = (
        (spec.cross_heads, spec.cross_qk, spec.cross_v)
        if cross
        else (spec.self_heads, spec.self_qk, spec.self_v)
    )
    shape = model.model_copy(
        update={
            "n_heads": heads,
            "n_kv_heads": None,
            "head_dim": qk // heads,
            "v_head_dim": v // heads,
        }
    )
    return _attention_core(shape, p, b, m, n, c)


def _perceiver_mlp(
    model: ModelConfig, p: str, b: int, m: int, d: int, widening: int, c: int
) -> list[Einsum]:
    """PerceiverLayer's feed-forward: layernorm, dense1 (widening x), act, dense2, residual."""
    return [
        _norm(f"{p}norm2", model.norm, b, m, d, c),
        _projection(f"{p}ffn1", b, m, d, widening * d, c),
        activation_op(model, f"{p}act", b, m, widening * d, c),
        _projection(f"{p}ffn2", b, m, widening * d, d, c),
        _residual(f"{p}residual2", b, m, d, c),
    ]


def _perceiver(model: ModelConfig, spec: Perceiver, b: int, inputs: int) -> Blocks:
    n, dl = spec.latents, spec.d_latents
    p = "xattn."
    cross = [
        _norm(f"{p}norm_latents", model.norm, b, n, dl, 1),
        _norm(f"{p}norm_inputs", model.norm, b, inputs, spec.d_input, 1),
        _projection(f"{p}q_proj", b, n, dl, spec.cross_qk, 1),
        _projection(f"{p}kv_proj", b, inputs, spec.d_input, spec.cross_qk + spec.cross_v, 1),
        *_perceiver_core(model, spec, p, b, n, inputs, True, 1),
        _projection(f"{p}out_proj", b, n, spec.cross_v, dl, 1),
        *([_residual(f"{p}residual1", b, n, dl, 1)] if spec.query_residual else []),
        *_perceiver_mlp(model, p, b, n, dl, spec.cross_widening, 1),
    ]
    c, p = spec.block_count, "latent."
    latent = [
        _norm(f"{p}norm1", model.norm, b, n, dl, c),
        _projection(f"{p}qkv_proj", b, n, dl, 2 * spec.self_qk + spec.self_v, c),
        *_perceiver_core(model, spec, p, b, n, n, False, c),
        _projection(f"{p}out_proj", b, n, spec.self_v, spec.self_v, c),
        _residual(f"{p}residual1", b, n, dl, c),
        *_perceiver_mlp(model, p, b, n, dl, spec.self_widening, c),
    ]
    return [
        (
            BlockPlan(
                "xattn.",
                f"{n} latents cross-attending to {inputs} inputs",
                1,
                n,
                inputs,
                False,
                False,
            ),
            tuple(cross),
        ),
        (
            BlockPlan(
                "latent.",
                f"latent self-attention ({spec.blocks} x {spec.self_attends})",
                c,
                n,
                n,
                False,
                False,
            ),
            tuple(latent),
        ),
    ]


def stages(model: ModelConfig, b: int, seq_len: int) -> list[tuple[BlockPlan, tuple[Einsum, ...]]]:
    """Every block type of ``model.vision_stages``, in execution order (``seq_len``: the
    Perceiver's inputs; the others' tokens come from the image)."""
    spec = model.vision_stages
    assert spec is not None
    if isinstance(spec, Perceiver):
        return _perceiver(model, spec, b, seq_len)
    if isinstance(spec, Levit):
        return _levit(model, spec, b)
    if isinstance(spec, Hiera):
        return _hiera(model, spec, b)
    if isinstance(spec, MobileVit):
        return _mobilevit(model, spec, b)
    return _cvt(model, spec, b)


def assumptions(model: ModelConfig) -> list[str]:
    spec = model.vision_stages
    assert spec is not None
    if isinstance(spec, Perceiver):
        return [
            "perceiver: the latent array is a parameter (no work); num_blocks repeats one "
            "block's weights (counted per repetition)"
        ]
    if isinstance(spec, MobileVit):
        return [
            "mobilevit: every convolution counted with exact MACs, the dense ones as GEMMs over "
            "their output positions' im2col patches (an input counted once per output it "
            "feeds), the stride-1 depthwise ones with their input indexed by the output "
            "position (the halo not counted as traffic), the strided ones over im2col patches; "
            f"batch norm with running statistics, {BATCHNORM_OPS} vector ops per element; the "
            "unfolding / folding into patches and the concatenation before the fusion cost "
            "nothing"
        ]
    if isinstance(spec, Hiera):
        return [
            "hiera: the patch embedding counted as a GEMM over its output "
            "tokens' im2col patches (exact MACs; an overlapping patch's input counted once per "
            "output token it feeds); the max-pooling of queries and residuals as stride - 1 "
            "comparisons per output element; the unroll / reroll token reordering costs nothing; "
            "the position embeddings (an add) not modelled"
        ]
    if isinstance(spec, Levit):
        return [
            "levit: the stem's convolutions counted as GEMMs over their output tokens' im2col "
            "patches (exact MACs; an overlapping patch's input counted once per output token "
            f"it feeds); batch norm with running statistics, {BATCHNORM_OPS} vector ops per "
            f"element; Hardswish {HARDSWISH_OPS}; the attention biases (an add per score, "
            "gathered from a learned table) not counted; the downsampling's query subsampling "
            "(a strided selection) costs nothing"
        ]
    return [
        "cvt: each convolution (token embedding; the depthwise Q/K/V projections, k^2 taps per "
        "output element) counted with exact MACs; the embedding and the strided K/V ones over "
        "their output tokens' im2col patches (an overlapping patch's input counted once per "
        "output token it feeds), the unstrided Q one with its input indexed by the output "
        "token (the neighbours' halo not counted as traffic); batch norm with running statistics, "
        f"{BATCHNORM_OPS} vector ops per element"
    ]
