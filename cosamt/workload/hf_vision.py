"""Hugging Face reader for pyramid vision transformers (``pvt``, ``pvt_v2``; ``segformer``'s MiT
encoder, at ``image_size`` or else its image processor's 512 x 512): per-stage lists read into :class:`cosamt.workload.pyramid.Pyramid`.
Shapes from transformers' PvtV2OverlapPatchEmbeddings / PvtV2SelfAttention /
PvtV2ConvFeedForwardNetwork (SegFormer's modules are the same) and PvtPatchEmbeddings, PvtLayer,
PvtEncoder (v1: plain FFN, a class token in the last stage, one norm after it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

PYRAMID_TYPES = frozenset({"pvt", "pvt_v2", "segformer"})

# Per-stage lists (mlp_ratios read separately: a float each). PVT v1 names its reductions
# sequence_reduction_ratios.
_STAGE_KEYS = ("depths", "hidden_sizes", "num_attention_heads", "patch_sizes", "strides")
_SR_KEY = {"pvt": "sequence_reduction_ratios"}


def _positive_ints(r: _Reader, key: str) -> list[int] | None:
    value = r.data.get(key)
    if not isinstance(value, list) or not value or not all(type(v) is int and v > 0 for v in value):
        r.refuse(
            key, f"must be a non-empty list of positive integers, one per stage (got {value!r})"
        )
        return None
    return list(value)


def _ratios(r: _Reader) -> list[float] | None:
    value = r.data.get("mlp_ratios")
    numbers = isinstance(value, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in value
    )
    if not numbers or not value:
        r.refuse("mlp_ratios", f"must be a list of positive numbers, one per stage (got {value!r})")
        return None
    return [float(v) for v in value]


# SegformerConfig states no image size; SegformerImageProcessor resizes every image to its
# default size {"height": 512, "width": 512} (image_processing_segformer.py).
SEGFORMER_PROCESSOR_SIDE = 512


def _image_side(r: _Reader, model_type: str) -> int | None:
    value = r.data.get("image_size")
    if value is None and model_type == "segformer":
        r.assumed.append(
            f"segformer: {SEGFORMER_PROCESSOR_SIDE} x {SEGFORMER_PROCESSOR_SIDE} images (the "
            "config states no image size; SegformerImageProcessor's default size; an "
            "image_size key overrides it)"
        )
        return SEGFORMER_PROCESSOR_SIDE
    if value is None:
        r.refuse(
            "image_size",
            f"required for {model_type} (its configuration states no image size: the token "
            "grids come from it); add image_size",
        )
        return None
    if isinstance(value, list) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    if type(value) is not int or value < 1:
        r.refuse("image_size", f"must be a positive integer or a square [n, n] (got {value!r})")
        return None
    return value


def _grids(side: int, stages: list[dict[str, Any]]) -> list[int]:
    """Token-grid side per stage (each patch embedding's convolution output side)."""
    out = []
    for s in stages:
        side = (side + 2 * s["padding"] - s["kernel"]) // s["stride"] + 1
        out.append(side)
    return out


def pyramid(r: _Reader, model_type: str) -> dict[str, Any]:
    """All the fields of a pyramid vision transformer (encoder only; the head not modelled)."""
    from cosamt.workload.hf import _activation  # hf imports this module

    if r.data.get("linear_attention"):
        r.refuse(
            "linear_attention",
            "PVT v2's linear spatial reduction (7x7 average pooling, 1x1 convolution, GELU; a "
            "ReLU in the FFN) is not modelled",
        )
    sr_key = _SR_KEY.get(model_type, "sr_ratios")
    lists = {k: _positive_ints(r, k) for k in (*_STAGE_KEYS, sr_key)}
    ratios = _ratios(r)
    side = _image_side(r, model_type)
    channels = r.int_("num_channels", what="image channels")
    activation = _activation(r, model_type)
    counts = {k: len(v) for k, v in lists.items() if v is not None}
    if ratios is not None:
        counts["mlp_ratios"] = len(ratios)
    stages = r.data.get("num_encoder_blocks", counts.get("depths"))
    for key, n in counts.items():
        if n != stages:
            r.refuse(key, f"{n} entries; one per stage expected ({stages} num_encoder_blocks)")
    if r.problems or ratios is None or side is None or channels is None:
        return {}
    depth, width, heads, patch, stride, sr = (lists[k] or [] for k in (*_STAGE_KEYS, sr_key))
    for i, (w, h) in enumerate(zip(width, heads, strict=True)):
        if w % h:
            r.refuse("num_attention_heads", f"stage {i + 1}: {h} heads do not divide width {w}")
    v1 = model_type == "pvt"
    if v1 and sr[-1] > 1:
        r.refuse(sr_key, "PVT's last stage (with its class token) needs reduction ratio 1")
    last = len(depth) - 1
    built = [
        {
            "depth": depth[i],
            "width": width[i],
            "heads": heads[i],
            "d_ff": int(width[i] * ratios[i]),
            # PVT v1's Conv2d(kernel_size=strides[i], stride=patch_sizes[i]), no padding; PVT
            # v2's Conv2d(kernel_size=patch_sizes[i], stride=strides[i], padding=patch // 2).
            "kernel": stride[i] if v1 else patch[i],
            "stride": patch[i] if v1 else stride[i],
            "padding": 0 if v1 else patch[i] // 2,
            "sr_ratio": sr[i],
            "mix_ffn": not v1,
            "class_token": v1 and i == last,
            "closing_norm": not v1 or i == last,
        }
        for i in range(len(depth))
    ]
    grids = _grids(side, built)
    for i, (stage, grid) in enumerate(zip(built, grids, strict=True), start=1):
        if grid < 1:
            r.refuse(
                "image_size", f"{side} leaves stage {i} no tokens (its patch: {stage['kernel']})"
            )
            return {}
        if grid < stage["sr_ratio"]:
            r.refuse(
                sr_key, f"stage {i}: reduction {stage['sr_ratio']} exceeds its {grid}x{grid} grid"
            )
    if r.problems:
        return {}
    grid = grids[0]
    r.assumed.append(
        f"{model_type}: encoder stages only (the classification / decode head not modelled)"
    )
    return {
        "n_layers": sum(depth),
        "d_model": width[0],
        "n_heads": heads[0],
        "d_ff": built[0]["d_ff"],
        "activation": activation,
        "norm": "layernorm",
        "norm_position": "pre",
        "pyramid": {"image_side": side, "channels": channels, "stages": built},
        "image_tokens": grid * grid,
        "decoder": False,
        "default_seq_len": grid * grid,
    }
