"""Mamba/attention hybrids (Jamba, Nemotron-H, Granite-4.0-H, Falcon-H1) and Granite's shared
MLP: tiny configs whose MACs are counted by hand here, layer by layer, from the families'
modelling code in transformers (not from cosamt's code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from support import hf_cli_run, listed_macs, solved_operators
from typer.testing import CliRunner

from cosamt.cli import app
from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import build_workload, model_macs

CORPUS = Path(__file__).parent / "data" / "hf_corpus"
M = 3  # prefill tokens of every hand count

# Per layer at M = 3 tokens, d = 4, 2 query heads and 1 KV head of 2 features:
# Q (4), K, V (2 each) from d; QK^T and PV over 3 keys; the output projection.
ATTENTION = 3 * 4 * 8 + 2 * (2 * 3 * 3 * 2) + 3 * 4 * 4  # 216
# Mamba-1, d_inner 8, state 2, 3 taps, dt rank 1: in_proj (x, z), conv, x_proj (dt, B, C),
# dt_proj, readout C.h, out_proj.
MAMBA1 = 3 * 4 * 16 + 3 * 8 * 3 + 3 * 8 * 5 + 3 * 1 * 8 + 3 * 8 * 2 + 3 * 8 * 4  # 552
# Mamba-2, d_inner 8 in 2 heads of 4, 1 group, state 2, 3 taps: in_proj (z, x, B, C, dt per
# head), conv over x, B, C, state write x B^T and readout h C per head, out_proj.
MAMBA2 = 3 * 4 * (8 + 8 + 2 + 2 + 2) + 3 * 12 * 3 + 2 * (3 * 2 * 4 * 2) + 3 * 8 * 4  # 564


def router_and_experts(experts: int, k: int, width: int, mats: int) -> int:
    """3 tokens x top-k spread evenly over the touched experts (rounded up), mats GEMMs each."""
    touched = min(experts, 3 * k)
    per = -(-3 * k // touched)
    return 3 * 4 * experts + touched * per * 4 * width * mats


JAMBA: dict[str, Any] = {
    "model_type": "jamba", "hidden_size": 4, "num_hidden_layers": 4, "num_attention_heads": 2,
    "num_key_value_heads": 1, "intermediate_size": 8, "hidden_act": "silu", "rms_norm_eps": 1e-6,
    "num_experts": 4, "num_experts_per_tok": 2, "attn_layer_period": 4, "attn_layer_offset": 1,
    "expert_layer_period": 2, "expert_layer_offset": 1, "mamba_d_state": 2, "mamba_d_conv": 3,
    "mamba_expand": 2, "mamba_dt_rank": 1,
}  # fmt: skip
NEMOTRON_H: dict[str, Any] = {
    "model_type": "nemotron_h", "hidden_size": 4, "num_attention_heads": 2,
    "num_key_value_heads": 1, "head_dim": 2, "intermediate_size": 8, "mlp_hidden_act": "relu2",
    "layers_block_type": ["linear_attention", "moe", "full_attention", "mlp"],
    "mamba_num_heads": 2, "mamba_head_dim": 4, "n_groups": 1, "ssm_state_size": 2,
    "conv_kernel": 3, "expand": 2, "mamba_hidden_act": "silu", "n_routed_experts": 4,
    "num_experts_per_tok": 2, "moe_intermediate_size": 6, "n_shared_experts": 1,
    "moe_shared_expert_intermediate_size": 5, "moe_latent_size": None, "layer_norm_epsilon": 1e-5,
}  # fmt: skip
GRANITE_HYBRID: dict[str, Any] = {
    "model_type": "granitemoehybrid", "hidden_size": 4, "num_hidden_layers": 3,
    "layer_types": ["mamba", "attention", "mamba"], "num_attention_heads": 2,
    "num_key_value_heads": 1, "intermediate_size": 6, "hidden_act": "silu", "rms_norm_eps": 1e-6,
    "num_local_experts": 4, "num_experts_per_tok": 2, "shared_intermediate_size": 5,
    "mamba_n_heads": 2, "mamba_d_head": "auto", "mamba_n_groups": 1, "mamba_d_state": 2,
    "mamba_d_conv": 3, "mamba_expand": 2, "position_embedding_type": None,
    "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
}  # fmt: skip
FALCON_H1: dict[str, Any] = {
    "model_type": "falcon_h1", "hidden_size": 4, "num_hidden_layers": 2, "num_attention_heads": 2,
    "num_key_value_heads": 1, "intermediate_size": 8, "hidden_act": "silu", "rms_norm_eps": 1e-5,
    "mamba_d_ssm": 4, "mamba_n_heads": 2, "mamba_d_head": "auto", "mamba_n_groups": 1,
    "mamba_d_state": 2, "mamba_d_conv": 3, "mamba_expand": 2, "mamba_rms_norm": False,
    "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
}  # fmt: skip
GRANITE_SHARED: dict[str, Any] = {
    "model_type": "granitemoeshared", "hidden_size": 4, "num_hidden_layers": 1,
    "num_attention_heads": 2, "num_key_value_heads": 2, "intermediate_size": 6,
    "hidden_act": "silu", "rms_norm_eps": 1e-6, "num_local_experts": 4, "num_experts_per_tok": 2,
    "shared_intermediate_size": 5,
}  # fmt: skip


def workload(cfg: dict[str, Any], phase: Phase = Phase.PREFILL) -> Any:
    return build_workload(config_from_dict(cfg, source="tiny"), phase, 1, M)


def test_jamba_hand_count() -> None:
    """Layer 1 attention (1 % 4 == 1), layers 0, 2, 3 Mamba-1; layers 1, 3 MoE (i % 2 == 1)."""
    w = workload(JAMBA)
    blocks = [(p.prefix, p.count) for p, _ in w.blocks]
    assert blocks == [("mamba.dense.", 2), ("attn.moe.", 1), ("mamba.moe.", 1)]
    dense = 3 * 3 * 4 * 8  # gated: gate, up, down
    moe = router_and_experts(4, 2, 8, 3)  # 6 routed tokens on 4 experts, 2 each
    assert model_macs(w.operators) == 2 * (MAMBA1 + dense) + (ATTENTION + moe) + (MAMBA1 + moe)
    ops = {op.name: op for op in w.operators}
    # Jamba's dt, B and C norms have weights: square, sum, scale, weight per element.
    assert ops["mamba.moe.ssm_bcdt_norm"].vector_ops == 3 * (1 + 2 * 2) * 4
    assert "attn.moe.rope" not in ops and "mamba.dense.qk" not in ops  # no rotary, no attention
    assert any("JambaMambaMixer" in a for a in w.assumptions)


def test_jamba_one_expert_is_dense() -> None:
    """JambaConfig.layers_num_experts: 1 expert on the MoE layers means JambaMLP there."""
    w = workload({**JAMBA, "num_experts": 1})
    assert [(p.prefix, p.count) for p, _ in w.blocks] == [("mamba.", 3), ("attn.", 1)]
    assert model_macs(w.operators) == 3 * MAMBA1 + ATTENTION + 4 * (3 * 3 * 4 * 8)


def test_nemotron_h_hand_count() -> None:
    """Each layer ONE of Mamba-2, MoE, attention, MLP: norm, the layer, residual add."""
    w = workload(NEMOTRON_H)
    blocks = [(p.prefix, p.count) for p, _ in w.blocks]
    assert blocks == [("mamba.", 1), ("moe.", 1), ("attn.", 1), ("dense.", 1)]
    moe = router_and_experts(4, 2, 6, 2) + 2 * 3 * 4 * 5  # plain experts, one plain shared
    mlp = 2 * 3 * 4 * 8  # up, relu2, down
    assert model_macs(w.operators) == MAMBA2 + moe + ATTENTION + mlp
    ops = {op.name: op for op in w.operators}
    assert "mamba.ffn2" not in ops and "moe.qk" not in ops and "attn.ffn2" not in ops
    assert ops["dense.act"].op == "relu2" and ops["mamba.norm1"].op == "rmsnorm"
    assert ops["moe.residual1"].dims == {"b": 1, "m": 3, "f": 4}
    assert len([t for t in ops["moe.residual1"].tensors if t.role.value == "input"]) == 3


def test_nemotron_h_pattern_is_the_layer_list() -> None:
    """Older configs: hybrid_override_pattern (M Mamba, E MoE, * attention, - MLP)."""
    cfg = {k: v for k, v in NEMOTRON_H.items() if k != "layers_block_type"}
    pattern = workload({**cfg, "hybrid_override_pattern": "ME*-", "num_hidden_layers": 4})
    assert model_macs(pattern.operators) == model_macs(workload(NEMOTRON_H).operators)


def test_nemotron_h_older_key_names() -> None:
    """NemotronHConfig takes mamba_n_groups / mamba_d_conv for n_groups / conv_kernel, and
    mlp_hidden_act defaults to relu2 (stated)."""
    cfg = {k: v for k, v in NEMOTRON_H.items() if k not in ("n_groups", "mlp_hidden_act")}
    cfg |= {"mamba_n_groups": 1, "mamba_d_conv": 3, "conv_kernel": 99}
    w = workload(cfg)
    assert model_macs(w.operators) == model_macs(workload(NEMOTRON_H).operators)
    assert any("relu2 (NemotronHConfig's default)" in a for a in w.assumptions)


def test_granite_hybrid_hand_count() -> None:
    """Legacy layer names (mamba, attention); every layer MoE plus the shared gated MLP."""
    w = workload(GRANITE_HYBRID)
    assert [(p.prefix, p.count) for p, _ in w.blocks] == [("mamba.", 2), ("attn.", 1)]
    ffn = router_and_experts(4, 2, 6, 3) + 3 * 3 * 4 * 5
    assert model_macs(w.operators) == 2 * MAMBA2 + ATTENTION + 3 * ffn
    ops = {op.name for op in w.operators}
    assert "attn.rope" not in ops  # position_embedding_type is not "rope"
    roped = workload({**GRANITE_HYBRID, "position_embedding_type": "rope"})
    assert "attn.rope" in {op.name for op in roped.operators}
    dense = workload({**GRANITE_HYBRID, "num_local_experts": 0})  # the shared MLP alone
    assert model_macs(dense.operators) == 2 * MAMBA2 + ATTENTION + 3 * (3 * 3 * 4 * 5)


def test_falcon_h1_hand_count() -> None:
    """Attention and Mamba-2 side by side on the same normed input, one three-input add, then
    the gated MLP; Mamba width mamba_d_ssm (4, not expand x hidden), 2 heads of 2."""
    w = workload(FALCON_H1)
    assert [(p.prefix, p.count) for p, _ in w.blocks] == [("", 2)]
    mamba = 3 * 4 * (4 + 4 + 2 + 2 + 2) + 3 * 8 * 3 + 2 * (3 * 2 * 2 * 2) + 3 * 4 * 4  # 336
    assert model_macs(w.operators) == 2 * (ATTENTION + mamba + 3 * 3 * 4 * 8)
    ops = {op.name: op for op in w.operators}
    assert len([t for t in ops["residual1"].tensors if t.role.value == "input"]) == 3
    assert "ssm_gate" in ops and "ssm_norm" not in ops  # mamba_rms_norm false: y * silu(z)
    normed = {op.name for op in workload({**FALCON_H1, "mamba_rms_norm": True}).operators}
    assert "ssm_norm" in normed
    decode = {op.name: op for op in workload(FALCON_H1, Phase.DECODE).operators}
    assert decode["qk"].dims["n"] == 3 and decode["ssm_readout"].macs == 2 * 2 * 2


def test_granitemoeshared_reads_its_shared_mlp() -> None:
    """GraniteMoeSharedDecoderLayer: a gated shared MLP of shared_intermediate_size beside the
    experts (0: none). It used to be ignored."""
    attention = 3 * 4 * 12 + 2 * (2 * 3 * 3 * 2) + 3 * 4 * 4  # 2 heads of 2, MHA
    experts = router_and_experts(4, 2, 6, 3)
    assert model_macs(workload(GRANITE_SHARED).operators) == attention + experts + 3 * 3 * 4 * 5
    none = workload({**GRANITE_SHARED, "shared_intermediate_size": 0})
    assert model_macs(none.operators) == attention + experts
    assert not any("shared-expert gate" in a for a in workload(GRANITE_SHARED).assumptions)


def corpus(model_type: str) -> dict[str, Any]:
    return dict(json.loads((CORPUS / f"{model_type}.json").read_text()))


@pytest.mark.parametrize(
    ("cfg", "path", "words"),
    [
        # zamba, zamba2: accepted since (tests/test_hf_misc.py)
        ({**NEMOTRON_H, "moe_latent_size": 2}, "hf_config.moe_latent_size", "latent"),
        (
            {**NEMOTRON_H, "layers_block_type": ["linear_attention", "hybrid"]},
            "hf_config.layers_block_type",
            "['hybrid']",
        ),
        (
            {
                **{k: v for k, v in NEMOTRON_H.items() if k != "layers_block_type"},
                "hybrid_override_pattern": "MX",
            },
            "hf_config.hybrid_override_pattern",
            "pattern",
        ),
        ({**NEMOTRON_H, "mamba_hidden_act": "gelu"}, "hf_config.mamba_hidden_act", "SiLU"),
        ({**JAMBA, "hidden_act": "gelu"}, "hf_config.hidden_act", "SiLU"),
        ({**JAMBA, "attn_layer_offset": 4}, "hf_config.attn_layer_offset", "below its period"),
        ({**GRANITE_HYBRID, "layer_types": ["mamba"]}, "hf_config.layer_types", "per layer"),
        ({**GRANITE_HYBRID, "num_local_experts": 1}, "hf_config.num_local_experts", "0 or"),
        (
            {k: v for k, v in NEMOTRON_H.items() if k != "n_routed_experts"},
            "hf_config.n_routed_experts",
            "more than one expert",
        ),
        ({**FALCON_H1, "mamba_d_head": 4}, "hf_config.mamba_d_head", "Mamba width"),
    ],
)
def test_hybrid_refusals_name_the_field(cfg: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        config_from_dict(cfg, source="tiny")
    messages = {p.path: p.message for p in err.value.problems}
    assert path in messages and words in messages[path], messages


@pytest.mark.parametrize(
    ("cfg", "names"),
    [
        (JAMBA, {"mamba.moe.ssm_scan", "attn.moe.qk", "mamba.dense.ffn2", "attn.moe.expert_up"}),
        (NEMOTRON_H, {"mamba.ssm_write", "moe.expert_up", "attn.qk", "dense.ffn2"}),
        (GRANITE_HYBRID, {"mamba.ssm_write", "attn.qk", "mamba.expert_up", "attn.ffn_up"}),
        (FALCON_H1, {"ssm_write", "qk", "ffn_gate", "residual2"}),
    ],
)
def test_cli_workload(tmp_path: Path, cfg: dict[str, Any], names: set[str]) -> None:
    """``cosamt workload`` on an instance whose model is the hybrid's config.json."""
    operators, _ = hf_cli_run(tmp_path, cfg, M, solve=False)
    assert names <= {op["name"] for op in operators}
    assert listed_macs(operators) == model_macs(workload(cfg).operators)
    text = CliRunner().invoke(app, ["workload", str(tmp_path / "inst.json")])
    assert text.exit_code == 0 and "decoder (" in text.stdout


