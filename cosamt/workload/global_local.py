"""Pegasus-X's encoder layers (Phang et al. 2022, "Investigating Efficiently Extending
Transformers for Long Input Summarization", sec. 3; transformers' ``PegasusXEncoderLayer`` and
``PegasusXGlobalLocalAttention``, modeling_pegasus_x.py), as the code runs them.

``PegasusXEncoder`` pads the ``L`` input tokens to ``L'``, a multiple of ``block_size`` ``B``,
and every layer runs on all ``L'`` (the padding is real work), beside ``G`` global tokens:

* the input's and the global tokens' own pre-norms (``self_attn_layer_norm``,
  ``global_self_attn_layer_norm``);
* a staggered layer (every odd one) pads ``B / 2`` tokens on each side, in attention only: its
  ``A = L' + B`` tokens (else ``A = L'``) are projected by ``q_proj`` / ``k_proj`` / ``v_proj``,
  so are the ``G`` global tokens;
* local attention: each of the ``A`` queries against its block's ``B`` keys and the ``G`` global
  keys (one softmax); global attention: each global query against the ``G + A`` keys;
* ``out_proj`` of both, residual adds, then ``final_layer_norm``, ``fc1`` / ``fc2`` and the residual
  for the ``L'`` tokens and for the ``G`` global tokens alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cosamt.workload.einsum import Einsum

if TYPE_CHECKING:
    from cosamt.workload.models import ModelConfig
    from cosamt.workload.transformer import BlockPlan


def padded(model: ModelConfig, tokens: int) -> int:
    """The encoder's tokens after ``PegasusXEncoder`` pads them to whole blocks."""
    assert model.global_local is not None
    block = model.global_local.block_size
    return -(-tokens // block) * block


def layer_counts(model: ModelConfig) -> list[tuple[str, bool, int]]:
    """(prefix part, staggered, layers): layer i is staggered when i is odd and stagger is on."""
    assert model.global_local is not None
    n = model.n_layers
    if not model.global_local.stagger or n == 1:
        return [("", False, n)]
    return [("local.", False, n - n // 2), ("stagger.", True, n // 2)]


def block_ops(model: ModelConfig, plan: BlockPlan, b: int, staggered: bool) -> list[Einsum]:
    """One encoder layer's operators (``plan.m`` the unpadded input tokens)."""
    from cosamt.workload import transformer as t  # it imports this module

    spec = model.global_local
    assert spec is not None
    p, c, d, norm = plan.prefix, plan.count, model.d_model, model.norm
    tokens, g = padded(model, plan.m), spec.global_tokens
    attended = tokens + (spec.block_size if staggered else 0)
    width = model.n_heads * model.dh
    ops = [
        t._norm(f"{p}norm1", norm, b, tokens, d, c),
        t._norm(f"{p}global_norm1", norm, b, g, d, c),
        t._projection(f"{p}qkv_proj", b, attended, d, 3 * width, c),
        t._projection(f"{p}global_qkv_proj", b, g, d, 3 * width, c),
        *t._attention_core(model, p, b, attended, spec.block_size + g, c),
        *t._attention_core(model, f"{p}global_", b, g, g + attended, c),
        t._projection(f"{p}out_proj", b, attended, width, d, c),
        t._projection(f"{p}global_out_proj", b, g, width, d, c),
        t._residual(f"{p}residual1", b, tokens, d, c),
        t._residual(f"{p}global_residual1", b, g, d, c),
        t._norm(f"{p}norm2", norm, b, tokens, d, c),
        *t._dense_ffn(model, p, b, tokens, model.d_ff, c),
        t._residual(f"{p}residual2", b, tokens, d, c),
        t._norm(f"{p}global_norm2", norm, b, g, d, c),
        *t._dense_ffn(model, f"{p}global_", b, g, model.d_ff, c),
        t._residual(f"{p}global_residual2", b, g, d, c),
    ]
    return ops


def assumption(model: ModelConfig, tokens: int) -> str:
    spec = model.global_local
    assert spec is not None
    return (
        f"Pegasus-X encoder: {tokens} tokens padded to {padded(model, tokens)} (whole blocks of "
        f"{spec.block_size}, as PegasusXEncoder pads them; every layer runs on the padding), "
        f"{spec.global_tokens} global tokens through every layer, local attention per block "
        f"({spec.block_size} keys + the global ones)"
        + (", odd layers staggered by half a block" if spec.stagger else "")
        + "; the decoder cross-attends to the unpadded tokens"
    )
