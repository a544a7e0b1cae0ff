"""Hugging Face readers for the vision backbones of :mod:`cosamt.workload.vision_stages`:
``cvt`` (transformers' configuration_cvt.py / modeling_cvt.py: per-stage lists ``depth``,
``embed_dim``, ``num_heads``, ``mlp_ratio``, ``patch_sizes``, ``patch_stride``,
``patch_padding``, ``kernel_qkv``, ``stride_kv``, ``padding_kv``, ``stride_q``, ``padding_q``,
``cls_token``, ``qkv_projection_method``), ``levit`` (configuration_levit.py /
modeling_levit.py), ``hiera`` (configuration_hiera.py / modeling_hiera.py), ``mobilevit``
(configuration_mobilevit.py / modeling_mobilevit.py) and ``perceiver``'s encoder
(configuration_perceiver.py / modeling_perceiver.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

VISION_STAGE_TYPES = frozenset({"cvt", "levit", "hiera", "mobilevit", "perceiver"})

# CvtConfig states no image size; AutoImageProcessor gives CvT ConvNextImageProcessor, whose
# default size {"shortest_edge": 384} resizes (at 384 and above, without cropping) to 384 x 384.
CVT_PROCESSOR_SIDE = 384


def _per_stage(r: _Reader, key: str, stages: int, kind: type, positive: bool) -> list[Any]:
    """A list of one ``kind`` value per stage, or [] (refused)."""
    value = r.data.get(key)

    def ok(v: Any) -> bool:
        if kind is bool:
            return isinstance(v, bool)
        if kind is float:
            return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
        return type(v) is int and (v > 0 if positive else v >= 0)

    if not isinstance(value, list) or len(value) != stages or not all(ok(v) for v in value):
        what = "true/false" if kind is bool else "positive numbers" if kind is float else "integers"
        r.refuse(key, f"must be a list of {stages} {what}, one per stage (got {value!r})")
        return []
    return list(value)


def _image_side(r: _Reader, model_type: str, default: int, why: str) -> int | None:
    value = r.data.get("image_size")
    if value is None:
        r.assumed.append(
            f"{model_type}: {default} x {default} images ({why}; an image_size key overrides it)"
        )
        return default
    if isinstance(value, list) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    if type(value) is not int or value < 1:
        r.refuse("image_size", f"must be a positive integer or a square [n, n] (got {value!r})")
        return None
    return int(value)


def cvt(r: _Reader, model_type: str) -> dict[str, Any]:
    """CvT (CvtModel): every stage's lists; the image side from ``image_size`` if given, else
    the default image processor's 384."""
    depth = r.data.get("depth")
    if not isinstance(depth, list) or not depth or not all(type(v) is int and v > 0 for v in depth):
        r.refuse("depth", f"must be a non-empty list of positive integers (got {depth!r})")
        return {}
    n = len(depth)
    ints = {
        k: _per_stage(r, k, n, int, True)
        for k in (
            "embed_dim",
            "num_heads",
            "patch_sizes",
            "patch_stride",
            "kernel_qkv",
            "stride_kv",
        )
    }
    pads = {
        k: _per_stage(r, k, n, int, False) for k in ("patch_padding", "padding_kv", "padding_q")
    }
    stride_q = _per_stage(r, "stride_q", n, int, True)
    ratios = _per_stage(r, "mlp_ratio", n, float, True)
    cls = _per_stage(r, "cls_token", n, bool, True)
    method = r.data.get("qkv_projection_method")
    if method != ["dw_bn"] * n:
        # CvtSelfAttentionProjection builds its convolution for "dw_bn" only ("avg" and
        # "linear" leave forward without one).
        r.refuse("qkv_projection_method", f"only 'dw_bn' per stage is modelled (got {method!r})")
    if any(s != 1 for s in stride_q):
        r.refuse("stride_q", "strided queries (fewer queries than tokens) are not modelled")
    if any(cls[:-1]):
        # CvtStage splits the class token off after its stage; the next embedding convolves the
        # grid only, so a class token before the last stage is dropped: not modelled.
        r.refuse("cls_token", "a class token before the last stage is not modelled")
    channels = r.int_("num_channels", what="image channels")
    side = _image_side(
        r,
        model_type,
        CVT_PROCESSOR_SIDE,
        "CvtConfig states none; ConvNextImageProcessor's default size",
    )
    if r.problems or side is None or channels is None:
        return {}
    width, heads = ints["embed_dim"], ints["num_heads"]
    stages = [
        {
            "depth": depth[i],
            "width": width[i],
            "heads": heads[i],
            "d_ff": int(width[i] * ratios[i]),  # CvtIntermediate: int(embed_dim * mlp_ratio)
            "patch": ints["patch_sizes"][i],
            "patch_stride": ints["patch_stride"][i],
            "patch_padding": pads["patch_padding"][i],
            "qkv_kernel": ints["kernel_qkv"][i],
            "kv_stride": ints["stride_kv"][i],
            "kv_padding": pads["padding_kv"][i],
            "q_padding": pads["padding_q"][i],
            "class_token": cls[i],
        }
        for i in range(n)
    ]
    spec = {"kind": "cvt", "image_side": side, "channels": channels, "stages": stages}
    from cosamt.workload.vision_stages import Cvt  # a pydantic model: shapes checked here

    try:
        built = Cvt.model_validate(spec)
        built.check()
    except ValueError as exc:
        r.refuse("embed_dim", f"the stages do not compose: {exc}")
        return {}
    r.assumed.append(
        f"{model_type}: encoder stages only (the classifier's norm and head not modelled)"
    )
    return _fields(built, spec, "gelu")  # CvtIntermediate: nn.GELU()


