"""MRA's multi-resolution attention (Zeng et al. 2022, "Multi Resolution Analysis (MRA) for
Approximate Self-Attention", arXiv:2207.10284; transformers' modeling_mra.py: ``MraSelfAttention``,
``mra2_attention``, ``get_low_resolution_logit``, ``get_block_idxes``), held by
``ModelConfig.mra``. Per head, on ``L`` tokens in ``L / 32`` blocks of 32:

* ``lowres_qk``: the block means of Q and K (``get_low_resolution_logit``) score every block
  pair (L/32 x L/32 x d); ``lowres_softmax`` (in ``full`` mode the exp and sums of the
  low-resolution attention; in ``sparse`` mode only the row max the selection needs);
* the ``num_block`` highest-scoring block pairs (``get_block_idxes``' top-k;
  ``(max_position_embeddings // 32) x block_per_row``, at most all pairs) are computed at full
  resolution: ``block_qk`` (``MraSampledDenseMatMul``: 32 x 32 x d per pair), ``block_softmax``
  (``sparse_max``, the subtraction, exp, ``MraReduceSum``), ``block_av``
  (``MraSparseDenseMatMul``), ``block_scatter`` (each pair's rows added into its query rows);
* ``full`` mode adds ``lowres_av`` (the low-resolution attention times the block means of V) and
  ``mra_combine`` (the corrections, the sum of both parts, the division by both normalisers);
  ``sparse`` mode only the division.

A head narrower than 32 features is zero-padded to 32 (``gpu_warp_size``): the attention counts
32. The selection is data-dependent, the count is not: exactly ``num_block`` pairs per head.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, PositiveInt

from cosamt.errors import InputError, Problem
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader
    from cosamt.workload.models import ModelConfig

BLOCK = 32  # mra2_attention's block_size (MraSelfAttention passes none: the default)
WARP = 32  # MraSelfAttention pads head_dim to gpu_warp_size
COMBINE_OPS = 4  # full: the two corrections, the sum of both parts, the division
SPARSE_COMBINE_OPS = 1  # sparse: the division by the normaliser


class Mra(BaseModel):
    """MRA attention on every layer."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    blocks: PositiveInt
    """Block pairs per head computed at full resolution (MraSelfAttention.num_block)."""
    mode: Literal["full", "sparse"]
    """``approx_mode``: with (``full``) or without (``sparse``) the low-resolution part."""


def check_tokens(model: ModelConfig, tokens: int) -> None:
    """mra2_attention needs whole blocks (MraModel does not pad) and at least ``blocks`` block
    pairs for its top-k."""
    spec = model.mra
    if spec is None:
        return
    rows = tokens // BLOCK
    if tokens % BLOCK or rows * rows < spec.blocks:
        raise InputError(
            "",
            [
                Problem(
                    "seq_len",
                    f"{model.name!r}: MRA attention needs a multiple of {BLOCK} tokens with at "
                    f"least {spec.blocks} block pairs ((seq_len / {BLOCK})^2; got {tokens})",
                )
            ],
        )


def _mac(
    name: str,
    dims: dict[str, int],
    a: tuple[str, tuple[str, ...]],
    b: tuple[str, tuple[str, ...]],
    out: tuple[str, tuple[str, ...]],
    c: int,
) -> Einsum:
    tensors = (
        Tensor(a[0], a[1], Role.INPUT),
        Tensor(b[0], b[1], Role.INPUT),
        Tensor(out[0], out[1], Role.OUTPUT),
    )
    return Einsum(name=name, dims=dims, tensors=tensors, count=c)


def _vector(
    name: str, op: str, ops: int, dims: dict[str, int], inp: str, out: str, c: int
) -> Einsum:
    axes = tuple(dims)
    tensors = (Tensor(inp, axes, Role.INPUT), Tensor(out, axes, Role.OUTPUT))
    return Einsum(
        name=name, dims=dims, tensors=tensors, kind=OpKind.VECTOR, ops_per_point=ops, count=c, op=op
    )


