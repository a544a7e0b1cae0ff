"""Encoder-decoder variants (cosamt/workload/hf_encdec.py, encdec_ops.py): Conditional DETR's and
DAB-DETR's conditional cross-attention, Dia's cross-attention of its own widths. MACs against
tests/hf_encdec_formulas.py (written from transformers' modelling code); small configs solved end
to end through the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hf_encdec_formulas import (
    conditional_detr_macs,
    dia_macs,
    informer_macs,
    moonshine_streaming_macs,
    prophetnet_macs,
)
from support import hf_cli_run, listed_macs, solved_operators

from cosamt.errors import InputError
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs


def detr(model_type: str, **extra: Any) -> dict[str, Any]:
    width = "hidden_size" if model_type == "dab-detr" else "d_model"
    cfg = {
        "model_type": model_type, width: 16, "encoder_layers": 2, "decoder_layers": 3,
        "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 32,
        "decoder_ffn_dim": 32, "num_queries": 6, "is_encoder_decoder": True,
        "activation_function": "prelu" if model_type == "dab-detr" else "relu",
    }  # fmt: skip
    return {**cfg, **extra}


def dia(**cross: Any) -> dict[str, Any]:
    enc = {"model_type": "dia_encoder", "hidden_size": 16, "intermediate_size": 32,
           "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 8,
           "num_hidden_layers": 2, "hidden_act": "silu", "norm_eps": 1e-5,
           "rope_parameters": {"rope_theta": 10000.0}}  # fmt: skip
    dec = {**enc, "model_type": "dia_decoder", "hidden_size": 32, "intermediate_size": 64,
           "num_attention_heads": 4, "num_key_value_heads": 1, "num_hidden_layers": 2,
           "cross_hidden_size": 16, "cross_num_attention_heads": 2,
           "cross_num_key_value_heads": 2, "cross_head_dim": 8, **cross}  # fmt: skip
    return {"model_type": "dia", "is_encoder_decoder": True, "encoder_config": enc,
            "decoder_config": dec}  # fmt: skip


def blocks(cfg: dict[str, Any], seq: int) -> dict[str, int]:
    model = config_from_dict(cfg, source="test")
    out: dict[str, int] = {}
    for plan, ops in build_workload(model, "prefill", 1, seq).blocks:
        kind = "encoder" if plan.prefix.startswith("enc.") else "dense"
        out[kind] = out.get(kind, 0) + model_macs(ops)
    return out


def refused(cfg: dict[str, Any]) -> list[str]:
    with pytest.raises(InputError) as exc:
        config_from_dict(cfg, source="test")
    return [p.path for p in exc.value.problems]


@pytest.mark.parametrize(
    "cfg",
    [
        detr("conditional_detr"),
        detr("conditional_detr", decoder_layers=1),
        detr("dab-detr"),
        detr("dab-detr", keep_query_pos=True),
        detr("dab-detr", num_patterns=3),
    ],
)
def test_conditional_detr_macs(cfg: dict[str, Any]) -> None:
    assert blocks(cfg, 10) == conditional_detr_macs(cfg, 10)


def test_first_decoder_layer_is_its_own_block() -> None:
    model = config_from_dict(detr("conditional_detr"), source="test")
    plans = [(p.prefix, p.count) for p, _ in build_workload(model, "prefill", 1, 10).blocks]
    assert plans == [("enc.", 2), ("dec.first.", 1), ("dec.", 2)]


def test_dia_macs() -> None:
    assert blocks(dia(), 7) == dia_macs(dia(), 7)


def test_refusals() -> None:
    assert refused(detr("dab-detr", query_dim=2)) == ["hf_config.query_dim"]
    assert refused(dia(cross_hidden_size=32)) == ["hf_config.encoder_config"]
    assert refused(dia(cross_head_dim=None)) == [
        "hf_config.encoder_config",
        "hf_config.decoder_config.cross_hidden_size",
    ]


def moonshine_streaming(**enc: Any) -> dict[str, Any]:
    encoder = {"model_type": "moonshine_streaming_encoder", "hidden_size": 16, "head_dim": 8,
               "intermediate_size": 32, "num_attention_heads": 2, "num_key_value_heads": 2,
               "num_hidden_layers": 3, "hidden_act": "gelu",
               "sliding_windows": [[4, 2], [4, 0], [3, 3]], **enc}  # fmt: skip
    return {"model_type": "moonshine_streaming", "is_encoder_decoder": True,
            "encoder_config": encoder, "hidden_size": 16, "intermediate_size": 32,
            "num_attention_heads": 2, "num_hidden_layers": 2, "hidden_act": "silu",
            "rope_parameters": {"rope_theta": 10000.0, "partial_rotary_factor": 0.5}}  # fmt: skip


@pytest.mark.parametrize("seq", [3, 4, 12])
def test_moonshine_streaming_windows(seq: int) -> None:
    cfg = moonshine_streaming()
    assert blocks(cfg, seq) == moonshine_streaming_macs(cfg, seq)


def test_moonshine_streaming_block_types() -> None:
    model = config_from_dict(moonshine_streaming(), source="test")
    plans = [(p.prefix, p.count, p.n) for p, _ in build_workload(model, "prefill", 1, 12).blocks]
    assert plans == [("enc.w4.", 1, 4), ("enc.w5.", 2, 5), ("dec.", 2, 12)]


def test_moonshine_streaming_projects_a_narrower_encoder() -> None:
    cfg = moonshine_streaming(hidden_size=8, head_dim=4)
    assert blocks(cfg, 12) == moonshine_streaming_macs(cfg, 12)


def test_moonshine_streaming_refusals() -> None:
    bad = moonshine_streaming(sliding_windows=[[4, 2], [4, 0]])  # two pairs for three layers
    assert refused(bad) == ["hf_config.encoder_config.sliding_windows"]
    assert refused(moonshine_streaming(sliding_windows=[[0, 1], [4, 0], [3, 3]])) == [
        "hf_config.encoder_config.sliding_windows"
    ]
    assert refused(moonshine_streaming()["encoder_config"]) == ["hf_config.sliding_windows"]


def prophetnet(**extra: Any) -> dict[str, Any]:
    cfg = {"model_type": "prophetnet", "is_encoder_decoder": True, "add_cross_attention": True,
           "hidden_size": 16, "num_encoder_attention_heads": 2, "num_decoder_attention_heads": 2,
           "encoder_ffn_dim": 32, "decoder_ffn_dim": 32, "num_encoder_layers": 2,
           "num_decoder_layers": 2, "ngram": 2, "num_buckets": 4, "activation_function": "gelu"}  # fmt: skip
    return {**cfg, **extra}


@pytest.mark.parametrize("ngram", [1, 2, 3])
def test_prophetnet_streams(ngram: int) -> None:
    cfg = prophetnet(ngram=ngram)
    assert blocks(cfg, 6) == prophetnet_macs(cfg, 6)


def test_prophetnet_decode() -> None:
    # One new token per stream against 9 cached main-stream keys: the main stream's query over
    # them, each predicting stream's over them and its own token (10); the cross K/V cached.
    cfg = prophetnet()
    model = config_from_dict(cfg, source="test")
    got = sum(model_macs(ops) for _, ops in build_workload(model, "decode", 1, 9).blocks)
    d, every, cache = 16, 3, 9
    layer = 3 * every * d * d + every * d * 4 * 2 + every * d * d  # q, k, v, rel_pos, out
    layer += 2 * cache * d + 2 * 2 * (cache + 1) * d  # main and predicting scores, P.V
    layer += 2 * every * d * d + 2 * every * cache * d  # cross q, out, scores, P.V
    assert got == 2 * (layer + 2 * every * d * 32)


def informer(**extra: Any) -> dict[str, Any]:
    cfg = {"model_type": "informer", "is_encoder_decoder": True, "d_model": 16,
           "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 32,
           "decoder_ffn_dim": 32, "encoder_layers": 3, "decoder_layers": 2,
           "activation_function": "gelu", "attention_type": "prob", "sampling_factor": 1,
           "distil": True, "prediction_length": 5}  # fmt: skip
    return {**cfg, **extra}


@pytest.mark.parametrize(
    "cfg",
    [
        informer(),
        informer(distil=False),
        informer(attention_type="full"),
        informer(sampling_factor=5),
    ],
    ids=["prob-distil", "prob", "full-distil", "factor-5"],
)
@pytest.mark.parametrize("seq", [7, 48])
def test_informer_macs(cfg: dict[str, Any], seq: int) -> None:
    assert blocks(cfg, seq) == informer_macs(cfg, seq)


def test_informer_layers_shrink() -> None:
    model = config_from_dict(informer(), source="test")
    plans = [(p.prefix, p.m, p.cross_n) for p, _ in build_workload(model, "prefill", 1, 48).blocks]
    assert plans == [
        ("enc.l1.", 48, None), ("enc.distil1.", 48, None), ("enc.l2.", 24, None),
        ("enc.distil2.", 24, None), ("enc.l3.", 12, None), ("dec.", 5, 12),
    ]  # fmt: skip


def test_informer_refusals() -> None:
    assert refused(informer(prediction_length=None)) == ["hf_config.prediction_length"]
    assert refused(informer(attention_type="auto")) == ["hf_config.attention_type"]


FORMULAS = {"dab-detr": conditional_detr_macs, "dia": dia_macs,
            "moonshine_streaming": moonshine_streaming_macs,
            "prophetnet": prophetnet_macs, "informer": informer_macs}  # fmt: skip


@pytest.mark.parametrize(
    ("cfg", "seq"),
    [
        (detr("dab-detr"), 4),
        (dia(), 4),
        (moonshine_streaming(), 6),
        (prophetnet(), 4),
        (informer(), 6),
    ],
    ids=["dab-detr", "dia", "moonshine_streaming", "prophetnet", "informer"],
)
def test_cli_solves(tmp_path: Path, cfg: dict[str, Any], seq: int) -> None:
    operators, report = hf_cli_run(tmp_path, cfg, seq)
    assert report is not None
    assert solved_operators(report) == {op["name"] for op in operators}
    assert listed_macs(operators) == sum(FORMULAS[cfg["model_type"]](cfg, seq).values())


def test_time_series_transformer_decodes_its_prediction_window() -> None:
    """TimeSeriesTransformerEncoder / Decoder raise without prediction_length (the corpus's
    default): refused naming it. With it, the decoder runs that many tokens against the encoder's
    seq_len (BART's layers, counted by hand here), not seq_len tokens of its own."""
    cfg = {
        "model_type": "time_series_transformer", "is_encoder_decoder": True, "d_model": 64,
        "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 2,
        "decoder_attention_heads": 2, "encoder_ffn_dim": 32, "decoder_ffn_dim": 32,
        "activation_function": "gelu", "prediction_length": None,
    }  # fmt: skip
    with pytest.raises(InputError) as exc:
        config_from_dict(cfg)
    assert [p.path for p in exc.value.problems] == ["hf_config.prediction_length"]
    model = config_from_dict({**cfg, "prediction_length": 24})
    m, n, d, f = 24, 64, 64, 32  # decoder tokens, encoder tokens, width, FFN width
    decoder_layer = (
        m * d * 3 * d + 2 * m * m * d + m * d * d  # self-attention (2 heads x 32 = d)
        + m * d * d + n * d * 2 * d + 2 * m * n * d + m * d * d  # cross-attention
        + 2 * m * d * f  # FFN
    )  # fmt: skip
    encoder_layer = n * d * 3 * d + 2 * n * n * d + n * d * d + 2 * n * d * f
    assert blocks({**cfg, "prediction_length": 24}, n) == {
        "encoder": 2 * encoder_layer,
        "dense": 2 * decoder_layer,
    }
    assert model.decoder_tokens == m
