"""Local and sparse attention (cosamt/workload/hf_local.py): tiny configs whose windows bind,
MACs per block counted from transformers' modelling code (tests/hf_local_formulas.py), keys per
query by hand, refusals with field paths."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hf_local_formulas import longformer_macs, t5gemma_macs

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

CORPUS = Path(__file__).parent / "data" / "hf_corpus"
M = 16


def corpus(model_type: str) -> dict[str, Any]:
    return dict(json.loads((CORPUS / f"{model_type}.json").read_text()))


SMALL = {
    "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "intermediate_size": 96, "num_hidden_layers": 3, "sliding_window": 3,
    "layer_types": ["sliding_attention", "full_attention", "sliding_attention"],
}  # fmt: skip


def tiny_t5gemma(model_type: str) -> dict[str, Any]:
    cfg = copy.deepcopy(corpus(model_type))
    enc = cfg["encoder"].get("text_config") or cfg["encoder"]
    enc.update(SMALL)
    cfg["decoder"].update(SMALL)
    if "cross_attention_hidden_size" in cfg["decoder"]:
        cfg["decoder"]["cross_attention_hidden_size"] = 64
    return cfg


def blocks(cfg: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """Per block type: (layers, keys per query, MACs of all its layers)."""
    model = config_from_dict(cfg, source="test")
    return {
        plan.prefix: (plan.count, plan.n, model_macs(ops))
        for plan, ops in build_workload(model, Phase.PREFILL, 1, M).blocks
    }


def per_kind(got: dict[str, tuple[int, int, int]]) -> dict[str, int]:
    out = {"encoder": 0, "dense": 0}
    for prefix, (_, _, macs) in got.items():
        out["encoder" if prefix.startswith("enc.") else "dense"] += macs
    return out


def test_t5gemma_encoder_window_is_two_sided() -> None:
    got = blocks(tiny_t5gemma("t5gemma"))
    # abs(q - kv) <= 3: 7 keys per query on the encoder's two sliding layers; the causal
    # decoder's window of 3 is 3 keys.
    assert {p: (c, n) for p, (c, n, _) in got.items()} == {
        "enc.local.": (2, 7), "enc.global.": (1, M), "dec.local.": (2, 3), "dec.global.": (1, M),
    }  # fmt: skip
    assert per_kind(got) == t5gemma_macs(tiny_t5gemma("t5gemma"), M)


def test_t5gemma2_merged_attention() -> None:
    cfg = tiny_t5gemma("t5gemma2")
    model = config_from_dict(cfg, source="test")
    wl = build_workload(model, Phase.PREFILL, 1, M)
    ops = {op.name: op for _, block in wl.blocks for op in block}
    # Encoder window of 3: 2 keys at or before the query, 1 after. The decoder attends to its
    # own keys and the M encoder tokens in one softmax: no xq_proj / xout_proj.
    assert ops["enc.local.qk"].dims["n"] == 3
    assert ops["dec.local.qk"].dims["n"] == 3 + M and ops["dec.global.qk"].dims["n"] == M + M
    assert ops["dec.local.xkv_proj"].macs == M * 64 * 2 * 2 * 16
    assert not any(name.endswith(("xq_proj", "xout_proj", "xsoftmax")) for name in ops)
    assert per_kind(blocks(cfg)) == t5gemma_macs(cfg, M)
    assert any("T5Gemma2MergedAttention" in a for a in wl.assumptions)


def test_t5gemma2_decode_reads_cached_encoder_kv() -> None:
    model = config_from_dict(tiny_t5gemma("t5gemma2"), source="test")
    wl = build_workload(model, Phase.DECODE, 1, M)
    ops = {op.name: op for _, block in wl.blocks for op in block}
    assert "dec.local.xkv_proj" not in ops  # the encoder's K/V were projected in prefill
    assert ops["dec.local.qk"].dims["n"] == 3 + M  # window of the cache + the encoder tokens


def test_windowed_encoder_of_another_family_stays_refused() -> None:
    cfg = corpus("encoder-decoder")
    cfg["encoder"] = {**cfg["encoder"], "sliding_window": 4}
    with pytest.raises(InputError) as exc:
        config_from_dict(cfg, source="test")
    assert "hf_config.encoder" in [p.path for p in exc.value.problems]


def tiny_longformer(model_type: str, window: Any = 4) -> dict[str, Any]:
    cfg = corpus(model_type)
    if model_type == "longformer":
        cfg.update(hidden_size=64, num_attention_heads=4, intermediate_size=96, num_hidden_layers=2)
    else:
        cfg.update(d_model=64, encoder_attention_heads=4, decoder_attention_heads=4,
                   encoder_ffn_dim=96, decoder_ffn_dim=96, encoder_layers=2, decoder_layers=3)  # fmt: skip
    return {**cfg, "attention_window": window}


@pytest.mark.parametrize("model_type", ["longformer", "led"])
def test_longformer_band(model_type: str) -> None:
    cfg = tiny_longformer(model_type)
    got = blocks(cfg)
    # attention_window 4: 2 keys each side and the query, 5 keys per query.
    band = {p: n for p, (_, n, _) in got.items() if not p.startswith("dec.")}
    assert band == ({"": 5} if model_type == "longformer" else {"enc.": 5})
    kinds = {
        "encoder" if p.startswith("enc.") else "dense": macs for p, (_, _, macs) in got.items()
    }
    assert kinds == longformer_macs(cfg, M)
    model = config_from_dict(cfg, source="test")
    assert any("no global attention" in a for a in model.assumptions)


@pytest.mark.parametrize("window", [[4, 8], [3, 3], 0])
def test_longformer_windows_not_modelled_are_refused(window: Any) -> None:
    with pytest.raises(InputError) as exc:
        config_from_dict(tiny_longformer("longformer", window), source="test")
    assert [p.path for p in exc.value.problems] == ["hf_config.attention_window"]
