"""Linear-attention MoE hybrids (Kimi Linear, Bailing hybrid, Lara-Mini): tiny configs whose
MACs are counted by hand here from transformers' modelling code (modeling_kimi_linear.py,
modeling_bailing_hybrid.py, modeling_lara_mini.py), not from cosamt's code; and the CLI round
trip through ``cosamt workload`` and ``cosamt solve``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hf_moe_hybrid_formulas import moe_hybrid_macs
from pydantic import ValidationError
from support import hf_cli_run, listed_macs, solved_operators

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import build_workload, model_macs

CORPUS = Path(__file__).parent / "data" / "hf_corpus"
M = 3  # prefill tokens of every hand count

KIMI: dict[str, Any] = {
    "model_type": "kimi_linear", "hidden_size": 4, "num_hidden_layers": 3,
    "num_attention_heads": 2, "num_key_value_heads": 2, "intermediate_size": 6,
    "hidden_act": "silu", "rms_norm_eps": 1e-5, "kv_lora_rank": 2, "q_lora_rank": None,
    "qk_nope_head_dim": 2, "qk_rope_head_dim": 2, "v_head_dim": 2, "qk_head_dim": 4,
    "head_dim": 2, "linear_num_heads": 2, "linear_head_dim": 2, "linear_conv_kernel_dim": 2,
    "num_experts": 4, "num_experts_per_token": 2, "moe_intermediate_size": 3,
    "num_shared_experts": 1, "layer_types": ["linear_attention", "full_attention",
    "linear_attention"], "mlp_layer_types": ["dense", "sparse", "sparse"],
}  # fmt: skip
# KDA at 3 tokens, 2 heads of 2 (width 4): q, k, v 3*4*12; conv 3*12*2; f_a/f_b and g_a/g_b
# 2 * 3*(4*2 + 2*4); b_proj 3*4*2; state read, write, readout 3 * 3*2*2*2; o_proj 3*4*4.
KDA = 144 + 72 + 96 + 24 + 72 + 48  # 456
# MLA, 2 heads: q_proj 3*4*8; kv_a 3*4*4; kv_b 3*2*8; QK^T 2*3*3*4, PV 2*3*3*2; o_proj 3*4*4.
MLA = 96 + 48 + 48 + 72 + 36 + 48  # 348
DENSE = 3 * 3 * 4 * 6  # gate, up, down: 216
# Router 3*4*4; 6 routed picks over 4 experts, 2 tokens each, 3 GEMMs of 4x3; shared 3*3*4*3.
MOE = 48 + 4 * 2 * 3 * 4 * 3 + 108  # 444
LARA: dict[str, Any] = {
    "model_type": "lara_mini", "hidden_size": 4, "num_hidden_layers": 3,
    "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 2, "hidden_act": "silu",
    "rms_norm_eps": 1e-6, "rope_parameters": {"rope_theta": 1e4, "rope_type": "default"},
    "sliding_window": 2, "layer_types": ["linear_attention", "sliding_attention",
    "full_attention"], "linear_num_key_heads": 1, "linear_num_value_heads": 2,
    "linear_key_head_dim": 2, "linear_value_head_dim": 2, "linear_conv_kernel_dim": 2,
    "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 3,
    "shared_expert_intermediate_size": 3,
}  # fmt: skip

MINIMAX: dict[str, Any] = {
    "model_type": "minimax", "hidden_size": 4, "num_hidden_layers": 2, "num_attention_heads": 2,
    "num_key_value_heads": 1, "head_dim": 2, "intermediate_size": 3, "hidden_act": "silu",
    "rms_norm_eps": 1e-5, "rope_parameters": {"rope_theta": 1e6, "rope_type": "default"},
    "layer_types": ["linear_attention", "full_attention"], "block_size": 2,
    "num_local_experts": 4, "num_experts_per_tok": 2, "sliding_window": None,
}  # fmt: skip

INKLING: dict[str, Any] = {
    "model_type": "inkling_text", "hidden_size": 4, "num_hidden_layers": 2,
    "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 2,
    "swa_num_attention_heads": 2, "swa_num_key_value_heads": 2, "swa_head_dim": 2,
    "intermediate_size": 6, "hidden_act": "silu", "rms_norm_eps": 1e-6, "d_rel": 2,
    "rel_extent": 4, "sliding_window_size": 2, "conv_kernel_size": 2,
    "layer_types": ["hybrid_sliding", "hybrid"], "mlp_layer_types": ["dense", "sparse"],
    "n_routed_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 3,
    "n_shared_experts": 1, "log_scaling_n_floor": None,
}  # fmt: skip

AXK2: dict[str, Any] = {
    "model_type": "axk2", "hidden_size": 4, "num_hidden_layers": 2, "num_attention_heads": 2,
    "num_key_value_heads": 2, "hidden_act": "silu", "rms_norm_eps": 1e-6,
    "rope_parameters": {"rope_theta": 1e4, "rope_type": "default"}, "q_lora_rank": 2,
    "kv_lora_rank": 2, "qk_nope_head_dim": 2, "qk_rope_head_dim": 2, "qk_head_dim": 4,
    "v_head_dim": 2, "head_dim": 2, "index_n_heads": 2, "index_head_dim": 2, "index_topk": 2,
    "gated_norm_rank": 1, "layer_types": ["indexed_attention"] * 2,
    "mlp_layer_types": ["dense", "sparse"], "intermediate_size": 6, "n_routed_experts": 4,
    "num_experts_per_tok": 2, "moe_intermediate_size": 3, "n_shared_experts": 1,
}  # fmt: skip

ZAYA: dict[str, Any] = {
    "model_type": "zaya", "hidden_size": 4, "num_hidden_layers": 2, "num_attention_heads": 2,
    "num_key_value_heads": 1, "head_dim": 2, "hidden_act": "silu", "rms_norm_eps": 1e-5,
    "layer_types": ["hybrid", "hybrid"], "cca_time0": 2, "cca_time1": 2,
    "router_hidden_size": 2, "num_experts": 4, "num_experts_per_tok": 1,
    "moe_intermediate_size": 3, "sliding_window": None,
    "rope_parameters": {"hybrid": {"partial_rotary_factor": 0.5, "rope_theta": 5e6}},
}  # fmt: skip

LONGCAT: dict[str, Any] = {
    "model_type": "longcat_flash", "hidden_size": 4, "num_layers": 1, "num_attention_heads": 2,
    "num_key_value_heads": 2, "hidden_act": "silu", "rms_norm_eps": 1e-5,
    "rope_parameters": {"rope_theta": 1e7, "rope_type": "default"}, "q_lora_rank": 2,
    "kv_lora_rank": 2, "qk_nope_head_dim": 2, "qk_rope_head_dim": 2, "qk_head_dim": 4,
    "v_head_dim": 2, "head_dim": 2, "ffn_hidden_size": 6, "expert_ffn_hidden_size": 3,
    "n_routed_experts": 4, "zero_expert_num": 2, "moe_topk": 2,
}  # fmt: skip


def workload(cfg: dict[str, Any], m: int = M, phase: Phase = Phase.PREFILL) -> Any:
    return build_workload(config_from_dict(cfg), phase, 1, m)


def per_kind(cfg: dict[str, Any], m: int = M) -> dict[str, int]:
    out: dict[str, int] = {}
    for plan, ops in workload(cfg, m).blocks:
        kind = "moe" if plan.moe else "dense"
        out[kind] = out.get(kind, 0) + model_macs(ops)
    return out


def test_kimi_linear_by_hand() -> None:
    """KDA + dense, MLA + MoE, KDA + MoE: the formula module and cosamt agree with the count."""
    want = {"dense": KDA + DENSE, "moe": MLA + MOE + KDA + MOE}
    assert moe_hybrid_macs(KIMI, M) == want
    assert per_kind(KIMI) == want
    names = {op.name for op in workload(KIMI).operators}
    assert {"kda.dense.kda_forget_down", "kda.moe.kda_decay", "attn.moe.kv_up"} <= names
    assert "attn.moe.rope" not in names  # KimiLinearAttention gets no position embeddings


def test_bailing_full_rank_gates_and_head_gate() -> None:
    """Bailing's KDA gates are full projections (f_proj, g_proj: 3*4*4 each instead of 48) and
    its MLA gates every head (g_proj 3*4*2)."""
    cfg = {**KIMI, "model_type": "bailing_hybrid", "rope_parameters": {"rope_theta": 1e4}}
    kda = KDA - 96 + 2 * 48
    want = {"dense": kda + DENSE, "moe": MLA + 24 + MOE + kda + MOE}
    assert moe_hybrid_macs(cfg, M) == want
    assert per_kind(cfg) == want
    names = {op.name for op in workload(cfg).operators}
    assert {"kda.moe.kda_forget_proj", "attn.moe.attn_gate_proj", "attn.moe.rope"} <= names


def test_lara_mini_by_hand() -> None:
    """Gated DeltaNet, windowed and no-rotary attention, every layer MoE with a shared expert.
    At 3 tokens and a window of 2 the windowed layer's scores cover 2 keys."""
    # DeltaNet: in_proj_qkv 3*4*8, z 3*4*4, b and a 2 * 3*4*2, conv 3*8*2, state 3 * 3*2*2*2,
    # out_proj 3*4*4.
    deltanet = 96 + 48 + 48 + 48 + 72 + 48
    # Attention: q, k, v 3*4*(2+1+1)*2; QK^T and PV 2 * 2*3*n*2; o_proj 3*4*4.
    attention = {n: 96 + 2 * 12 * n + 48 for n in (2, 3)}
    want = {"moe": deltanet + attention[2] + attention[3] + 3 * MOE}
    assert moe_hybrid_macs(LARA, M) == want
    assert per_kind(LARA) == want
    names = {op.name for op in workload(LARA).operators}
    assert {"linear.la_write", "attn.local.rope", "attn.global.qk"} <= names
    assert "attn.global.rope" not in names


