"""Linear-attention hybrids beyond Qwen3-Next's (issue #14): OLMo-Hybrid's Gated DeltaNet counted
by hand here, the other families refused by name at the config field carrying the structure
transformers' modelling code adds, with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import hf_cli_run, solved_operators

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

CORPUS = Path(__file__).parent / "data" / "hf_corpus"

# model type -> (field the refusal names, words its reason must contain), from reading each
# family's modelling_*.py in transformers 5.24.0 (kimi_linear, bailing_hybrid, lara_mini and
# minimax are accepted now: tests/test_hf_moe_hybrid.py).
REFUSED = {
    "qwen4_exp_text": ("hc_count", ("hyper-connections", "n-gram")),
    "glm5_next_text": ("hc_mult", ("hyper-connections", "forget-gated")),
}


def corpus(model_type: str) -> dict[str, Any]:
    return dict(json.loads((CORPUS / f"{model_type}.json").read_text()))


def problems(cfg: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InputError) as exc:
        config_from_dict(cfg, source="test")
    return {p.path: p.message for p in exc.value.problems}


@pytest.mark.parametrize("model_type", sorted(REFUSED))
def test_refused_by_name_at_its_field(model_type: str) -> None:
    cfg = corpus(model_type)
    field, words = REFUSED[model_type]
    assert field in cfg  # the refusal points at a field the config really has
    found = problems(cfg)
    assert f"hf_config.{field}" in found, found
    for word in words:
        assert word in found[f"hf_config.{field}"]


def test_refused_family_without_its_field_names_the_linear_layers() -> None:
    """A glm5_next_text config lacking hc_mult: the refusal still names the type, at the
    linear-attention field the config has."""
    cfg = corpus("glm5_next_text")
    del cfg["hc_mult"]
    found = problems(cfg)
    assert any(m.startswith("glm5_next_text: hyper-connections") for m in found.values()), found


def test_composite_refused_at_its_text_model() -> None:
    """qwen4_exp wraps qwen4_exp_text: the text model's reason is given."""
    found = problems(corpus("qwen4_exp"))
    assert any("hyper-connections" in m for m in found.values()), found


def test_unknown_linear_family_refused_generically() -> None:
    """A family not read from its modelling code keeps the generic refusal naming its type."""
    cfg = corpus("qwen3_next") | {"model_type": "some_linear"}
    found = problems(cfg)
    assert found.get("hf_config.linear_conv_kernel_dim") == (
        "some_linear linear-attention layers are not modelled"
    )


def test_gated_deltanet_still_accepted() -> None:
    model = config_from_dict(corpus("qwen3_next"), source="test")
    la = model.linear_attention
    assert la is not None and la.layers == corpus("qwen3_next")["layer_types"].count(
        "linear_attention"
    )


OLMO: dict[str, Any] = {
    "model_type": "olmo_hybrid", "hidden_size": 8, "num_hidden_layers": 2,
    "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 4,
    "layer_types": ["linear_attention", "full_attention"], "linear_num_key_heads": 1,
    "linear_num_value_heads": 2, "linear_key_head_dim": 2, "linear_value_head_dim": 3,
    "linear_conv_kernel_dim": 3, "linear_allow_neg_eigval": True, "intermediate_size": 16,
    "hidden_act": "silu", "rms_norm_eps": 1e-6, "rope_parameters": {"rope_theta": 10000.0},
}  # fmt: skip


def test_olmo_hybrid_hand_count() -> None:
    """OlmoHybridGatedDeltaNet, m = 4 tokens from d = 8: q, k (1 head x 2), v, g (2 heads x 3),
    a, b (one per value head); conv over q, k, v (2 + 2 + 6 channels, 3 taps); per value head
    the 2 x 3 state read, written, read out; o_proj. The full-attention layer has no gate:
    q (2 x 4), k, v (1 x 4), QK^T and PV over 4 keys, o_proj; both layers a gated MLP."""
    model = config_from_dict(OLMO, source="tiny")
    w = build_workload(model, Phase.PREFILL, 1, 4)
    assert [(p.prefix, p.count) for p, _ in w.blocks] == [("linear.", 1), ("full.", 1)]
    deltanet = 4 * 8 * (2 + 2 + 6 + 6 + 2 + 2) + 4 * 10 * 3 + 3 * 4 * 2 * 2 * 3 + 4 * 6 * 8
    attention = 4 * 8 * (8 + 4 + 4) + 2 * 4 * 4 * 4 * 2 + 4 * 8 * 8
    ffn = 2 * 3 * 4 * 8 * 16
    assert model_macs(w.operators) == deltanet + attention + ffn == 5192
    ops = {op.name: op for op in w.operators}
    assert "full.attn_gate" not in ops
    # beta = 2 sigmoid(b): one operation more per value head than Qwen3-Next's gates.
    qwen = {op.name: op for op in build_workload(
        config_from_dict(OLMO | {"model_type": "qwen3_5_text"}, source="tiny"), Phase.PREFILL, 1, 4
    ).operators}  # fmt: skip
    gates, qwen_gates = ops["linear.la_gates"], qwen["linear.la_gates"]
    assert gates.vector_ops == qwen_gates.vector_ops + 4 * 2
    assert model.rotary_dim == 4


def test_olmo_hybrid_without_rope_has_no_rotary() -> None:
    """The released checkpoints set rope_parameters to null: no rotary embedding at all."""
    assert config_from_dict(OLMO | {"rope_parameters": None}, source="tiny").rotary_dim is None
    cfg = OLMO | {"rope_parameters": {"rope_type": "default", "rope_theta": None}}
    assert config_from_dict(cfg, source="tiny").rotary_dim is None


def test_olmo_hybrid_refusals() -> None:
    found = problems(OLMO | {"hidden_act": "gelu"})
    assert "SiLU" in found["hf_config.hidden_act"]
    found = problems(OLMO | {"linear_allow_neg_eigval": "yes"})
    assert "true or false" in found["hf_config.linear_allow_neg_eigval"]


def test_olmo_hybrid_cli_workload_and_solve(tmp_path: Path) -> None:
    """``cosamt workload`` lists the DeltaNet operators; ``cosamt solve`` proves every group
    optimal."""
    operators, report = hf_cli_run(tmp_path, OLMO, 6)
    names = {"linear.la_read", "linear.la_write", "linear.la_gates", "full.qk"}
    assert names <= {op["name"] for op in operators}
    assert "full.attn_gate" not in {op["name"] for op in operators}
    assert report is not None and report["total"]["all_optimal"] is True
    assert names <= solved_operators(report)
