"""Pyramid vision transformers (PVT, PVT v2, SegFormer's encoder) from Hugging Face configs: tiny
two-stage models counted by hand, refusals by field path, and the CLI (workload, solve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from support import hf_cli_run, listed_macs, solved_operators

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import build_workload, model_macs

# 8x8 image; stage 1: 3x3 stride 2 -> a 4x4 grid, 4 wide, 1 head, K/V from a 2x2 grid (sr 2);
# stage 2: 3x3 stride 2 -> 2x2, 8 wide, 2 heads, no reduction. FFN twice the width.
TINY: dict[str, Any] = {
    "model_type": "pvt_v2", "image_size": [8, 8], "num_channels": 3, "num_encoder_blocks": 2,
    "depths": [1, 1], "hidden_sizes": [4, 8], "num_attention_heads": [1, 2],
    "patch_sizes": [3, 3], "strides": [2, 2], "sr_ratios": [2, 1], "mlp_ratios": [2, 2],
    "hidden_act": "gelu", "linear_attention": False,
}  # fmt: skip


def test_tiny_pvt_v2_by_hand() -> None:
    model = config_from_dict(TINY, source="tiny")
    assert model.image_tokens == 16
    w = build_workload(model, Phase.PREFILL, 1, 16)
    per_block = {plan.prefix: model_macs(ops) * plan.count for plan, ops in w.blocks}
    embed1 = 16 * (3 * 3 * 3) * 4  # 16 output tokens, a 3x3x3 patch each, 4 channels out
    # q 16x4x4, sr conv 4 tokens x (2x2x4) x 4, kv 4x4x8, QK and PV 16x4x4 each, out 16x4x4,
    # fc1 16x4x8, depthwise 16x8x9, fc2 16x8x4.
    stage1 = 256 + 256 + 128 + 256 + 256 + 256 + 512 + 1152 + 512
    embed2 = 4 * (3 * 3 * 4) * 8
    # q 4x8x8, kv 4x8x16, QK and PV 4x4x8 each, out 4x8x8, fc1 4x8x16, depthwise 4x16x9, fc2.
    stage2 = 256 + 512 + 128 + 128 + 256 + 512 + 576 + 512
    assert per_block == {
        "embed1.": embed1,
        "s1.": stage1,
        "norm1.": 0,
        "embed2.": embed2,
        "s2.": stage2,
        "norm2.": 0,
    }
    assert model_macs(w.operators) == 9344
    names = {op.name for op in w.operators}
    assert {"s1.sr_conv", "s1.sr_norm", "s1.dwconv"} <= names and "s2.sr_conv" not in names


# PVT v1 on the same image: Conv2d(kernel_size=strides, stride=patch_sizes) unpadded (2x2 stride
# 2: 4x4 then 2x2 grids), a plain FFN, a class token joining stage 2's 4 patches, one final norm.
PVT: dict[str, Any] = {
    "model_type": "pvt", "image_size": 8, "num_channels": 3, "num_encoder_blocks": 2,
    "depths": [1, 1], "hidden_sizes": [4, 8], "num_attention_heads": [1, 2],
    "patch_sizes": [2, 2], "strides": [2, 2], "sequence_reduction_ratios": [2, 1],
    "mlp_ratios": [2, 2], "hidden_act": "gelu",
}  # fmt: skip


def test_tiny_pvt_v1_by_hand() -> None:
    model = config_from_dict(PVT, source="tiny")
    w = build_workload(model, Phase.PREFILL, 1, 16)
    per_block = {plan.prefix: model_macs(ops) * plan.count for plan, ops in w.blocks}
    embed1 = 16 * (2 * 2 * 3) * 4
    # q, sr conv (4 tokens x 2x2x4 x 4), kv 4x4x8, QK, PV, out; fc1 16x4x8, fc2: no depthwise.
    stage1 = 256 + 256 + 128 + 256 + 256 + 256 + 512 + 512
    embed2 = 4 * (2 * 2 * 4) * 8
    # 5 tokens (4 patches + the class token), keys from all 5: q 5x8x8, kv 5x8x16, QK and PV
    # 5x5x8, out 5x8x8, fc1 5x8x16, fc2 5x16x8.
    stage2 = 320 + 640 + 200 + 200 + 320 + 640 + 640
    assert per_block == {
        "embed1.": embed1,
        "s1.": stage1,
        "embed2.": embed2,
        "s2.": stage2,
        "norm2.": 0,
    }
    assert model_macs(w.operators) == 6672
    assert not any(op.name.endswith("dwconv") for op in w.operators)


@pytest.mark.parametrize(("change", "path"), [
    ({"sequence_reduction_ratios": [2, 2]}, "hf_config.sequence_reduction_ratios"),  # class token
    ({"sequence_reduction_ratios": [8, 1]}, "hf_config.sequence_reduction_ratios"),  # 4x4 grid
    ({"sr_ratios": [2, 1]}, "hf_config.sequence_reduction_ratios"),  # v2's name: v1's missing
    ({"image_size": 3}, "hf_config.image_size"),  # stage 2 gets a 0x0 grid
])  # fmt: skip
def test_pvt_v1_refusals_name_the_field(change: dict[str, Any], path: str) -> None:
    cfg = {**PVT, **change}
    if "sr_ratios" in change:
        del cfg["sequence_reduction_ratios"]
    with pytest.raises(InputError) as err:
        config_from_dict(cfg, source="bad")
    assert path in {p.path for p in err.value.problems}


def test_model_config_keeps_the_class_token_in_the_last_stage() -> None:
    fields = config_from_dict(PVT, source="tiny").model_dump()
    stages = fields["pyramid"]["stages"]
    stages[0]["class_token"] = True
    with pytest.raises(ValidationError, match="class token only in the last stage"):
        ModelConfig.model_validate(fields)


def test_segformer_reads_as_pvt_v2_given_an_image_size() -> None:
    seg = {**TINY, "model_type": "segformer"}
    del seg["linear_attention"]
    a = build_workload(config_from_dict(seg, source="seg"), Phase.PREFILL, 1, 16)
    b = build_workload(config_from_dict(TINY, source="pvt"), Phase.PREFILL, 1, 16)
    assert a.operators == b.operators


@pytest.mark.parametrize(("change", "path"), [
    ({"linear_attention": True}, "hf_config.linear_attention"),
    ({"image_size": None}, "hf_config.image_size"),
    ({"image_size": [8, 6]}, "hf_config.image_size"),
    ({"sr_ratios": [2]}, "hf_config.sr_ratios"),
    ({"num_attention_heads": [3, 2]}, "hf_config.num_attention_heads"),
    ({"mlp_ratios": [2, "x"]}, "hf_config.mlp_ratios"),
])  # fmt: skip
def test_refusals_name_the_field(change: dict[str, Any], path: str) -> None:
    cfg = {k: v for k, v in {**TINY, **change}.items() if v is not None}
    with pytest.raises(InputError) as err:
        config_from_dict(cfg, source="bad")
    assert path in {p.path for p in err.value.problems}


@pytest.mark.parametrize(("config", "macs", "ops"), [
    (TINY, 9344, {"s1.sr_conv", "s2.dwconv"}),
    (PVT, 6672, {"s1.sr_conv", "s2.kv_proj", "norm2.norm"}),
])  # fmt: skip
def test_cli_workload_and_solve(
    tmp_path: Path, config: dict[str, Any], macs: int, ops: set[str]
) -> None:
    operators, report = hf_cli_run(tmp_path, config, 16)
    assert listed_macs(operators) == macs
    assert report is not None and report["total"]["all_optimal"] is True
    assert ops <= solved_operators(report)


@pytest.mark.parametrize(("change", "words"), [
    ({"n_layers": 3}, "n_layers must be the blocks of all stages"),
    ({"d_ff": 6}, "must be stage 1's"),
    ({"image_tokens": 9}, "stage 1's 4x4 grid"),
    ({"decoder": True}, "encoder-only"),
])  # fmt: skip
def test_model_config_checks_the_pyramid(change: dict[str, Any], words: str) -> None:
    fields = {**config_from_dict(TINY, source="tiny").model_dump(), **change}
    with pytest.raises(ValidationError, match=words):
        ModelConfig.model_validate(fields)