def test_minimax_by_hand() -> None:
    """Lightning attention at 3 tokens in blocks of 2 (a full block and a 1-token tail), rotary
    GQA, every layer MoE of intermediate_size experts."""
    # qkv_proj 3*4*12; block of 2: Q K^T and P V 2 * 2*2*2*2, the state read and write
    # 2 * 2*2*2*2; tail of 1: 2 * 2*1*1*2 and 2 * 2*1*2*2; output_gate 3*4*4; out_proj 3*4*4.
    lightning = 144 + (32 + 32) + (8 + 16) + 48 + 48
    attention = 3 * 4 * 4 * 2 + 2 * (2 * 3 * 3 * 2) + 3 * 4 * 4  # q, k, v; QK^T, PV; o_proj
    moe = 48 + 4 * 2 * 3 * 4 * 3  # router; 6 picks over 4 experts, 3 GEMMs of 4x3
    want = {"moe": lightning + attention + 2 * moe}
    assert moe_hybrid_macs(MINIMAX, M) == want
    assert per_kind(MINIMAX) == want
    names = {op.name for op in workload(MINIMAX).operators}
    assert {"ltn.ltn_intra_qk", "ltn.ltn_tail_av", "ltn.ltn_kv", "attn.rope"} <= names


def test_minimax_decode_is_recurrent() -> None:
    """One new token: q S and k^T v against the 2x2 state of each head, no intra-block work."""
    ops = [op for op in workload(MINIMAX, 3, Phase.DECODE).operators if op.name.startswith("ltn.")]
    names = {op.name for op in ops}
    assert "ltn.ltn_intra_qk" not in names and "ltn.ltn_sum" not in names
    mixer = [op for op in ops if op.name.split(".")[1].startswith("ltn_")]
    assert model_macs(mixer) == 4 * 12 + 2 * (2 * 2 * 2) + 4 * 4 + 4 * 4


