"""MACs of stacks with per-layer structure read for the add-on families, from transformers'
modelling code (read for this test, not from cosamt): AFMoE. Used by tests/test_hf_corpus.py
and tests/test_hf_addons.py."""

from __future__ import annotations

import math
from typing import Any

from hf_layer_formulas import attention_macs

ADDON_STACKS = ("afmoe",)


def routed_macs(m: int, d: int, experts: int, k: int, width: int, mats: int = 3) -> int:
    """Router logits and the touched experts under balanced routing (mats: 3 gated, 2 plain)."""
    touched = min(experts, m * k)
    return m * d * experts + touched * math.ceil(m * k / touched) * d * width * mats


def afmoe_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """AfmoeDecoderLayer i: AfmoeAttention (q, k, v, o and gate_proj: hidden -> heads x
    head_dim; keys capped at sliding_window on sliding_attention layers), then AfmoeMLP
    (gate, up, down of intermediate_size) below num_dense_layers, else AfmoeSparseMoeBlock:
    the router, the routed experts of moe_intermediate_size and the shared MLP of
    moe_intermediate_size x num_shared_experts."""
    d, heads, kv, dh = (cfg[k] for k in ("hidden_size", "num_attention_heads",
                                          "num_key_value_heads", "head_dim"))  # fmt: skip
    width = cfg["moe_intermediate_size"]
    out = {"dense": 0, "moe": 0}
    for i, kind in enumerate(cfg["layer_types"]):
        n = min(m, cfg["sliding_window"]) if kind == "sliding_attention" else m
        mix = attention_macs(m, n, d, heads, kv, dh) + m * d * heads * dh
        if i < cfg["num_dense_layers"]:
            out["dense"] += mix + 3 * m * d * cfg["intermediate_size"]
        else:
            moe = routed_macs(m, d, cfg["num_experts"], cfg["num_experts_per_tok"], width)
            out["moe"] += mix + moe + 3 * m * d * width * cfg["num_shared_experts"]
    return out


def addon_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    return afmoe_macs(cfg, m)
