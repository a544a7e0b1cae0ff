"""Model configs, the Hugging Face loader and the per-block Einsum operators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.einsum import Einsum, OpKind, Role
from cosamt.workload.models import ModelConfig, get_model, list_models, load_hf_config
from cosamt.workload.transformer import build_block, build_workload, model_macs

SHIPPED = [
    "gpt2",
    "gpt2-medium",
    "gpt2-large",
    "gpt2-xl",
    "bert-base",
    "bert-large",
    "llama2-7b",
    "llama3-8b",
    "vit-b16",
    "flat-bert",
    "flat-trxl",
    "flat-t5",
    "flat-xlm",
    "llama3.1-8b",
    "llama3.1-70b",
    "mistral-7b",
    "mixtral-8x7b",
    "qwen2.5-7b",
    "gemma2-9b",
    "phi3-mini",
    "falcon-7b",
    "gpt-j-6b",
    "opt-1.3b",
    "t5-base",
    "whisper-small",
    "deit-b",
    "deepseek-v2-lite",
]


def by_name(ops: list[Einsum]) -> dict[str, Einsum]:
    return {op.name: op for op in ops}


# ---- shipped models ---------------------------------------------------------------------------


def test_all_shipped_models_listed() -> None:
    assert sorted(SHIPPED) == list_models()


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("phase", [Phase.PREFILL, Phase.DECODE])
def test_every_shipped_model_loads_and_builds(name: str, phase: Phase) -> None:
    model = get_model(name)
    assert model.name == name
    assert model.source.strip()
    if phase is Phase.DECODE and not model.decoder:
        with pytest.raises(InputError):
            build_block(model, phase, 1, 128)
        return
    work = build_workload(model, phase, 2, model.default_seq_len or 128)
    ops = work.operators
    assert model_macs(ops) > 0
    for plan, block in work.blocks:
        assert all(op.count == plan.count for op in block)
        names = [op.name.removeprefix(plan.prefix) for op in block]
        qkv = "kv_up" if model.mla else "qkv_proj"  # MLA: K and V from the latent
        for required in (qkv, "qk", "softmax", "av", "out_proj"):
            assert required in names
        assert names.index(qkv) < names.index("qk") < names.index("av")
    assert sum(plan.count for plan, _ in work.blocks) == model.n_layers + (
        model.encoder_layers or 0 if phase is Phase.PREFILL else 0
    )


@pytest.mark.parametrize(
    ("name", "layers", "d_model", "heads", "kv_heads", "dh", "d_ff"),
    [
        ("gpt2", 12, 768, 12, 12, 64, 3072),
        ("gpt2-medium", 24, 1024, 16, 16, 64, 4096),
        ("gpt2-large", 36, 1280, 20, 20, 64, 5120),
        ("gpt2-xl", 48, 1600, 25, 25, 64, 6400),
        ("bert-base", 12, 768, 12, 12, 64, 3072),
        ("bert-large", 24, 1024, 16, 16, 64, 4096),
        ("llama2-7b", 32, 4096, 32, 32, 128, 11008),
        ("llama3-8b", 32, 4096, 32, 8, 128, 14336),
        ("vit-b16", 12, 768, 12, 12, 64, 3072),
        # Published config.json numbers of the families users ask for first.
        ("llama3.1-8b", 32, 4096, 32, 8, 128, 14336),
        ("llama3.1-70b", 80, 8192, 64, 8, 128, 28672),
        ("mistral-7b", 32, 4096, 32, 8, 128, 14336),
        ("mixtral-8x7b", 32, 4096, 32, 8, 128, 14336),
        ("qwen2.5-7b", 28, 3584, 28, 4, 128, 18944),
        ("gemma2-9b", 42, 3584, 16, 8, 256, 14336),
        ("phi3-mini", 32, 3072, 32, 32, 96, 8192),
        ("falcon-7b", 32, 4544, 71, 1, 64, 18176),
        ("gpt-j-6b", 28, 4096, 16, 16, 256, 16384),
        ("opt-1.3b", 24, 2048, 32, 32, 64, 8192),
        ("t5-base", 12, 768, 12, 12, 64, 3072),
        ("whisper-small", 12, 768, 12, 12, 64, 3072),
        ("deit-b", 12, 768, 12, 12, 64, 3072),
        ("deepseek-v2-lite", 27, 2048, 16, 16, 128 + 64, 10944),  # QK head dim: nope + rope
    ],
)
def test_shipped_numbers(
    name: str, layers: int, d_model: int, heads: int, kv_heads: int, dh: int, d_ff: int
) -> None:
    m = get_model(name)
    assert (m.n_layers, m.d_model, m.n_heads, m.kv_heads, m.dh, m.d_ff) == (
        layers,
        d_model,
        heads,
        kv_heads,
        dh,
        d_ff,
    )


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("mixtral-8x7b", {"n_experts": 8, "experts_per_token": 2, "activation": "swiglu"}),
        ("mistral-7b", {"sliding_window": 4096, "sliding_layers": None}),
        ("gemma2-9b", {"sliding_window": 4096, "sliding_layers": 21, "activation": "geglu"}),
        ("phi3-mini", {"sliding_window": 2047, "activation": "swiglu"}),
        ("falcon-7b", {"parallel": True, "parallel_norms": 1, "rotary_dim": 64}),
        ("gpt-j-6b", {"parallel": True, "rotary_dim": 64, "activation": "gelu"}),
        ("opt-1.3b", {"norm_position": "pre", "activation": "relu", "rotary_dim": None}),
        ("t5-base", {"encoder_layers": 12, "norm": "rmsnorm", "activation": "relu"}),
        ("whisper-small", {"encoder_layers": 12, "encoder_tokens": 1500}),
        ("deit-b", {"image_tokens": 14 * 14 + 2, "decoder": False}),
        ("vit-b16", {"image_tokens": 14 * 14 + 1, "norm_position": "pre"}),
        ("gpt2", {"norm_position": "pre", "vocab_size": 50257}),
        ("bert-base", {"norm_position": "post"}),
        (
            "deepseek-v2-lite",
            {
                "kv_lora_rank": 512,
                "q_lora_rank": None,
                "v_head_dim": 128,
                "rotary_dim": 64,
                "n_experts": 64,
                "experts_per_token": 6,
                "expert_d_ff": 1408,
                "shared_d_ff": 2 * 1408,
                "moe_layers": 26,
            },
        ),
    ],
)
def test_shipped_structure(name: str, fields: dict[str, Any]) -> None:
    m = get_model(name)
    assert {k: getattr(m, k) for k in fields} == fields


def test_unknown_model() -> None:
    with pytest.raises(InputError) as info:
        get_model("gpt5")
    (problem,) = info.value.problems
    assert problem.path == "model"
    assert "unknown model 'gpt5'" in problem.message
    assert "gpt2" in problem.message


@pytest.mark.parametrize(
    "fields",
    [
        {"n_kv_heads": 5},  # does not divide 12
        {"n_heads": 7},  # does not divide 768, no head_dim
        {"n_layers": 0},
        {"d_model": "768"},  # strict ints
        {"bogus": 1},  # extra key
    ],
)
def test_model_config_validation(fields: dict[str, Any]) -> None:
    base: dict[str, Any] = {
        "name": "x",
        "n_layers": 2,
        "d_model": 768,
        "n_heads": 12,
        "d_ff": 3072,
    }
    with pytest.raises(ValueError):
        ModelConfig.model_validate({**base, **fields})


def test_head_dim_override() -> None:
    m = ModelConfig(name="x", n_layers=1, d_model=100, n_heads=3, head_dim=32, d_ff=400)
    assert m.dh == 32
    assert m.kv_heads == 3


# ---- operators: textbook MAC counts ---------------------------------------------------------


def test_gpt2_prefill_macs() -> None:
    ops = build_block(get_model("gpt2"), Phase.PREFILL, 1, 1024)
    macs = {op.name: op.macs for op in ops if op.kind is OpKind.MAC}
    assert macs == {
        "qkv_proj": 1024 * 768 * 2304,
        "qk": 12 * 1024 * 1024 * 64,
        "av": 12 * 1024 * 1024 * 64,
        "out_proj": 1024 * 768 * 768,
        "ffn1": 1024 * 768 * 3072,
        "ffn2": 1024 * 3072 * 768,
    }
    per_block = (
        1024 * 768 * 2304
        + 12 * 1024 * 1024 * 64
        + 12 * 1024 * 1024 * 64
        + 1024 * 768 * 768
        + 1024 * 768 * 3072
        + 1024 * 3072 * 768
    )
    assert sum(macs.values()) == per_block
    assert model_macs(ops) == 12 * per_block
    # The usual closed form: 12 L d^2 + 2 L^2 d per layer (d = 768, L = 1024).
    assert per_block == 12 * 1024 * 768**2 + 2 * 1024**2 * 768


def test_gpt2_prefill_vector_ops() -> None:
    ops = by_name(build_block(get_model("gpt2"), Phase.PREFILL, 1, 1024))
    assert ops["softmax"].vector_ops == 12 * 1024 * 1024 * 5
    assert ops["act"].op == "gelu"
    assert ops["act"].vector_ops == 1024 * 3072 * 8
    assert ops["residual1"].vector_ops == 1024 * 768 * 1
    assert ops["norm1"].op == "layernorm"
    assert ops["norm2"].vector_ops == 1024 * 768 * 8
    assert all(op.macs == 0 for op in ops.values() if op.kind is OpKind.VECTOR)


@pytest.mark.parametrize("batch", [1, 4])
def test_gpt2_decode_macs(batch: int) -> None:
    seq = 1024
    ops = by_name(build_block(get_model("gpt2"), Phase.DECODE, batch, seq))
    assert ops["qk"].dims == {"b": batch, "h": 12, "m": 1, "n": seq, "d": 64}
    assert ops["qkv_proj"].macs == batch * 1 * 768 * 2304
    assert ops["qk"].macs == batch * 12 * 1 * 1024 * 64
    assert ops["av"].macs == batch * 12 * 1 * 1024 * 64
    assert ops["out_proj"].macs == batch * 768 * 768
    assert ops["ffn1"].macs == batch * 768 * 3072
    assert ops["ffn2"].macs == batch * 3072 * 768
    per_block = batch * (768 * 2304 + 2 * 12 * 1024 * 64 + 768 * 768 + 2 * 768 * 3072)
    assert model_macs(ops.values()) == 12 * per_block


def test_mha_has_no_r() -> None:
    ops = by_name(build_block(get_model("llama2-7b"), Phase.PREFILL, 1, 16))
    assert "r" not in ops["qk"].dims
    assert ops["qk"].tensor("Q").dims == ("b", "h", "m", "d")
    assert ops["qk"].dims["h"] == 32


def test_llama3_gqa_dims() -> None:
    model = get_model("llama3-8b")
    ops = by_name(build_block(model, Phase.DECODE, 1, 4096))
    qk = ops["qk"]
    assert qk.dims == {"b": 1, "h": 8, "r": 4, "m": 1, "n": 4096, "d": 128}
    assert qk.tensor("Q").dims == ("b", "h", "r", "m", "d")
    assert qk.tensor("K").dims == ("b", "h", "n", "d")
    assert qk.tensor("S").dims == ("b", "h", "r", "m", "n")
    assert qk.reduction_dims == ("d",)
    av = ops["av"]
    assert av.tensor("V").dims == ("b", "h", "n", "d")
    assert av.tensor("O").dims == ("b", "h", "r", "m", "d")
    assert av.reduction_dims == ("n",)
    assert ops["softmax"].dims == {"b": 1, "h": 8, "r": 4, "m": 1, "n": 4096}
    # Q (32 heads) + K, V (8 heads each), 128 wide.
    assert ops["qkv_proj"].dims == {"b": 1, "m": 1, "e": 4096, "f": (32 + 2 * 8) * 128}
    # SwiGLU: gate and up GEMMs, a two-input activation, no ffn1.
    assert "ffn1" not in ops
    assert ops["ffn_gate"].dims == ops["ffn_up"].dims == {"b": 1, "m": 1, "e": 4096, "f": 14336}
    act = ops["act"]
    assert (act.op, act.ops_per_point) == ("swiglu", 5)
    assert [t.name for t in act.operands] == ["G", "U"]
    assert ops["norm1"].op == "rmsnorm"
    assert ops["norm1"].ops_per_point == 4
    assert ops["norm1"].tensor("G").role is Role.WEIGHT


def test_vit_default_seq_len() -> None:
    model = get_model("vit-b16")
    assert model.default_seq_len == 197 == 14 * 14 + 1
    ops = by_name(build_block(model, Phase.PREFILL, 1, model.default_seq_len))
    assert ops["qk"].dims == {"b": 1, "h": 12, "m": 197, "n": 197, "d": 64}


def test_projection_roles() -> None:
    ops = by_name(build_block(get_model("bert-base"), Phase.PREFILL, 1, 8))
    proj = ops["qkv_proj"]
    assert [(t.name, t.dims, t.role) for t in proj.tensors] == [
        ("X", ("b", "m", "e"), Role.INPUT),
        ("W", ("e", "f"), Role.WEIGHT),
        ("Y", ("b", "m", "f"), Role.OUTPUT),
    ]
    assert proj.reduction_dims == ("e",)
    assert ops["qk"].tensor("K").role is Role.INPUT


@pytest.mark.parametrize("name", ["bert-base", "vit-b16", "flat-xlm"])
def test_decode_of_encoder_raises(name: str) -> None:
    with pytest.raises(InputError) as info:
        build_block(get_model(name), Phase.DECODE, 1, 128)
    assert [p.path for p in info.value.problems] == ["phase"]


@pytest.mark.parametrize(("batch", "seq_len", "path"), [(0, 8, "batch"), (1, 0, "seq_len")])
def test_bad_sizes_raise(batch: int, seq_len: int, path: str) -> None:
    with pytest.raises(InputError) as info:
        build_block(get_model("gpt2"), Phase.PREFILL, batch, seq_len)
    assert [p.path for p in info.value.problems] == [path]


# ---- Hugging Face config.json -----------------------------------------------------------------

HF_CONFIGS: dict[str, dict[str, Any]] = {
    "gpt2": {
        "model_type": "gpt2",
        "n_embd": 768,
        "n_layer": 12,
        "n_head": 12,
        "n_inner": None,
        "activation_function": "gelu_new",
        "n_positions": 1024,
    },
    "bert": {
        "model_type": "bert",
        "hidden_size": 1024,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "intermediate_size": 4096,
        "hidden_act": "gelu",
    },
    "llama": {
        "model_type": "llama",
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "intermediate_size": 14336,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
    },
    "vit": {
        "model_type": "vit",
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "image_size": 224,
        "patch_size": 16,
    },
}


def write_config(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "gpt2",
            {
                "n_layers": 12,
                "d_model": 768,
                "n_heads": 12,
                "kv_heads": 12,
                "d_ff": 3072,
                "activation": "gelu",
                "norm": "layernorm",
                "decoder": True,
                "default_seq_len": None,
            },
        ),
        (
            "bert",
            {
                "n_layers": 24,
                "d_model": 1024,
                "n_heads": 16,
                "kv_heads": 16,
                "d_ff": 4096,
                "activation": "gelu",
                "norm": "layernorm",
                "decoder": False,
                "default_seq_len": None,
            },
        ),
        (
            "llama",
            {
                "n_layers": 32,
                "d_model": 4096,
                "n_heads": 32,
                "kv_heads": 8,
                "d_ff": 14336,
                "activation": "swiglu",
                "norm": "rmsnorm",
                "decoder": True,
                "default_seq_len": None,
            },
        ),
        (
            "vit",
            {
                "n_layers": 12,
                "d_model": 768,
                "n_heads": 12,
                "kv_heads": 12,
                "d_ff": 3072,
                "activation": "gelu",
                "norm": "layernorm",
                "decoder": False,
                "default_seq_len": 197,
            },
        ),
    ],
)
def test_hf_loader(tmp_path: Path, kind: str, expected: dict[str, Any]) -> None:
    model = load_hf_config(write_config(tmp_path, HF_CONFIGS[kind]))
    assert {k: getattr(model, k) for k in expected} == expected
    assert model.name == kind
    assert model.source
    assert model_macs(build_block(model, Phase.PREFILL, 1, model.default_seq_len or 64)) > 0


def test_hf_loader_matches_shipped(tmp_path: Path) -> None:
    loaded = load_hf_config(write_config(tmp_path, HF_CONFIGS["llama"]), name="llama3-8b")
    shipped = get_model("llama3-8b")
    assert loaded.name == "llama3-8b"
    ops_a = build_block(loaded, Phase.DECODE, 1, 512)
    ops_b = build_block(shipped, Phase.DECODE, 1, 512)
    assert [op.signature() for op in ops_a] == [op.signature() for op in ops_b]


def test_hf_gpt2_n_inner(tmp_path: Path) -> None:
    model = load_hf_config(write_config(tmp_path, {**HF_CONFIGS["gpt2"], "n_inner": 1000}))
    assert model.d_ff == 1000


@pytest.mark.parametrize(
    ("data", "path"),
    [
        # MLA without its head dims: the first one missing is named.
        ({**HF_CONFIGS["llama"], "kv_lora_rank": 512}, "hf_config.qk_nope_head_dim"),
        ({**HF_CONFIGS["bert"], "attention_window": 512}, "hf_config.attention_window"),
        (
            {k: v for k, v in HF_CONFIGS["bert"].items() if k != "hidden_size"},
            "hf_config.hidden_size",
        ),
        (
            {k: v for k, v in HF_CONFIGS["gpt2"].items() if k != "n_head"},
            "hf_config.num_attention_heads",  # the first of the aliases looked for
        ),
        (
            {k: v for k, v in HF_CONFIGS["vit"].items() if k != "patch_size"},
            "hf_config.patch_size",
        ),
        ({**HF_CONFIGS["bert"], "hidden_size": "big"}, "hf_config.hidden_size"),
        # a gated relu2 is modelled (BitNet: relu2glu); a gated xIELU is not
        ({**HF_CONFIGS["llama"], "hidden_act": "xielu"}, "hf_config.hidden_act"),
        ({**HF_CONFIGS["llama"], "num_key_value_heads": 5}, "hf_config"),
    ],
)
def test_hf_loader_errors(tmp_path: Path, data: dict[str, Any], path: str) -> None:
    with pytest.raises(InputError) as info:
        load_hf_config(write_config(tmp_path, data))
    assert path in [p.path for p in info.value.problems]


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_hf_loader_malformed(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_hf_config(path)
    assert [p.path for p in info.value.problems] == ["hf_config"]


def test_hf_loader_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_hf_config(tmp_path / "nope.json")
