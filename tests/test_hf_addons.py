"""Small structural add-ons (cosamt/workload/addons.py, hf_addons.py): tiny configs of each
family, the new operators' sizes and operations counted by hand from transformers' modelling code
(prefill, batch 1), refusals with field paths, and solves end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hf_addon_formulas import (
    afmoe_macs,
    doge_macs,
    jetmoe_macs,
    llama4_macs,
    mimo_macs,
    mobilebert_macs,
    squeezebert_macs,
)
from support import hf_cli_run, solved_operators

from cosamt.errors import InputError
from cosamt.fusion.schemes import segments
from cosamt.types import FusionChoice, Phase
from cosamt.workload.einsum import Einsum
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

M = 8
D, FF = 64, 96


def ops_of(cfg: dict[str, Any], m: int = M, phase: Phase = Phase.PREFILL) -> dict[str, Einsum]:
    model = config_from_dict(cfg, source="test")
    return {op.name: op for op in build_workload(model, phase, 1, m).operators}


def work(op: Einsum) -> int:
    """MACs, or vector operations, of one execution."""
    return op.macs or op.vector_ops


def macs_by_kind(cfg: dict[str, Any], m: int = M) -> dict[str, int]:
    """MACs per kind of block (moe, dense), as tests/test_hf_corpus.py compares them."""
    model = config_from_dict(cfg, source="test")
    out: dict[str, int] = {}
    for plan, ops in build_workload(model, Phase.PREFILL, 1, m).blocks:
        kind = "moe" if plan.moe else "dense"
        out[kind] = out.get(kind, 0) + model_macs(ops)
    return out


def refused(cfg: dict[str, Any]) -> list[str]:
    with pytest.raises(InputError) as exc:
        config_from_dict(cfg, source="test")
    return [p.path for p in exc.value.problems]


def bitnet(**extra: Any) -> dict[str, Any]:
    return {"model_type": "bitnet", "hidden_size": D, "num_attention_heads": 4,
            "num_key_value_heads": 2, "num_hidden_layers": 2, "intermediate_size": FF,
            "hidden_act": "relu2", "rms_norm_eps": 1e-5, **extra}  # fmt: skip


def test_bitnet_gated_relu2_and_sub_norms() -> None:
    """BitNetMLP: down_proj(ffn_sub_norm(relu2(gate_proj(x)) * up_proj(x))); BitNetAttention:
    o_proj(attn_sub_norm(attention)), both RMSNorms (4 ops per element: square, sum, rsqrt,
    scale by gamma); relu2 = relu then square (2 ops), then the product (1)."""
    ops = ops_of(bitnet())
    assert work(ops["act"]) == 3 * M * FF
    assert work(ops["ffn_sub_norm"]) == 4 * M * FF
    assert work(ops["attn_sub_norm"]) == 4 * M * D  # hidden_size wide: 4 heads x 16
    names = list(ops)
    assert names.index("av") < names.index("attn_sub_norm") < names.index("out_proj")
    assert names.index("act") < names.index("ffn_sub_norm") < names.index("ffn2")
    assert work(ops["ffn_gate"]) == work(ops["ffn_up"]) == M * D * FF


def test_bitnet_ffn_is_not_fused_across_its_sub_norm() -> None:
    """ffn2 reads ffn_sub_norm's output, not act's: no FFN chain may keep act's output on chip
    for ffn2 (the menu fuses a chain only where its operators follow one another)."""
    model = config_from_dict(bitnet(), source="test")
    ops = build_workload(model, Phase.PREFILL, 1, M).operators
    segs = {seg.name: seg for seg in segments(ops, FusionChoice.ALL)}
    assert "ffn" not in segs and {"act", "ffn_sub_norm", "ffn2"} <= set(segs)
    assert "attention" in segs  # QK^T, softmax, PV still follow one another


def test_bitnet_refuses_a_sub_norm_narrower_than_its_input() -> None:
    assert refused(bitnet(head_dim=8)) == ["hf_config.head_dim"]


def privacy_filter(**extra: Any) -> dict[str, Any]:
    return {"model_type": "openai_privacy_filter", "hidden_size": D, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 2,
            "intermediate_size": FF, "num_local_experts": 4, "num_experts_per_tok": 2,
            "sliding_window": 2, "rms_norm_eps": 1e-5, "swiglu_limit": 7.0,
            "rope_parameters": {"rope_type": "yarn", "rope_theta": 150000.0}, **extra}  # fmt: skip


def test_privacy_filter_bidirectional_window_and_clamped_swiglu() -> None:
    """OpenAIPrivacyFilterModel: create_bidirectional_sliding_window_mask keeps |q - k| <= 2,
    so 5 keys per query of the 8 (counted for every query); the experts' _apply_gate:
    min(gate, l) (1), clamp(up, -l, l) (2), g / (1 + exp(-alpha g)) (4), up + 1 (1), product (1)."""
    ops = ops_of(privacy_filter())
    assert ops["qk"].dims["n"] == 5 and ops["av"].dims["n"] == 5
    assert work(ops["qk"]) == 4 * M * 5 * 16
    touched = 4  # 8 tokens x top-2 over 4 experts: 4 tokens each
    assert work(ops["expert_act"]) == 9 * touched * 4 * FF
    assert work(ops["expert_gate"]) == touched * 4 * D * FF
    with pytest.raises(InputError):  # an encoder (is_causal = False): no decode phase
        build_workload(config_from_dict(privacy_filter()), Phase.DECODE, 1, M)


def test_privacy_filter_window_wider_than_the_input_is_full_attention() -> None:
    assert ops_of(privacy_filter(sliding_window=128))["qk"].dims["n"] == M


def xmod(**extra: Any) -> dict[str, Any]:
    return {"model_type": "xmod", "hidden_size": D, "num_attention_heads": 4,
            "num_hidden_layers": 2, "intermediate_size": FF, "hidden_act": "gelu",
            "layer_norm_eps": 1e-12, "adapter_reduction_factor": 4, "languages": ["en_XX", "de_DE"],
            "adapter_layer_norm": False, "adapter_reuse_layer_norm": True,
            "ln_before_adapter": True, "pre_norm": False, **extra}  # fmt: skip


def test_xmod_language_adapter_after_the_ffn() -> None:
    """XmodOutput: dense(h) + input, then lang_adapter: the reused LayerNorm, dense1 (64 -> 16),
    gelu, dense2 (16 -> 64), + residual; then the layer's post-norm LayerNorm."""
    ops = ops_of(xmod())
    names = list(ops)
    order = ["ffn2", "residual2", "adapter_norm", "adapter_down", "adapter_act", "adapter_up",
             "adapter_residual", "norm2"]  # fmt: skip
    assert [n for n in names if n in order] == order
    assert work(ops["adapter_down"]) == work(ops["adapter_up"]) == M * D * 16
    assert work(ops["adapter_act"]) == 8 * M * 16  # GELU, 8 ops per element
    assert work(ops["adapter_norm"]) == 8 * M * D  # LayerNorm, 8 ops per element
    notes = build_workload(config_from_dict(xmod()), Phase.PREFILL, 1, M).assumptions
    assert any("one of 2 per layer" in n for n in notes)


