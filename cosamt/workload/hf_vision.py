"""Hugging Face reader for pyramid vision transformers (``pvt_v2``; ``segformer``'s MiT encoder,
given an ``image_size``): per-stage lists read into :class:`cosamt.workload.pyramid.Pyramid`.
Shapes from transformers' PvtV2OverlapPatchEmbeddings / PvtV2SelfAttention /
PvtV2ConvFeedForwardNetwork (SegFormer's modules are the same)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

PYRAMID_TYPES = frozenset({"pvt_v2", "segformer"})

# Per-stage lists, in PyramidStage field order (mlp_ratios read separately: a float each).
_STAGE_KEYS = (
    "depths",
    "hidden_sizes",
    "num_attention_heads",
    "patch_sizes",
    "strides",
    "sr_ratios",
)


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


def _image_side(r: _Reader, model_type: str) -> int | None:
    value = r.data.get("image_size")
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


def pyramid(r: _Reader, model_type: str) -> dict[str, Any]:
    """All the fields of a pyramid vision transformer (encoder only; the head not modelled)."""
    from cosamt.workload.hf import _activation  # hf imports this module

    if r.data.get("linear_attention"):
        r.refuse(
            "linear_attention",
            "PVT v2's linear spatial reduction (7x7 average pooling, 1x1 convolution, GELU; a "
            "ReLU in the FFN) is not modelled",
        )
    lists = {k: _positive_ints(r, k) for k in _STAGE_KEYS}
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
    depth, width, heads, kernel, stride, sr = (lists[k] or [] for k in _STAGE_KEYS)
    for i, (w, h) in enumerate(zip(width, heads, strict=True)):
        if w % h:
            r.refuse("num_attention_heads", f"stage {i + 1}: {h} heads do not divide width {w}")
    built = [
        {
            "depth": depth[i],
            "width": width[i],
            "heads": heads[i],
            "d_ff": int(width[i] * ratios[i]),
            "kernel": kernel[i],
            "stride": stride[i],
            "sr_ratio": sr[i],
        }
        for i in range(len(depth))
    ]
    grid = (side + 2 * (kernel[0] // 2) - kernel[0]) // stride[0] + 1
    if grid < 1:
        r.refuse("image_size", f"{side} is smaller than the first patch ({kernel[0]})")
        return {}
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