def test_inkling_by_hand() -> None:
    """A windowed layer (2 KV heads, window and bias bank of 2) with the MLP, a full one (1 KV
    head, bank of 4) with the MoE; short convolutions of 2 taps on K, V and after each sublayer."""
    # Windowed: q, k, v 3*4*6*2; r_proj 3*4*4; k/v sconv 3*(2*2*2)*2; rel logits 3*2*2*2; QK^T
    # and PV over 2 keys 2 * 2*3*2*2; o_proj 3*4*4; attn_sconv and mlp_sconv 2 * 3*4*2; MLP
    # 3*3*4*6.
    windowed = 144 + 48 + 48 + 24 + 48 + 48 + 48 + 216
    # Full: q, k, v 3*4*4*2; r_proj 48; k/v sconv 3*(2*1*2)*2; rel logits 3*2*2*4; QK^T, PV
    # over 3 keys; o_proj; the two sconvs; router over 4 + 1 experts; routed; the shared expert
    # 3*3*4*3.
    full = 96 + 48 + 24 + 48 + 72 + 48 + 48 + 60 + 288 + 108
    assert moe_hybrid_macs(INKLING, M) == {"dense": windowed, "moe": full}
    assert per_kind(INKLING) == {"dense": windowed, "moe": full}
    names = {op.name for op in workload(INKLING).operators}
    assert {"local.dense.rel_logits", "global.moe.router_shared", "global.moe.ffn_sconv"} <= names


