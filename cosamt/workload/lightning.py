"""Operators of MiniMax's lightning attention (transformers' ``MiniMaxLightningAttention`` in
``modeling_minimax.py``; Qin et al., "Lightning Attention-2", arXiv:2401.04658).

Per head (``head_dim`` = e features for Q, K and V alike) and block of ``block_size`` tokens, with
the head's fixed decay rate ``s`` (buffers, no weights)::

    intra = ((Q K^T) * D) V          D[i, j] = exp(-s (i - j)) for j <= i, else 0
    inter = (Q * q_decay) S          S: the e x e state of the earlier blocks
    S    <- S * exp(-s b) + (K * k_decay)^T V

the two summed, then RMSNorm over all heads, times sigmoid(output_gate(x)), ``out_proj``. In
prefill the intra-block products are full ``b`` x ``b`` matmuls (the mask is a decay factor of
0, not skipped work): ``ltn_intra_qk``, ``ltn_intra_decay``, ``ltn_intra_av`` over dims ``c``
(blocks), ``i`` and ``j`` (a block's queries and keys); a last partial block has its own
operators (``tail``). The state is one ``b x h x e x e`` tensor: ``ltn_inter`` reads it,
``ltn_kv`` writes it (accumulated over the tokens). Decode (the cached path) is the recurrent
form: ``S <- S exp(-s) + k^T v``, ``o = q S``.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.layer_kinds import Lightning
from cosamt.workload.models import ModelConfig
from cosamt.workload.recurrent import OUTPUT_GATE_OPS, token_vector
from cosamt.workload.transformer import (
    RMSNORM_OPS,
    SILU_OPS,
    BlockPlan,
    _elementwise,
    _projection,
)


def _intra(p: str, b: int, h: int, blocks: int, size: int, e: int, c: int) -> list[Einsum]:
    """Q K^T, times the diagonal decay, then P V, within ``blocks`` blocks of ``size`` tokens."""
    q, kv = ("b", "h", "c", "i", "d"), ("b", "h", "c", "j", "d")
    s = ("b", "h", "c", "i", "j")
    dims = {"b": b, "h": h, "c": blocks, "i": size, "j": size}
    return [
        Einsum(
            name=f"{p}qk",
            dims={**dims, "d": e},
            tensors=(
                Tensor("Q", q, Role.INPUT),
                Tensor("K", kv, Role.INPUT),
                Tensor("S", s, Role.OUTPUT),
            ),
            count=c,
        ),
        _elementwise(f"{p}decay", "decay", 1, dims, [("S", s, Role.INPUT)], ("P", s), c),
        Einsum(
            name=f"{p}av",
            dims={**dims, "d": e},
            tensors=(
                Tensor("P", s, Role.INPUT),
                Tensor("V", kv, Role.INPUT),
                Tensor("O", q, Role.OUTPUT),
            ),
            count=c,
        ),
    ]


def lightning_ops(model: ModelConfig, plan: BlockPlan, b: int, prefill: bool) -> list[Einsum]:
    """A lightning-attention token mixer: the fused QKV projection and its activation, the
    intra-block products (prefill), the decayed state read and write, RMSNorm, the sigmoid
    output gate, the out-projection."""
    spec = model.lightning
    assert spec is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    h, e = spec.heads, spec.head_dim
    width = h * e
    bmhd, bmhv, state = ("b", "m", "h", "d"), ("b", "m", "h", "v"), ("b", "h", "d", "v")
    full, tail = divmod(m, spec.block_size) if prefill else (0, 0)
    blocks = full + bool(tail) if prefill else m  # decode: one state decay per token

    def vec(name: str, op: str, ops: int, f: int, inputs: int = 1) -> Einsum:
        return token_vector(f"{p}{name}", op, ops, b, m, f, c, inputs)

    ops = [
        _projection(f"{p}ltn_qkv_proj", b, m, d, 3 * width, c),
        vec("ltn_qkv_act", "silu", SILU_OPS, 3 * width),
    ]
    if prefill:
        if full:
            ops += _intra(f"{p}ltn_intra_", b, h, full, spec.block_size, e, c)
        if tail:
            ops += _intra(f"{p}ltn_tail_", b, h, 1, tail, e, c)
        ops.append(vec("ltn_qk_decay", "decay", 1, 2 * width))  # Q * q_decay, K * k_decay
    ops += [
        Einsum(
            name=f"{p}ltn_inter",
            dims={"b": b, "m": m, "h": h, "d": e, "v": e},
            tensors=(
                Tensor("Q", bmhd, Role.INPUT),
                Tensor("S", state, Role.INPUT),
                Tensor("O", bmhv, Role.OUTPUT),
            ),
            count=c,
        ),
        Einsum(
            name=f"{p}ltn_kv",
            dims={"b": b, "m": m, "h": h, "d": e, "v": e},
            tensors=(
                Tensor("K", bmhd, Role.INPUT),
                Tensor("V", bmhv, Role.INPUT),
                Tensor("T", state, Role.OUTPUT),
            ),
            count=c,
        ),
        _elementwise(  # S * exp(-s b) + the block's K^T V: once per block
            f"{p}ltn_state_decay",
            "decay",
            2,
            {"b": b, "c": blocks, "h": h, "d": e, "v": e},
            [("S", state, Role.INPUT), ("T", state, Role.INPUT)],
            ("U", state),
            c,
        ),
    ]
    if prefill:
        ops.append(vec("ltn_sum", "add", 1, width, 2))  # inter + intra
    return [
        *ops,
        vec("ltn_norm", "rmsnorm", RMSNORM_OPS, width),
        _projection(f"{p}ltn_gate_proj", b, m, d, width, c),
        vec("ltn_gate", "sigmoid-gate", OUTPUT_GATE_OPS, width, 2),
        _projection(f"{p}ltn_out_proj", b, m, width, d, c),
    ]


def assumptions(model: ModelConfig, spec: Lightning) -> list[str]:
    """What the lightning-attention operators count and leave out, for every report."""
    layers = sum(g.count for g in model.layer_groups or () if g.mixer == "lightning")
    return [
        f"lightning attention on {layers} of {model.n_layers} layers ({spec.heads} heads x "
        f"{spec.head_dim}): in prefill full {spec.block_size} x {spec.block_size} products "
        "within each block (the causal decay mask is a factor, not skipped work; a last partial "
        "block at its own size) and the e x e state read and written per token; decode in the "
        "recurrent form; the decay factors are buffers (not traffic)"
    ]