def test_xmod_adapter_without_a_norm_and_pre_norm() -> None:
    ops = ops_of(xmod(adapter_reuse_layer_norm=False, pre_norm=True))
    names = list(ops)
    assert "adapter_norm" not in names
    assert names[0] == "norm1" and names[-1] == "adapter_residual"  # norms before the sublayers


def test_xmod_refuses_a_factor_beyond_the_width() -> None:
    assert refused(xmod(adapter_reduction_factor=128)) == ["hf_config.adapter_reduction_factor"]


def lfm3(**extra: Any) -> dict[str, Any]:
    return {"model_type": "lfm3", "hidden_size": D, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 3,
            "intermediate_size": FF, "conv_L_cache": 3, "norm_eps": 1e-5, "sliding_window": 4,
            "layer_types": ["conv", "full_attention", "sliding_attention"], **extra}  # fmt: skip


def test_lfm3_head_gate_and_sandwich_norms() -> None:
    """Lfm3Attention: attn_output * sigmoid(g_proj(x)).unsqueeze(-1), g_proj hidden -> 4 heads;
    Lfm3DecoderLayer: post_operator_norm and post_ffn_norm (RMSNorm) before each residual add,
    on the conv layers too."""
    ops = ops_of(lfm3())
    assert work(ops["attn.global.attn_gate_proj"]) == M * D * 4
    assert work(ops["attn.global.attn_gate_sigmoid"]) == 4 * M * 4  # one sigmoid per head
    assert work(ops["attn.global.attn_gate"]) == M * 4 * 16  # the product on every feature
    assert ops["attn.local.qk"].dims["n"] == 4
    for p in ("conv.", "attn.global.", "attn.local."):
        names = [n for n in ops if n.startswith(p)]
        assert names.index(f"{p}post_mixer_norm") == names.index(f"{p}residual1") - 1
        assert names.index(f"{p}post_ffn_norm") == names.index(f"{p}residual2") - 1
        assert work(ops[f"{p}post_ffn_norm"]) == 4 * M * D
    assert "conv.attn_gate_proj" not in ops


