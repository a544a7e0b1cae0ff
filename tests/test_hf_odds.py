"""Single families' odd structures (cosamt/workload/odds.py, hf_odds.py): tiny configs, MACs
against the formulas of tests/hf_odds_formulas.py (written from transformers' modelling code),
the new operators' shapes, and a solve end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hf_odds_formulas import voxtral_realtime_macs
from support import hf_cli_run, solved_operators

from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

M = 8


def voxtral_realtime(**text: Any) -> dict[str, Any]:
    """A tiny VoxtralRealtimeConfig: the audio tower is not read, the text model is."""
    return {
        "model_type": "voxtral_realtime",
        "hidden_size": 64,
        "audio_config": {"model_type": "voxtral_realtime_encoder", "hidden_size": 32},
        "text_config": {
            "model_type": "voxtral_realtime_text", "hidden_size": 64, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 96,
            "num_hidden_layers": 2, "hidden_act": "silu", "rms_norm_eps": 1e-5,
            "rope_parameters": {"rope_theta": 1e6, "rope_type": "default"},
            "sliding_window": 4, "vocab_size": 100, **text,
        },
    }  # fmt: skip


def test_voxtral_realtime_macs_and_ada_norm_shapes() -> None:
    """The AdaRMSNorm MLP is one row per layer whatever the batch and tokens (t_cond is one
    embedding per forward); its scaling runs on every token; keys within the window."""
    cfg = voxtral_realtime()
    model = config_from_dict(cfg, source="test")
    blocks = build_workload(model, Phase.PREFILL, 1, M).blocks
    assert {"dense": sum(model_macs(ops) for _, ops in blocks)} == voxtral_realtime_macs(cfg, M)
    ops = {op.name: op for op in build_workload(model, Phase.PREFILL, 3, M).operators}
    assert ops["ada_down"].dims == {"b": 1, "m": 1, "e": 64, "f": 32}
    assert ops["ada_up"].dims == {"b": 1, "m": 1, "e": 32, "f": 64}
    assert ops["ada_scale"].dims == {"b": 3, "m": M, "f": 64}
    assert ops["qk"].dims["n"] == 4
    names = [op.name for op in build_workload(model, Phase.PREFILL, 1, M).operators]
    assert names.index("norm2") < names.index("ada_down") < names.index("ffn_gate")
    decode = {op.name: op for op in build_workload(model, Phase.DECODE, 1, M).operators}
    assert decode["ada_down"].macs == 64 * 32  # recomputed every step: one row again


def test_voxtral_realtime_cli_workload_and_solve(tmp_path: Path) -> None:
    operators, report = hf_cli_run(tmp_path, voxtral_realtime(), 6)
    names = {"ada_down", "ada_act", "ada_up", "ada_scale"}
    assert names <= {op["name"] for op in operators}
    assert report is not None and report["total"]["all_optimal"] is True
    assert names <= solved_operators(report)