def test_inkling_log_scaling_refused() -> None:
    with pytest.raises(InputError) as err:
        config_from_dict({**INKLING, "log_scaling_n_floor": 128})
    assert [p.path for p in err.value.problems] == ["hf_config.log_scaling_n_floor"]


def test_axk2_by_hand() -> None:
    """A.X-K2 at 3 tokens, the indexer keeping 2 keys per query: gated norms of rank 1 (the
    input norm everywhere, the post-attention norm on the MoE layer), q_gate_proj from the
    doubled latent in place of q_up."""
    # q_a 3*4*2; q_gate_proj 3*4*(2*6); kv_a 3*4*4; kv_b 3*2*8; indexer wq_b 3*2*4, wk 3*4*2,
    # weights 3*4*2, scores 2*3*3*2 and head sum 2*3*3; QK^T 2*3*2*4, PV 2*3*2*2; o_proj 3*4*4.
    attention = 24 + 144 + 48 + 48 + 24 + 24 + 24 + 36 + 18 + 48 + 24 + 48
    gated_norm = 2 * 3 * 4 * 1  # fc1 and fc2 of rank 1
    want = {"dense": gated_norm + attention + DENSE, "moe": 2 * gated_norm + attention + MOE}
    assert moe_hybrid_macs(AXK2, M) == want
    assert per_kind(AXK2) == want
    names = {op.name for op in workload(AXK2).operators}
    assert {"moe.q_gate_proj", "moe.attn_gate", "moe.norm2_gate_up", "dense.norm1_gate"} <= names
    assert "moe.q_up" not in names and "dense.norm2_gate_up" not in names


