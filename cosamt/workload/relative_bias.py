"""SpeechT5's relative position bias (Shaw et al. 2018, arXiv:1803.02155; transformers'
``SpeechT5RelativePositionalEncoding`` and ``SpeechT5Attention``, ``models/speecht5/
modeling_speecht5.py``): the encoder looks up one ``head_dim``-wide embedding per (query, key)
distance, clamped to ``encoder_max_relative_position`` (a T x T x head_dim tensor shared by the
heads and layers), and every layer multiplies each head's queries with it and adds the result to
the content scores before the softmax (``ModelConfig.relative_position_bias``):
``pos_qk`` (``R[b,h,m,n] += Q[b,h,m,d] * P[m,n,d]``) and ``pos_add``, between ``qk`` and
``softmax`` (so the fusion menu's attention chain does not apply there)."""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import _elementwise

POS_ADD_OPS = 1  # the bias added to the score


def ops(model: ModelConfig, qk: Einsum) -> list[Einsum]:
    """The position scores of ``qk``'s queries and their add onto its scores."""
    if not model.relative_position_bias:
        return []
    p = qk.name.removesuffix("qk")
    q, s = qk.tensor("Q").dims, qk.output.dims
    scores = Einsum(
        name=f"{p}pos_qk",
        dims=dict(qk.dims),
        tensors=(
            Tensor("Q", q, Role.INPUT),
            Tensor("P", ("m", "n", "d"), Role.INPUT),
            Tensor("R", s, Role.OUTPUT),
        ),
        count=qk.count,
    )
    add = _elementwise(
        f"{p}pos_add",
        "add",
        POS_ADD_OPS,
        {d: qk.dims[d] for d in s},
        [("S", s, Role.INPUT), ("R", s, Role.INPUT)],
        ("Y", s),
        qk.count,
    )
    return [scores, add]


def assumption(model: ModelConfig) -> str:
    return (
        "relative position bias (SpeechT5RelativePositionalEncoding): per layer and head the "
        "queries times the T x T x head_dim embeddings of the clamped distances (pos_qk), added "
        "to the scores (pos_add); the embedding lookup is a gather (not counted)"
    )
