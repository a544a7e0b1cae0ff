"""YOSO's attention by expectation (Zeng et al. 2021, arXiv:2111.09714; transformers'
``YosoSelfAttention`` with ``use_expectation``, ``YosoCumulation.forward``): the collision
probability of ``hash_code_len``-bit random-hyperplane hashes of unit queries and keys in place of
softmax, computed exactly::

    q, k = normalize(q), normalize(k)                  # yoso_qk_norm (L2 per head row)
    S    = q k^T                                       # qk
    E    = (1 - acos(S) / pi) ^ hash_code_len * masks  # score_kernel
    O    = normalize(E v)                              # av, yoso_out_norm

``score_kernel`` is elementwise per score (no row reduction, unlike softmax).
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import _BMF, BlockPlan, _elementwise

# acos, / pi, 1 - x, x ** tau as exp(tau * log x) (3), the query and key masks (2).
KERNEL_OPS = 8
L2_NORM_OPS = 3  # square, sum, multiply by the reciprocal norm (the root per row amortised)


def yoso_core(model: ModelConfig, plan: BlockPlan, b: int, core: list[Einsum]) -> list[Einsum]:
    """The plain core ``[qk, softmax, av]`` with the query/key norms before it, the kernel in
    place of softmax and the output's norm after it."""
    qk, softmax, av = core
    p, m, c, width = plan.prefix, plan.m, plan.count, model.n_heads * model.dh

    def l2(name: str, f: int) -> Einsum:
        return _elementwise(
            f"{p}{name}", "l2norm", L2_NORM_OPS, {"b": b, "m": m, "f": f},
            [("X", _BMF, Role.INPUT)], ("Y", _BMF), c,
        )  # fmt: skip

    kernel = _elementwise(
        f"{p}score_kernel",
        "yoso-kernel",
        KERNEL_OPS,
        dict(softmax.dims),
        [(t.name, t.dims, Role.INPUT) for t in softmax.operands],
        (softmax.output.name, softmax.output.dims),
        c,
    )
    return [l2("yoso_qk_norm", 2 * width), qk, kernel, av, l2("yoso_out_norm", width)]


def assumptions(model: ModelConfig) -> list[str]:
    """How YOSO's attention is counted."""
    if model.yoso_hash_bits is None:
        return []
    return [
        f"YOSO by expectation: (1 - acos(q.k) / pi)^{model.yoso_hash_bits} for every query and "
        f"key ({KERNEL_OPS} vector ops per score) in place of softmax, unit-normalised queries, "
        "keys and outputs; the LSH sampling path (use_expectation false) is not modelled"
    ]
