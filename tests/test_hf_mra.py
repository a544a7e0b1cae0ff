"""MRA (multi-resolution attention) from a Hugging Face config: a tiny model against
tests/hf_mra_formulas.py and by hand, the token-count refusal, and the CLI (workload, solve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hf_mra_formulas import mra_macs
from support import hf_cli_run, listed_macs, solved_operators

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

# 64 wide, 2 heads of 32; max_position_embeddings 128: 4 block rows, num_block = min(4 x 2, 16)
# = 8 block pairs per head.
TINY: dict[str, Any] = {
    "model_type": "mra", "hidden_size": 64, "num_attention_heads": 2, "num_hidden_layers": 1,
    "intermediate_size": 128, "hidden_act": "gelu", "max_position_embeddings": 128,
    "block_per_row": 2, "approx_mode": "full", "initial_prior_first_n_blocks": 0,
    "initial_prior_diagonal_n_blocks": 0, "vocab_size": 100, "layer_norm_eps": 1e-5,
}  # fmt: skip


def ops_at(cfg: dict[str, Any], tokens: int) -> dict[str, int]:
    w = build_workload(config_from_dict(cfg, source="tiny"), Phase.PREFILL, 1, tokens)
    return {op.name: op.macs for op in w.operators}


def test_tiny_mra_by_hand() -> None:
    ops = ops_at(TINY, 128)
    # Per head: block means 4 x 4 x 32 scored; 8 pairs of 32 x 32 x 32 for QK^T and for P.V;
    # the low-resolution P.V 4 x 4 x 32 (full mode).
    assert ops["lowres_qk"] == 2 * 16 * 32 and ops["lowres_av"] == 2 * 16 * 32
    assert ops["block_qk"] == 2 * 8 * 32 * 32 * 32 == ops["block_av"]
    assert "qk" not in ops and "softmax" not in ops
    assert sum(ops.values()) == mra_macs(TINY, 128)


@pytest.mark.parametrize("change", [{"approx_mode": "sparse"}, {"hidden_size": 32},
                                    {"max_position_embeddings": 64, "block_per_row": 4}])  # fmt: skip
def test_variants_match_the_formula(change: dict[str, Any]) -> None:
    cfg = {**TINY, **change}  # sparse: no low-resolution P.V; 32 wide: heads of 16 padded to 32
    model = config_from_dict(cfg, source="tiny")
    assert model_macs(build_workload(model, Phase.PREFILL, 1, 128).operators) == mra_macs(cfg, 128)
    assert ("lowres_av" in ops_at(cfg, 128)) == (cfg["approx_mode"] == "full")


@pytest.mark.parametrize("tokens", [16, 100, 64])  # 64: 2 block rows, 4 pairs < 8
def test_token_counts_the_kernel_cannot_run_are_refused(tokens: int) -> None:
    with pytest.raises(InputError) as err:
        build_workload(config_from_dict(TINY, source="tiny"), Phase.PREFILL, 1, tokens)
    assert {p.path for p in err.value.problems} == {"seq_len"}


def test_bad_approx_mode_is_refused_by_field() -> None:
    with pytest.raises(InputError) as err:
        config_from_dict({**TINY, "approx_mode": "lowres"}, source="bad")
    assert "hf_config.approx_mode" in {p.path for p in err.value.problems}


def test_cli_workload_and_solve(tmp_path: Path) -> None:
    operators, report = hf_cli_run(tmp_path, TINY, 128)
    assert listed_macs(operators) == mra_macs(TINY, 128)
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"lowres_qk", "block_qk", "block_av", "mra_combine"} <= solved_operators(report)
