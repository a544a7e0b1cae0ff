"""Conformer speech encoders (transformers' ParakeetEncoder: Canary's, Cohere ASR's): the
operators of one block and the front-end against the modelling source's shapes, the refusals by
name, and a small composite end to end through ``cosamt workload`` and ``cosamt solve``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hf_conformer_formulas import (
    block_macs,
    frontend_macs,
    streaming_frontend_macs,
    tdt_macs,
)
from typer.testing import CliRunner

from cosamt.cli import app
from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

CORPUS = Path(__file__).parent / "data" / "hf_corpus"


def corpus(model_type: str) -> dict[str, Any]:
    return dict(json.loads((CORPUS / f"{model_type}.json").read_text()))


def tiny_canary() -> dict[str, Any]:
    """Canary's default config with small widths (the structure unchanged)."""
    cfg = corpus("canary")
    small = {"hidden_size": 64, "intermediate_size": 256, "num_attention_heads": 2,
             "num_key_value_heads": 2, "num_hidden_layers": 2}  # fmt: skip
    cfg["encoder_config"].update(small, num_mel_bins=32, subsampling_conv_channels=16)
    cfg["decoder_config"].update(small, head_dim=32, vocab_size=100)
    return cfg


def test_block_operators_follow_the_source() -> None:
    # Canary's encoder at 16 frames: 1024 wide, 8 heads of 128, conv kernel 9, 32 layers.
    model = config_from_dict(corpus("canary"), source="canary")
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    plans = {plan.prefix: (plan, {o.name: o for o in ops}) for plan, ops in wl.blocks}
    sub_plan, sub = plans["enc.sub."]
    enc_plan, enc = plans["enc."]
    assert (sub_plan.count, enc_plan.count) == (1, 32)
    # relative_k_proj on the 2T - 1 = 31 relative positions; (q + v) R^T against all of them.
    assert enc["enc.pos_proj"].dims == {"b": 1, "m": 31, "e": 1024, "f": 1024}
    assert enc["enc.pos_qk"].dims == {"b": 1, "h": 8, "m": 16, "n": 31, "d": 128}
    assert enc["enc.att_qk"].dims["n"] == 16
    # Convolution module: pointwise to 2 x hidden, depthwise of 9 taps, pointwise back.
    assert enc["enc.conv_pw1"].macs == 16 * 1024 * 2048
    assert enc["enc.conv_dw"].dims == {"b": 1, "m": 16, "f": 1024, "j": 9}
    ordered = [o.name for o in wl.blocks[1][1]]
    assert ordered.index("enc.pos_add") < ordered.index("enc.att_softmax")
    assert ordered[-1] == "enc.out_norm"
    # Front-end on 128 mel frames x 128 bins: 64 x 64, 32 x 32, 16 x 16 (stride 2, kernel 3).
    assert sub["enc.sub.conv1"].dims == {"b": 1, "m": 64 * 64, "e": 9, "f": 256}
    assert sub["enc.sub.dw3"].dims == {"b": 1, "m": 16 * 16, "j": 9, "f": 256}
    assert sub["enc.sub.linear"].dims == {"b": 1, "m": 16, "e": 256 * 16, "f": 1024}
    enc_cfg = corpus("canary")["encoder_config"]
    assert model_macs(sub.values()) == frontend_macs(enc_cfg, 16)
    assert model_macs(enc.values()) == 32 * block_macs(enc_cfg, 16)
    assert any("8x subsampling front-end" in a for a in wl.assumptions)


def test_the_encoder_alone_is_an_encoder() -> None:
    model = config_from_dict(corpus("parakeet_encoder"), source="parakeet_encoder")
    assert model.conformer is not None and not model.decoder
    prefixes = [plan.prefix for plan, _ in build_workload(model, Phase.PREFILL, 1, 16).blocks]
    assert prefixes == ["sub.", "enc."]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"subsampling_factor": 6}, "hf_config.encoder_config.subsampling_factor"),
        ({"num_mel_bins": 81}, "hf_config.encoder_config.num_mel_bins"),  # 41, 21, 11 != 10
    ],
)
def test_front_ends_the_source_cannot_build_are_refused(change: dict[str, Any], path: str) -> None:
    cfg = corpus("canary")
    cfg["encoder_config"].update(change)
    with pytest.raises(InputError) as info:
        config_from_dict(cfg, source="canary")
    assert path in [p.path for p in info.value.problems]


