"""BigBird's block-sparse attention as three attention cores, by the keys each query row reads.

Zaheer et al. 2020 ("Big Bird", sec. 2 and App. D, the ITC variant) and transformers'
``BigBirdBlockSparseAttention.bigbird_block_sparse_attention`` (modeling_big_bird.py): with
``L`` tokens in ``L / B`` blocks of ``B`` and ``r`` random blocks per row,

* the first and the last block row (global queries) attend to all ``L`` keys;
* the second and the second-to-last row attend to ``(4 + r) B`` keys (3 sliding blocks, one of
  which is a global block, the other global block, ``r`` random ones);
* every other row attends to ``(5 + r) B`` keys (3 sliding, 2 global, ``r`` random).

Each group is its own QK^T, softmax and P.V (``global_``, ``edge_``, ``band_`` operators), the
exact products the code computes. At most ``(5 + 2r) B`` tokens transformers falls back to full
attention (``BigBirdModel.forward`` sets ``original_full``); so does cosamt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cosamt.errors import InputError, Problem
from cosamt.workload.einsum import Einsum
from cosamt.workload.layer_kinds import BlockSparse

if TYPE_CHECKING:
    from collections.abc import Callable

    from cosamt.workload.models import ModelConfig

    # transformer._attention_core: (model, prefix, batch, queries, keys, count) -> QK, softmax, PV
    CoreBuilder = Callable[[ModelConfig, str, int, int, int, int], list[Einsum]]


def is_sparse(spec: BlockSparse, tokens: int) -> bool:
    """Whether transformers runs block-sparse attention on ``tokens`` tokens (else full)."""
    return tokens > (5 + 2 * spec.random_blocks) * spec.block_size


def row_groups(spec: BlockSparse, tokens: int) -> list[tuple[str, int, int]]:
    """(name, query tokens, keys per query) of the three row groups."""
    bs, r = spec.block_size, spec.random_blocks
    blocks = tokens // bs
    return [
        ("global_", 2 * bs, tokens),
        ("edge_", 2 * bs, (4 + r) * bs),
        ("band_", (blocks - 4) * bs, (5 + r) * bs),
    ]


def check_tokens(model: ModelConfig, tokens: int) -> None:
    """Block-sparse attention runs on whole blocks: transformers pads the input to a multiple of
    ``block_size`` (``_pad_to_block_size``) and runs every layer on the padding too; refused
    rather than counted on tokens that are not there."""
    spec = model.block_sparse
    if spec is None or not is_sparse(spec, tokens) or tokens % spec.block_size == 0:
        return
    raise InputError(
        "",
        [
            Problem(
                "seq_len",
                f"{model.name!r}: block-sparse attention needs a multiple of block_size "
                f"{spec.block_size} tokens (transformers pads {tokens} to "
                f"{-(-tokens // spec.block_size) * spec.block_size}); use such a seq_len",
            )
        ],
    )


def assumption(model: ModelConfig, tokens: int) -> str:
    spec = model.block_sparse
    assert spec is not None
    bs, r = spec.block_size, spec.random_blocks
    if not is_sparse(spec, tokens):
        return (
            f"block-sparse attention (block_size {bs}, {r} random blocks) falls back to full "
            f"attention at {tokens} <= (5 + 2 x {r}) x {bs} tokens, as transformers does"
        )
    return (
        f"block-sparse attention (block_size {bs}, {r} random blocks per row): the first and last "
        f"block rows attend to all {tokens} keys, the second and second-to-last to (4 + {r}) x {bs}, "
        f"the other {tokens // bs - 4} rows to (5 + {r}) x {bs} (3 sliding, 2 global, {r} random "
        "blocks); the random blocks' gathers and the masks are not counted as traffic"
    )


def cores(
    model: ModelConfig, p: str, b: int, tokens: int, c: int, core: CoreBuilder
) -> list[Einsum]:
    """The three row groups' QK^T, softmax and P.V."""
    assert model.block_sparse is not None
    ops: list[Einsum] = []
    for name, m, n in row_groups(model.block_sparse, tokens):
        ops += core(model, f"{p}{name}", b, m, n, c)
    return ops