def test_zaya_by_hand() -> None:
    """ZAYA at 3 tokens: the CCA projections and convolutions, attention, the MLP router, one
    expert per token."""
    # q_proj + k_proj 3*4*6; v halves 3*4*2; depthwise conv 3*6*2; grouped conv 3 groups of 2x2,
    # 2 taps: 3*3*2*2*2; QK^T and PV 2 * 2*3*3*2; o_proj 3*4*4.
    attention = 72 + 24 + 36 + 72 + 72 + 48
    router = 3 * 4 * 2 + 2 * (3 * 2 * 2) + 3 * 2 * 5  # down_proj; fc1, fc2; out_proj (4 + skip)
    experts = 3 * 3 * 4 * 3  # 3 picks over 3 touched experts, gate, up, down
    want = {"moe": 2 * (attention + router + experts)}
    assert moe_hybrid_macs(ZAYA, M) == want
    assert per_kind(ZAYA) == want
    model = config_from_dict(ZAYA)
    assert model.rotary_dim == 1  # half of the 2 features (rope_parameters["hybrid"])
    names = {op.name for op in workload(ZAYA).operators}
    assert {"cca_gconv", "router_fc2", "expert_up"} <= names and "router" not in names


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"num_experts_per_tok": 2}, "num_experts_per_tok"),
        ({"layer_types": ["hybrid", "hybrid_sliding"]}, "layer_types"),
        ({"layer_types": ["hybrid", "mamba"]}, "layer_types"),
    ],
)
def test_zaya_refusals(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        config_from_dict({**ZAYA, **change})
    assert f"hf_config.{field}" in [p.path for p in err.value.problems]


def test_longcat_by_hand() -> None:
    """One logical layer at 3 tokens: two MLA sublayers, two MLPs, the shortcut MoE whose 6
    picks spread over 4 routed and 2 identity experts (the 4 routed ones 1 token each)."""
    # q_a 3*4*2; q_b 3*2*8; kv_a 3*4*4; kv_b 3*2*8; QK^T 2*3*3*4, PV 2*3*3*2; o_proj 3*4*4.
    mla = 24 + 48 + 48 + 48 + 72 + 36 + 48
    mlp = 3 * 3 * 4 * 6
    moe = 3 * 4 * 6 + 4 * 1 * 3 * 4 * 3  # router over 6 experts; 4 routed x 1 token, 3 GEMMs
    want = {"moe": 2 * mla + 2 * mlp + moe}
    assert moe_hybrid_macs(LONGCAT, M) == want
    assert per_kind(LONGCAT) == want
    ops = {op.name: op for op in workload(LONGCAT).operators}
    assert {"s0.q_up", "s1.kv_up", "s0.ffn2", "s1.ffn2", "expert_up"} <= ops.keys()
    assert ops["zero_experts"].dims == {"z": 2, "f": 4}  # the 2 picks to identity experts
    assert ops["s1.residual2"].ops_per_point == 2  # stream + MLP_1 + the shortcut MoE


def test_longcat_decode_shares_picks_with_zero_experts() -> None:
    """One token, top-2 of 4 routed + 2 zero experts: 2 touched, ceil(2 x 4/6) = 2 routed."""
    ops = {op.name: op for op in workload(LONGCAT, 3, Phase.DECODE).operators}
    assert ops["expert_up"].dims["x"] == 2 and "zero_experts" not in ops


def test_minimax_window_refused() -> None:
    with pytest.raises(InputError) as err:
        config_from_dict({**MINIMAX, "sliding_window": 2})
    assert [p.path for p in err.value.problems] == ["hf_config.sliding_window"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"layer_types": ["linear_attention", "mamba", "full_attention"]}, "layer_types"),
        ({"mlp_layer_types": None}, "mlp_layer_types"),
        ({"linear_num_heads": 0}, "linear_num_heads"),
        ({"hidden_act": "gelu"}, "hidden_act"),
    ],
)
def test_refusals_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        config_from_dict({**KIMI, **change})
    assert any(p.path == f"hf_config.{field}" for p in err.value.problems)


def test_linear_shapes_go_with_their_groups() -> None:
    """A kda shape needs kda groups; linear_attention's layers are the deltanet groups'."""
    shape = {"name": "tiny", "n_layers": 2, "d_model": 4, "n_heads": 2, "d_ff": 8,
             "norm": "rmsnorm", "norm_position": "pre"}  # fmt: skip
    kda = {"heads": 2, "head_dim": 2, "conv_kernel": 2}
    groups = [{"count": 2, "mixer": "kda", "ffn": "dense"}]
    assert ModelConfig.model_validate({**shape, "layer_groups": groups, "kda": kda}).kda
    with pytest.raises(ValidationError, match="kda"):
        ModelConfig.model_validate({**shape, "layer_groups": groups})
    with pytest.raises(ValidationError, match="kda needs layer_groups"):
        ModelConfig.model_validate({**shape, "kda": kda})
    la = {"layers": 1, "k_heads": 1, "v_heads": 1, "k_dim": 2, "v_dim": 2, "conv_kernel": 2}
    deltanet = [{"count": 2, "mixer": "deltanet", "ffn": "dense"}]
    with pytest.raises(ValidationError, match="deltanet"):
        ModelConfig.model_validate({**shape, "layer_groups": deltanet, "linear_attention": la})


