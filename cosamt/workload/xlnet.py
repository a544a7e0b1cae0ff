"""XLNet's relative positional attention (Yang et al. 2019, arXiv:1906.08237, sec. 2.5 and
Transformer-XL's relative encoding; transformers' ``XLNetRelativeAttention.rel_attn_core``) on
the content stream, the one inference runs (``XLNetModel.forward`` without ``target_mapping``:
no query stream)::

    k_r    = r @ W_r                       # rel_k_proj: the klen + qlen relative positions
    ac     = (q + r_w_bias) k^T            # rel_q_bias (both biases), qk
    bd     = (q + r_r_bias) k_r^T          # rel_qk: every query against every position
    score  = ac + rel_shift(bd)            # rel_shift_add, then softmax and P.V

``rel_shift`` is a reshape and slice (no arithmetic): ``rel_shift_add`` reads the m x n part of
``bd`` it keeps, and counts one add per score.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import ADD_OPS, BlockPlan, _elementwise, _projection

BIAS_OPS = 2  # q + r_w_bias and q + r_r_bias, per query element


def positions(model: ModelConfig, plan: BlockPlan) -> int:
    """Relative positions of ``relative_positional_encoding`` (attn_type bi): klen + qlen."""
    return plan.n + plan.m


def relative_ops(
    model: ModelConfig, plan: BlockPlan, b: int, qk: Einsum
) -> tuple[list[Einsum], list[Einsum]]:
    """Before ``qk``: the biased queries and the position keys; between ``qk`` and
    ``softmax``: the position scores and their add onto QK^T."""
    p, m, c, h, dh = plan.prefix, plan.m, plan.count, model.n_heads, model.dh
    pos = positions(model, plan)
    head = ("b", "h", "m", "d")
    score = qk.output
    before = [
        _elementwise(
            f"{p}rel_q_bias",
            "add",
            BIAS_OPS,
            {"b": b, "h": h, "m": m, "d": dh},
            [("Q", head, Role.INPUT)],
            ("Y", head),
            c,
        ),
        _projection(f"{p}rel_k_proj", b, pos, model.d_model, h * dh, c),
    ]
    after = [
        Einsum(
            name=f"{p}rel_qk",
            dims={"b": b, "h": h, "m": m, "p": pos, "d": dh},
            tensors=(
                Tensor("Q", head, Role.INPUT),
                Tensor("R", ("b", "h", "p", "d"), Role.INPUT),
                Tensor("D", ("b", "h", "m", "p"), Role.OUTPUT),
            ),
            count=c,
        ),
        _elementwise(
            f"{p}rel_shift_add",
            "add",
            ADD_OPS,
            {k: v for k, v in qk.dims.items() if k != "d"},
            [("S", score.dims, Role.INPUT), ("D", score.dims, Role.INPUT)],
            ("T", score.dims),
            c,
        ),
    ]
    return before, after


def assumptions(model: ModelConfig) -> list[str]:
    """What the relative attention leaves out."""
    if not model.relative_attention:
        return []
    return [
        "XLNet's content stream only (XLNetModel.forward without target_mapping or perm_mask: "
        "bidirectional, no query stream, no mask), a first segment (no mems: klen = qlen), "
        "relative positions of attn_type bi (klen + qlen); no token_type_ids (no segment "
        "term); the query stream of generation (target_mapping) and mems are not modelled: "
        "prefill only"
    ]