def _down_ops(r: _Reader, stages: int) -> list[dict[str, int]]:
    """LeViT's ``down_ops``: one ``["Subsample", key_dim, heads, attention_ratio, mlp_ratio,
    stride]`` per stage but the last."""
    value = r.data.get("down_ops")

    def ok(op: Any) -> bool:
        if not isinstance(op, list) or len(op) != 6 or op[0] != "Subsample":
            return False
        nums = op[1:]
        return all(type(v) is int for v in nums) and min(nums[:3] + nums[4:]) > 0 and nums[3] >= 0

    if not isinstance(value, list) or len(value) != stages - 1 or not all(ok(op) for op in value):
        r.refuse(
            "down_ops",
            f"{stages - 1} ['Subsample', key_dim, heads, attention_ratio, mlp_ratio, stride] "
            f"expected, one between each two stages (got {value!r})",
        )
        return []
    keys = ("key_dim", "heads", "attention_ratio", "mlp_ratio", "stride")
    return [dict(zip(keys, op[1:], strict=True)) for op in value]


def levit(r: _Reader, model_type: str) -> dict[str, Any]:
    """LeViT (LevitModel): the stem's ``kernel_size`` / ``stride`` / ``padding``, per stage
    ``depths``, ``hidden_sizes``, ``num_attention_heads``, ``key_dim``, ``attention_ratio``,
    ``mlp_ratio``, and ``down_ops``."""
    depths = r.data.get("depths")
    if (
        not isinstance(depths, list)
        or not depths
        or not all(type(v) is int and v > 0 for v in depths)
    ):
        r.refuse("depths", f"must be a non-empty list of positive integers (got {depths!r})")
        return {}
    n = len(depths)
    keys = ("hidden_sizes", "num_attention_heads", "key_dim", "attention_ratio")
    lists = {k: _per_stage(r, k, n, int, True) for k in keys}
    mlp = _per_stage(r, "mlp_ratio", n, int, False)
    downs = _down_ops(r, n)
    image = _square_int(r, "image_size")
    patch = r.int_("patch_size")
    kernel, stride = r.int_("kernel_size"), r.int_("stride")
    padding = r.data.get("padding")
    if type(padding) is not int or padding < 0:
        r.refuse("padding", f"must be a non-negative integer (got {padding!r})")
    channels = r.int_("num_channels", what="image channels")
    if r.problems or None in (image, patch, kernel, stride, channels):
        return {}
    width = lists["hidden_sizes"]
    stages = [
        {
            "depth": depths[i],
            "width": width[i],
            "heads": lists["num_attention_heads"][i],
            "key_dim": lists["key_dim"][i],
            "attention_ratio": lists["attention_ratio"][i],
            "mlp_ratio": mlp[i],
        }
        for i in range(n)
    ]
    spec = {"kind": "levit", "image_side": image, "channels": channels, "kernel": kernel,
            "stride": stride, "padding": padding, "stages": stages, "downs": downs}  # fmt: skip
    from cosamt.workload.vision_stages import Levit  # a pydantic model: shapes checked here

    try:
        built = Levit.model_validate(spec)
        built.check()
    except ValueError as exc:
        r.refuse("hidden_sizes", f"the stages do not compose: {exc}")
        return {}
    assert image is not None and patch is not None
    if built.grids()[0] != image // patch:
        # LevitEncoder sizes its attention biases for image_size // patch_size per side.
        r.refuse(
            "patch_size",
            f"the stem's {built.grids()[0]}x{built.grids()[0]} grid differs from image_size // "
            f"patch_size = {image // patch} (LevitEncoder's resolution)",
        )
        return {}
    r.assumed.append(f"{model_type}: the classifier heads not modelled (stages only)")
    # activation and norm unused: LeViT's Hardswish and batch norms are built by vision_stage_ops
    return _fields(built, spec, "gelu") | {"head_dim": lists["key_dim"][0]}