def test_cli_solve_kimi_linear(tmp_path: Path) -> None:
    """``cosamt workload`` lists the KDA, MLA and MoE operators with the model's MACs, and
    ``cosamt solve`` schedules them (every group proven optimal, the evaluator agreeing)."""
    operators, report = hf_cli_run(tmp_path, KIMI, 4)
    assert listed_macs(operators) == model_macs(workload(KIMI, 4).operators)
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"kda.moe.kda_write", "kda.moe.kda_norm", "attn.moe.qk"} <= solved_operators(report)


def test_cli_solve_minimax(tmp_path: Path) -> None:
    """The lightning-attention block (a full block and a tail at 3 tokens) is scheduled by
    ``cosamt solve``, every group proven optimal."""
    operators, report = hf_cli_run(tmp_path, MINIMAX, 3)
    assert listed_macs(operators) == model_macs(workload(MINIMAX).operators)
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"ltn.ltn_intra_qk", "ltn.ltn_tail_av", "ltn.ltn_kv"} <= solved_operators(report)


def test_reference_sliding_attention_is_full_in_prefill() -> None:
    """Unlimited-OCR's R-SWA layers keep every prefill key (create_reference_sliding_window_causal
    _mask): at 200 tokens, past the 128-token window, each query still reads all 200 keys."""
    cfg = json.loads((CORPUS / "unlimited_ocr_text.json").read_text())
    model = config_from_dict(cfg)
    assert cfg["sliding_window"] == 128 and model.sliding_window is None
    plans = [plan for plan, _ in build_workload(model, Phase.PREFILL, 1, 200).blocks]
    assert plans and all(plan.n == 200 for plan in plans)
    assert any(a.startswith("reference_sliding_attention") for a in model.assumptions)


def test_cli_solve_inkling(tmp_path: Path) -> None:
    """Relative logits, the bias add and the short convolutions are scheduled by ``cosamt
    solve``, every group proven optimal."""
    operators, report = hf_cli_run(tmp_path, INKLING, 3)
    assert listed_macs(operators) == model_macs(workload(INKLING).operators)
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"local.dense.rel_logits", "global.moe.rel_bias"} <= solved_operators(report)


def test_cli_solve_axk2(tmp_path: Path) -> None:
    """The gated norms and the fused query/gate projection are scheduled by ``cosamt solve``."""
    operators, report = hf_cli_run(tmp_path, AXK2, 3)
    assert listed_macs(operators) == model_macs(workload(AXK2).operators)
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"moe.q_gate_proj", "moe.norm2_gate", "dense.norm1_gate_down"} <= solved_operators(
        report
    )


def test_cli_solve_zaya(tmp_path: Path) -> None:
    """The grouped convolution and the router MLP are scheduled by ``cosamt solve``."""
    operators, report = hf_cli_run(tmp_path, ZAYA, 3)
    assert listed_macs(operators) == model_macs(workload(ZAYA).operators)
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"cca_gconv", "cca_dwconv", "router_out"} <= solved_operators(report)


def test_zaya_rotary_needs_its_layer_type() -> None:
    """A flat rope_parameters (no per-type dict) is refused; none at all is ZayaConfig's 0.5."""
    with pytest.raises(InputError) as err:
        config_from_dict({**ZAYA, "rope_parameters": {"rope_theta": 1e4}})
    assert [p.path for p in err.value.problems] == ["hf_config.rope_parameters"]
    assert config_from_dict({**ZAYA, "rope_parameters": None}).rotary_dim == 1


def test_cli_solve_longcat(tmp_path: Path) -> None:
    """Both sublayers and the shortcut MoE are scheduled by ``cosamt solve``."""
    operators, report = hf_cli_run(tmp_path, LONGCAT, 3)
    assert listed_macs(operators) == model_macs(workload(LONGCAT).operators)
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"s0.q_up", "s1.av", "expert_down", "zero_experts"} <= solved_operators(report)
