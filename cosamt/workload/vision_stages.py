"""Shapes of convolutional / hierarchical vision transformers held by
``ModelConfig.vision_stages`` (one of the specs below, told apart by ``kind``); their operators
are built by :mod:`cosamt.workload.vision_stage_ops`, read from Hugging Face configs by
:mod:`cosamt.workload.hf_vision_stages` (see ``docs/workloads.md``).

* :class:`Cvt`: CvT (Wu et al. 2021, arXiv:2103.15808; transformers' modeling_cvt.py): per stage
  a convolutional token embedding (``CvtConvEmbeddings``: a strided, padded convolution, then a
  LayerNorm) and blocks whose Q, K and V come from depthwise convolutions with batch norm
  (``CvtSelfAttentionConvProjection``, K and V strided) before their linear projections.
* :class:`Levit`: LeViT (Graham et al. 2021, arXiv:2104.01136; modeling_levit.py): a
  convolutional stem, stages of attention and MLP residual layers whose every linear layer has
  a batch norm (``MLPLayerWithBN``), attention downsampling between the stages.
* :class:`Hiera`: Hiera (Ryali et al. 2023, arXiv:2306.00989; modeling_hiera.py): a patch
  embedding, stages of ViT layers whose first layer max-pools the queries and the residual,
  mask-unit (windowed) attention in the early stages.
* :class:`MobileVit`: MobileViT (Mehta and Rastegari 2022, arXiv:2110.02178;
  modeling_mobilevit.py): MobileNetV2 inverted residuals and transformers over unfolded
  patches.
* :class:`Perceiver`: the Perceiver IO encoder (Jaegle et al. 2021, arXiv:2107.14795;
  modeling_perceiver.py): latents cross-attending to the inputs, then latent self-attention.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt


def conv_side(side: int, kernel: int, stride: int, padding: int) -> int:
    """Output side of a padded strided convolution (torch's Conv2d)."""
    return (side + 2 * padding - kernel) // stride + 1


class CvtStage(BaseModel):
    """One CvT stage (``CvtStage``): the token embedding from the previous stage's channels,
    then ``depth`` blocks (``CvtLayer``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    depth: PositiveInt
    """Blocks of the stage (``depth[i]``)."""
    width: PositiveInt
    """Channels of the stage (``embed_dim[i]``)."""
    heads: PositiveInt
    """Attention heads (``num_heads[i]``); must divide ``width``."""
    d_ff: PositiveInt
    """MLP width (``int(embed_dim[i] * mlp_ratio[i])``)."""
    patch: PositiveInt
    """Token-embedding convolution side (``patch_sizes[i]``)."""
    patch_stride: PositiveInt
    """Its stride (``patch_stride[i]``)."""
    patch_padding: NonNegativeInt
    """Its padding (``patch_padding[i]``)."""
    qkv_kernel: PositiveInt
    """Side of the depthwise Q/K/V convolutions (``kernel_qkv[i]``)."""
    kv_stride: PositiveInt
    """Stride of the K and V convolutions (``stride_kv[i]``)."""
    kv_padding: NonNegativeInt
    """Their padding (``padding_kv[i]``)."""
    q_padding: NonNegativeInt
    """Padding of the Q convolution (stride 1: the queries keep the grid)."""
    class_token: bool = False
    """A class token joins the stage's tokens (``cls_token[i]``): not convolved, it is a query,
    a key and a value."""


class Cvt(BaseModel):
    """CvT's stages on a square ``image_side`` image of ``channels`` channels."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kind: Literal["cvt"] = "cvt"
    """The family: ``cvt``."""
    image_side: PositiveInt
    """Input image side in pixels."""
    channels: PositiveInt
    """Input image channels."""
    stages: tuple[CvtStage, ...]
    """The stages, in order."""

    def grids(self) -> list[tuple[int, int]]:
        """Per stage: (token-grid side, key/value grid side)."""
        side, out = self.image_side, []
        for s in self.stages:
            side = conv_side(side, s.patch, s.patch_stride, s.patch_padding)
            out.append((side, conv_side(side, s.qkv_kernel, s.kv_stride, s.kv_padding)))
        return out

    def check(self) -> None:
        """Raise ValueError where the shapes do not compose (``ModelConfig`` calls it)."""
        for i, (s, (side, kv)) in enumerate(zip(self.stages, self.grids(), strict=True), start=1):
            if s.width % s.heads:
                raise ValueError(f"cvt stage {i}: {s.heads} heads do not divide {s.width}")
            if side < 1 or kv < 1:
                raise ValueError(f"cvt stage {i}: the image leaves no tokens")
            if conv_side(side, s.qkv_kernel, 1, s.q_padding) != side:
                raise ValueError(f"cvt stage {i}: the query convolution must keep the grid")

    @property
    def block_count(self) -> int:
        return sum(s.depth for s in self.stages)

    @property
    def first(self) -> tuple[int, int, int]:
        """Stage 1's width, heads and MLP width."""
        s = self.stages[0]
        return s.width, s.heads, s.d_ff

    @property
    def first_tokens(self) -> int:
        """Stage 1's tokens (its grid and class token)."""
        return self.grids()[0][0] ** 2 + (1 if self.stages[0].class_token else 0)


class LevitStage(BaseModel):
    """One LeViT stage (``LevitStage``): ``depth`` residual attention layers
    (``LevitAttention``), each followed by a residual MLP when ``mlp_ratio`` > 0."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    depth: PositiveInt
    """Attention layers (``depths[i]``)."""
    width: PositiveInt
    """Channels (``hidden_sizes[i]``)."""
    heads: PositiveInt
    """Attention heads (``num_attention_heads[i]``)."""
    key_dim: PositiveInt
    """Query and key features per head (``key_dim[i]``)."""
    attention_ratio: PositiveInt
    """Value features per head over ``key_dim`` (``attention_ratio[i]``)."""
    mlp_ratio: NonNegativeInt
    """MLP width over ``width`` (``mlp_ratio[i]``; 0: no MLP)."""


class LevitDown(BaseModel):
    """The attention downsampling after a stage (``LevitAttentionSubsample``, from
    ``down_ops[i]``: ``["Subsample", key_dim, heads, attention_ratio, mlp_ratio, stride]``): keys
    and values from every token, queries from every ``stride``-th token per side, projected to the
    next stage's width (no residual), then a residual MLP when ``mlp_ratio`` > 0."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    key_dim: PositiveInt
    """Query and key features per head."""
    heads: PositiveInt
    """Attention heads."""
    attention_ratio: PositiveInt
    """Value features per head over ``key_dim``."""
    mlp_ratio: NonNegativeInt
    """The following MLP's width over the next stage's (0: none)."""
    stride: PositiveInt
    """Queries from every ``stride``-th token per side."""


class Levit(BaseModel):
    """LeViT (``LevitModel``): a stem of four ``kernel`` x ``kernel`` convolutions of ``stride``
    and ``padding`` (``LevitPatchEmbeddings``: channels width/8, /4, /2, width, each with batch
    norm, Hardswish between them), then the stages with a downsampling between each two."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kind: Literal["levit"] = "levit"
    """The family: ``levit``."""
    image_side: PositiveInt
    """Input image side in pixels."""
    channels: PositiveInt
    """Input image channels."""
    kernel: PositiveInt
    """The stem convolutions' side (``kernel_size``)."""
    stride: PositiveInt
    """Their stride (``stride``)."""
    padding: NonNegativeInt
    """Their padding (``padding``)."""
    stages: tuple[LevitStage, ...]
    """The stages, in order."""
    downs: tuple[LevitDown, ...]
    """One per stage but the last."""

    def stem(self) -> list[tuple[int, int, int]]:
        """The stem's convolutions: (output side, input channels, output channels)."""
        side, cin, out = self.image_side, self.channels, []
        width = self.stages[0].width
        for cout in (width // 8, width // 4, width // 2, width):
            side = conv_side(side, self.kernel, self.stride, self.padding)
            out.append((side, cin, cout))
            cin = cout
        return out

    def grids(self) -> list[int]:
        """Token-grid side of every stage (each downsampling: (side - 1) // stride + 1)."""
        side, out = self.stem()[-1][0], []
        for i in range(len(self.stages)):
            out.append(side)
            if i < len(self.downs):
                side = (side - 1) // self.downs[i].stride + 1
        return out

    def check(self) -> None:
        if len(self.downs) != len(self.stages) - 1:
            raise ValueError("levit: one downsampling between each two stages")
        if self.stages[0].width % 8 or min(s for s, _, _ in self.stem()) < 1:
            raise ValueError(
                "levit: the stem needs a width divisible by 8 and a large enough image"
            )

    @property
    def block_count(self) -> int:
        return sum(s.depth for s in self.stages)

    @property
    def first(self) -> tuple[int, int, int]:
        s = self.stages[0]
        return s.width, s.heads, s.width * max(s.mlp_ratio, 1)

    @property
    def first_tokens(self) -> int:
        return self.grids()[0] ** 2


class HieraLayer(BaseModel):
    """One HieraLayer's shape (derived by :meth:`Hiera.layers`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width_in: int
    width: int
    heads: int
    tokens: int  # input tokens; the layer outputs tokens // query_stride
    query_stride: int
    windows: int  # attention windows (mask units; 1: global attention)


class Hiera(BaseModel):
    """Hiera (``HieraModel``): a strided convolution to ``embed_dim`` channels, then stages of
    ``HieraLayer``: stage i is ``int(embed_dim * multiplier^i)`` wide; the first layer of
    stages 2 .. ``query_pool`` + 1 max-pools its queries (and residual) by ``query_stride``
    tokens; a stage with ``mask_unit_attention`` (and the first layer after one) attends within
    mask units, the others globally."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kind: Literal["hiera"] = "hiera"
    """The family: ``hiera``."""
    image_side: PositiveInt
    """Input image side in pixels."""
    channels: PositiveInt
    """Input image channels."""
    patch: PositiveInt
    """Patch-embedding convolution side (``patch_size``)."""
    patch_stride: PositiveInt
    """Its stride (``patch_stride``)."""
    patch_padding: NonNegativeInt
    """Its padding (``patch_padding``)."""
    embed_dim: PositiveInt
    """Stage 1's width."""
    multiplier: float = Field(gt=0)
    """``embed_dim_multiplier``: the width's growth per stage."""
    depths: tuple[PositiveInt, ...]
    """Layers per stage."""
    heads: tuple[PositiveInt, ...]
    """Attention heads per stage (``num_heads``)."""
    mlp_ratio: float = Field(gt=0)
    """MLP width over the stage's width."""
    query_stride: PositiveInt
    """Tokens max-pooled into one (the product of ``query_stride``)."""
    query_pool: NonNegativeInt
    """Stages after which the next one pools (``num_query_pool``)."""
    mask_unit: PositiveInt
    """Tokens of a mask unit in stage 1 (the product of ``masked_unit_size``)."""
    mask_unit_attention: tuple[bool, ...]
    """Per stage: attention within mask units (``masked_unit_attention``)."""

    def side(self) -> int:
        """The token grid's side (the patch embedding's output)."""
        return conv_side(self.image_side, self.patch, self.patch_stride, self.patch_padding)

    def widths(self) -> list[int]:
        return [int(self.embed_dim * self.multiplier**i) for i in range(len(self.depths))]

    def layers(self) -> list[HieraLayer]:
        """Every layer's shape, as HieraEncoder and HieraStage build them."""
        ends = [sum(self.depths[: i + 1]) for i in range(len(self.depths))]
        pooled = set(ends[: self.query_pool])  # the first layers of stages 2 .. query_pool + 1
        tokens, width_in, out, index = self.side() ** 2, self.embed_dim, [], 0
        for i, (depth, width, heads) in enumerate(
            zip(self.depths, self.widths(), self.heads, strict=True)
        ):
            window = int(self.mask_unit * self.query_stride**-i)
            previous = self.mask_unit_attention[i - 1 if i > 0 else 0]
            for j in range(depth):
                stride = self.query_stride if index in pooled else 1
                masked = self.mask_unit_attention[i] or (previous and j == 0)
                windows = tokens // (stride * window) if masked else 1
                out.append(HieraLayer(width_in=width_in, width=width, heads=heads, tokens=tokens,
                                      query_stride=stride, windows=windows))  # fmt: skip
                tokens, width_in, index = tokens // stride, width, index + 1
        return out

    def check(self) -> None:
        n = len(self.depths)
        if len(self.heads) != n or len(self.mask_unit_attention) != n or self.query_pool >= n:
            raise ValueError("hiera: heads and mask_unit_attention per stage, query_pool < stages")
        for k, layer in enumerate(self.layers(), start=1):
            if layer.width % layer.heads or layer.windows < 1:
                raise ValueError(f"hiera layer {k}: heads must divide the width, a window fit")
            if layer.query_stride > 1 and layer.width == layer.width_in:
                # HieraLayer pools its residual only through its width-changing proj.
                raise ValueError(f"hiera layer {k}: pooling without a new width")
            if layer.tokens % (layer.query_stride * layer.windows):
                raise ValueError(f"hiera layer {k}: {layer.tokens} tokens do not tile its windows")

    @property
    def block_count(self) -> int:
        return sum(self.depths)

    @property
    def first(self) -> tuple[int, int, int]:
        return self.embed_dim, self.heads[0], int(self.embed_dim * self.mlp_ratio)

    @property
    def first_tokens(self) -> int:
        return self.side() ** 2


def make_divisible(value: int, divisor: int = 8) -> int:
    """MobileViT's channel rounding (modeling_mobilevit.make_divisible): to the nearest multiple
    of ``divisor`` (at least ``divisor``), one more if that lost over 10 %."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


# MobileViTEncoder's fixed layout: inverted residuals per MobileNet layer (layer_1, layer_2),
# transformer layers per MobileViT layer (layer_3, layer_4, layer_5).
MOBILEVIT_MOBILENET_BLOCKS = (1, 3)
MOBILEVIT_TRANSFORMER_LAYERS = (2, 4, 3)


class MobileVit(BaseModel):
    """MobileViT (``MobileViTModel``): a 3 x 3 stride-2 stem to ``neck[0]`` channels, two
    MobileNet layers of inverted residuals (``neck[1]``, ``neck[2]``; the second strided), three
    MobileViT layers (each a strided inverted residual to ``neck[3 + i]``, a local k x k
    convolution, a 1 x 1 convolution to ``hidden[i]``, transformer layers over the unfolded
    ``patch`` x ``patch`` patches, a 1 x 1 projection back and a k x k fusion of it with the
    layer's input), then a 1 x 1 expansion to ``neck[6]``."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kind: Literal["mobilevit"] = "mobilevit"
    """The family: ``mobilevit``."""
    image_side: PositiveInt
    """Input image side in pixels."""
    channels: PositiveInt
    """Input image channels."""
    neck: tuple[
        PositiveInt, PositiveInt, PositiveInt, PositiveInt, PositiveInt, PositiveInt, PositiveInt
    ]
    """``neck_hidden_sizes``."""
    hidden: tuple[PositiveInt, PositiveInt, PositiveInt]
    """The transformers' widths (``hidden_sizes``)."""
    heads: PositiveInt
    """Attention heads of every transformer."""
    expand_ratio: float = Field(gt=0)
    """Inverted residuals' expansion (``expand_ratio``)."""
    kernel: PositiveInt
    """``conv_kernel_size`` (odd: padding (k - 1) / 2 keeps the grid)."""
    patch: PositiveInt
    """Unfolded patch side (``patch_size``)."""
    mlp_ratio: float = Field(gt=0)
    """Transformer MLP width over its width."""

    def expanded(self, channels: int) -> int:
        """An inverted residual's expanded width (MobileViTInvertedResidual)."""
        return make_divisible(round(channels * self.expand_ratio), 8)

    def sides(self) -> list[int]:
        """The grid side after the stem, layer_1, ..., layer_5 (every stride-2 3 x 3 convolution
        of padding 1: (side - 1) // 2 + 1)."""
        out, side = [], self.image_side
        for stride in (2, 1, 2, 2, 2, 2):
            side = (side - 1) // stride + 1
            out.append(side)
        return out

    def check(self) -> None:
        if self.kernel % 2 == 0:
            raise ValueError("mobilevit: an even conv_kernel_size changes the grid")
        for i, side in enumerate(self.sides()[3:]):
            if side % self.patch:
                raise ValueError(
                    f"mobilevit layer {i + 3}: a {side}x{side} grid is not tiled by "
                    f"{self.patch}x{self.patch} patches (the interpolation is not modelled)"
                )
            if self.hidden[i] % self.heads:
                raise ValueError(f"mobilevit layer {i + 3}: heads must divide {self.hidden[i]}")

    @property
    def block_count(self) -> int:
        return sum(MOBILEVIT_TRANSFORMER_LAYERS)

    @property
    def first(self) -> tuple[int, int, int]:
        return self.hidden[0], self.heads, int(self.hidden[0] * self.mlp_ratio)

    @property
    def first_tokens(self) -> int:
        return self.sides()[0] ** 2


class Perceiver(BaseModel):
    """The Perceiver encoder (``PerceiverModel`` without a decoder, ``PerceiverEncoder``):
    ``latents`` latents of ``d_latents`` cross-attend once to the input tokens (the instance's
    ``seq_len``, ``d_model`` channels each), then ``blocks`` x ``self_attends`` latent
    self-attention layers (one block's weights reused ``blocks`` times)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kind: Literal["perceiver"] = "perceiver"
    """The family: ``perceiver``."""
    latents: PositiveInt
    """``num_latents``."""
    d_latents: PositiveInt
    """Latent width (``d_latents``)."""
    d_input: PositiveInt
    """The inputs' channels (``d_model``: PerceiverEncoder's kv_dim without a preprocessor)."""
    cross_heads: PositiveInt
    """Cross-attention heads (``num_cross_attention_heads``)."""
    self_heads: PositiveInt
    """Self-attention heads (``num_self_attention_heads``)."""
    cross_qk: PositiveInt
    """Q/K channels of the cross-attention (``qk_channels``, else by
    ``cross_attention_shape_for_attention``: the inputs' ``kv`` or the latents' ``q``)."""
    cross_v: PositiveInt
    """Value channels of the cross-attention (``v_channels``, else ``cross_qk``)."""
    self_qk: PositiveInt
    """Q/K channels of the self-attention (``qk_channels``, else ``d_latents``)."""
    self_v: PositiveInt
    """Its value channels (``v_channels``, else ``self_qk``)."""
    cross_widening: PositiveInt
    """Cross-attention MLP widening (``cross_attention_widening_factor``)."""
    self_widening: PositiveInt
    """Self-attention MLP widening (``self_attention_widening_factor``)."""
    query_residual: bool
    """The cross-attention's output added to the latents (``use_query_residual``)."""
    blocks: PositiveInt
    """Repetitions of the self-attention block (``num_blocks``)."""
    self_attends: PositiveInt
    """Self-attention layers per block (``num_self_attends_per_block``)."""

    def check(self) -> None:
        for what, channels, heads in (
            ("cross-attention", (self.cross_qk, self.cross_v), self.cross_heads),
            ("self-attention", (self.self_qk, self.self_v), self.self_heads),
        ):
            if any(c % heads for c in channels) or self.d_latents % heads:
                raise ValueError(f"perceiver {what}: {heads} heads must divide its channels")
        if self.self_v != self.d_latents:
            # PerceiverSelfOutput maps v_channels to v_channels; the residual needs d_latents.
            raise ValueError("perceiver: self-attention v_channels must equal d_latents")

    @property
    def block_count(self) -> int:
        return self.blocks * self.self_attends

    @property
    def first(self) -> tuple[int, int, int]:
        return self.d_latents, self.self_heads, self.self_widening * self.d_latents

    @property
    def first_tokens(self) -> None:
        """No fixed token count: the inputs are the instance's ``seq_len``."""
        return None


VisionStages = Annotated[Cvt | Levit | Hiera | MobileVit | Perceiver, Field(discriminator="kind")]