def test_lfm3_without_gate_and_sandwich() -> None:
    ops = ops_of(lfm3(use_attention_gate=False, use_sandwich_norm=False))
    assert not [n for n in ops if "gate_" in n or "post_" in n or n.endswith("attn_gate")]
    assert refused(lfm3(use_attention_gate="yes")) == ["hf_config.use_attention_gate"]


def afmoe(**extra: Any) -> dict[str, Any]:
    return {"model_type": "afmoe", "hidden_size": D, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 4,
            "intermediate_size": FF, "moe_intermediate_size": 32, "num_experts": 4,
            "num_experts_per_tok": 2, "num_shared_experts": 2, "num_dense_layers": 1,
            "hidden_act": "silu", "rms_norm_eps": 1e-5, "sliding_window": 4,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0},
            "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention",
                            "full_attention"]}  # fmt: skip


def test_afmoe_layers_by_the_formula() -> None:
    """Windowed keys on the sliding layers, gate_proj on every layer, a dense first layer."""
    assert macs_by_kind(afmoe()) == afmoe_macs(afmoe(), M)


def test_afmoe_gate_rope_and_sandwich() -> None:
    """AfmoeAttention: output * sigmoid(gate_proj(x)) per feature, rotary only when
    is_local_attention; AfmoeDecoderLayer: post_attention_layernorm and post_mlp_layernorm,
    the shared and routed experts summed before the latter."""
    ops = ops_of(afmoe())
    assert work(ops["global.moe.attn_gate_proj"]) == M * D * 4 * 16
    assert work(ops["global.moe.attn_gate"]) == 5 * M * 4 * 16  # sigmoid (4) and product
    assert "local.moe.rope" in ops and "global.moe.rope" not in ops
    names = [n for n in ops if n.startswith("local.moe.")]
    tail = ["ffn2", "expert_sum", "post_ffn_norm", "residual2"]
    assert [n.removeprefix("local.moe.") for n in names[-4:]] == tail
    assert ops["local.moe.residual2"].ops_per_point == 1  # two summands after the norm
    assert "local.dense.expert_sum" not in ops


def mimo(**extra: Any) -> dict[str, Any]:
    return {"model_type": "mimo_v2_flash", "hidden_size": D, "num_attention_heads": 4,
            "num_key_value_heads": 1, "head_dim": 24, "v_head_dim": 16, "num_hidden_layers": 3,
            "intermediate_size": FF, "moe_intermediate_size": 32, "n_routed_experts": 4,
            "num_experts_per_tok": 2, "hidden_act": "silu", "rms_norm_eps": 1e-5,
            "sliding_window": 3, "layer_types": ["full_attention", "sliding_attention",
                                                 "sliding_attention"],
            "mlp_layer_types": ["dense", "sparse", "sparse"],
            "rope_parameters": {"full_attention": {"rope_type": "default",
                                                   "partial_rotary_factor": 0.334},
                                "sliding_attention": {"rope_type": "default",
                                                      "partial_rotary_factor": 0.5}},
            **extra}  # fmt: skip


def test_mimo_per_layer_kv_heads_by_the_formula() -> None:
    """Twice the KV heads on the sliding layers, 3 keys per query there."""
    assert macs_by_kind(mimo()) == mimo_macs(mimo(), M)
    ops = ops_of(mimo())
    assert ops["local.moe.qk"].dims["h"] == 2 and ops["global.dense.qk"].dims["h"] == 1


def test_mimo_rotary_per_layer_type() -> None:
    """int(head_dim x partial_rotary_factor): int(24 x 0.334) = 8 on the full layers, 12 on the
    sliding ones; on the query heads and each layer's KV heads."""
    ops = ops_of(mimo())
    assert ops["global.dense.rope"].dims["f"] == (4 + 1) * 8
    assert ops["local.moe.rope"].dims["f"] == (4 + 2) * 12
    assert refused(mimo(mlp_layer_types=["dense"])) == ["hf_config.mlp_layer_types"]


