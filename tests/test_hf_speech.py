"""Speech and music composites (cosamt/workload/hf_speech.py): the operators against the
modelling source's shapes, the stated back-ends, and a small instance end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hf_speech_formulas import (
    musicgen_macs,
    musicgen_melody_macs,
    seamless_macs,
    speecht5_macs,
    wav2vec2_macs,
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


def test_musicgen_text_encoder_projection_and_codebook_heads() -> None:
    # MusicgenForConditionalGeneration: T5 text encoder (6 x 512), enc_to_dec_proj 512 -> 1024
    # on the 16 text states, 24 decoder layers cross-attending to them; the 4 lm_heads of 2048.
    cfg = corpus("musicgen")
    model = config_from_dict(cfg, source="musicgen")
    assert model.encoder is not None and (model.encoder.d_model, model.d_model) == (512, 1024)
    assert model.vocab_size == 4 * 2048
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    ops = {o.name: o for o in wl.operators}
    assert ops["dec.xproj.enc_proj"].dims == {"b": 1, "m": 16, "e": 512, "f": 1024}
    assert ops["dec.xkv_proj"].dims["e"] == 1024
    got = {"encoder": 0, "dense": 0}
    for plan, block in wl.blocks:
        got["encoder" if plan.prefix.startswith("enc.") else "dense"] += model_macs(block)
    assert got == musicgen_macs(cfg, 16)
    assert any("EnCodec" in a and "back-end" in a for a in wl.assumptions)
    assert any("classifier-free guidance" in a for a in wl.assumptions)
    # Every forward re-projects the text states (generation passes encoder_outputs each step).
    step = {o.name for o in build_workload(model, Phase.DECODE, 1, 16).operators}
    assert "dec.xproj.enc_proj" in step and "enc.qkv_proj" not in step
    assert any("EnCodec" in a for a in build_workload(model, Phase.DECODE, 1, 16).assumptions)


def test_cli_workload_and_solve_on_a_small_musicgen(tmp_path: Path) -> None:
    cfg = corpus("musicgen")
    cfg["text_encoder"].update(d_model=32, d_ff=64, num_heads=2, d_kv=16, num_layers=1)
    cfg["decoder"].update(hidden_size=64, ffn_dim=128, num_attention_heads=2,
                          num_hidden_layers=1, vocab_size=32)  # fmt: skip
    (tmp_path / "musicgen.json").write_text(json.dumps(cfg))
    inst = {"model": {"hf_config": "musicgen.json"}, "seq_len": 16, "arch": "edge",
            "options": {"time_limit_s": 30, "threads": 1}}  # fmt: skip
    (tmp_path / "inst.json").write_text(json.dumps(inst))
    shown = CliRunner().invoke(app, ["workload", str(tmp_path / "inst.json")])
    assert shown.exit_code == 0, shown.output
    assert "dec.xproj.enc_proj" in shown.stdout and "EnCodec" in shown.stdout
    solved = CliRunner().invoke(app, ["solve", str(tmp_path / "inst.json"), "--json"])
    assert solved.exit_code == 0, solved.output
    assert "dec.xav" in solved.stdout


def test_wav2vec2_feature_encoder_follows_the_source() -> None:
    # SpeechEncoderDecoderModel's default wav2vec2 encoder at 16 frames: the fewest samples,
    # 400 + 15 x 320 = 5200; conv1 Conv1d(1, 512, 10, 5) -> 1039 frames, conv2 (512, 512, 3, 2)
    # -> 519, ... conv7 (2, 2) -> 16; the grouped position conv (128 taps, 16 groups of 48) on
    # 17 frames; post-norm Wav2Vec2EncoderLayers.
    cfg = corpus("speech-encoder-decoder")
    model = config_from_dict(cfg, source="speech-encoder-decoder")
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    plans = {plan.prefix: {o.name: o for o in ops} for plan, ops in wl.blocks}
    feat = plans["enc.feat."]
    assert feat["enc.feat.conv1"].dims == {"b": 1, "m": 1039, "e": 10, "f": 512}
    assert feat["enc.feat.conv2"].dims == {"b": 1, "m": 519, "e": 512 * 3, "f": 512}
    assert feat["enc.feat.conv7"].dims["m"] == 16
    assert "enc.feat.norm1" in feat and "enc.feat.norm2" not in feat  # GroupNorm on conv1 only
    assert feat["enc.feat.proj"].dims == {"b": 1, "m": 16, "e": 512, "f": 768}
    assert feat["enc.feat.pos_conv"].dims == {"b": 1, "m": 17, "j": 128, "g": 16, "e": 48,
                                              "f": 48}  # fmt: skip
    names = [o.name for o in wl.blocks[1][1]]
    assert names.index("enc.norm1") == names.index("enc.residual1") + 1  # post-norm
    encoder = sum(model_macs(ops) for plan, ops in wl.blocks if plan.prefix.startswith("enc."))
    assert encoder == wav2vec2_macs(cfg["encoder"], 16)
    assert any("5200 waveform samples" in a for a in wl.assumptions)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"do_stable_layer_norm": True}, "hf_config.encoder.do_stable_layer_norm"),
        ({"add_adapter": True}, "hf_config.encoder.add_adapter"),
        ({"feat_extract_norm": "batch"}, "hf_config.encoder.feat_extract_norm"),
        ({"conv_stride": [5, 2]}, "hf_config.encoder.conv_stride"),
    ],
)
def test_wav2vec2_variants_not_modelled_are_refused(change: dict[str, Any], path: str) -> None:
    cfg = corpus("speech-encoder-decoder")
    cfg["encoder"].update(change)
    with pytest.raises(InputError) as info:
        config_from_dict(cfg, source="speech-encoder-decoder")
    assert path in [p.path for p in info.value.problems]


def test_cli_workload_and_solve_on_a_small_speech_encoder_decoder(tmp_path: Path) -> None:
    cfg = corpus("speech-encoder-decoder")
    cfg["encoder"].update(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                          num_hidden_layers=1, conv_dim=[8, 8], conv_kernel=[4, 2],
                          conv_stride=[2, 2], num_feat_extract_layers=2,
                          num_conv_pos_embeddings=4, num_conv_pos_embedding_groups=2)  # fmt: skip
    cfg["decoder"].update(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                          num_hidden_layers=1, vocab_size=50)  # fmt: skip
    (tmp_path / "sed.json").write_text(json.dumps(cfg))
    inst = {"model": {"hf_config": "sed.json"}, "seq_len": 16, "arch": "edge",
            "options": {"time_limit_s": 30, "threads": 1}}  # fmt: skip
    (tmp_path / "inst.json").write_text(json.dumps(inst))
    shown = CliRunner().invoke(app, ["workload", str(tmp_path / "inst.json")])
    assert shown.exit_code == 0, shown.output
    assert "enc.feat.pos_conv" in shown.stdout and "enc.feat.conv1" in shown.stdout
    solved = CliRunner().invoke(app, ["solve", str(tmp_path / "inst.json"), "--json"])
    assert solved.exit_code == 0, solved.output
    assert "enc.feat.pos_conv" in solved.stdout and "dec.xav" in solved.stdout


def test_speecht5_relative_bias_and_post_norm_decoder() -> None:
    # SpeechT5ForSpeechToText: the speech prenet (wav2vec2's convolutions), 12 encoder layers
    # whose scores get q . position_bias (12 heads x 16 x 16 x 64 more MACs), 6 post-norm
    # decoder layers with cross-attention over the 16 frames.
    cfg = corpus("speecht5")
    model = config_from_dict(cfg, source="speecht5")
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    blocks = {plan.prefix: [o.name for o in ops] for plan, ops in wl.blocks}
    ops = {o.name: o for o in wl.operators}
    enc, dec = blocks["enc."], blocks["dec."]
    assert enc.index("enc.qk") < enc.index("enc.pos_qk") < enc.index("enc.pos_add")
    assert enc.index("enc.pos_add") < enc.index("enc.softmax")
    assert ops["enc.pos_qk"].dims == {"b": 1, "h": 12, "m": 16, "n": 16, "d": 64}
    assert ops["enc.pos_qk"].count == 12
    assert "dec.pos_qk" not in dec  # the decoder's SpeechT5Attention gets no position_bias
    assert dec.index("dec.xnorm") == dec.index("dec.xresidual") + 1  # post-norm
    assert ops["enc.feat.conv1"].dims == {"b": 1, "m": 1039, "e": 10, "f": 512}
    got = {"encoder": 0, "dense": 0}
    for plan, block in wl.blocks:
        got["encoder" if plan.prefix.startswith("enc.") else "dense"] += model_macs(block)
    assert got == speecht5_macs(cfg, 16)
    assert any("SpeechT5ForSpeechToText" in a for a in wl.assumptions)
    assert any("relative position bias" in a for a in wl.assumptions)


def test_cli_workload_and_solve_on_a_small_speecht5(tmp_path: Path) -> None:
    cfg = corpus("speecht5")
    cfg.update(hidden_size=32, encoder_ffn_dim=64, decoder_ffn_dim=64, encoder_layers=1,
               decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
               conv_dim=[8, 8], conv_kernel=[4, 2], conv_stride=[2, 2],
               num_feat_extract_layers=2, num_conv_pos_embeddings=4,
               num_conv_pos_embedding_groups=2)  # fmt: skip
    (tmp_path / "t5.json").write_text(json.dumps(cfg))
    inst = {"model": {"hf_config": "t5.json"}, "seq_len": 16, "arch": "edge",
            "options": {"time_limit_s": 30, "threads": 1}}  # fmt: skip
    (tmp_path / "inst.json").write_text(json.dumps(inst))
    shown = CliRunner().invoke(app, ["workload", str(tmp_path / "inst.json")])
    assert shown.exit_code == 0, shown.output
    assert "enc.pos_qk" in shown.stdout
    solved = CliRunner().invoke(app, ["solve", str(tmp_path / "inst.json"), "--json"])
    assert solved.exit_code == 0, solved.output
    assert "enc.pos_qk" in solved.stdout and "enc.feat.pos_conv" in solved.stdout


def test_musicgen_melody_prepends_its_conditioning() -> None:
    # MusicgenMelodyForConditionalGeneration: 235 chroma frames (12 -> 1024) and the 16 text
    # states (512 -> 1024) prepended to the 16 decoder steps: 267 positions of self-attention,
    # no cross-attention; in decode one step against 267 cached keys.
    cfg = corpus("musicgen_melody")
    model = config_from_dict(cfg, source="musicgen_melody")
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    ops = {o.name: o for o in wl.operators}
    assert ops["dec.cond.text_proj"].dims == {"b": 1, "m": 16, "e": 512, "f": 1024}
    assert ops["dec.cond.chroma_proj"].dims == {"b": 1, "m": 235, "e": 12, "f": 1024}
    assert ops["dec.qk"].dims["m"] == ops["dec.qk"].dims["n"] == 267
    assert not any(name.startswith("dec.x") for name in ops)
    got = {"encoder": 0, "dense": 0}
    for plan, block in wl.blocks:
        got["encoder" if plan.prefix.startswith("enc.") else "dense"] += model_macs(block)
    assert got == musicgen_melody_macs(cfg, 16)
    assert any("prepended, no cross-attention" in a for a in wl.assumptions)
    step = build_workload(model, Phase.DECODE, 1, 16)
    qk = next(o for o in step.operators if o.name == "dec.qk")
    assert (qk.dims["m"], qk.dims["n"]) == (1, 267)
    assert not any(o.name.startswith(("enc.", "dec.cond.")) for o in step.operators)
    # The lm_heads (4 x 2048) on every prefill position, the prefix's included.
    head = build_workload(model, Phase.PREFILL, 1, 16, lm_head=True).head
    assert {o.name: o.dims["m"] for o in head} == {"final_norm": 267, "lm_head": 267}


def test_musicgen_melody_without_chroma_length_is_refused() -> None:
    cfg = corpus("musicgen_melody")
    cfg["chroma_length"] = None
    with pytest.raises(InputError) as info:
        config_from_dict(cfg, source="musicgen_melody")
    assert "hf_config.chroma_length" in [p.path for p in info.value.problems]


def test_cli_workload_and_solve_on_a_small_musicgen_melody(tmp_path: Path) -> None:
    cfg = corpus("musicgen_melody")
    cfg.update(chroma_length=8, num_chroma=12)
    cfg["text_encoder"].update(d_model=32, d_ff=64, num_heads=2, d_kv=16, num_layers=1)
    cfg["decoder"].update(hidden_size=64, ffn_dim=128, num_attention_heads=2,
                          num_hidden_layers=1, vocab_size=32)  # fmt: skip
    (tmp_path / "melody.json").write_text(json.dumps(cfg))
    inst = {"model": {"hf_config": "melody.json"}, "seq_len": 8, "arch": "edge",
            "options": {"time_limit_s": 30, "threads": 1}}  # fmt: skip
    (tmp_path / "inst.json").write_text(json.dumps(inst))
    shown = CliRunner().invoke(app, ["workload", str(tmp_path / "inst.json")])
    assert shown.exit_code == 0, shown.output
    assert "dec.cond.chroma_proj" in shown.stdout
    solved = CliRunner().invoke(app, ["solve", str(tmp_path / "inst.json"), "--json"])
    assert solved.exit_code == 0, solved.output
    assert "dec.cond.text_proj" in solved.stdout and "dec.av" in solved.stdout


@pytest.mark.parametrize("model_type", ["seamless_m4t", "seamless_m4t_v2"])
def test_seamless_is_read_as_its_text_to_text_model(model_type: str) -> None:
    # SeamlessM4TForTextToText: 24 pre-norm encoder layers, 24 pre-norm decoder layers with
    # cross-attention (1024 wide, 16 heads, FFN 8192, ReLU); the speech towers stated away.
    cfg = corpus(model_type)
    model = config_from_dict(cfg, source=model_type)
    assert model.encoder is not None and model.encoder.norm_position == "pre"
    assert (model.encoder_layers, model.n_layers, model.d_ff) == (24, 24, 8192)
    wl = build_workload(model, Phase.PREFILL, 1, 16)
    got = {"encoder": 0, "dense": 0}
    for plan, block in wl.blocks:
        got["encoder" if plan.prefix.startswith("enc.") else "dense"] += model_macs(block)
    assert got == seamless_macs(cfg, 16)
    assert any("ForTextToText" in a and "speech encoder" in a for a in wl.assumptions)