def test_cli_workload_and_solve_on_a_small_canary(tmp_path: Path) -> None:
    (tmp_path / "canary.json").write_text(json.dumps(tiny_canary()))
    inst = {"model": {"hf_config": "canary.json"}, "seq_len": 16, "arch": "edge",
            "options": {"time_limit_s": 30, "threads": 1}}  # fmt: skip
    (tmp_path / "inst.json").write_text(json.dumps(inst))
    shown = CliRunner().invoke(app, ["workload", str(tmp_path / "inst.json")])
    assert shown.exit_code == 0, shown.output
    assert "enc.pos_qk" in shown.stdout and "enc.sub.conv1" in shown.stdout
    solved = CliRunner().invoke(app, ["solve", str(tmp_path / "inst.json"), "--json"])
    assert solved.exit_code == 0, solved.output
    assert "enc.conv_dw" in solved.stdout


def test_cohere_asr_projects_the_encoder_output_every_forward() -> None:
    # CohereAsrDecoder.proj: Linear(1280, 1024) on the 16 encoder frames, in prefill and again
    # in every decode step (the decoder's forward runs it whatever the cross K/V cache holds).
    model = config_from_dict(corpus("cohere_asr"), source="cohere_asr")
    assert model.encoder is not None and (model.encoder.d_model, model.d_model) == (1280, 1024)
    for phase in (Phase.PREFILL, Phase.DECODE):
        wl = build_workload(model, phase, 1, 16)
        ops = {o.name: o for o in wl.operators}
        assert ops["dec.xproj.enc_proj"].dims == {"b": 1, "m": 16, "e": 1280, "f": 1024}
        if phase is Phase.PREFILL:  # the cross K/V read the projected, 1024-wide output
            assert ops["dec.xkv_proj"].dims["e"] == 1024
        assert any("1280 -> 1024" in a for a in wl.assumptions)


def tiny_tdt() -> dict[str, Any]:
    """Parakeet TDT's default config with small widths (the structure unchanged)."""
    cfg = corpus("parakeet_tdt")
    cfg["encoder_config"].update(hidden_size=64, intermediate_size=256, num_attention_heads=2,
                                 num_key_value_heads=2, num_hidden_layers=2,
                                 subsampling_conv_channels=16)  # fmt: skip
    cfg.update(decoder_hidden_size=32, vocab_size=50)
    return cfg


def test_tdt_prediction_and_joint_networks() -> None:
    # ParakeetForTDT: encoder_projector 1024 -> 640; a 2-layer nn.LSTM(640, 640): per layer
    # and token W_ih (640 x 2560) and W_hh (640 x 2560); the joint head over 16 x 16 frame x
    # token pairs to 8193 + 5 logits.
    model = config_from_dict(corpus("parakeet_tdt"), source="parakeet_tdt")
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    ops = {o.name: o for o in wl.operators}
    assert ops["dec.enc_proj.proj"].dims == {"b": 1, "m": 16, "e": 1024, "f": 640}
    assert ops["dec.lstm.lstm_hh"].dims == {"b": 1, "m": 16, "e": 640, "f": 2560}
    assert ops["dec.lstm.lstm_ih"].count == 2
    assert ops["dec.joint.joint_head"].macs == 16 * 16 * 640 * (8193 + 5)
    assert ops["dec.joint.joint_add"].dims == {"b": 1, "m": 16, "n": 16, "f": 640}
    assert not any("cross-attention" in a or "causal self-attention" in a for a in wl.assumptions)
    step = {o.name: o for o in build_workload(model, Phase.DECODE, 1, 16).operators}
    assert "dec.enc_proj.proj" not in step and "enc.att_qk" not in step  # ran before decode
    assert step["dec.lstm.lstm_hh"].dims["m"] == 1
    assert step["dec.joint.joint_head"].macs == 640 * (8193 + 5)


@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_cli_solve_on_a_small_tdt(tmp_path: Path, phase: str) -> None:
    (tmp_path / "tdt.json").write_text(json.dumps(tiny_tdt()))
    inst = {"model": {"hf_config": "tdt.json"}, "seq_len": 16, "arch": "edge", "phase": phase,
            "options": {"time_limit_s": 30, "threads": 1}}  # fmt: skip
    (tmp_path / "inst.json").write_text(json.dumps(inst))
    solved = CliRunner().invoke(app, ["solve", str(tmp_path / "inst.json"), "--json"])
    assert solved.exit_code == 0, solved.output
    assert "dec.joint.joint_head" in solved.stdout and "dec.lstm.lstm_cell" in solved.stdout


def test_rnnt_joint_head_has_no_duration_logits() -> None:
    # ParakeetRNNTJointNetwork.head: Linear(decoder_hidden_size, vocab_size), 8193 outputs
    # (ParakeetTDTJointNetwork adds len(durations)); the rest is the TDT's.
    model = config_from_dict(corpus("parakeet_rnnt"), source="parakeet_rnnt")
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    ops = {o.name: o for o in wl.operators}
    assert ops["dec.joint.joint_head"].macs == 16 * 16 * 640 * 8193
    assert ops["dec.lstm.lstm_ih"].count == 2
    assert any("ParakeetForRNNT.forward" in a for a in wl.assumptions)
    assert any("no duration head" in a for a in wl.assumptions)