def llama4(**extra: Any) -> dict[str, Any]:
    return {"model_type": "llama4_text", "hidden_size": D, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 4,
            "intermediate_size": 32, "intermediate_size_mlp": FF, "num_local_experts": 4,
            "num_experts_per_tok": 1, "hidden_act": "silu", "rms_norm_eps": 1e-5,
            "attention_chunk_size": 4, "rope_parameters": {"rope_type": "default"},
            "layer_types": ["chunked_attention", "chunked_attention", "chunked_attention",
                            "full_attention"],
            "no_rope_layers": [1, 1, 1, 0], "moe_layers": [0, 1, 3], **extra}  # fmt: skip


def test_llama4_chunks_nope_and_shared_expert_by_the_formula() -> None:
    """8 tokens in chunks of 4: the diagonal blocks' 2 x 4^2 = 8 x 4 query-key pairs exactly;
    a dense layer (2) of intermediate_size_mlp, the shared expert beside the routed ones."""
    assert macs_by_kind(llama4()) == llama4_macs(llama4(), M)
    ops = ops_of(llama4())
    assert "global.moe.rope" not in ops and "local.moe.rope" in ops  # NoPE on the full layer
    assert work(ops["local.dense.ffn_gate"]) == M * D * FF
    assert work(ops["local.moe.ffn_gate"]) == M * D * 32  # the shared expert
    assert ops["local.moe.residual2"].ops_per_point == 2  # routed + shared + stream


def test_llama4_partial_last_chunk_is_an_upper_bound() -> None:
    """10 tokens in chunks of 4: blocks 4, 4, 2 have 36 pairs per head; counted as 10 x 4 = 40
    (like a sliding window), 4 x (4 - 2) pairs more per head in QK^T and in PV."""
    m = 10
    per_layer = 4 * (2 * (4 - 2)) * (16 + 16)  # heads x r(C - r) pairs x (QK^T + PV) head dims
    got, want = macs_by_kind(llama4(), m), llama4_macs(llama4(), m)
    assert got["dense"] == want["dense"] + per_layer  # layer 2: chunked, dense
    assert got["moe"] == want["moe"] + 2 * per_layer  # layers 0 and 1 chunked, 3 full


def test_llama4_composite_reads_its_text_model() -> None:
    composite = {"model_type": "llama4", "text_config": llama4(), "vision_config": {
        "model_type": "llama4_vision_model", "hidden_size": 32}}  # fmt: skip
    assert macs_by_kind(composite) == llama4_macs(llama4(), M)
    assert refused(llama4(layer_types=["chunked_attention"] * 3 + ["local"])) == [
        "hf_config.layer_types"
    ]


def cpmant(**extra: Any) -> dict[str, Any]:
    return {"model_type": "cpmant", "hidden_size": D, "num_attention_heads": 4, "dim_head": 16,
            "num_hidden_layers": 2, "dim_ff": FF, "eps": 1e-6, "prompt_length": 3,
            "vocab_size": 100, **extra}  # fmt: skip


def test_cpmant_prompt_tokens_and_gated_gelu() -> None:
    """CpmAntModel.forward prepends prompt_length tokens: the blocks see 8 + 3; the decode
    token attends to the cache of 8 + 3; CpmAntDenseGatedACT: gelu(w_0 x) (8 ops) * w_1 x (1);
    CpmAntLayerNorm is an RMSNorm; the LM head only on the input's tokens."""
    model = config_from_dict(cpmant(), source="test")
    ops = {op.name: op for op in build_workload(model, Phase.PREFILL, 1, M, lm_head=True).operators}
    assert ops["qk"].dims["m"] == ops["qk"].dims["n"] == M + 3
    assert work(ops["ffn_gate"]) == work(ops["ffn_up"]) == (M + 3) * D * FF
    assert work(ops["act"]) == 9 * (M + 3) * FF
    assert ops["norm1"].op == "rmsnorm" and ops["final_norm"].dims["m"] == M + 3
    assert ops["lm_head"].dims["m"] == M
    decode = ops_of(cpmant(), phase=Phase.DECODE)
    assert decode["qk"].dims["m"] == 1 and decode["qk"].dims["n"] == M + 3


