"""Zamba's hybrid layer (Glorioso et al. 2024, arXiv:2405.16712; transformers'
``ZambaHybridLayer``, ``ZambaAttentionDecoderLayer``, ``ZambaAttention``, ``ZambaMLP``,
``ZambaMambaDecoderLayer``), a layer group of mixer ``zamba``, per token::

    a = norm(concat(h, e))                         # shared_norm: 2 x hidden (e: the embeddings)
    a = o_proj(attention(q, k, v of a))            # shared_qkv_proj (2 x hidden in), qk,
                                                   # softmax, av, shared_out_proj
    a = mlp(pre_ff_norm(a))                        # shared_ffn_norm, ffn_gate, ffn_up, act, ffn2
    t = linear(a)                                  # shared_linear: hidden -> hidden, per layer
    h = h + mamba(norm(h + t))                     # mamba_in_add, norm1, the mixer, residual1

The attention block's weights are one set reused by every hybrid layer: the same operators,
each layer its own KV cache. No rotary (``ZambaAttention`` applies none).

Zamba2 (``Zamba2HybridLayer``, ``Zamba2MLP``; ``ModelConfig.shared_adapter_rank``): the same
layer with a Mamba-2 mixer, ``num_mem_blocks`` sets of the block's weights used in turn, and
each hybrid layer's own adapter on the MLP's fused gate and up projection
(``gate_up_proj_adapter_list``: hidden -> ``adapter_rank`` -> 2 x ``d_ff``, added to
``gate_up_proj``'s output): ``mlp_adapter_down``, ``mlp_adapter_up``, ``mlp_adapter_add``
between ``ffn_up`` and ``act``.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role
from cosamt.workload.models import ModelConfig
from cosamt.workload.recurrent import mamba_ops
from cosamt.workload.transformer import (
    _BMF,
    ADD_OPS,
    BlockPlan,
    _attention_core,
    _dense_ffn,
    _elementwise,
    _norm,
    _projection,
    _residual,
)


def hybrid_layer(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The shared block on the hidden state beside the embeddings, its linear, the Mamba
    sublayer with the block's output added to its input."""
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    heads, kv, dh = model.n_heads, model.kv_heads, model.dh
    return [
        _norm(f"{p}shared_norm", model.norm, b, m, 2 * d, c),
        _projection(f"{p}shared_qkv_proj", b, m, 2 * d, (heads + 2 * kv) * dh, c),
        *_attention_core(model, p, b, m, plan.n, c),
        _projection(f"{p}shared_out_proj", b, m, heads * dh, d, c),
        _norm(f"{p}shared_ffn_norm", model.norm, b, m, d, c),
        *_with_adapter(model, plan, b, _dense_ffn(model, p, b, m, model.d_ff, c)),
        _projection(f"{p}shared_linear", b, m, d, d, c),
        _residual(f"{p}mamba_in_add", b, m, d, c),
        _norm(f"{p}norm1", model.norm, b, m, d, c),
        *mamba_ops(model, plan, b),
        _residual(f"{p}residual1", b, m, d, c),
    ]


def _with_adapter(model: ModelConfig, plan: BlockPlan, b: int, ffn: list[Einsum]) -> list[Einsum]:
    """The gated MLP ``[ffn_gate, ffn_up, act, ..., ffn2]``, with Zamba2's adapter added to the
    gate and up projections' output before the activation."""
    rank = model.shared_adapter_rank
    if rank is None:
        return ffn
    p, m, c, d, ff = plan.prefix, plan.m, plan.count, model.d_model, model.d_ff
    adapter = [
        _projection(f"{p}mlp_adapter_down", b, m, d, rank, c),
        _projection(f"{p}mlp_adapter_up", b, m, rank, 2 * ff, c),
        _elementwise(
            f"{p}mlp_adapter_add",
            "add",
            ADD_OPS,
            {"b": b, "m": m, "f": 2 * ff},
            [("A", _BMF, Role.INPUT), ("B", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
    ]
    return [*ffn[:2], *adapter, *ffn[2:]]
