"""Indexed (DeepSeek sparse) attention and Gated DeltaNet layers: tiny configs whose MACs are
counted by hand here, from the layers' published math (not from cosamt's code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import hf_cli_run, listed_macs, solved_operators

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.einsum import OpKind
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

INDEXED: dict[str, Any] = {
    "model_type": "deepseek_v32",
    "hidden_size": 8,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "q_lora_rank": 4,
    "kv_lora_rank": 4,
    "qk_nope_head_dim": 2,
    "qk_rope_head_dim": 2,
    "v_head_dim": 2,
    "index_n_heads": 2,
    "index_head_dim": 4,
    "index_topk": 3,
    "layer_types": ["indexed_attention"],
    "intermediate_size": 16,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
}

GDN: dict[str, Any] = {
    "model_type": "qwen3_5_text",
    "hidden_size": 8,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 4,
    "layer_types": ["linear_attention", "full_attention"],
    "linear_num_key_heads": 1,
    "linear_num_value_heads": 2,
    "linear_key_head_dim": 2,
    "linear_value_head_dim": 3,
    "linear_conv_kernel_dim": 3,
    "intermediate_size": 16,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-6,
}


def test_indexed_attention_hand_count() -> None:
    model = config_from_dict(INDEXED, source="tiny")
    w = build_workload(model, Phase.PREFILL, 1, 5)
    ops = {op.name: op for op in w.operators}
    # m = n = 5 tokens; attention reads top-3 keys per query, the indexer scores all 5.
    mla = 5 * 8 * 4 + 5 * 4 * 2 * 4 + 5 * 8 * (4 + 2) + 5 * 4 * 2 * (2 + 2)  # 720
    indexer = 5 * 4 * 2 * 4 + 5 * 8 * 4 + 5 * 8 * 2 + 2 * 5 * 5 * 4 + 5 * 5 * 2  # 650
    attention = 2 * 5 * 3 * 4 + 2 * 5 * 3 * 2 + 5 * 2 * 2 * 8  # qk, av, out_proj: 340
    ffn = 3 * 5 * 8 * 16  # gate, up, down: 1920
    assert model_macs(w.operators) == mla + indexer + attention + ffn == 3630
    assert ops["qk"].dims["n"] == 3 and ops["idx_qk"].dims["n"] == 5
    assert any("top-k selection itself" in a for a in w.assumptions)
    decode = {op.name: op for op in build_workload(model, Phase.DECODE, 1, 5).operators}
    assert decode["idx_qk"].macs == 2 * 1 * 5 * 4 and decode["qk"].dims["n"] == 3


def test_gated_deltanet_hand_count() -> None:
    model = config_from_dict(GDN, source="tiny")
    w = build_workload(model, Phase.PREFILL, 1, 4)
    assert [(p.prefix, p.count) for p, _ in w.blocks] == [("linear.", 1), ("full.", 1)]
    # Linear layer, m = 4: q, k (1 x 2), v, z (2 x 3), beta, a (2) from d = 8; conv over
    # q, k, v (2 + 2 + 6 channels, 3 taps); state read, write, readout (2 heads x 2 x 3); out.
    linear = 4 * 8 * (2 + 2 + 6 + 6 + 2 + 2) + 4 * 10 * 3 + 3 * 4 * 2 * 2 * 3 + 4 * 6 * 8
    # Full layer: q (2 x 4) + gate (2 x 4) + k, v (1 x 4 each); QK^T, PV; out.
    full = 4 * 8 * (8 + 8 + 4 + 4) + 2 * 4 * 4 * 4 * 2 + 4 * 8 * 8
    ffn = 2 * 3 * 4 * 8 * 16
    assert (linear, full) == (1096, 1280)
    assert model_macs(w.operators) == linear + full + ffn
    ops = {op.name: op for op in w.operators}
    # The state decay multiplies every state element once per token: 4 x 2 x 2 x 3.
    assert ops["linear.la_decay"].kind is OpKind.VECTOR and ops["linear.la_decay"].vector_ops == 48
    assert ops["full.attn_gate"].kind is OpKind.VECTOR
    decode = {op.name: op for op in build_workload(model, Phase.DECODE, 1, 4).operators}
    assert decode["linear.la_read"].macs == 2 * 2 * 3  # one token against the state


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"hc_mult": 4}, "hf_config.hc_mult"),
        ({"indexer_types": ["shared"]}, "hf_config.indexer_types"),
        ({"q_lora_rank": None}, "hf_config.q_lora_rank"),
        ({"layer_types": ["indexed_attention", "sliding_attention"]}, "hf_config.layer_types"),
    ],
)
def test_indexed_refusals_name_the_field(change: dict[str, Any], path: str) -> None:
    cfg = {**INDEXED, **change}
    if "layer_types" in change:
        cfg["num_hidden_layers"] = 2
    with pytest.raises(InputError) as err:
        config_from_dict(cfg, source="tiny")
    assert path in [p.path for p in err.value.problems]


def test_other_linear_attention_refused() -> None:
    with pytest.raises(InputError) as err:
        config_from_dict({**GDN, "model_type": "glm5_next_text"}, source="tiny")
    assert "hf_config.linear_conv_kernel_dim" in [p.path for p in err.value.problems]


def test_mamba1_hand_count() -> None:
    w = build_workload(config_from_dict(MAMBA1, source="tiny"), Phase.PREFILL, 1, 3)
    # m = 3: in_proj 4 -> 16 (x, z), conv 8 channels x 3 taps, x_proj 8 -> 1 + 2 + 2, dt_proj
    # 1 -> 8, readout 8 channels x 2 states, out_proj 8 -> 4.
    assert model_macs(w.operators) == 192 + 72 + 120 + 24 + 48 + 96
    ops = {op.name: op for op in w.operators}
    assert ops["ssm_scan"].vector_ops == 3 * 8 * 2 * 6  # exp(A dt), dt B x, h dA + dBx
    assert "ffn2" not in ops and "qk" not in ops
    assert not any("causal self-attention" in a for a in w.assumptions)
    assert any("Mamba-1" in a for a in w.assumptions)


def test_mamba2_hand_count() -> None:
    w = build_workload(config_from_dict(MAMBA2, source="tiny"), Phase.PREFILL, 1, 3)
    # in_proj 4 -> z, x (8 each), B, C (2 each), dt (2 heads); conv over x, B, C (12 channels,
    # 3 taps); per head 4 x 2 state written and read out; out_proj 8 -> 4.
    assert model_macs(w.operators) == 3 * 4 * 22 + 3 * 12 * 3 + 2 * 3 * 2 * 4 * 2 + 3 * 8 * 4
    decode = {op.name: op for op in build_workload(
        config_from_dict(MAMBA2, source="tiny"), Phase.DECODE, 1, 3).operators}  # fmt: skip
    assert decode["ssm_readout"].macs == 2 * 4 * 2


def test_mamba_refusals_name_the_field() -> None:
    with pytest.raises(InputError) as err:
        config_from_dict({**MAMBA2, "head_dim": 3}, source="tiny")
    assert "hf_config.head_dim" in [p.path for p in err.value.problems]
    with pytest.raises(InputError) as err:
        config_from_dict({**MAMBA1, "hidden_act": "gelu"}, source="tiny")
    assert "hf_config.hidden_act" in [p.path for p in err.value.problems]


BAMBA: dict[str, Any] = {
    "model_type": "bamba", "hidden_size": 4, "num_hidden_layers": 2, "attn_layer_indices": [1],
    "num_attention_heads": 2, "num_key_value_heads": 1, "mamba_expand": 2, "mamba_n_heads": 2,
    "mamba_d_head": 4, "mamba_n_groups": 1, "mamba_d_state": 2, "mamba_d_conv": 3,
    "intermediate_size": 8, "hidden_act": "silu", "rms_norm_eps": 1e-5,
}  # fmt: skip
MAMBA1: dict[str, Any] = {
    "model_type": "mamba", "hidden_size": 4, "intermediate_size": 8, "state_size": 2,
    "conv_kernel": 3, "time_step_rank": 1, "num_hidden_layers": 1, "hidden_act": "silu",
    "expand": 2, "layer_norm_epsilon": 1e-5,
}  # fmt: skip
MAMBA2: dict[str, Any] = {
    "model_type": "mamba2", "hidden_size": 4, "expand": 2, "num_heads": 2, "head_dim": 4,
    "n_groups": 1, "state_size": 2, "conv_kernel": 3, "num_hidden_layers": 1,
    "hidden_act": "silu", "layer_norm_epsilon": 1e-5,
}  # fmt: skip


@pytest.mark.parametrize(("cfg", "names"), [
    (INDEXED, {"idx_qk", "idx_sum", "idx_relu", "qk"}),
    (GDN, {"linear.la_read", "linear.la_write", "linear.la_decay", "full.attn_gate"}),
    (MAMBA1, {"ssm_scan", "ssm_readout", "ssm_conv"}),
    (MAMBA2, {"ssm_write", "ssm_readout", "ssm_decay"}),
    (BAMBA, {"mamba.ssm_write", "attn.qk", "mamba.ffn2", "attn.ffn2"}),
])  # fmt: skip
def test_cli_workload_and_solve(tmp_path: Path, cfg: dict[str, Any], names: set[str]) -> None:
    """The new operators go through ``cosamt workload`` and are scheduled by ``cosamt solve``
    (every group proven optimal, the evaluator agreeing)."""
    operators, report = hf_cli_run(tmp_path, cfg, 6)
    assert names <= {op["name"] for op in operators}
    model = config_from_dict(cfg, source="tiny")
    assert listed_macs(operators) == model_macs(
        build_workload(model, Phase.PREFILL, 1, 6).operators
    )
    assert report is not None and report["total"]["all_optimal"] is True
    assert names <= solved_operators(report)


def test_bamba_hybrid_hand_count() -> None:
    w = build_workload(config_from_dict(BAMBA, source="tiny"), Phase.PREFILL, 1, 3)
    assert [(p.prefix, p.count) for p, _ in w.blocks] == [("mamba.", 1), ("attn.", 1)]
    mamba = 3 * 4 * 22 + 3 * 12 * 3 + 2 * 3 * 2 * 4 * 2 + 3 * 8 * 4  # as Mamba-2 above: 564
    # Layer 1: Q (2 heads x 2) and K, V (1 head x 2 each); QK^T and PV over 3 keys; out.
    attention = 3 * 4 * 8 + 2 * 3 * 3 * 2 * 2 + 3 * 4 * 4
    ffn = 2 * 3 * 3 * 4 * 8  # gated, on both layers
    assert model_macs(w.operators) == mamba + attention + ffn == 1356


def test_full_attention_interval_without_layer_types() -> None:
    """Qwen3-Next configs that predate layer_types: every interval-th layer is full attention."""
    cfg = {k: v for k, v in GDN.items() if k != "layer_types"}
    cfg |= {"model_type": "qwen3_next", "num_hidden_layers": 8, "full_attention_interval": 4}
    model = config_from_dict(cfg, source="tiny")
    assert model.linear_attention is not None and model.linear_attention.layers == 6