def test_streaming_conformer_front_end_norm_and_mask() -> None:
    # NemotronAsrStreamingEncoder at 16 frames: causal padding (2 before, 1 after) makes each
    # convolution L -> L // 2 + 1, so 121 mel frames (the most giving 16) -> 61 -> 31 -> 16, and
    # 80 bins -> 41 -> 21 -> 11: the linear layer reads 256 x 11 (subsampling_out_hidden_size).
    model = config_from_dict(corpus("nemotron_asr_streaming"), source="nemotron_asr_streaming")
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    plans = {plan.prefix: {o.name: o for o in ops} for plan, ops in wl.blocks}
    sub, enc = plans["enc.sub."], plans["enc."]
    assert sub["enc.sub.conv1"].dims == {"b": 1, "m": 61 * 41, "e": 9, "f": 256}
    assert sub["enc.sub.dw3"].dims == {"b": 1, "m": 16 * 11, "j": 9, "f": 256}
    assert sub["enc.sub.linear"].dims == {"b": 1, "m": 16, "e": 256 * 11, "f": 1024}
    enc_cfg = corpus("nemotron_asr_streaming")["encoder_config"]
    assert model_macs(sub.values()) == streaming_frontend_macs(enc_cfg, 16)
    assert model_macs(enc.values()) == 24 * block_macs(enc_cfg, 16)
    # A LayerNorm after the causal depthwise conv, not a batch norm; the scores in full.
    assert "enc.conv_ln" in enc and "enc.conv_bn" not in enc
    assert enc["enc.att_qk"].dims["n"] == 16 and enc["enc.pos_qk"].dims["n"] == 31
    assert model.encoder is not None and model.encoder.sliding_window is None
    assert any("chunk-limited mask" in a and "84 keys" in a for a in wl.assumptions)


def test_nemotron3_5_asr_fuses_the_prompt_before_the_projector() -> None:
    # Nemotron3_5AsrPromptProjector: Linear(1024 + 128, 2048), ReLU, Linear(2048, 1024) on every
    # frame, then encoder_projector 1024 -> 640; the RNN-T head to 13088 logits.
    cfg = corpus("nemotron3_5_asr")
    model = config_from_dict(cfg, source="nemotron3_5_asr")
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    ops = {o.name: o for o in wl.operators}
    names = [o.name for o in wl.operators if o.name.startswith("dec.enc_proj.")]
    assert names == ["dec.enc_proj.prompt_up", "dec.enc_proj.prompt_act",
                     "dec.enc_proj.prompt_down", "dec.enc_proj.proj"]  # fmt: skip
    assert ops["dec.enc_proj.prompt_up"].dims == {"b": 1, "m": 16, "e": 1152, "f": 2048}
    decoder = sum(o.macs * o.count for o in wl.operators if o.name.startswith("dec."))
    assert decoder == tdt_macs(cfg, 16, 16)
    assert any("Nemotron3_5AsrPromptProjector" in a for a in wl.assumptions)
    step = {o.name for o in build_workload(model, Phase.DECODE, 1, 16).operators}
    assert not any(name.startswith("dec.enc_proj.") for name in step)  # ran before decode


def test_cli_workload_and_solve_on_a_small_nemotron3_5_asr(tmp_path: Path) -> None:
    cfg = corpus("nemotron3_5_asr")
    cfg["encoder_config"].update(hidden_size=64, intermediate_size=256, num_attention_heads=2,
                                 num_key_value_heads=2, num_hidden_layers=2,
                                 subsampling_conv_channels=16)  # fmt: skip
    cfg.update(decoder_hidden_size=32, vocab_size=50, num_prompts=8, prompt_intermediate_size=64)
    (tmp_path / "asr.json").write_text(json.dumps(cfg))
    inst = {"model": {"hf_config": "asr.json"}, "seq_len": 16, "arch": "edge",
            "options": {"time_limit_s": 30, "threads": 1}}  # fmt: skip
    (tmp_path / "inst.json").write_text(json.dumps(inst))
    shown = CliRunner().invoke(app, ["workload", str(tmp_path / "inst.json")])
    assert shown.exit_code == 0, shown.output
    assert "dec.enc_proj.prompt_up" in shown.stdout and "enc.conv_ln" in shown.stdout
    solved = CliRunner().invoke(app, ["solve", str(tmp_path / "inst.json"), "--json"])
    assert solved.exit_code == 0, solved.output
    assert "dec.enc_proj.prompt_down" in solved.stdout and "enc.conv_ln" in solved.stdout