def test_cli_solve_falcon_h1(tmp_path: Path) -> None:
    """The parallel attention + Mamba block is scheduled by ``cosamt solve`` (every group proven
    optimal, the evaluator agreeing)."""
    _, report = hf_cli_run(tmp_path, FALCON_H1, 6)
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"ssm_write", "qk", "residual1"} <= solved_operators(report)


@pytest.mark.parametrize(
    ("groups", "words"),
    [
        ([{"count": 1, "mixer": "attention", "ffn": "dense"}], "sum to n_layers"),
        (
            [{"count": 1, "mixer": "attention", "ffn": "dense"}] * 2,
            "same structure",
        ),
        ([{"count": 2, "mixer": None, "ffn": None}], "a mixer or an FFN"),
        ([{"count": 2, "mixer": "mamba", "ffn": "dense"}], "ssm"),
        ([{"count": 2, "mixer": "attention", "ffn": "moe"}], "expert fields"),
    ],
)
def test_layer_groups_must_fit_the_model(groups: list[dict[str, Any]], words: str) -> None:
    """An inline config's layer groups: counts summing to n_layers, distinct structures, a
    Mamba shape for Mamba groups and experts for MoE groups."""
    shape = {"name": "tiny", "n_layers": 2, "d_model": 4, "n_heads": 2, "d_ff": 8,
             "norm": "rmsnorm", "norm_position": "pre"}  # fmt: skip
    with pytest.raises(ValidationError, match=words):
        ModelConfig.model_validate({**shape, "layer_groups": groups})
    ok = [{"count": 2, "mixer": "attention", "ffn": "dense"}]
    assert ModelConfig.model_validate({**shape, "layer_groups": ok}).attends


def test_gemma4_without_per_layer_config_refused() -> None:
    """A Gemma 4 config in the older form (global_head_dim, no per_layer_config): its full
    layers' head dim is global_head_dim (Gemma4TextConfig: 512 when absent), not head_dim; read
    flat it was counted at head_dim on every layer."""
    cfg = {k: v for k, v in corpus("gemma4_text").items() if k != "per_layer_config"}
    for older, path in (({**cfg, "global_head_dim": 512}, "global_head_dim"),
                        (cfg, "per_layer_config")):  # fmt: skip
        with pytest.raises(InputError) as err:
            config_from_dict(older, source="tiny")
        messages = {p.path: p.message for p in err.value.problems}
        assert "global_head_dim" in messages[f"hf_config.{path}"]
