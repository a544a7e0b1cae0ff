"""The structures real models use, each checked against MACs / vector ops worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cosamt.errors import InputError
from cosamt.fusion.schemes import Scheme, segments
from cosamt.types import FusionChoice, Phase
from cosamt.workload.einsum import Einsum
from cosamt.workload.hf import config_from_dict
from cosamt.workload.models import get_model
from cosamt.workload.transformer import build_block, build_workload


def by_name(ops: list[Einsum]) -> dict[str, Einsum]:
    return {op.name: op for op in ops}


LLAMA: dict[str, Any] = {
    "model_type": "llama",
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "intermediate_size": 14336,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-5,
    "rope_theta": 500000.0,
    "vocab_size": 128256,
}


def test_multi_query_has_one_kv_head() -> None:
    cfg = {
        "model_type": "gpt_bigcode",
        "n_embd": 6144,
        "n_layer": 40,
        "n_head": 48,
        "n_inner": 24576,
        "activation_function": "gelu_pytorch_tanh",
        "multi_query": True,
        "layer_norm_epsilon": 1e-5,
        "vocab_size": 49152,
    }
    ops = by_name(build_block(config_from_dict(cfg), Phase.PREFILL, 1, 8))
    # Q: 48 heads of 128, K and V: one head each.
    assert ops["qkv_proj"].dims["f"] == (48 + 2) * 128
    assert ops["qk"].dims == {"b": 1, "h": 1, "r": 48, "m": 8, "n": 8, "d": 128}


def test_mixtral_prefill_routes_two_experts_per_token() -> None:
    ops = by_name(build_block(get_model("mixtral-8x7b"), Phase.PREFILL, 1, 512))
    assert ops["router"].macs == 512 * 4096 * 8
    # 512 tokens x top-2 over 8 experts, balanced: 128 tokens per expert.
    assert ops["expert_gate"].dims == {"x": 8, "m": 128, "e": 4096, "f": 14336}
    experts = sum(ops[n].macs for n in ("expert_gate", "expert_up", "expert_down"))
    assert experts == 2 * 512 * 3 * 4096 * 14336  # twice a dense FFN's MACs
    assert "ffn1" not in ops and "ffn_gate" not in ops


def test_mixtral_decode_reads_two_experts() -> None:
    ops = by_name(build_block(get_model("mixtral-8x7b"), Phase.DECODE, 1, 1024))
    assert ops["expert_up"].dims == {"x": 2, "m": 1, "e": 4096, "f": 14336}
    assert ops["expert_up"].size("W") == 2 * 4096 * 14336  # both touched experts' weights


def test_shared_experts_and_moe_layer_step() -> None:
    cfg = {
        **LLAMA,
        "model_type": "qwen2_moe",
        "num_experts": 60,
        "num_experts_per_tok": 4,
        "moe_intermediate_size": 1408,
        "shared_expert_intermediate_size": 5632,
        "decoder_sparse_step": 2,
    }
    work = build_workload(config_from_dict(cfg), Phase.PREFILL, 1, 30)
    plans = {p.prefix: p.count for p, _ in work.blocks}
    assert plans == {"moe.": 16, "dense.": 16}
    ops = by_name(work.operators)
    # 30 tokens x 4 = 120 assignments over 60 experts: 2 tokens each; the shared expert sees all.
    assert ops["moe.expert_down"].dims == {"x": 60, "m": 2, "e": 1408, "f": 4096}
    assert ops["moe.ffn_gate"].dims == {"b": 1, "m": 30, "e": 4096, "f": 5632}
    assert ops["moe.residual2"].ops_per_point == 2  # routed + shared + stream
    assert ops["dense.ffn_up"].dims["f"] == 14336


@pytest.mark.parametrize(
    ("image", "patch", "model_type", "tokens"),
    [(224, 16, "vit", 197), (384, 16, "vit", 577), (224, 14, "vit", 257), (224, 16, "deit", 198)],
)
def test_vision_tokens_from_image_and_patch(
    image: int, patch: int, model_type: str, tokens: int
) -> None:
    cfg = {
        "model_type": model_type,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-12,
        "image_size": image,
        "patch_size": patch,
    }
    model = config_from_dict(cfg)
    assert model.image_tokens == tokens
    assert by_name(build_block(model, Phase.PREFILL, 1, tokens))["qk"].dims["m"] == tokens
    with pytest.raises(InputError) as info:
        build_block(model, Phase.PREFILL, 1, 64)
    assert [p.path for p in info.value.problems] == ["seq_len"]


@pytest.mark.parametrize(("phase", "seq"), [(Phase.PREFILL, 8192), (Phase.DECODE, 8192)])
def test_sliding_window_caps_keys(phase: Phase, seq: int) -> None:
    ops = by_name(build_block(get_model("mistral-7b"), phase, 1, seq))
    assert ops["qk"].dims["n"] == 4096
    assert ops["qk"].dims["m"] == (seq if phase is Phase.PREFILL else 1)


def test_gemma2_alternating_window_is_two_block_types() -> None:
    work = build_workload(get_model("gemma2-9b"), Phase.PREFILL, 1, 8192)
    assert [(p.prefix, p.count, p.n) for p, _ in work.blocks] == [
        ("local.", 21, 4096),
        ("global.", 21, 8192),
    ]
    short = build_workload(get_model("gemma2-9b"), Phase.PREFILL, 1, 1024)
    assert [(p.prefix, p.count) for p, _ in short.blocks] == [("", 42)]


def test_gelu_gated_ffn() -> None:
    cfg = {**LLAMA, "model_type": "gemma", "hidden_act": "gelu_pytorch_tanh", "head_dim": 256}
    model = config_from_dict(cfg)
    assert model.activation == "geglu"
    ops = by_name(build_block(model, Phase.PREFILL, 1, 4))
    assert {"ffn_gate", "ffn_up", "ffn2"} <= set(ops)
    assert ops["act"].ops_per_point == 8 + 1  # tanh GELU, then the product with up


def test_pre_norm_writes_the_residual_stream() -> None:
    ops = build_block(get_model("gpt2"), Phase.PREFILL, 1, 64)
    names = [o.name for o in ops]
    assert names[0] == "norm1" and names[-1] == "residual2"
    assert names.index("residual1") < names.index("norm2") < names.index("ffn1")
    segs = {s.name: s for s in segments(ops, FusionChoice.ALL)}
    # The epilogue is the projection and the add: its output (the stream) goes to DRAM; the
    # norm that follows reads it back.
    (epi,) = segs["out_proj"].candidates[1]
    assert epi.scheme is Scheme.EPILOGUE and epi.source_ops == ("out_proj", "residual1")
    assert epi.on_chip == {"T0"}
    assert "norm2" in segs and len(segs["norm2"].candidates) == 1


def test_cross_attention_flag_adds_a_block() -> None:
    cfg = {
        "model_type": "gpt2",
        "n_embd": 768,
        "n_layer": 12,
        "n_head": 12,
        "n_inner": None,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5,
        "vocab_size": 50257,
        "add_cross_attention": True,
    }
    ops = by_name(build_block(config_from_dict(cfg), Phase.PREFILL, 1, 16))
    assert ops["xq_proj"].macs == 16 * 768 * 768
    assert ops["xkv_proj"].macs == 16 * 768 * 2 * 768
    assert ops["xqk"].macs == 12 * 16 * 16 * 64


def test_rotary_is_a_vector_operator() -> None:
    ops = by_name(build_block(get_model("llama3-8b"), Phase.PREFILL, 1, 512))
    # 512 tokens x (32 query + 8 key heads) x 128 features x 3 ops = 7,864,320.
    assert ops["rope"].vector_ops == 512 * 40 * 128 * 3 == 7_864_320
    partial = config_from_dict(
        {
            **LLAMA,
            "model_type": "gpt_neox",
            "rope_parameters": {"partial_rotary_factor": 0.25, "rope_theta": 1e4},
            "rope_theta": None,
        }
    )
    assert partial.rotary_dim == 32


def test_missing_hidden_act_is_refused() -> None:
    cfg = {k: v for k, v in LLAMA.items() if k != "hidden_act"}
    with pytest.raises(InputError) as info:
        config_from_dict(cfg)
    assert [p.path for p in info.value.problems] == ["hf_config.hidden_act"]


def test_t5_encoder_decoder() -> None:
    t5 = get_model("t5-base")
    pre = build_workload(t5, Phase.PREFILL, 1, 128)
    assert [(p.prefix, p.count) for p, _ in pre.blocks] == [("enc.", 12), ("dec.", 12)]
    ops = by_name(pre.operators)
    assert ops["dec.xkv_proj"].macs == 128 * 768 * 2 * 768
    assert ops["dec.xqk"].dims == {"b": 1, "h": 12, "m": 128, "n": 128, "d": 64}
    dec = build_workload(t5, Phase.DECODE, 1, 128)
    assert [p.prefix for p, _ in dec.blocks] == ["dec."]
    names = {o.name for o in dec.operators}
    assert "dec.xkv_proj" not in names and "dec.xqk" in names
    segs = [s.name for s in segments(pre.operators, FusionChoice.ALL)]
    assert {"enc.attention", "dec.attention", "dec.cross_attention", "enc.ffn", "dec.ffn"} <= set(
        segs
    )


def test_whisper_encoder_is_1500_frames() -> None:
    ops = by_name(build_block(get_model("whisper-small"), Phase.PREFILL, 1, 64))
    assert ops["enc.qk"].dims["m"] == ops["enc.qk"].dims["n"] == 1500
    assert ops["dec.xqk"].dims["n"] == 1500 and ops["dec.qk"].dims["m"] == 64


def test_parallel_block_one_add() -> None:
    ops = build_block(get_model("falcon-7b"), Phase.PREFILL, 1, 16)
    names = [o.name for o in ops]
    assert names.count("norm1") == 1 and "norm2" not in names
    res = by_name(ops)["residual"]
    assert [t.name for t in res.operands] == ["A", "B", "C"] and res.ops_per_point == 2
    assert by_name(ops)["qkv_proj"].dims["f"] == (71 + 2) * 64


def test_lm_head_group() -> None:
    model = get_model("llama3.1-8b")
    ops = by_name(build_block(model, Phase.PREFILL, 1, 16, lm_head=True))
    assert ops["lm_head"].macs == 16 * 4096 * 128256 and ops["lm_head"].count == 1
    dec = by_name(build_block(model, Phase.DECODE, 1, 16, lm_head=True))
    assert dec["lm_head"].dims["m"] == 1
    with pytest.raises(InputError):
        build_block(get_model("bert-base"), Phase.PREFILL, 1, 16, lm_head=True)


def test_expert_chain_is_fused() -> None:
    ops = build_block(get_model("mixtral-8x7b"), Phase.DECODE, 1, 64)
    seg = next(s for s in segments(ops, FusionChoice.ALL) if s.name == "experts")
    (chain,) = seg.candidates[1]
    assert chain.scheme is Scheme.FFN_CHAIN and chain.shared_dims == {"x", "m", "f"}


def test_hf_shipped_agree(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(LLAMA))
    from cosamt.workload.models import load_hf_config

    a = build_block(load_hf_config(path), Phase.PREFILL, 1, 64)
    b = build_block(get_model("llama3.1-8b"), Phase.PREFILL, 1, 64)
    assert [o.signature() for o in a] == [o.signature() for o in b]


# DeepSeek-V2-Lite's config.json (deepseek-ai/DeepSeek-V2-Lite), the fields that shape it.
DSV2_LITE: dict[str, Any] = {
    "model_type": "deepseek_v2",
    "hidden_size": 2048,
    "num_hidden_layers": 27,
    "num_attention_heads": 16,
    "num_key_value_heads": 16,
    "q_lora_rank": None,
    "kv_lora_rank": 512,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "v_head_dim": 128,
    "intermediate_size": 10944,
    "moe_intermediate_size": 1408,
    "n_routed_experts": 64,
    "n_shared_experts": 2,
    "num_experts_per_tok": 6,
    "first_k_dense_replace": 1,
    "moe_layer_freq": 1,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000,
    "vocab_size": 102400,
}


@pytest.mark.parametrize(("phase", "m"), [(Phase.PREFILL, 64), (Phase.DECODE, 1)])
def test_mla_latent_projections(phase: Phase, m: int) -> None:
    ops = by_name(build_block(config_from_dict(DSV2_LITE), phase, 1, 64))
    # No q_lora_rank: one query projection to 16 heads of 128 + 64 features.
    assert ops["moe.q_proj"].dims == {"b": 1, "m": m, "e": 2048, "f": 16 * 192}
    assert "moe.q_down" not in ops
    # The KV latent (512) and the rotated key part shared by the heads (64), then per head the
    # non-rotary key (128) and the value (128) decompressed from the latent.
    assert ops["moe.kv_down"].dims == {"b": 1, "m": m, "e": 2048, "f": 512 + 64}
    assert ops["moe.kv_norm"].dims == {"b": 1, "m": m, "f": 512}
    assert ops["moe.kv_up"].dims == {"b": 1, "m": m, "e": 512, "f": 16 * (128 + 128)}
    assert ops["moe.rope"].dims["f"] == (16 + 1) * 64
    assert ops["moe.qk"].dims == {"b": 1, "h": 16, "m": m, "n": 64, "d": 192}
    assert ops["moe.av"].dims == {"b": 1, "h": 16, "m": m, "n": 64, "d": 128}
    assert ops["moe.out_proj"].dims == {"b": 1, "m": m, "e": 16 * 128, "f": 2048}
    assert ops["moe.out_proj"].count == 26 and ops["dense.out_proj"].count == 1


def test_mla_query_latent() -> None:
    cfg = {**DSV2_LITE, "q_lora_rank": 1536}
    ops = by_name(build_block(config_from_dict(cfg), Phase.PREFILL, 1, 8))
    assert ops["moe.q_down"].dims["f"] == 1536
    assert ops["moe.q_norm"].dims == {"b": 1, "m": 8, "f": 1536}
    assert ops["moe.q_up"].dims == {"b": 1, "m": 8, "e": 1536, "f": 16 * 192}
    assert "moe.q_proj" not in ops


@pytest.mark.parametrize(
    ("change", "field"),
    [({"v_head_dim": None}, "v_head_dim"), ({"num_key_value_heads": 4}, "num_key_value_heads")],
)
def test_mla_refusals_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as exc:
        config_from_dict({**DSV2_LITE, **change})
    assert any(p.path == f"hf_config.{field}" for p in exc.value.problems)


def test_deepseek_v2_lite_shipped_is_its_config() -> None:
    a = build_block(config_from_dict(DSV2_LITE), Phase.DECODE, 1, 64)
    b = build_block(get_model("deepseek-v2-lite"), Phase.DECODE, 1, 64)
    assert [o.signature() for o in a] == [o.signature() for o in b]


def test_value_head_dim_narrower_than_keys() -> None:
    ops = by_name(build_block(config_from_dict({**LLAMA, "v_head_dim": 96}), Phase.PREFILL, 1, 8))
    # Q and K: 32 and 8 heads of 128; V: 8 heads of 96; P.V and the output projection use 96.
    assert ops["qkv_proj"].dims["f"] == (32 + 8) * 128 + 8 * 96
    assert ops["qk"].dims["d"] == 128 and ops["av"].dims["d"] == 96
    assert ops["out_proj"].dims == {"b": 1, "m": 8, "e": 32 * 96, "f": 4096}


def test_head_dim_floor_in_llama_derived_code() -> None:
    # GLM-4.5's default config: 96 heads do not divide 4096 and no head_dim; its code takes
    # hidden_size // num_attention_heads = 42.
    model = config_from_dict({**LLAMA, "model_type": "glm4_moe", "num_attention_heads": 96})
    assert model.dh == 42 and any("42" in a for a in model.assumptions)
    with pytest.raises(InputError):  # a BERT-like family's code refuses that split
        config_from_dict({**LLAMA, "model_type": "bert", "num_attention_heads": 96})


def test_xielu_is_a_plain_activation() -> None:
    cfg = {**LLAMA, "model_type": "apertus", "hidden_act": "xielu"}
    ops = by_name(build_block(config_from_dict(cfg), Phase.PREFILL, 1, 8))
    assert "ffn_gate" not in ops and ops["ffn1"].dims["f"] == 14336
    assert ops["act"].vector_ops == 8 * 14336 * 10  # both branches and the select


def test_all_moe_layers_need_no_dense_width() -> None:
    cfg = {k: v for k, v in LLAMA.items() if k != "intermediate_size"}
    cfg |= {"num_local_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 1024}
    ops = by_name(build_block(config_from_dict(cfg), Phase.PREFILL, 1, 8))
    assert ops["expert_up"].dims["f"] == 1024 and "ffn2" not in ops
    with pytest.raises(InputError) as exc:  # a dense layer would need the width
        config_from_dict({**cfg, "first_k_dense_replace": 1})
    assert any(p.path == "hf_config.intermediate_size" for p in exc.value.problems)


def test_composite_config_reads_its_language_model() -> None:
    # InternVL keeps the language model in llm_config; a top-level hidden_size (Voxtral copies
    # the text model's) does not make the composite a model of its own: it has no layers.
    cfg = {"model_type": "internvl_chat", "hidden_size": 4096, "llm_config": LLAMA,
           "vision_config": {"hidden_size": 1024, "num_hidden_layers": 24}}  # fmt: skip
    model = config_from_dict(cfg)
    assert model.n_layers == 32 and model.d_model == 4096
    assert "composite config: the language model (llm_config) only" in model.assumptions[0]
    with pytest.raises(InputError) as exc:  # a detector with a text tower stays a detector
        config_from_dict({"model_type": "omdet-turbo", "num_queries": 900, "text_config": LLAMA})
    # OmDet-Turbo by the token counts no field gives (hf_deformable.REFUSED); others by queries.
    assert [p.path for p in exc.value.problems] == ["hf_config.backbone_config"]
    with pytest.raises(InputError) as exc:
        config_from_dict({"model_type": "a-detector", "num_queries": 900, "text_config": LLAMA})
    assert [p.path for p in exc.value.problems] == ["hf_config.num_queries"]


SWIN_T: dict[str, Any] = {
    "model_type": "swin", "image_size": 224, "patch_size": 4, "embed_dim": 96,
    "depths": [2, 2, 6, 2], "num_heads": [3, 6, 12, 24], "window_size": 7, "mlp_ratio": 4.0,
    "hidden_act": "gelu", "layer_norm_eps": 1e-5,
}  # fmt: skip


def test_swin_stages_and_windows() -> None:
    model = config_from_dict(SWIN_T)
    ops = by_name(build_block(model, Phase.PREFILL, 1, 56 * 56))
    # Stage 1: 56x56 tokens in 64 windows of 7x7, 3 heads of 32; attention within a window.
    assert ops["s1.qk"].dims == {"b": 64, "h": 3, "m": 49, "n": 49, "d": 32}
    assert ops["s1.qkv_proj"].dims == {"b": 64, "m": 49, "e": 96, "f": 3 * 96}
    assert ops["s1.qk"].count == 2 and ops["s3.qk"].count == 6
    # Patch merging into stage 2: 28x28 tokens, 4 x 96 -> 2 x 96.
    assert ops["merge1.reduction"].dims == {"b": 1, "m": 784, "e": 384, "f": 192}
    # Stage 4: the 7x7 grid is one window; 24 heads of 32 over 768 features.
    assert ops["s4.qk"].dims == {"b": 1, "h": 24, "m": 49, "n": 49, "d": 32}
    assert ops["s4.ffn1"].dims == {"b": 1, "m": 49, "e": 768, "f": 3072}
    with pytest.raises(InputError):
        build_block(model, Phase.DECODE, 1, 56 * 56)


def test_swin_padding_is_refused() -> None:
    with pytest.raises(InputError) as exc:  # 64 / 4 = 16: not tiled by 7x7 windows
        config_from_dict({**SWIN_T, "image_size": 64})
    assert "padding is not modelled" in str(exc.value.problems)


DETR: dict[str, Any] = {
    "model_type": "detr", "is_encoder_decoder": True, "d_model": 256, "encoder_layers": 6,
    "decoder_layers": 6, "encoder_attention_heads": 8, "decoder_attention_heads": 8,
    "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048, "activation_function": "relu",
    "num_queries": 100,
}  # fmt: skip


def test_detr_decoder_runs_its_object_queries() -> None:
    model = config_from_dict(DETR)
    # An 800 x 1088 image through ResNet-50: a 25 x 34 feature map, 850 encoder tokens.
    ops = by_name(build_block(model, Phase.PREFILL, 1, 850))
    assert ops["enc.qk"].dims == {"b": 1, "h": 8, "m": 850, "n": 850, "d": 32}
    assert ops["dec.qk"].dims == {"b": 1, "h": 8, "m": 100, "n": 100, "d": 32}
    assert ops["dec.xqk"].dims == {"b": 1, "h": 8, "m": 100, "n": 850, "d": 32}
    assert ops["dec.xkv_proj"].dims == {"b": 1, "m": 850, "e": 256, "f": 2 * 256}
    assert ops["dec.ffn1"].dims == {"b": 1, "m": 100, "e": 256, "f": 2048}
    assert not model.decoder  # no decode phase: the queries are decoded at once
    with pytest.raises(InputError):
        build_block(model, Phase.DECODE, 1, 850)
    # Conditional DETR's cross-attention scores [content | spatial] halves: 2 x 32 per head.
    cond = by_name(build_block(config_from_dict({**DETR, "model_type": "conditional_detr"}),
                               Phase.PREFILL, 1, 850))  # fmt: skip
    assert cond["dec.xqk"].dims == {"b": 1, "h": 8, "m": 100, "n": 850, "d": 64}
    assert cond["dec.xav"].dims == {"b": 1, "h": 8, "m": 100, "n": 850, "d": 32}
    with pytest.raises(InputError) as exc:  # deformable attention is not plain DETR's
        config_from_dict({**DETR, "decoder_n_points": 4})
    assert any(p.path == "hf_config.decoder_n_points" for p in exc.value.problems)


def test_window_and_moe_split_four_block_types() -> None:
    # EXAONE-MoE's pattern: three windowed layers then a global one; layer 0 dense, the rest MoE.
    kinds = ["sliding_attention"] * 3 + ["full_attention"]
    cfg = {**LLAMA, "model_type": "exaone_moe", "sliding_window": 4096,
           "layer_types": kinds * 8, "mlp_layer_types": ["dense"] + ["sparse"] * 31,
           "num_experts": 64, "num_experts_per_tok": 8, "moe_intermediate_size": 1024}  # fmt: skip
    work = build_workload(config_from_dict(cfg), Phase.PREFILL, 1, 8192)
    counts = {plan.prefix: (plan.count, plan.n, plan.moe) for plan, _ in work.blocks}
    # 24 windowed layers (23 MoE + layer 0 dense), 8 global ones (all MoE); none global and dense.
    assert counts == {
        "local.moe.": (23, 4096, True),
        "local.dense.": (1, 4096, False),
        "global.moe.": (8, 8192, True),
    }
    ops = by_name(work.operators)
    assert ops["local.moe.qk"].dims["n"] == 4096 and ops["global.moe.expert_up"].count == 8
    assert ops["local.dense.ffn_gate"].dims["f"] == 14336


def test_mlp_only_layers_are_dense() -> None:
    # Qwen2-MoE's rule: layer i is MoE unless listed, and only every decoder_sparse_step-th.
    cfg = {**LLAMA, "model_type": "qwen2_moe", "num_experts": 8, "num_experts_per_tok": 2,
           "moe_intermediate_size": 512, "mlp_only_layers": [0, 1, 5], "decoder_sparse_step": 2}  # fmt: skip
    model = config_from_dict(cfg)
    # MoE layers: odd i (i + 1 even) not in {0, 1, 5}: 3, 7, 9, ..., 31 -> 16 - 2 = 14.
    assert model.moe_layers == 14
