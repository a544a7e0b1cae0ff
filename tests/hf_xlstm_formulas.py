"""MACs of xLSTM's mLSTM blocks (Beck et al. 2024, arXiv:2405.04517, sec. 2.3, eqs. 19-27;
transformers' modeling_xlstm.py), read for this test, not from cosamt. Used by
tests/test_hf_corpus.py and tests/test_hf_xlstm.py."""

from __future__ import annotations

from typing import Any


def xlstm_macs(cfg: dict[str, Any], m: int) -> int:
    """xLSTMBlock on m tokens, counted step by step (the recurrent form): xLSTMLayer's q, k
    (hidden x qk_dim_factor each), v and the output-gate pre-activation (hidden x v_dim_factor
    each), input and forget gates (one per head); per token and head the memory update
    C += k (i v)^T and readout C^T q (d_k x d_v each) and the normaliser's n^T q (d_k); out_proj;
    xLSTMFeedForward: proj_up_gate, proj_up (hidden x ffn_proj_factor rounded up to
    ffn_round_up_to_multiple_of) and proj_down."""
    d, heads = cfg["hidden_size"], cfg["num_heads"]
    qk, v = int(d * cfg["qk_dim_factor"]), int(d * cfg["v_dim_factor"])
    multiple = cfg["ffn_round_up_to_multiple_of"]
    up = int(((d * cfg["ffn_proj_factor"] + multiple - 1) // multiple) * multiple)
    mixer = m * d * (2 * qk + 2 * v + 2 * heads) + m * v * d
    memory = m * heads * (2 * (qk // heads) * (v // heads) + qk // heads)
    return cfg["num_hidden_layers"] * (mixer + memory + 3 * m * d * up)