def _square_int(r: _Reader, key: str) -> int | None:
    value = r.data.get(key)
    if isinstance(value, list) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    if type(value) is not int or value < 1:
        r.refuse(key, f"must be a positive integer or a square [n, n] (got {value!r})")
        return None
    return int(value)


def _square_pair(r: _Reader, key: str, positive: bool = True) -> int | None:
    """A square [n, n] (Hiera's 2-D sizes) as n."""
    value = r.data.get(key)
    low = 1 if positive else 0
    if isinstance(value, list) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    if type(value) is not int or value < low:
        r.refuse(
            key,
            f"must be a square [n, n] of {'positive' if positive else 'non-negative'} integers (got {value!r})",
        )
        return None
    return int(value)


def hiera(r: _Reader, model_type: str) -> dict[str, Any]:
    """Hiera (HieraModel, configuration_hiera.py): ``image_size``, ``patch_size`` /
    ``patch_stride`` / ``patch_padding``, ``embed_dim``, ``embed_dim_multiplier``, ``depths``,
    ``num_heads``, ``mlp_ratio``, ``query_stride``, ``num_query_pool``, ``masked_unit_size``,
    ``masked_unit_attention``; 2-D sizes must be square."""
    depths = r.data.get("depths")
    if (
        not isinstance(depths, list)
        or not depths
        or not all(type(v) is int and v > 0 for v in depths)
    ):
        r.refuse("depths", f"must be a non-empty list of positive integers (got {depths!r})")
        return {}
    n = len(depths)
    heads = _per_stage(r, "num_heads", n, int, True)
    masked = _per_stage(r, "masked_unit_attention", n, bool, True)
    image, patch = _square_pair(r, "image_size"), _square_pair(r, "patch_size")
    stride, padding = _square_pair(r, "patch_stride"), _square_pair(r, "patch_padding", False)
    query, unit = _square_pair(r, "query_stride"), _square_pair(r, "masked_unit_size")
    embed, channels = r.int_("embed_dim"), r.int_("num_channels", what="image channels")
    pool = r.data.get("num_query_pool")
    if type(pool) is not int or pool < 0:
        r.refuse("num_query_pool", f"must be a non-negative integer (got {pool!r})")
    floats = {k: r.data.get(k) for k in ("embed_dim_multiplier", "mlp_ratio")}
    for key, value in floats.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            r.refuse(key, f"must be a positive number (got {value!r})")
    activation = _activation_of(r, model_type)
    if r.problems or None in (image, patch, stride, padding, query, unit, embed, channels):
        return {}
    assert image is not None and stride is not None and query is not None and unit is not None
    spec = {"kind": "hiera", "image_side": image, "channels": channels, "patch": patch,
            "patch_stride": stride, "patch_padding": padding, "embed_dim": embed,
            "multiplier": floats["embed_dim_multiplier"], "depths": depths, "heads": heads,
            "mlp_ratio": floats["mlp_ratio"], "query_stride": query * query, "query_pool": pool,
            "mask_unit": unit * unit, "mask_unit_attention": masked}  # fmt: skip
    from cosamt.workload.vision_stages import Hiera  # a pydantic model: shapes checked here

    try:
        built = Hiera.model_validate(spec)
        built.check()
    except ValueError as exc:
        r.refuse("depths", f"the stages do not compose: {exc}")
        return {}
    if built.side() != image // stride:
        # HieraEmbeddings sizes its position embeddings for image_size // patch_stride per side.
        r.refuse(
            "patch_padding",
            f"the patch embedding's {built.side()} tokens per side differ from image_size // patch_stride",
        )
        return {}
    r.assumed.append(
        f"{model_type}: every token encoded (mask_ratio {r.data.get('mask_ratio')!r} masks "
        "tokens in HieraForPreTraining only); the pooler and head not modelled"
    )
    return _fields(built, spec, activation)


