"""Reformer from a Hugging Face config: tiny models against tests/hf_reformer_formulas.py and by
hand (standard, chunked and LSH attention, padding, factorised buckets), refusals by field, and
the CLI (workload, solve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hf_reformer_formulas import reformer_macs
from support import hf_cli_run, listed_macs, solved_operators

from cosamt.errors import InputError
from cosamt.types import Phase
from cosamt.workload.hf import config_from_dict
from cosamt.workload.transformer import build_workload, model_macs

# 8 wide, 2 heads of 4 (A = 8), chunks of 4 with one chunk before; FFN 16.
TINY: dict[str, Any] = {
    "model_type": "reformer", "hidden_size": 8, "num_attention_heads": 2,
    "attention_head_size": 4, "num_hidden_layers": 2, "attn_layers": ["local", "lsh"],
    "feed_forward_size": 16, "hidden_act": "relu", "local_attn_chunk_length": 4,
    "local_num_chunks_before": 1, "local_num_chunks_after": 0, "lsh_attn_chunk_length": 4,
    "lsh_num_chunks_before": 1, "lsh_num_chunks_after": 0, "num_hashes": 2, "num_buckets": None,
    "max_position_embeddings": 64, "is_decoder": False, "vocab_size": 32,
}  # fmt: skip


def ops_at(cfg: dict[str, Any], tokens: int) -> dict[str, int]:
    w = build_workload(config_from_dict(cfg, source="tiny"), Phase.PREFILL, 1, tokens)
    return {op.name: op.macs for op in w.operators}


def test_chunked_and_lsh_attention_by_hand() -> None:
    ops = ops_at(TINY, 16)
    # Local: 4 chunks of 4 queries against 8 keys, 2 heads of 4. LSH: 2 rounds of it over the
    # sorted tokens; 8 buckets (2 x 16 // 4, a power of 2, under the limit 2 x max(2, 4)) give
    # 4 rotation columns per round: 16 tokens x 2 heads x 4 x (2 x 4).
    assert ops["local.qk"] == 4 * 2 * 4 * 8 * 4 and ops["local.qkv_proj"] == 16 * 8 * 24
    assert ops["lsh.qk"] == 2 * ops["local.qk"] and ops["lsh.qkv_proj"] == 16 * 8 * 16
    assert ops["lsh.lsh_hash"] == 16 * 2 * 4 * 8
    assert sum(ops.values()) == reformer_macs(TINY, 16)


def test_short_sequences_attend_in_full_without_hashing() -> None:
    ops = ops_at(TINY, 3)  # at most one chunk: do_standard_self_attention, no padding
    assert ops["local.qk"] == ops["lsh.qk"] == 2 * 3 * 3 * 4 and "lsh.lsh_hash" not in ops
    assert sum(ops.values()) == reformer_macs(TINY, 3)


@pytest.mark.parametrize(("change", "tokens"), [
    ({}, 10),  # padded to 12 tokens
    ({"num_hashes": 1}, 64),
    ({"max_position_embeddings": 16}, 64),  # 32 buckets over the limit 8: factorised 4 x 8
    ({"num_buckets": [2, 4]}, 32),
    ({"attn_layers": ["lsh", "lsh"], "lsh_num_chunks_after": 1}, 24),
])  # fmt: skip
def test_variants_match_the_formula(change: dict[str, Any], tokens: int) -> None:
    cfg = {**TINY, **change}
    model = config_from_dict(cfg, source="tiny")
    w = build_workload(model, Phase.PREFILL, 1, tokens)
    assert model_macs(w.operators) == reformer_macs(cfg, tokens)


def test_padding_is_stated() -> None:
    w = build_workload(config_from_dict(TINY, source="tiny"), Phase.PREFILL, 1, 10)
    assert any("padded from 10 to 12 tokens" in a for a in w.assumptions)


@pytest.mark.parametrize(("change", "path"), [
    ({"is_decoder": True}, "hf_config.is_decoder"),
    ({"attn_layers": ["local", "global"]}, "hf_config.attn_layers"),
    ({"attn_layers": ["local"]}, "hf_config.attn_layers"),
    ({"num_buckets": 3}, "hf_config.num_buckets"),
])  # fmt: skip
def test_refusals_name_the_field(change: dict[str, Any], path: str) -> None:
    with pytest.raises(InputError) as err:
        config_from_dict({**TINY, **change}, source="bad")
    assert path in {p.path for p in err.value.problems}


def test_cli_workload_and_solve(tmp_path: Path) -> None:
    operators, report = hf_cli_run(tmp_path, TINY, 16)
    assert listed_macs(operators) == reformer_macs(TINY, 16)
    assert report is not None and report["total"]["all_optimal"] is True
    assert {"lsh.lsh_hash", "lsh.qk", "local.qk", "lsh.lsh_combine"} <= solved_operators(report)
