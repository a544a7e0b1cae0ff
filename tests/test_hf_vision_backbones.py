"""Swin V2, CvT, LeViT, Hiera, MobileViT and the Perceiver's encoder from Hugging Face configs: tiny models against the
formulas of tests/hf_vision_formulas.py and a few operators by hand, refusals by field path,
and the CLI (workload, solve)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hf_vision_formulas import (
    cvt_macs,
    hiera_macs,
    levit_macs,
    mobilevit_macs,
    perceiver_macs,
    swinv2_macs,
)
from pydantic import ValidationError
from support import hf_cli_run, listed_macs, solved_operators

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import build_workload, model_macs

# 16x16 image, patch 2: an 8x8 grid in 4x4 windows, then 4x4 in one window; widths 4 and 8.
SWINV2: dict[str, Any] = {
    "model_type": "swinv2", "image_size": 16, "patch_size": 2, "num_channels": 3,
    "embed_dim": 4, "depths": [1, 1], "num_heads": [1, 2], "window_size": 4, "mlp_ratio": 2.0,
    "hidden_act": "gelu", "pretrained_window_sizes": [0, 0],
}  # fmt: skip
# 16x16 image: 3x3 stride-2 embeddings to an 8x8 grid (4 wide) and a 4x4 one (8 wide, a class
# token); K and V from the grids halved by the stride-2 convolutions.
CVT: dict[str, Any] = {
    "model_type": "cvt", "image_size": 16, "num_channels": 3, "depth": [1, 1],
    "embed_dim": [4, 8], "num_heads": [1, 2], "mlp_ratio": [2.0, 2.0], "patch_sizes": [3, 3],
    "patch_stride": [2, 2], "patch_padding": [1, 1], "kernel_qkv": [3, 3], "stride_kv": [2, 2],
    "padding_kv": [1, 1], "stride_q": [1, 1], "padding_q": [1, 1], "cls_token": [False, True],
    "qkv_projection_method": ["dw_bn", "dw_bn"],
}  # fmt: skip
# 32x32 image: the stem's four stride-2 convolutions to a 2x2 grid (image_size // patch_size),
# 16 wide; a downsampling to 1x1, 24 wide.
LEVIT: dict[str, Any] = {
    "model_type": "levit", "image_size": 32, "patch_size": 16, "num_channels": 3,
    "kernel_size": 3, "stride": 2, "padding": 1, "hidden_sizes": [16, 24],
    "num_attention_heads": [2, 3], "depths": [1, 1], "key_dim": [4, 4],
    "attention_ratio": [2, 2], "mlp_ratio": [2, 2], "down_ops": [["Subsample", 4, 1, 2, 2, 2]],
}  # fmt: skip
# 32x32 image, a 3x3 stride-2 embedding: 256 tokens in 16 mask units of 16; stage 2 pools the
# queries by 4 (64 tokens), its first layer still in mask units (of 4 queries), the next global.
HIERA: dict[str, Any] = {
    "model_type": "hiera", "image_size": [32, 32], "num_channels": 3, "patch_size": [3, 3],
    "patch_stride": [2, 2], "patch_padding": [1, 1], "embed_dim": 4, "embed_dim_multiplier": 2.0,
    "depths": [1, 2], "num_heads": [1, 2], "query_stride": [2, 2], "num_query_pool": 1,
    "masked_unit_size": [4, 4], "masked_unit_attention": [True, False], "mlp_ratio": 2.0,
    "hidden_act": "gelu", "mask_ratio": 0.6,
}  # fmt: skip
# 64x64 image: the grid 32, 32, 16, 8, 4, 2 after the stem and each layer; 2x2 patches.
MOBILEVIT: dict[str, Any] = {
    "model_type": "mobilevit", "image_size": 64, "num_channels": 3,
    "neck_hidden_sizes": [4, 8, 8, 8, 8, 8, 16], "hidden_sizes": [8, 8, 8],
    "num_attention_heads": 2, "expand_ratio": 2.0, "conv_kernel_size": 3, "patch_size": 2,
    "mlp_ratio": 2.0, "hidden_act": "silu", "output_stride": 32,
}  # fmt: skip

# 4 latents of 8 cross-attending to the inputs (6 channels: Q/K and V 6 wide, 2 heads), then
# 2 blocks of 1 latent self-attention layer; the MLPs twice as wide.
PERCEIVER: dict[str, Any] = {
    "model_type": "perceiver", "num_latents": 4, "d_latents": 8, "d_model": 6,
    "num_cross_attention_heads": 2, "num_self_attention_heads": 2, "qk_channels": None,
    "v_channels": None, "cross_attention_shape_for_attention": "kv",
    "cross_attention_widening_factor": 2, "self_attention_widening_factor": 2,
    "use_query_residual": True, "num_blocks": 2, "num_self_attends_per_block": 1,
    "hidden_act": "gelu", "num_frames": 16, "vocab_size": 262,
}  # fmt: skip

FORMULAS = [
    (SWINV2, swinv2_macs, 64),
    (CVT, cvt_macs, 64),
    (LEVIT, levit_macs, 4),
    (HIERA, hiera_macs, 256),
    (MOBILEVIT, mobilevit_macs, 1024),
]


@pytest.mark.parametrize(("cfg", "formula", "tokens"), FORMULAS)
def test_tiny_models_match_the_formulas(cfg: dict[str, Any], formula: Any, tokens: int) -> None:
    model = config_from_dict(cfg, source="tiny")
    assert model.image_tokens == tokens
    w = build_workload(model, Phase.PREFILL, 1, tokens)
    assert model_macs(w.operators) == formula(cfg)


def macs_of(cfg: dict[str, Any]) -> dict[str, int]:
    model = config_from_dict(cfg, source="tiny")
    w = build_workload(model, Phase.PREFILL, 1, model.image_tokens or 0)
    return {op.name: op.macs * op.count for op in w.operators}


def test_swinv2_by_hand() -> None:
    ops = macs_of(SWINV2)
    # Stage 1: 4x4 windows, so the bias MLP over (2*4 - 1)^2 = 49 coordinates: 49 x 2 x 512,
    # then 49 x 512 x 1 head; QK^T: 64 tokens x 16 keys x 4 features.
    assert ops["s1.cpb_fc1"] == 49 * 2 * 512 and ops["s1.cpb_fc2"] == 49 * 512
    assert ops["s1.qk"] == 64 * 16 * 4
    # Merging: 16 groups of 4 tokens, 16 -> 8 features; stage 2's bias MLP to 2 heads.
    assert ops["merge1.reduction"] == 16 * 16 * 8 and ops["s2.cpb_fc2"] == 49 * 512 * 2
    names = list(ops)
    # Residual post-norm: the norm after the sublayer, before its residual add.
    assert names.index("s1.post_norm1") == names.index("s1.out_proj") + 1
    assert names.index("merge1.norm") == names.index("merge1.reduction") + 1


def test_cvt_by_hand() -> None:
    ops = macs_of(CVT)
    # Stage 1: 8x8 tokens, K/V from 4x4; stage 2: 4x4 tokens + a class token, K/V from 2x2 + 1.
    assert ops["embed1.patch_conv"] == 64 * 27 * 4
    assert ops["s1.q_conv"] == 64 * 9 * 4 and ops["s1.k_conv"] == 16 * 9 * 4
    assert ops["s2.q_proj"] == 17 * 8 * 8 and ops["s2.kv_proj"] == 5 * 8 * 16
    assert ops["s2.qk"] == 17 * 5 * 8


def test_levit_by_hand() -> None:
    ops = macs_of(LEVIT)
    # The stem: 16x16 x 27 x 2, 8x8 x 18 x 4, 4x4 x 36 x 8, 2x2 x 72 x 16.
    stem = 256 * 27 * 2 + 64 * 18 * 4 + 16 * 36 * 8 + 4 * 72 * 16
    assert sum(v for k, v in ops.items() if k.startswith("stem.")) == stem
    # Stage 1's attention: 4 tokens to 2 heads x (4 + 4 + 8); the downsampling's one query.
    assert ops["s1.qkv_proj"] == 4 * 16 * 32 and ops["down1.q_proj"] == 1 * 16 * 4
    assert ops["down1.qk"] == 1 * 4 * 4 and ops["down1.out_proj"] == 8 * 24


def test_hiera_by_hand() -> None:
    ops = macs_of(HIERA)
    # Stage 1: 16 mask units of 16 tokens (QK^T 16 x 16 x 4 each); stage 2's first layer: the
    # 4-wide input projected to 8 (qkv 256 x 4 x 24), 16 units of 4 queries over 16 keys.
    assert ops["s1.qk"] == 16 * 16 * 16 * 4
    assert ops["s2.first.res_proj"] == 256 * 4 * 8 and ops["s2.first.qkv_proj"] == 256 * 4 * 24
    assert ops["s2.first.qk"] == 16 * 4 * 16 * 8 and ops["s2.qk"] == 64 * 64 * 8


def test_mobilevit_by_hand() -> None:
    ops = macs_of(MOBILEVIT)
    # layer_3's two transformer layers: 4 sequences of (8 / 2)^2 = 16 patches, 8 wide; its
    # fusion a 3x3 convolution of 16 -> 8 channels on the 8x8 grid.
    assert ops["vit3.qk"] == 2 * 4 * 16 * 16 * 8
    assert ops["vit3.fuse.fusion_conv"] == 64 * 9 * 16 * 8
    # layer_2's strided inverted residual: 8 -> 16 expanded, 3x3 depthwise to the 16x16 grid.
    assert ops["mv2.first.dw_conv"] == 256 * 9 * 16


@pytest.mark.parametrize(("cfg", "change", "path"), [
    (SWINV2, {"window_size": 3}, "hf_config"),  # 8 is not tiled by 3 (the model's check)
    (CVT, {"qkv_projection_method": ["avg", "dw_bn"]}, "hf_config.qkv_projection_method"),
    (CVT, {"stride_q": [2, 1]}, "hf_config.stride_q"),
    (CVT, {"cls_token": [True, True]}, "hf_config.cls_token"),
    (CVT, {"embed_dim": [4]}, "hf_config.embed_dim"),
    (LEVIT, {"patch_size": 8}, "hf_config.patch_size"),
    (LEVIT, {"down_ops": []}, "hf_config.down_ops"),
    (HIERA, {"image_size": [32, 16]}, "hf_config.image_size"),
    (HIERA, {"masked_unit_size": [32, 32]}, "hf_config.depths"),  # larger than the 256 tokens
    (MOBILEVIT, {"output_stride": 16}, "hf_config.output_stride"),
    (MOBILEVIT, {"image_size": 32}, "hf_config.hidden_sizes"),  # layer_5's 1x1 grid, 2x2 patches
    (PERCEIVER, {"v_channels": 6}, "hf_config.d_latents"),  # the self-attention's residual
    (PERCEIVER, {"cross_attention_shape_for_attention": "x"},
     "hf_config.cross_attention_shape_for_attention"),
])  # fmt: skip
def test_refusals_name_the_field(cfg: dict[str, Any], change: dict[str, Any], path: str) -> None:
    with pytest.raises(InputError) as err:
        config_from_dict({**cfg, **change}, source="bad")
    assert path in {p.path for p in err.value.problems}


def test_hiera_states_that_it_encodes_every_token() -> None:
    model = config_from_dict(HIERA, source="tiny")
    notes = build_workload(model, Phase.PREFILL, 1, 256).assumptions
    assert any("mask_ratio 0.6" in n and "HieraForPreTraining" in n for n in notes)


def test_perceiver_encoder_by_hand() -> None:
    model = config_from_dict(PERCEIVER, source="tiny")
    w = build_workload(model, Phase.PREFILL, 1, 5)
    ops = {op.name: op.macs * op.count for op in w.operators}
    # Cross: q 4 x 8 x 6, k and v 5 x 6 x 12, QK^T and PV 4 x 5 x 6 each, out 4 x 6 x 8, MLP
    # 2 x 4 x 8 x 16; latent (x 2): qkv 4 x 8 x 24, QK^T and PV 4 x 4 x 8, out 4 x 8 x 8, MLP.
    cross = 192 + 360 + 120 + 120 + 192 + 1024
    latent = 768 + 128 + 128 + 256 + 1024
    assert sum(ops.values()) == cross + 2 * latent == perceiver_macs(PERCEIVER, 5)
    assert ops["xattn.kv_proj"] == 360 and ops["latent.qkv_proj"] == 2 * 768
    assert any("num_frames" in n for n in w.assumptions)


def test_perceiver_follows_the_cross_attention_shape_rule() -> None:
    # "q": the cross-attention's Q/K as wide as the latents (PerceiverAttention).
    cfg = {**PERCEIVER, "cross_attention_shape_for_attention": "q"}
    ops = {
        op.name: op
        for op in build_workload(config_from_dict(cfg, source="t"), Phase.PREFILL, 1, 5).operators
    }
    assert ops["xattn.q_proj"].dims["f"] == 8 and ops["xattn.kv_proj"].dims["f"] == 16
    assert model_macs(ops.values()) == perceiver_macs(cfg, 5)


def test_cvt_states_its_image_size() -> None:
    cfg = {k: v for k, v in CVT.items() if k != "image_size"}
    model = config_from_dict(cfg, source="tiny")
    assert any("384 x 384" in n and "ConvNextImageProcessor" in n for n in model.assumptions)


@pytest.mark.parametrize(("cfg", "new_ops"), [
    (SWINV2, {"s1.cpb_fc1", "s1.cos_qk_norm", "s2.post_norm2", "merge1.reduction"}),
    (CVT, {"s1.k_conv", "s1.q_conv", "s2.kv_proj"}),
    (LEVIT, {"stem.conv1", "s1.qkv_proj_bn", "down1.q_proj", "s1.attn_act"}),
    (HIERA, {"s2.first.q_pool", "s2.first.res_pool", "s1.qk"}),
    (MOBILEVIT, {"mv2.first.dw_conv", "vit3.qk", "vit5.fuse.fusion_conv"}),
])  # fmt: skip
def test_cli_workload_and_solve(tmp_path: Path, cfg: dict[str, Any], new_ops: set[str]) -> None:
    model = config_from_dict(cfg, source="tiny")
    tokens = model.image_tokens or 0
    operators, report = hf_cli_run(tmp_path, cfg, tokens)
    formula = next(f for c, f, _ in FORMULAS if c is cfg)
    assert listed_macs(operators) == formula(cfg)
    assert report is not None and report["total"]["all_optimal"] is True
    assert new_ops <= solved_operators(report)


def test_cli_perceiver_workload_and_solve(tmp_path: Path) -> None:
    operators, report = hf_cli_run(tmp_path, PERCEIVER, 5)
    assert listed_macs(operators) == perceiver_macs(PERCEIVER, 5)
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"xattn.kv_proj", "xattn.qk", "latent.qkv_proj"} <= solved_operators(report)


def test_model_config_checks_the_stages() -> None:
    fields = config_from_dict(CVT, source="tiny").model_dump()
    with pytest.raises(ValidationError, match="n_layers must be the blocks of all stages"):
        ModelConfig.model_validate({**fields, "n_layers": 3})
    with pytest.raises(ValidationError, match="image_tokens must be stage 1's"):
        ModelConfig.model_validate({**fields, "image_tokens": 65})


def test_segformer_without_an_image_size_runs_at_its_processors_512() -> None:
    cfg = json.loads((Path(__file__).parent / "data/hf_corpus/segformer.json").read_text())
    assert "image_size" not in cfg
    model = config_from_dict(cfg, source="segformer")
    # SegformerImageProcessor's 512 x 512: the 7x7 stride-4 padding-3 embedding's 128x128 grid.
    assert model.image_tokens == ((512 + 2 * 3 - 7) // 4 + 1) ** 2
    assert any("SegformerImageProcessor" in n for n in model.assumptions)