def _activation_of(r: _Reader, model_type: str) -> str | None:
    from cosamt.workload.hf import _activation  # hf imports this module

    return _activation(r, model_type)


def _ints(r: _Reader, key: str, count: int) -> list[int]:
    value = r.data.get(key)
    if (
        not isinstance(value, list)
        or len(value) != count
        or not all(type(v) is int and v > 0 for v in value)
    ):
        r.refuse(key, f"must be a list of {count} positive integers (got {value!r})")
        return []
    return list(value)


def mobilevit(r: _Reader, model_type: str) -> dict[str, Any]:
    """MobileViT (MobileViTModel, configuration_mobilevit.py): ``neck_hidden_sizes`` (7),
    ``hidden_sizes`` (3), ``num_attention_heads``, ``expand_ratio``, ``conv_kernel_size``,
    ``patch_size``, ``mlp_ratio``, ``image_size``; the layer counts are MobileViTEncoder's."""
    neck, hidden = _ints(r, "neck_hidden_sizes", 7), _ints(r, "hidden_sizes", 3)
    heads, kernel = r.int_("num_attention_heads"), r.int_("conv_kernel_size")
    patch, image = r.int_("patch_size"), _square_int(r, "image_size")
    channels = r.int_("num_channels", what="image channels")
    floats = {k: r.data.get(k) for k in ("expand_ratio", "mlp_ratio")}
    for key, value in floats.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            r.refuse(key, f"must be a positive number (got {value!r})")
    if r.data.get("output_stride", 32) != 32:
        # MobileViTEncoder dilates layer_4 / layer_5 for output_stride 8 or 16 (segmentation).
        r.refuse("output_stride", "dilated layers (output_stride 8 or 16) are not modelled")
    activation = _activation_of(r, model_type)
    if r.problems or None in (heads, kernel, patch, image, channels, activation):
        return {}
    spec = {"kind": "mobilevit", "image_side": image, "channels": channels, "neck": neck,
            "hidden": hidden, "heads": heads, "expand_ratio": floats["expand_ratio"],
            "kernel": kernel, "patch": patch, "mlp_ratio": floats["mlp_ratio"]}  # fmt: skip
    from cosamt.workload.vision_stages import MobileVit  # a pydantic model: shapes checked here

    try:
        built = MobileVit.model_validate(spec)
        built.check()
    except ValueError as exc:
        r.refuse("hidden_sizes", f"the layers do not compose: {exc}")
        return {}
    r.assumed.append(f"{model_type}: the classifier / segmentation head not modelled")
    return _fields(built, spec, activation)


# Task-model settings PerceiverModel's encoder does not read (the multimodal autoencoder's video
# and audio, the image and optical-flow models' preprocessors, the decoders' outputs).
PERCEIVER_TASK_KEYS = ("num_frames", "audio_samples_per_frame", "samples_per_patch", "image_size",
                       "train_size", "output_shape", "output_num_channels")  # fmt: skip