def cores(model: ModelConfig, p: str, b: int, tokens: int, c: int) -> list[Einsum]:
    """The attention core of ``tokens`` tokens, in place of QK^T, softmax and P.V."""
    from cosamt.workload.transformer import SOFTMAX_OPS  # it builds on this module

    spec = model.mra
    assert spec is not None
    h, d, rows = model.n_heads, max(model.dh, WARP), tokens // BLOCK
    low = {"b": b, "h": h, "m": rows, "n": rows}
    blocks = {"b": b, "h": h, "x": spec.blocks, "i": BLOCK, "j": BLOCK}
    full = spec.mode == "full"
    ops = [
        _mac(f"{p}lowres_qk", {**low, "d": d}, ("Q", ("b", "h", "m", "d")), ("K", ("b", "h", "n", "d")),
             ("S", ("b", "h", "m", "n")), c),
        _vector(f"{p}lowres_softmax", "softmax" if full else "max", SOFTMAX_OPS if full else 2, low, "S", "P", c),
        _mac(f"{p}block_qk", {**blocks, "d": d}, ("Q", ("b", "h", "x", "i", "d")),
             ("K", ("b", "h", "x", "j", "d")), ("S", ("b", "h", "x", "i", "j")), c),
        _vector(f"{p}block_softmax", "softmax", SOFTMAX_OPS, blocks, "S", "P", c),
        _mac(f"{p}block_av", {**blocks, "d": d}, ("P", ("b", "h", "x", "i", "j")),
             ("V", ("b", "h", "x", "j", "d")), ("O", ("b", "h", "x", "i", "d")), c),
        _vector(f"{p}block_scatter", "add", 1, {"b": b, "h": h, "x": spec.blocks, "i": BLOCK, "d": d}, "O", "Y", c),
    ]  # fmt: skip
    if full:
        ops.append(
            _mac(
                f"{p}lowres_av",
                {**low, "d": d},
                ("P", ("b", "h", "m", "n")),
                ("V", ("b", "h", "n", "d")),
                ("O", ("b", "h", "m", "d")),
                c,
            )
        )
    combine = COMBINE_OPS if full else SPARSE_COMBINE_OPS
    ops.append(
        _vector(
            f"{p}mra_combine",
            "mra-combine",
            combine,
            {"b": b, "h": h, "m": tokens, "d": d},
            "O",
            "Y",
            c,
        )
    )
    return ops


def assumption(model: ModelConfig, tokens: int) -> str:
    spec = model.mra
    assert spec is not None
    rows = tokens // BLOCK
    pad = f"; heads padded from {model.dh} to {WARP} features" if model.dh < WARP else ""
    return (
        f"MRA attention ({spec.mode}): per head the {rows} x {rows} block means scored, the "
        f"top {spec.blocks} block pairs of {BLOCK} x {BLOCK} computed at full resolution "
        "(their Q/K/V blocks gathered: read once per pair), "
        + (
            "the low-resolution attention over the block means of V added; "
            if spec.mode == "full"
            else ""
        )
        + "the block means themselves, the top-k selection and the masks not counted"
        + pad
    )


def hf_fields(r: _Reader) -> dict[str, object]:
    """``mra`` (MraConfig): ``approx_mode``, ``block_per_row`` and ``max_position_embeddings``
    give MraSelfAttention's num_block. ``initial_prior_first_n_blocks`` /
    ``initial_prior_diagonal_n_blocks`` only bias which pairs are chosen, not how many."""
    mode = r.data.get("approx_mode", "full")
    if mode not in ("full", "sparse"):
        r.refuse("approx_mode", f"must be 'full' or 'sparse' (got {mode!r})")
    per_row = r.int_("block_per_row")
    positions = r.int_("max_position_embeddings")
    if r.data.get("add_cross_attention"):
        r.refuse("add_cross_attention", "MRA with cross-attention is not modelled")
    if r.problems or per_row is None or positions is None:
        return {}
    rows = positions // BLOCK
    blocks = min(rows * per_row, rows * rows)
    if blocks < 1:
        r.refuse("max_position_embeddings", f"fewer than {BLOCK} positions leave no block")
        return {}
    return {"mra": {"blocks": blocks, "mode": mode}}
