"""xLSTM (mLSTM blocks) from a Hugging Face config: a tiny model against
tests/hf_xlstm_formulas.py and by hand, decode, refusals by field, and the CLI (workload, solve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hf_xlstm_formulas import xlstm_macs
from support import hf_cli_run, listed_macs, solved_operators

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

# 16 wide, 2 heads: q/k 8 (d_k 4), v 16 (d_v 8); the FFN 16 x 1.5 = 24 rounded up to 32.
TINY: dict[str, Any] = {
    "model_type": "xlstm", "hidden_size": 16, "embedding_dim": 16, "num_heads": 2,
    "num_hidden_layers": 2, "num_blocks": 2, "qk_dim_factor": 0.5, "v_dim_factor": 1.0,
    "ffn_proj_factor": 1.5, "ffn_round_up_to_multiple_of": 16, "vocab_size": 50,
    "weight_mode": "single", "gate_soft_cap": 15.0, "use_bias": False,
}  # fmt: skip


def test_tiny_xlstm_by_hand() -> None:
    model = config_from_dict(TINY, source="tiny")
    assert model.d_ff == 32 and not model.attends
    w = build_workload(model, Phase.PREFILL, 1, 4)
    ops = {op.name: op.macs for op in w.operators}
    # 4 tokens: in-projection 16 -> 8 + 8 + 16 + 16 + 2 + 2; per token and head the 4 x 8 memory
    # written and read, n^T q over 4; the FFN's gate, up and down.
    assert ops["mlstm_in_proj"] == 4 * 16 * 52 and ops["mlstm_out_proj"] == 4 * 16 * 16
    assert ops["mlstm_write"] == ops["mlstm_readout"] == 4 * 2 * 4 * 8
    assert ops["mlstm_denominator"] == 4 * 2 * 4 and ops["ffn_gate"] == 4 * 16 * 32
    assert model_macs(w.operators) == xlstm_macs(TINY, 4)
    assert not any("causal self-attention" in a for a in w.assumptions)
    assert any("recurrent form" in a for a in w.assumptions)


def test_decode_is_one_recurrent_step() -> None:
    model = config_from_dict(TINY, source="tiny")
    w = build_workload(model, Phase.DECODE, 1, 100)  # the state, not a cache of 100 tokens
    assert model_macs(w.operators) == xlstm_macs(TINY, 1)


@pytest.mark.parametrize(("change", "path"), [
    ({"num_heads": 3}, "hf_config.num_heads"),
    ({"qk_dim_factor": "half"}, "hf_config.qk_dim_factor"),
    ({"weight_mode": "split"}, "hf_config.weight_mode"),
])  # fmt: skip
def test_refusals_name_the_field(change: dict[str, Any], path: str) -> None:
    with pytest.raises(InputError) as err:
        config_from_dict({**TINY, **change}, source="bad")
    assert path in {p.path for p in err.value.problems}


def test_cli_workload_and_solve(tmp_path: Path) -> None:
    operators, report = hf_cli_run(tmp_path, TINY, 4)
    assert listed_macs(operators) == xlstm_macs(TINY, 4)
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"mlstm_write", "mlstm_readout", "mlstm_denominator"} <= solved_operators(report)
