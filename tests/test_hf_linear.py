"""Linear-attention hybrids other than Gated DeltaNet (issue #14): each refused by name, at the
config field carrying the structure transformers' modelling code adds, with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cosamt.errors import InputError
from cosamt.workload.hf import config_from_dict

CORPUS = Path(__file__).parent / "data" / "hf_corpus"

# model type -> (field the refusal names, words its reason must contain), from reading each
# family's modelling_*.py in transformers 5.24.0.
REFUSED = {
    "kimi_linear": ("linear_num_heads", ("Kimi Delta Attention", "forget gate", "MLA")),
    "bailing_hybrid": ("kda_lower_bound", ("Kimi Delta Attention", "forget gate", "MLA")),
    "minimax": ("block_size", ("lightning attention", "output gate")),
    "olmo_hybrid": ("layer_types", ("pre-norm", "post-norm")),
    "lara_mini": ("layer_types", ("sliding-window", "no-rotary")),
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
