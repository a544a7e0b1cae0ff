"""MACs of Reformer's encoder (Kitaev et al. 2020, arXiv:2001.04451; transformers'
modeling_reformer.py), read for this test, not from cosamt. Used by tests/test_hf_corpus.py and
tests/test_hf_reformer.py."""

from __future__ import annotations

import math
from typing import Any


def reformer_macs(cfg: dict[str, Any], tokens: int) -> int:
    """ReformerModel (is_decoder false) on ``tokens`` tokens: padded, when longer than the shortest
    chunk, to a multiple of the used chunk lengths' least common multiple. Per attn_layers entry
    (A = num_attention_heads x attention_head_size): LocalSelfAttention's query, key, value
    (hidden x A each) or LSHSelfAttention's query_key and value (2 of them); up to the layer's
    chunk length Q.K^T and P.V over all L keys (do_standard_self_attention), beyond it every chunk
    of c queries against (1 + chunks before + after) c keys (_look_adjacent), an LSH layer's
    num_hashes rounds each over all L sorted tokens, after _hash_vectors' rotations (head size x
    num_hashes x num_buckets / 2 per token and head; num_buckets from _set_num_buckets when
    null); ReformerSelfOutput (A x hidden); the feed-forward (hidden x feed_forward_size, back)."""
    d, heads, dh = cfg["hidden_size"], cfg["num_attention_heads"], cfg["attention_head_size"]
    a, ff, kinds = heads * dh, cfg["feed_forward_size"], cfg["attn_layers"]
    used = [cfg[f"{k}_attn_chunk_length"] for k in ("lsh", "local") if k in kinds]
    lcm, length = math.lcm(*used), tokens
    if length % lcm and length > min(used):
        length += lcm - length % lcm
    total = 0
    for kind in kinds:
        c = cfg[f"{kind}_attn_chunk_length"]
        window = (1 + cfg[f"{kind}_num_chunks_before"] + cfg[f"{kind}_num_chunks_after"]) * c
        layer = length * d * (2 if kind == "lsh" else 3) * a + length * a * d + 2 * length * d * ff
        if length <= c:
            layer += 2 * heads * length * length * dh
        else:
            rounds = cfg["num_hashes"] if kind == "lsh" else 1
            layer += 2 * heads * rounds * length * window * dh
            if kind == "lsh":
                buckets = cfg.get("num_buckets")
                if buckets is None:
                    power = (2 * (length // c)).bit_length() - 1
                    limit = 2 * max(int((cfg["max_position_embeddings"] // c) ** 0.5), c)
                    buckets = (
                        2**power
                        if 2**power <= limit
                        else [2 ** (power // 2), 2 ** (power - power // 2)]
                    )
                rotation = sum(buckets) if isinstance(buckets, list) else buckets
                layer += heads * length * dh * cfg["num_hashes"] * (rotation // 2)
        total += layer
    return total
