"""LongT5's transient-global attention (Guo et al. 2022, sec. 3.1.2; transformers'
``LongT5TransientGlobalAttention``): besides its local band, every query attends to one side key
per ``global_block_size`` tokens, made on the fly from the layer's input:

* ``global_aggregate``: ``_create_global_aggregates``, the einsum of the hidden states with the
  one-hot block map, ``(L, d) x (L, G) -> (G, d)`` with ``G = L // global_block_size``;
* ``global_norm``: ``global_input_layer_norm`` (T5's RMS norm) on the ``G`` aggregates;
* ``side_kv_proj``: the layer's own ``k`` and ``v`` on them;
* the scores and P.V of every query then run over its band plus the ``G`` side keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cosamt.workload.einsum import Einsum, Role, Tensor

if TYPE_CHECKING:
    from cosamt.workload.models import ModelConfig


def side_keys(model: ModelConfig, tokens: int) -> int:
    """Global (side) keys of ``tokens`` tokens: ``_make_global_fixed_block_ids``' count."""
    block = model.transient_global_block
    return tokens // block if block is not None else 0


def side_ops(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    """The aggregates, their norm and their K/V projection (none below one global block)."""
    from cosamt.workload.transformer import _norm, _projection  # it imports this module

    g = side_keys(model, m)
    if g == 0:
        return []
    d = model.d_model
    aggregate = Einsum(
        name=f"{p}global_aggregate",
        dims={"b": b, "m": m, "n": g, "f": d},
        tensors=(
            Tensor("X", ("b", "m", "f"), Role.INPUT),
            Tensor("W", ("m", "n"), Role.WEIGHT),  # the one-hot token -> block map
            Tensor("Y", ("b", "n", "f"), Role.OUTPUT),
        ),
        count=c,
    )
    width = model.kv_heads * (model.dh + model.vdh)
    return [
        aggregate,
        _norm(f"{p}global_norm", model.norm, b, g, d, c),
        _projection(f"{p}side_kv_proj", b, g, d, width, c),
    ]


def assumption(model: ModelConfig, tokens: int) -> str:
    return (
        f"transient-global attention (global_block_size {model.transient_global_block}): "
        f"{side_keys(model, tokens)} side keys of {tokens} tokens added to every query's keys, "
        "their aggregation counted as the one-hot einsum transformers computes; the side "
        "relative-position bias not counted"
    )