def perceiver(r: _Reader, model_type: str) -> dict[str, Any]:
    """The Perceiver encoder (PerceiverModel without preprocessor or decoder, configuration_perceiver.py):
    ``num_latents``, ``d_latents``, ``d_model`` (the inputs' channels), the heads, ``qk_channels``,
    ``v_channels``, ``cross_attention_shape_for_attention``, the widening factors,
    ``use_query_residual``, ``num_blocks``, ``num_self_attends_per_block``."""
    latents, d_latents = r.int_("num_latents"), r.int_("d_latents")
    d_input = r.int_("d_model", what="the inputs' channels")
    heads = {k: r.int_(k) for k in ("num_cross_attention_heads", "num_self_attention_heads")}
    widen = {
        k: r.int_(k) for k in ("cross_attention_widening_factor", "self_attention_widening_factor")
    }
    blocks, attends = r.int_("num_blocks"), r.int_("num_self_attends_per_block")
    qk = r.int_("qk_channels", required=False)
    v = r.int_("v_channels", required=False)
    shape = r.data.get("cross_attention_shape_for_attention", "kv")
    if shape not in ("kv", "q"):
        r.refuse("cross_attention_shape_for_attention", f"must be 'kv' or 'q' (got {shape!r})")
    residual = r.data.get("use_query_residual", True)
    if not isinstance(residual, bool):
        r.refuse("use_query_residual", f"must be true or false (got {residual!r})")
    activation = _activation_of(r, model_type)
    values = (
        latents,
        d_latents,
        d_input,
        blocks,
        attends,
        activation,
        *heads.values(),
        *widen.values(),
    )
    if r.problems or None in values:
        return {}
    assert d_latents is not None and d_input is not None
    # PerceiverAttention: the cross-attention's Q/K width by the shape rule unless qk_channels;
    # PerceiverSelfAttention: V as wide as Q/K unless v_channels.
    cross_qk = qk or (d_input if shape == "kv" else d_latents)
    self_qk = qk or d_latents
    spec = {"kind": "perceiver", "latents": latents, "d_latents": d_latents, "d_input": d_input,
            "cross_heads": heads["num_cross_attention_heads"],
            "self_heads": heads["num_self_attention_heads"], "cross_qk": cross_qk,
            "cross_v": v or cross_qk, "self_qk": self_qk, "self_v": v or self_qk,
            "cross_widening": widen["cross_attention_widening_factor"],
            "self_widening": widen["self_attention_widening_factor"], "query_residual": residual,
            "blocks": blocks, "self_attends": attends}  # fmt: skip
    from cosamt.workload.vision_stages import Perceiver  # a pydantic model: shapes checked here

    try:
        built = Perceiver.model_validate(spec)
        built.check()
    except ValueError as exc:
        r.refuse("d_latents", f"the layers do not compose: {exc}")
        return {}
    unread = [k for k in PERCEIVER_TASK_KEYS if r.data.get(k) is not None]
    r.assumed.append(
        f"{model_type}: PerceiverModel's encoder only, its inputs the instance's seq_len tokens of "
        f"d_model {d_input} channels; the task models' settings ({', '.join(unread) or 'none'}: "
        "the multimodal autoencoder's video and audio, the image and optical-flow "
        "preprocessors, the decoders) are not read"
    )
    return _fields(built, spec, activation, image=False)  # its inputs: the instance's seq_len


def _fields(
    built: Any, spec: dict[str, Any], activation: str | None, image: bool = True
) -> dict[str, Any]:
    """The ModelConfig fields every staged model shares: its first block's width, heads and MLP
    width, its layer count, the stages, and (an image model) the first stage's tokens."""
    d, h, ff = built.first
    out: dict[str, Any] = {
        "n_layers": built.block_count, "d_model": d, "n_heads": h, "d_ff": ff,
        "activation": activation, "norm": "layernorm", "norm_position": "pre",
        "vision_stages": spec, "decoder": False,
    }  # fmt: skip
    if image:
        out |= {"image_tokens": built.first_tokens, "default_seq_len": built.first_tokens}
    return out


READERS = {"cvt": cvt, "levit": levit, "hiera": hiera, "mobilevit": mobilevit,
           "perceiver": perceiver}  # fmt: skip
