"""Composite Hugging Face configs (encoder and decoder sub-configs): each half read on its own,
accepted as encoder blocks + decoder blocks with cross-attention, or refused naming the
sub-config's field; and from the CLI (``cosamt workload`` exit 0, or exit 2 naming the field)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cosamt.cli import app
from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload

CORPUS = Path(__file__).parent / "data" / "hf_corpus"


def corpus(model_type: str) -> dict[str, Any]:
    return dict(json.loads((CORPUS / f"{model_type}.json").read_text()))


def test_vision_encoder_decoder_keeps_each_halfs_shape() -> None:
    # ViT-B/16 at 224 (pre-norm, 14 x 14 patches + class token) feeding a BERT decoder
    # (post-norm): the encoder's blocks are the ViT's, the decoder's BERT's.
    model = config_from_dict(corpus("vision-encoder-decoder"), source="ved")
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    (enc_plan, enc_ops), (dec_plan, dec_ops) = wl.blocks
    assert (enc_plan.count, enc_plan.m, enc_plan.n) == (12, 197, 197)
    assert (dec_plan.count, dec_plan.m, dec_plan.cross_n) == (12, 16, 197)
    enc_names, dec_names = [o.name for o in enc_ops], [o.name for o in dec_ops]
    assert enc_names[0] == "enc.norm1"  # pre-norm: the norm reads the stream first
    assert dec_names.index("dec.norm1") == dec_names.index("dec.residual1") + 1  # post-norm
    xkv = next(o for o in dec_ops if o.name == "dec.xkv_proj")
    # K and V of the 197 encoder tokens: 197 x 768 x (2 x 768) MACs.
    assert xkv.macs == 197 * 768 * 2 * 768
    assert any("197 image tokens" in a for a in wl.assumptions)


@pytest.mark.parametrize(
    ("model_type", "path"),
    [
        ("fastspeech2_conformer", "hf_config.duration_predictor_layers"),  # text to speech
        ("rag", "hf_config.question_encoder"),
        ("dia_decoder", "hf_config.is_encoder_decoder"),  # a decoder half on its own
        # conformer-like encoders other than ParakeetEncoder (were read as plain transformers)
        ("lasr_encoder", "hf_config.conv_kernel_size"),
        ("granite_speech5_encoder", "hf_config.conv_kernel_size"),
        ("wav2vec2-bert", "hf_config.conv_depthwise_kernel_size"),
    ],
)
def test_composites_not_modelled_are_refused_by_field(model_type: str, path: str) -> None:
    with pytest.raises(InputError) as info:
        config_from_dict(corpus(model_type), source=model_type)
    assert path in [p.path for p in info.value.problems]


def wrong_dia() -> dict[str, Any]:
    """Dia with a cross-attention width that is not its encoder's (1024): refused."""
    cfg = corpus("dia")
    return {**cfg, "decoder_config": {**cfg["decoder_config"], "cross_hidden_size": 2048}}


def test_dia_cross_width_must_be_the_encoders() -> None:
    with pytest.raises(InputError) as info:
        config_from_dict(wrong_dia(), source="dia")
    assert [p.path for p in info.value.problems] == ["hf_config.encoder_config"]


def test_a_halfs_problem_is_rooted_under_its_key() -> None:
    cfg = corpus("encoder-decoder")
    cfg["encoder"] = {**cfg["encoder"], "hidden_size": "wide"}
    with pytest.raises(InputError) as info:
        config_from_dict(cfg, source="x")
    assert "hf_config.encoder.hidden_size" in [p.path for p in info.value.problems]


def test_top_k_from_the_router_class() -> None:
    # Switch routes top-1 and NLLB-MoE top-2 by their router classes (no config field).
    for model_type, k in (("switch_transformers", 1), ("nllb-moe", 2)):
        model = config_from_dict(corpus(model_type), source=model_type)
        assert model.experts_per_token == k
        assert model.encoder is not None and model.encoder.experts_per_token == k


def test_cli_workload_on_composites(tmp_path: Path) -> None:
    for model_type in ("vision-encoder-decoder", "dia"):
        cfg = wrong_dia() if model_type == "dia" else corpus(model_type)
        (tmp_path / f"{model_type}.json").write_text(json.dumps(cfg))
        inst = {"model": {"hf_config": f"{model_type}.json"}, "seq_len": 16, "arch": "edge"}
        (tmp_path / f"inst_{model_type}.json").write_text(json.dumps(inst))
    ok = CliRunner().invoke(app, ["workload", str(tmp_path / "inst_vision-encoder-decoder.json")])
    assert ok.exit_code == 0, ok.output
    assert "197 cross keys" in ok.stdout
    bad = CliRunner().invoke(app, ["workload", str(tmp_path / "inst_dia.json")])
    assert bad.exit_code == 2
    assert "hf_config.encoder_config" in bad.output and "Traceback" not in bad.output


def test_moonshine_halves_differ_in_ffn_form() -> None:
    # Moonshine's flat config: encoder_hidden_act gelu (plain fc1/fc2), decoder_hidden_act silu
    # with the decoder's fc1 twice intermediate_size wide and chunked (a SwiGLU of 1152).
    model = config_from_dict(corpus("moonshine"), source="moonshine")
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    (_, enc_ops), (_, dec_ops) = wl.blocks
    enc = {o.name: o for o in enc_ops}
    dec = {o.name: o for o in dec_ops}
    assert "enc.ffn1" in enc and "enc.ffn_gate" not in enc
    assert enc["enc.ffn1"].macs == 16 * 288 * 1152
    assert dec["dec.ffn_gate"].macs == dec["dec.ffn_up"].macs == 16 * 288 * 1152
    assert "dec.ffn1" not in dec
    assert any("decoder's FFN gated, the encoder's plain" in a for a in wl.assumptions)


def test_switch_transformers_has_moe_in_both_halves() -> None:
    # 12 + 12 layers, every 4th one sparse (3 per half), top-1 of 8 experts by the router class.
    model = config_from_dict(corpus("switch_transformers"), source="switch")
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    counts = {(p.prefix, p.moe): p.count for p, _ in wl.blocks}
    assert counts == {
        ("enc.moe.", True): 3,
        ("enc.dense.", False): 9,
        ("dec.moe.", True): 3,
        ("dec.dense.", False): 9,
    }
    enc_moe = {op.name: op for op in wl.blocks[0][1]}
    # Router: 16 tokens x 768 x 8 experts.
    assert enc_moe["enc.moe.router"].macs == 16 * 768 * 8
    assert any("expert_capacity (64) not applied" in a for a in wl.assumptions)
    assert any("top-1" in a for a in wl.assumptions)


def test_gemma4_per_layer_inputs_and_overrides_are_read() -> None:
    # Gemma 4's full-attention layers have head_dim 512 in per_layer_config (the flat head_dim
    # 256 is the sliding layers'): read as layer groups (tests/test_hf_layer_overrides.py); its
    # per-layer input embeddings as per_layer_input (tests/test_hf_per_layer.py).
    model = config_from_dict(corpus("gemma4_text"), source="gemma4_text")
    assert model.per_layer_input == 256
    assert {g.head_dim for g in model.layer_groups or ()} == {None, 512}
    # No overrides and no per-layer inputs: read as before.
    cfg = {**corpus("gemma4_text"), "per_layer_config": {}, "hidden_size_per_layer_input": 0}
    plain = config_from_dict(cfg, source="x")
    assert plain.head_dim == 256 and plain.per_layer_input is None