def test_cpmant_refuses_a_bad_prompt_length() -> None:
    assert refused(cpmant(prompt_length=-1)) == ["hf_config.prompt_length"]


def mobilebert(**extra: Any) -> dict[str, Any]:
    return {"model_type": "mobilebert", "hidden_size": D, "num_attention_heads": 2,
            "num_hidden_layers": 2, "intermediate_size": 48, "intra_bottleneck_size": 16,
            "hidden_act": "relu", "layer_norm_eps": 1e-12, "num_feedforward_networks": 3,
            "normalization_type": "no_norm", "use_bottleneck": True,
            "key_query_shared_bottleneck": True, "use_bottleneck_attention": False,
            "vocab_size": 100, **extra}  # fmt: skip


@pytest.mark.parametrize(
    "extra",
    [{}, {"use_bottleneck_attention": True}, {"key_query_shared_bottleneck": False,
     "use_bottleneck_attention": True}, {"use_bottleneck": False}],
    ids=["shared-qk", "bottleneck-attention", "attention-only", "no-bottleneck"],
)  # fmt: skip
def test_mobilebert_by_the_formula(extra: dict[str, Any]) -> None:
    assert macs_by_kind(mobilebert(**extra)) == mobilebert_macs(mobilebert(**extra), M)


def test_mobilebert_block_order_and_no_norm() -> None:
    """MobileBertLayer: the bottlenecks, attention at 16 features (2 heads of 8), two stacked
    FFNs then MobileBertOutput's, each sublayer NoNorm(x + residual) = x * w + b (2 ops), and the
    output bottleneck back to 64 with the layer's input as residual."""
    ops = ops_of(mobilebert())
    names = list(ops)
    assert names[:6] == ["bn_in", "bn_in_norm", "bn_qk", "bn_qk_norm", "qk_proj", "v_proj"]
    assert names[-3:] == ["bn_out", "bn_out_residual", "bn_out_norm"]
    assert [n for n in names if n.endswith("ffn1")] == ["stack1_ffn1", "stack2_ffn1", "ffn1"]
    assert ops["qk"].dims["d"] == 8 and work(ops["v_proj"]) == M * D * 16
    assert work(ops["norm1"]) == 2 * M * 16 and work(ops["bn_out_norm"]) == 2 * M * D
    assert work(ops_of(mobilebert(normalization_type="layer_norm"))["norm1"]) == 8 * M * 16


def test_mobilebert_refusals() -> None:
    assert refused(mobilebert(normalization_type="batch_norm")) == ["hf_config.normalization_type"]
    assert refused(mobilebert(key_query_shared_bottleneck=False)) == [
        "hf_config.key_query_shared_bottleneck"
    ]


def squeezebert(**extra: Any) -> dict[str, Any]:
    return {"model_type": "squeezebert", "hidden_size": D, "num_attention_heads": 4,
            "num_hidden_layers": 2, "intermediate_size": FF, "hidden_act": "gelu",
            "layer_norm_eps": 1e-12, "embedding_size": D, "q_groups": 4, "k_groups": 2,
            "v_groups": 4, "post_attention_groups": 1, "intermediate_groups": 4,
            "output_groups": 8, **extra}  # fmt: skip


def test_squeezebert_grouped_convolutions() -> None:
    """Conv1d(kernel_size=1, groups=g): g blocks of in/g x out/g weights, in x out / g MACs per
    token; the attention output convolution (1 group) a plain projection."""
    assert macs_by_kind(squeezebert()) == squeezebert_macs(squeezebert(), M)
    ops = ops_of(squeezebert())
    assert ops["q_conv"].dims == {"b": 1, "m": M, "g": 4, "e": 16, "f": 16}
    assert ops["k_conv"].size("W") == 2 * 32 * 32  # two diagonal blocks of the 64 x 64 weight
    assert ops["ffn2_conv"].dims == {"b": 1, "m": M, "g": 8, "e": 12, "f": 8}
    assert "g" not in ops["post_conv"].dims


def test_squeezebert_refuses_groups_that_do_not_divide() -> None:
    assert refused(squeezebert(intermediate_groups=5)) == ["hf_config.intermediate_groups"]
    assert refused(squeezebert(embedding_size=32)) == ["hf_config.embedding_size"]


