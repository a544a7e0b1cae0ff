"""Reformer (Kitaev et al. 2020, arXiv:2001.04451; transformers' modeling_reformer.py:
``ReformerModel``, ``ReformerLayer``, ``LocalSelfAttention``, ``LSHSelfAttention``,
``ChunkReformerFeedForward``), held by ``ModelConfig.reformer``; an encoder (``is_decoder``
false: the default config's ReformerModel, bidirectional).

Its reversible layers (Y1 = X1 + Attention(LN(X2)), Y2 = X2 + FeedForward(LN(Y1)), each stream
``hidden_size`` wide) cost what a pre-norm block does. ``ReformerModel.forward`` pads a sequence
longer than the shortest chunk to a multiple of the chunks' least common multiple; every layer
runs on the padded length L. Per ``attn_layers`` entry:

* ``local``: ``query``, ``key``, ``value`` (``qkv_proj``, hidden -> 3 heads x
  ``attention_head_size``); at most ``local_attn_chunk_length`` tokens, standard attention over
  all L keys; beyond, chunks of c queries against their chunk and ``local_num_chunks_before`` /
  ``_after`` neighbours (``_look_adjacent`` wraps around: every chunk sees the same number);
* ``lsh``: the shared ``query_key`` and ``value`` (``qkv_proj``, 2 x heads x head size), the
  keys' length normalisation (``key_norm``); at most ``lsh_attn_chunk_length`` tokens, standard
  attention; beyond, ``lsh_hash`` (``_hash_vectors``: each head's vectors times its random
  rotations, head size x ``num_hashes`` x rotation/2; ``num_buckets`` set from L by
  ``_set_num_buckets`` when the config has none), then per hash round the sorted tokens in chunks
  against their chunk and neighbours, and with several rounds ``lsh_combine`` (their logsumexp
  weights);
* ``out_proj`` (``ReformerSelfOutput``), the residual, the feed-forward (norm, dense, act,
  output dense), the residual.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt

from cosamt.workload.einsum import Einsum, Role, Tensor

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader
    from cosamt.workload.models import ModelConfig
    from cosamt.workload.transformer import BlockPlan

KEY_NORM_OPS = 3  # _len_and_dim_norm: square, mean, scale by the inverse root (amortised)
COMBINE_OPS = 4  # per element and round: the logsumexp weight (amortised), multiply, add


class Reformer(BaseModel):
    """Reformer's attention layers."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    layers: tuple[Literal["local", "lsh"], ...]
    """``attn_layers``: each layer's attention."""
    heads: PositiveInt
    """``num_attention_heads``."""
    head_dim: PositiveInt
    """``attention_head_size``."""
    local_chunk: PositiveInt
    """``local_attn_chunk_length``."""
    local_before: NonNegativeInt
    """``local_num_chunks_before``."""
    local_after: NonNegativeInt
    """``local_num_chunks_after``."""
    lsh_chunk: PositiveInt
    """``lsh_attn_chunk_length``."""
    lsh_before: NonNegativeInt
    """``lsh_num_chunks_before``."""
    lsh_after: NonNegativeInt
    """``lsh_num_chunks_after``."""
    hashes: PositiveInt
    """``num_hashes``."""
    buckets: tuple[PositiveInt, ...] | None
    """``num_buckets`` (one value, or a factorisation); ``None``: set from the length."""
    max_positions: PositiveInt
    """``max_position_embeddings`` (bounds the buckets set on the fly)."""

    def chunks_used(self) -> list[int]:
        kinds = set(self.layers)
        return [c for k, c in (("lsh", self.lsh_chunk), ("local", self.local_chunk)) if k in kinds]

    def padded(self, tokens: int) -> int:
        """ReformerModel's padding to a multiple of the chunks' least common multiple."""
        chunks = self.chunks_used()
        lcm = math.lcm(*chunks)
        if tokens % lcm and tokens > min(chunks):
            return tokens + lcm - tokens % lcm
        return tokens

    def rotations(self, tokens: int) -> int:
        """Rotation columns per hash round (rotation_size // 2 of _hash_vectors)."""
        buckets = self.buckets
        if buckets is None:  # LSHSelfAttention._set_num_buckets
            power = (2 * (tokens // self.lsh_chunk)).bit_length() - 1
            limit = 2 * max(int((self.max_positions // self.lsh_chunk) ** 0.5), self.lsh_chunk)
            buckets = (
                (2**power,) if 2**power <= limit else (2 ** (power // 2), 2 ** (power - power // 2))
            )
        return sum(buckets) // 2


def _core(
    model: ModelConfig, spec: Reformer, p: str, b: int, m: int, n: int, c: int
) -> list[Einsum]:
    from cosamt.workload.transformer import _attention_core  # it builds on this module

    shape = model.model_copy(
        update={
            "n_heads": spec.heads,
            "n_kv_heads": None,
            "head_dim": spec.head_dim,
            "v_head_dim": None,
        }
    )
    return _attention_core(shape, p, b, m, n, c)


def layer_ops(
    model: ModelConfig, spec: Reformer, plan: BlockPlan, kind: str, b: int
) -> list[Einsum]:
    """One ReformerLayer of ``kind`` on ``plan.m`` (padded) tokens."""
    from cosamt.workload.transformer import (
        _BMF,
        _dense_ffn,  # it builds on this module
        _elementwise,
        _norm,
        _projection,
        _residual,
    )

    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    width = spec.heads * spec.head_dim
    lsh = kind == "lsh"
    chunk, before, after = (
        (spec.lsh_chunk, spec.lsh_before, spec.lsh_after)
        if lsh
        else (spec.local_chunk, spec.local_before, spec.local_after)
    )
    ops = [
        _norm(f"{p}norm1", model.norm, b, m, d, c),
        _projection(f"{p}qkv_proj", b, m, d, (2 if lsh else 3) * width, c),
    ]
    if lsh:
        dims = {"b": b, "m": m, "f": width}
        ops.append(
            _elementwise(
                f"{p}key_norm",
                "l2norm",
                KEY_NORM_OPS,
                dims,
                [("X", _BMF, Role.INPUT)],
                ("Y", _BMF),
                c,
            )
        )
    if m <= chunk:  # do_standard_self_attention
        ops += _core(model, spec, p, b, m, m, c)
    else:
        rounds = spec.hashes if lsh else 1
        if lsh:
            rot = spec.hashes * spec.rotations(m)
            ops.append(
                Einsum(
                    name=f"{p}lsh_hash",
                    dims={"b": b, "h": spec.heads, "m": m, "d": spec.head_dim, "r": rot},
                    tensors=(
                        Tensor("X", ("b", "h", "m", "d"), Role.INPUT),
                        Tensor("R", ("h", "d", "r"), Role.INPUT),
                        Tensor("Y", ("b", "h", "m", "r"), Role.OUTPUT),
                    ),
                    count=c,
                )
            )
        ops += _core(
            model, spec, p, b * rounds * (m // chunk), chunk, chunk * (1 + before + after), c
        )
        if lsh and spec.hashes > 1:
            dims = {"b": b, "m": m, "f": spec.hashes * width}
            ops.append(
                _elementwise(
                    f"{p}lsh_combine",
                    "logsumexp-combine",
                    COMBINE_OPS,
                    dims,
                    [("X", _BMF, Role.INPUT)],
                    ("Y", _BMF),
                    c,
                )
            )
    return [
        *ops,
        _projection(f"{p}out_proj", b, m, width, d, c),
        _residual(f"{p}residual1", b, m, d, c),
        _norm(f"{p}norm2", model.norm, b, m, d, c),
        *_dense_ffn(model, p, b, m, model.d_ff, c),
        _residual(f"{p}residual2", b, m, d, c),
    ]  # fmt: skip


def blocks(model: ModelConfig, b: int, tokens: int) -> list[tuple[BlockPlan, tuple[Einsum, ...]]]:
    """One block type per attention kind, on the padded length."""
    from cosamt.workload.transformer import BlockPlan  # it builds on this module

    spec = model.reformer
    assert spec is not None
    m, out = spec.padded(tokens), []
    for kind in ("local", "lsh"):
        count = spec.layers.count(kind)
        if count:
            plan = BlockPlan(f"{kind}.", f"{kind} attention", count, m, m, False, False)
            out.append((plan, tuple(layer_ops(model, spec, plan, kind, b))))
    return out


def assumption(model: ModelConfig, tokens: int) -> str:
    spec = model.reformer
    assert spec is not None
    m = spec.padded(tokens)
    pad = (
        f"padded from {tokens} to {m} tokens (ReformerModel), every layer on them; "
        if m != tokens
        else ""
    )
    return (
        f"reformer: {pad}the reversible layers counted as pre-norm blocks (two {model.d_model}-wide "
        "streams); chunked attention over each chunk and its neighbours (wrapping around), LSH "
        "rounds over the sorted tokens, their bucket sort and gathers not counted; the random "
        "rotations are inputs; the masks and the encoder's closing norm (2 x hidden) not counted"
    )


def hf_fields(r: _Reader) -> dict[str, Any]:
    """``reformer`` (ReformerConfig): the attention fields beside the generic ones."""
    layers = r.data.get("attn_layers")
    if not isinstance(layers, list) or not layers or any(k not in ("local", "lsh") for k in layers):
        r.refuse("attn_layers", f"must be a list of 'local' / 'lsh' (got {layers!r})")
    if r.data.get("is_decoder"):
        r.refuse(
            "is_decoder",
            "Reformer's causal decode (the LSH step attends to the cached tokens of its buckets, "
            "a data-dependent count) is not modelled; the bidirectional ReformerModel is",
        )
    buckets = r.data.get("num_buckets")
    if isinstance(buckets, int) and not isinstance(buckets, bool):
        buckets = [buckets]
    ok = buckets is None or (
        isinstance(buckets, list)
        and buckets
        and all(type(v) is int and v > 0 and v % 2 == 0 for v in buckets)
    )
    if not ok:
        r.refuse(
            "num_buckets",
            f"must be null, an even integer or a list of them (got {r.data.get('num_buckets')!r})",
        )
    ints = {
        k: r.int_(k)
        for k in (
            "num_attention_heads",
            "attention_head_size",
            "local_attn_chunk_length",
            "lsh_attn_chunk_length",
            "num_hashes",
            "max_position_embeddings",
        )
    }
    counts = {}
    for k in (
        "local_num_chunks_before",
        "local_num_chunks_after",
        "lsh_num_chunks_before",
        "lsh_num_chunks_after",
    ):
        v = r.data.get(k)
        if type(v) is not int or v < 0:
            r.refuse(k, f"must be a non-negative integer (got {v!r})")
        counts[k] = v
    if r.problems or None in ints.values() or not isinstance(layers, list):
        return {}
    if len(layers) != r.data.get("num_hidden_layers"):
        r.refuse(
            "attn_layers", f"{len(layers)} entries for {r.data.get('num_hidden_layers')} layers"
        )
        return {}
    spec = {"layers": tuple(layers), "heads": ints["num_attention_heads"], "head_dim": ints["attention_head_size"],
            "local_chunk": ints["local_attn_chunk_length"], "local_before": counts["local_num_chunks_before"],
            "local_after": counts["local_num_chunks_after"], "lsh_chunk": ints["lsh_attn_chunk_length"],
            "lsh_before": counts["lsh_num_chunks_before"], "lsh_after": counts["lsh_num_chunks_after"],
            "hashes": ints["num_hashes"], "buckets": tuple(buckets) if isinstance(buckets, list) else None,
            "max_positions": ints["max_position_embeddings"]}  # fmt: skip
    from cosamt.workload.hf import _activation  # hf imports this module

    d, layers_n = r.int_("hidden_size"), r.int_("num_hidden_layers")
    d_ff, activation = r.int_("feed_forward_size"), _activation(r, "reformer")
    if r.problems or None in (d, layers_n, d_ff, activation):
        return {}
    r.assumed.append("reformer: ReformerModel's encoder (is_decoder false: bidirectional)")
    return {
        "n_layers": layers_n,
        "d_model": d,
        "n_heads": spec["heads"],
        "head_dim": spec["head_dim"],
        "d_ff": d_ff,
        "activation": activation,
        "norm": "layernorm",  # ReformerAttention / ChunkReformerFeedForward's layer_norm
        "norm_position": "pre",
        "reformer": spec,
        "decoder": False,
    }
