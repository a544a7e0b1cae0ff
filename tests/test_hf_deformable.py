"""Deformable-attention detection transformers (cosamt.workload.hf_deformable): small copies of
the corpus configs through ``cosamt workload`` and ``cosamt solve``, the sampling operators'
sizes by hand, and the refusals naming their field. The corpus types' MACs are checked against
tests/hf_detection_formulas.py by tests/test_hf_corpus.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hf_detection_formulas import detection_macs
from support import hf_cli_run, solved_operators

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

CORPUS = Path(__file__).parent / "data" / "hf_corpus"


def small(model_type: str, **changes: Any) -> dict[str, Any]:
    """A corpus config at small widths (2 heads of 16, 2 decoder layers, 8 queries)."""
    cfg = dict(json.loads((CORPUS / f"{model_type}.json").read_text()))
    cfg.update(d_model=32, decoder_attention_heads=2, encoder_attention_heads=2,
               decoder_ffn_dim=64, encoder_ffn_dim=64, decoder_layers=2, num_queries=8,
               decoder_n_points=2)  # fmt: skip
    if "encoder_hidden_dim" in cfg:
        cfg["encoder_hidden_dim"] = 32
    else:
        cfg.update(encoder_layers=1, encoder_n_points=2)
    if "max_text_len" in cfg:  # Grounding DINO, its BERT text tower at small widths too
        cfg["max_text_len"] = 5
        cfg["text_config"] = {**cfg["text_config"], "hidden_size": 48, "num_hidden_layers": 1,
                              "num_attention_heads": 2, "intermediate_size": 96}  # fmt: skip
    return {**cfg, **changes}


EXTRA = {
    "deformable_detr": {"enc.sample"},
    "d_fine": {"dec.gate_proj", "dec.gate_mix"},
    "grounding-dino": {"enc.fuse_vqk", "enc.fuse_tsoftmax", "enc.fuse_tav", "enc.text_qk",
                       "dec.tqk", "enc.text.qkv_proj", "enc.text_proj.text_projection"},
}  # fmt: skip


@pytest.mark.parametrize("model_type", sorted(EXTRA))
def test_cli_workload_and_solve(tmp_path: Path, model_type: str) -> None:
    """The bilinear gather (a vector operator with a taps dimension it sums over), the weighted
    sum over the samples, D-FINE's gate and Grounding DINO's vision-text fusion go through
    ``cosamt workload`` and are scheduled by ``cosamt solve``, every group proven optimal and
    the evaluator agreeing."""
    operators, report = hf_cli_run(tmp_path, small(model_type), 4)
    names = {"dec.xsample", "dec.xsample_sum", "dec.xsampling_offsets"} | EXTRA[model_type]
    assert names <= {op["name"] for op in operators}
    assert report is not None and report["total"]["all_optimal"] is True
    assert names <= solved_operators(report)


def test_sampling_operators_by_hand() -> None:
    """RT-DETR's decoder at 4 top-level tokens of strides 8, 16, 32: 4 x (16 + 4 + 1) = 84
    memory tokens; 8 queries x 2 heads x (3 levels x 2 points) samples, 4 taps x 16 channels."""
    model = config_from_dict(small("rt_detr"))
    ops = {op.name: op for _p, block in build_workload(model, Phase.PREFILL, 1, 4).blocks
           for op in block}  # fmt: skip
    assert ops["dec.xvalue_proj"].dims == {"b": 1, "m": 84, "e": 32, "f": 32}
    assert ops["dec.xsample"].dims == {"b": 1, "m": 8, "h": 2, "n": 6, "j": 4, "d": 16}
    assert ops["dec.xsample"].macs == 0 and ops["dec.xsample"].vector_ops == 8 * 2 * 6 * 4 * 16 * 2
    assert ops["dec.xsample_sum"].macs == 8 * 2 * 6 * 16
    assert ops["dec.xsampling_offsets"].dims["f"] == 2 * 6 * 2
    assert ops["enc.qk"].dims["n"] == 4  # AIFI: the top level only


@pytest.mark.parametrize(
    "model_type", ["deformable_detr", "rt_detr", "d_fine", "deimv2", "grounding-dino"]
)
def test_small_configs_match_the_formula(model_type: str) -> None:
    """At other widths and token counts than the corpus defaults (SEQ 16), the same formula."""
    cfg = small(model_type)
    model = config_from_dict(cfg)
    got: dict[str, int] = {}
    for plan, ops in build_workload(model, Phase.PREFILL, 1, 9).blocks:
        kind = "encoder" if plan.prefix.startswith("enc.") else "dense"
        got[kind] = got.get(kind, 0) + model_macs(ops)
    assert got == detection_macs(cfg, 9)


@pytest.mark.parametrize(
    ("model_type", "changes", "field"),
    [
        ("grounding-dino", {"encoder_attention_heads": 6}, "encoder_attention_heads"),
        (
            "grounding-dino",
            {
                "text_config": {
                    "model_type": "bert",
                    "hidden_size": 48,
                    "num_hidden_layers": 1,
                    "num_attention_heads": 2,
                    "intermediate_size": 96,
                    "hidden_act": "tanh",
                }
            },
            "text_config.hidden_act",
        ),
        ("grounding-dino", {"text_config": None}, "text_config"),
        ("rt_detr", {"encoder_activation_function": ["gelu"]}, "encoder_activation_function"),
        ("rt_detr", {"feat_strides": "x"}, "feat_strides"),
        ("rt_detr", {"encoder_attention_heads": 7}, "encoder_attention_heads"),
        ("deformable_detr", {"decoder_attention_heads": 7}, "decoder_attention_heads"),
        ("d_fine", {"decoder_n_points": [True, 2, 2]}, "decoder_n_points"),
        ("rt_detr", {"num_feature_levels": 4}, "num_feature_levels"),
        ("rt_detr", {"encode_proj_layers": [1, 2]}, "encode_proj_layers"),
        ("rt_detr", {"feat_strides": [8, 12, 32]}, "feat_strides"),
        ("rt_detr", {"encoder_hidden_dim": 64}, "encoder_hidden_dim"),
        ("rt_detr_v2", {"decoder_method": "discrete"}, "decoder_method"),
        ("rt_detr_v2", {"decoder_n_levels": 2}, "decoder_n_levels"),
        ("d_fine", {"eval_idx": 2}, "eval_idx"),
        ("d_fine", {"decoder_n_points": [2, 2]}, "decoder_n_points"),
        ("deimv2", {"encoder_type": "lite"}, "encoder_type"),
        ("rt_detr", {"decoder_activation_function": "tanh"}, "decoder_activation_function"),
    ],
)
def test_refusals_name_the_field(model_type: str, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as exc:
        config_from_dict(small(model_type, **changes))
    assert f"hf_config.{field}" in {p.path for p in exc.value.problems}


def test_per_level_points() -> None:
    """D-FINE's decoder_n_points may give each level its own count: 3 + 1 + 2 samples."""
    model = config_from_dict(small("d_fine", decoder_n_points=[3, 1, 2]))
    assert model.deformable is not None and model.deformable.samples == 6


def test_omdet_turbo_is_refused_by_what_no_field_gives() -> None:
    """OmDet-Turbo: the levels' strides (a timm backbone) and the task prompt's token count."""
    cfg = json.loads((CORPUS / "omdet-turbo.json").read_text())
    with pytest.raises(InputError) as exc:
        config_from_dict(cfg)
    assert [p.path for p in exc.value.problems] == ["hf_config.backbone_config"]