def jetmoe(**extra: Any) -> dict[str, Any]:
    return {"model_type": "jetmoe", "hidden_size": D, "num_attention_heads": 4,
            "num_key_value_heads": 2, "kv_channels": 16, "num_hidden_layers": 2,
            "intermediate_size": FF, "num_local_experts": 4, "num_experts_per_tok": 2,
            "activation_function": "silu", "rms_norm_eps": 1e-6,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}, **extra}  # fmt: skip


def test_jetmoe_mixture_of_attention_heads() -> None:
    """JetMoeMoA: 8 tokens x top-2 over 4 experts, 4 tokens each, each expert projecting
    hidden -> 2 KV heads x 16 queries and back; kv_proj dense; 2 x 2 query heads, each KV head
    serving the k = 2 query heads of its experts."""
    assert macs_by_kind(jetmoe()) == jetmoe_macs(jetmoe(), M)
    ops = ops_of(jetmoe())
    assert ops["q_experts"].dims == {"x": 4, "m": 4, "e": D, "f": 32}
    assert ops["o_experts"].dims == {"x": 4, "m": 4, "e": 32, "f": D}
    assert ops["qk"].dims["h"] == 2 and ops["qk"].dims["r"] == 2
    assert "out_proj" not in ops and "qkv_proj" not in ops
    decode = ops_of(jetmoe(), phase=Phase.DECODE)  # one token: its 2 experts' weights
    assert decode["q_experts"].dims["x"] == 2 and decode["q_experts"].dims["m"] == 1


def test_jetmoe_refuses_heads_that_are_not_k_kv() -> None:
    assert refused(jetmoe(num_attention_heads=8)) == ["hf_config.num_attention_heads"]


def doge(**extra: Any) -> dict[str, Any]:
    return {"model_type": "doge", "hidden_size": D, "num_attention_heads": 4,
            "num_key_value_heads": 2, "num_hidden_layers": 2, "intermediate_size": FF,
            "hidden_act": "silu", "rms_norm_eps": 1e-6, "keep_window_size": 5, "is_moe": False,
            "num_experts": 16384, "num_experts_per_tok": 64,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}, **extra}  # fmt: skip


def test_doge_dynamic_mask_attention() -> None:
    """DogeAttention: dt_proj from the 2 KV heads' values (32 -> 2), exp(A softplus(dt)) (5 ops),
    the mask added to each kept score, the top keep_window_size = 5 of the 8 keys per query; the
    dense DogeMLP (is_moe false: no experts)."""
    assert macs_by_kind(doge()) == doge_macs(doge(), M)
    ops = ops_of(doge())
    assert ops["qk"].dims["n"] == 5 and ops["mask_add"].dims["n"] == 5
    assert work(ops["dt_proj"]) == M * 32 * 2 and work(ops["dt_act"]) == 5 * M * 2
    names = list(ops)
    assert names.index("qk") + 1 == names.index("mask_add") == names.index("softmax") - 1
    assert "router" not in ops and "ffn_gate" in ops
    assert ops_of(doge(), m=4)["qk"].dims["n"] == 4  # fewer keys than the window: all


def test_doge_refuses_its_cross_domain_moe() -> None:
    assert refused(doge(is_moe=True)) == ["hf_config.is_moe"]


@pytest.mark.parametrize(
    ("cfg", "names"),
    [
        (lfm3(layer_types=["full_attention", "sliding_attention"], num_hidden_layers=2),
         {"global.attn_gate_sigmoid", "global.attn_gate", "local.post_mixer_norm"}),
        (privacy_filter(), {"expert_act", "qk"}),
        (squeezebert(), {"q_conv", "ffn2_conv"}),
        (doge(keep_window_size=4), {"dt_proj", "mask_add", "qk"}),
    ],
    ids=["lfm3-head-gate", "privacy-filter-clamped-swiglu", "squeezebert-grouped-conv",
         "doge-dynamic-mask"],
)  # fmt: skip
def test_cli_workload_and_solve(tmp_path: Path, cfg: dict[str, Any], names: set[str]) -> None:
    """The per-head gate (a sigmoid on the heads broadcast over their features), the clamped
    SwiGLU, the grouped convolutions (a group dimension) and Doge's mask (a per-key bias over
    the scores) go through ``cosamt workload`` and are scheduled by ``cosamt solve`` (every
    group proven optimal, the evaluator agreeing)."""
    operators, report = hf_cli_run(tmp_path, cfg, 6)
    assert names <= {op["name"] for op in operators}
    assert report is not None and report["total"]["all_optimal"] is True
    assert names <= solved_operators(report)
