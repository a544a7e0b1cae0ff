"""Local and sparse attention (cosamt/workload/hf_local.py): tiny configs whose windows bind,
MACs per block counted from transformers' modelling code (tests/hf_local_formulas.py), keys per
query by hand, refusals with field paths."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hf_local_formulas import (
    bigbird_macs,
    dinat_macs,
    longformer_macs,
    longt5_macs,
    pegasus_x_macs,
    t5gemma_macs,
)
from typer.testing import CliRunner

from cosamt.cli import app
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


def kinds_at(cfg: dict[str, Any], m: int) -> dict[str, int]:
    model = config_from_dict(cfg, source="test")
    out: dict[str, int] = {}
    for plan, ops in build_workload(model, Phase.PREFILL, 1, m).blocks:
        kind = "encoder" if plan.prefix.startswith("enc.") else "dense"
        out[kind] = out.get(kind, 0) + model_macs(ops)
    return out


@pytest.mark.parametrize("model_type", ["big_bird", "bigbird_pegasus"])
@pytest.mark.parametrize("m", [704, 1024, 4096])  # at the threshold (5 + 2 x 3) x 64: full
def test_bigbird_corpus_config_long(model_type: str, m: int) -> None:
    cfg = corpus(model_type)
    assert kinds_at(cfg, m) == bigbird_macs(cfg, m)


def tiny_bigbird() -> dict[str, Any]:
    return {**corpus("big_bird"), "hidden_size": 64, "num_attention_heads": 4,
            "intermediate_size": 96, "num_hidden_layers": 2, "block_size": 2,
            "num_random_blocks": 1}  # fmt: skip


def test_bigbird_rows_by_hand() -> None:
    # 16 tokens in 8 blocks of 2, 1 random block: (5 + 2) x 2 = 14 < 16, block-sparse.
    model = config_from_dict(tiny_bigbird(), source="test")
    wl = build_workload(model, Phase.PREFILL, 1, M)
    ops = {op.name: op for _, block in wl.blocks for op in block}
    shape = {
        k: (ops[f"{k}qk"].dims["m"], ops[f"{k}qk"].dims["n"]) for k in ("global_", "edge_", "band_")
    }
    # q[0], q[-1]: 4 queries x 16 keys; q[1], q[-2]: 4 x (4 + 1) x 2; the 4 middle rows: 8 x 12.
    assert shape == {"global_": (4, 16), "edge_": (4, 10), "band_": (8, 12)}
    assert "qk" not in ops
    pairs = 4 * 16 + 4 * 10 + 8 * 12
    assert sum(ops[f"{k}av"].macs for k in shape) == pairs * 64  # 4 heads x 16 features
    assert any("block rows attend to all 16 keys" in a for a in wl.assumptions)


def test_bigbird_short_sequence_is_full_and_ragged_is_refused() -> None:
    model = config_from_dict(tiny_bigbird(), source="test")
    wl = build_workload(model, Phase.PREFILL, 1, 14)  # at the threshold: original_full
    ops = {op.name: op for _, block in wl.blocks for op in block}
    assert ops["qk"].dims["n"] == 14 and "band_qk" not in ops
    assert any("falls back to full attention" in a for a in wl.assumptions)
    with pytest.raises(InputError) as exc:
        build_workload(model, Phase.PREFILL, 1, 17)  # transformers pads it to 18
    assert [p.path for p in exc.value.problems] == ["seq_len"]


def test_bigbird_as_decoder_is_refused() -> None:
    with pytest.raises(InputError) as exc:
        config_from_dict({**tiny_bigbird(), "is_decoder": True}, source="test")
    assert [p.path for p in exc.value.problems] == ["hf_config.attention_type"]


def tiny_longt5(**extra: Any) -> dict[str, Any]:
    return {**corpus("longt5"), "d_model": 64, "num_heads": 4, "d_kv": 16, "d_ff": 96,
            "num_layers": 2, "num_decoder_layers": 3, "local_radius": 3, **extra}  # fmt: skip


@pytest.mark.parametrize("gated", [False, True])
def test_longt5_local_band(gated: bool) -> None:
    cfg = tiny_longt5(is_gated_act=gated, feed_forward_proj="gated-relu" if gated else "relu")
    got = blocks(cfg)
    assert got["enc."][1] == 7  # |i - j| <= 3
    assert per_kind(got) == longt5_macs(cfg, M)


@pytest.mark.parametrize(("block", "sides"), [(4, 4), (5, 3), (32, 0)])
def test_longt5_transient_global(block: int, sides: int) -> None:
    cfg = tiny_longt5(encoder_attention_type="transient-global", global_block_size=block)
    model = config_from_dict(cfg, source="test")
    wl = build_workload(model, Phase.PREFILL, 1, M)
    ops = {op.name: op for _, ops in wl.blocks for op in ops}
    assert ops["enc.qk"].dims["n"] == 7 + sides  # the band and 16 // block side keys
    if sides:
        assert ops["enc.global_aggregate"].macs == M * sides * 64
        assert ops["enc.side_kv_proj"].macs == sides * 64 * 2 * 64
    else:  # no whole global block: no aggregates
        assert "enc.global_aggregate" not in ops
    assert per_kind(blocks(cfg)) == longt5_macs(cfg, M)
    assert any(f"{sides} side keys" in a for a in wl.assumptions)


def test_longt5_other_attention_is_refused() -> None:
    with pytest.raises(InputError) as exc:
        config_from_dict(tiny_longt5(encoder_attention_type="global"), source="test")
    assert [p.path for p in exc.value.problems] == ["hf_config.encoder_attention_type"]


def tiny_pegasus_x(**extra: Any) -> dict[str, Any]:
    return {**corpus("pegasus_x"), "d_model": 64, "encoder_attention_heads": 4,
            "decoder_attention_heads": 4, "encoder_ffn_dim": 96, "decoder_ffn_dim": 96,
            "encoder_layers": 3, "decoder_layers": 2, "block_size": 4, "num_global_tokens": 2,
            **extra}  # fmt: skip


@pytest.mark.parametrize("m", [16, 14])  # 14 tokens: padded to 16
@pytest.mark.parametrize("stagger", [True, False])
def test_pegasus_x_global_local(m: int, stagger: bool) -> None:
    cfg = tiny_pegasus_x(stagger_local_blocks=stagger)
    model = config_from_dict(cfg, source="test")
    wl = build_workload(model, Phase.PREFILL, 1, m)
    ops = {op.name: op for _, block in wl.blocks for op in block}
    plain = "enc.local." if stagger else "enc."
    # Plain layers: 16 queries x (4 block + 2 global) keys, 2 global queries x (2 + 16) keys;
    # the staggered one pads 2 tokens on each side for attention: 20 queries.
    assert (ops[f"{plain}qk"].dims["m"], ops[f"{plain}qk"].dims["n"]) == (16, 6)
    assert (ops[f"{plain}global_qk"].dims["m"], ops[f"{plain}global_qk"].dims["n"]) == (2, 18)
    assert ops[f"{plain}ffn1"].dims["m"] == 16 and ops[f"{plain}global_ffn1"].dims["m"] == 2
    if stagger:
        assert ops["enc.stagger.qkv_proj"].dims["m"] == 20
        assert ops["enc.stagger.global_qk"].dims["n"] == 22
        assert ops["enc.stagger.ffn1"].dims["m"] == 16  # unpadded again after attention
        assert (ops["enc.local.qk"].count, ops["enc.stagger.qk"].count) == (2, 1)
    assert ops["dec.xqk"].dims["n"] == m  # the decoder reads the unpadded encoder output
    assert kinds_at(cfg, m) == pegasus_x_macs(cfg, m)
    assert any(f"{m} tokens padded to 16" in a for a in wl.assumptions)


def tiny_dinat(**extra: Any) -> dict[str, Any]:
    return {**corpus("dinat"), "embed_dim": 16, "depths": [2, 2], "num_heads": [2, 4],
            "dilations": [[1, 4], [1, 1]], "kernel_size": 3, "image_size": 32, **extra}  # fmt: skip


def test_dinat_neighbourhoods_by_hand() -> None:
    model = config_from_dict(tiny_dinat(), source="test")
    assert model.image_tokens == 64  # 32 -> 16 -> 8 through the stem's two stride-2 convs
    wl = build_workload(model, Phase.PREFILL, 1, 64)
    ops = {op.name: op for _, block in wl.blocks for op in block}
    # Stage 1 (8x8, width 16): dilation 1 attends on the grid; dilation 4's window 3 x 4 = 12
    # exceeds it: padded to 12x12 for attention. Every query: 3 x 3 = 9 keys.
    assert (ops["s1.pad8.qk"].dims["m"], ops["s1.pad8.qk"].dims["n"]) == (64, 9)
    assert ops["s1.pad12.qkv_proj"].dims["m"] == 144 and ops["s1.pad12.qk"].dims["n"] == 9
    assert ops["s1.pad12.ffn1"].dims["m"] == 64  # the MLP on the cropped grid
    # The downsampler: 3x3 stride 2 from 16 to 32 channels onto a 4x4 grid.
    assert ops["down1.conv"].macs == 16 * 9 * 16 * 32
    assert (ops["s2.qk"].dims["m"], ops["s2.qk"].dims["h"]) == (16, 4) and ops["s2.qk"].count == 2
    assert model_macs(wl.operators) == dinat_macs(tiny_dinat(), image=32)


def test_dinat_unmodelled_fields_are_refused() -> None:
    for extra, path in (({"layer_scale_init_value": 1e-5}, "layer_scale_init_value"),
                        ({"dilations": [[1], [1, 1]]}, "dilations"),
                        ({"patch_size": 2}, "patch_size")):  # fmt: skip
        with pytest.raises(InputError) as exc:
            config_from_dict(tiny_dinat(**extra), source="test")
        assert f"hf_config.{path}" in [p.path for p in exc.value.problems]


@pytest.mark.parametrize(
    ("cfg", "names"),
    [
        (tiny_longt5(encoder_attention_type="transient-global", global_block_size=8),
         {"enc.global_aggregate", "enc.side_kv_proj", "enc.qk"}),
        (tiny_bigbird(), {"global_qk", "edge_softmax", "band_av"}),
        (tiny_t5gemma("t5gemma2"), {"dec.local.xkv_proj", "enc.local.qk"}),
        (tiny_pegasus_x(), {"enc.stagger.global_qk", "enc.local.global_ffn2"}),
        (tiny_dinat(), {"s1.pad12.qk", "down1.conv", "s2.ffn2"}),
    ],
)  # fmt: skip
def test_cli_solve(tmp_path: Path, cfg: dict[str, Any], names: set[str]) -> None:
    """The new operators (the one-hot aggregation, the block-row cores, the merged attention's
    encoder K/V, Pegasus-X's global stream) are scheduled by ``cosamt solve``: every group proven optimal, the evaluator
    agreeing."""
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    inst = tmp_path / "inst.json"
    options = {"time_limit_s": 120, "threads": 1, "fusion": "none"}
    seq = config_from_dict(cfg, source="test").image_tokens or M  # DiNAT: its image's grid
    inst.write_text(json.dumps({"model": {"hf_config": "config.json"}, "seq_len": seq,
                                "arch": "edge", "options": options}))  # fmt: skip
    solved = CliRunner().invoke(app, ["solve", str(inst), "--json"])
    assert solved.exit_code == 0, solved.stdout
    data = json.loads(solved.stdout)
    assert data["total"]["all_optimal"] is True
    assert names <= {op for g in data["groups"] for op in g["operators"]}
