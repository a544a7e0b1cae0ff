"""Hugging Face readers for the vision backbones of :mod:`cosamt.workload.vision_stages`:
``cvt`` (transformers' configuration_cvt.py / modeling_cvt.py: per-stage lists ``depth``,
``embed_dim``, ``num_heads``, ``mlp_ratio``, ``patch_sizes``, ``patch_stride``,
``patch_padding``, ``kernel_qkv``, ``stride_kv``, ``padding_kv``, ``stride_q``, ``padding_q``,
``cls_token``, ``qkv_projection_method``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

VISION_STAGE_TYPES = frozenset({"cvt"})

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
    return {
        "n_layers": built.layers,
        "d_model": width[0],
        "n_heads": heads[0],
        "d_ff": stages[0]["d_ff"],
        "activation": "gelu",  # CvtIntermediate: nn.GELU()
        "norm": "layernorm",
        "norm_position": "pre",
        "vision_stages": spec,
        "image_tokens": built.first_tokens,
        "decoder": False,
        "default_seq_len": built.first_tokens,
    }
