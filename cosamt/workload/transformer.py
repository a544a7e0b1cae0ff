"""One Transformer block as a list of Einsum operators, in execution order.

Dimension names (sizes are plain ints):

====  ==================================================================================
``b``  batch
``m``  query tokens: ``seq_len`` in prefill, 1 in decode
``n``  key tokens: ``seq_len`` in prefill; in decode the KV-cache length ``seq_len``
``e``  reduction features of a projection
``f``  output features (of a projection, and the feature dim of element-wise operators)
``h``  KV heads (= query heads for multi-head attention)
``r``  query heads per KV head; only present for grouped-query attention (``n_kv_heads < n_heads``)
``d``  head dimension
====  ==================================================================================

Every operator has ``count = model.n_layers``: identical blocks are solved once and counted n times.
Causal masking is not modelled: prefill attention covers the full ``m x n`` score matrix (as
accelerator papers such as FLAT count it). Embeddings and the LM head are not part of a block.
"""

from __future__ import annotations

from collections.abc import Iterable

from cosamt.errors import InputError, Problem
from cosamt.limits import MAX_OPERATOR_POINTS
from cosamt.types import Phase
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor
from cosamt.workload.models import ModelConfig

# Vector-unit operations per point of each element-wise operator.
SOFTMAX_OPS = 5  # max, subtract, exp, sum, divide
ADD_OPS = 1  # residual add
# LayerNorm per element: mean (add), subtract mean, square, variance sum, (rsqrt amortised, ~1),
# multiply by rstd, multiply by gamma, add beta  -> 8.
LAYERNORM_OPS = 8
# RMSNorm per element: square, sum, (rsqrt amortised, ~1), multiply by rrms, multiply by gamma -> 4
# (no mean subtraction, no beta).
RMSNORM_OPS = 4
# GELU, tanh approximation: x^3, multiply-add, scale, tanh, add 1, multiply, multiply by 0.5, ~8.
GELU_OPS = 8
RELU_OPS = 1  # max(0, x)
# SwiGLU: silu(g) = g * sigmoid(g) ~ 4 (negate, exp, add 1, divide), then multiply by u -> 5.
SWIGLU_OPS = 5

_ACT_OPS = {"gelu": GELU_OPS, "relu": RELU_OPS, "swiglu": SWIGLU_OPS}
_NORM_OPS = {"layernorm": LAYERNORM_OPS, "rmsnorm": RMSNORM_OPS}


def _projection(name: str, b: int, m: int, e: int, f: int, count: int) -> Einsum:
    """``Y[b,m,f] += X[b,m,e] * W[e,f]``: a linear layer applied to every token."""
    return Einsum(
        name=name,
        dims={"b": b, "m": m, "e": e, "f": f},
        tensors=(
            Tensor("X", ("b", "m", "e"), Role.INPUT),
            Tensor("W", ("e", "f"), Role.WEIGHT),
            Tensor("Y", ("b", "m", "f"), Role.OUTPUT),
        ),
        count=count,
    )


def _elementwise(
    name: str,
    op: str,
    ops_per_point: int,
    dims: dict[str, int],
    inputs: Iterable[tuple[str, tuple[str, ...], Role]],
    output: tuple[str, tuple[str, ...]],
    count: int,
) -> Einsum:
    """A vector-unit operator: ``ops_per_point`` operations per point of ``dims``."""
    tensors = tuple(Tensor(n, d, role) for n, d, role in inputs)
    return Einsum(
        name=name,
        dims=dims,
        tensors=(*tensors, Tensor(output[0], output[1], Role.OUTPUT)),
        kind=OpKind.VECTOR,
        ops_per_point=ops_per_point,
        count=count,
        op=op,
    )


def _residual(name: str, b: int, m: int, f: int, count: int) -> Einsum:
    bmf = ("b", "m", "f")
    return _elementwise(
        name,
        "add",
        ADD_OPS,
        {"b": b, "m": m, "f": f},
        [("A", bmf, Role.INPUT), ("B", bmf, Role.INPUT)],
        ("Y", bmf),
        count,
    )


def _norm(name: str, kind: str, b: int, m: int, f: int, count: int) -> Einsum:
    bmf = ("b", "m", "f")
    return _elementwise(
        name,
        kind,
        _NORM_OPS[kind],
        {"b": b, "m": m, "f": f},
        [("X", bmf, Role.INPUT), ("G", ("f",), Role.WEIGHT)],
        ("Y", bmf),
        count,
    )


def build_block(model: ModelConfig, phase: Phase, batch: int, seq_len: int) -> list[Einsum]:
    """The operators of one Transformer block of ``model``, in execution order.

    ``phase`` prefill processes ``seq_len`` tokens; decode processes one new token against a KV
    cache of ``seq_len`` tokens (only for causal decoders).
    """
    try:
        phase = Phase(phase)
    except ValueError:
        known = ", ".join(p.value for p in Phase)
        raise InputError(
            "", [Problem("phase", f"unknown phase {phase!r}; known: {known}")]
        ) from None
    problems: list[Problem] = []
    if phase is Phase.DECODE and not model.decoder:
        problems.append(
            Problem(
                "phase",
                f"decode needs a causal decoder; model {model.name!r} is an encoder (use prefill)",
            )
        )
    for path, value in (("batch", batch), ("seq_len", seq_len)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(Problem(path, f"must be a positive integer (got {value!r})"))
    if problems:
        raise InputError("", problems)

    c = model.n_layers
    b, d_model, dh, d_ff = batch, model.d_model, model.dh, model.d_ff
    m = seq_len if phase is Phase.PREFILL else 1
    n = seq_len
    h = model.kv_heads
    gqa = h < model.n_heads
    # Attention index sets: grouped-query attention adds r (query heads per KV head); K and V are
    # indexed by h only, so one KV head is shared by its r query heads.
    head = ("b", "h", "r") if gqa else ("b", "h")
    att_dims = {"b": b, "h": h, **({"r": model.n_heads // h} if gqa else {})}
    q_dims = (*head, "m", "d")
    s_dims = (*head, "m", "n")
    kv_dims = ("b", "h", "n", "d")

    ops: list[Einsum] = [
        # In decode (m = 1) only the new token's Q, K and V are computed; older K, V are cached.
        _projection("qkv_proj", b, m, d_model, (model.n_heads + 2 * h) * dh, c),
        Einsum(
            name="qk",
            dims={**att_dims, "m": m, "n": n, "d": dh},
            tensors=(
                Tensor("Q", q_dims, Role.INPUT),
                Tensor("K", kv_dims, Role.INPUT),
                Tensor("S", s_dims, Role.OUTPUT),
            ),
            count=c,
        ),
        _elementwise(
            "softmax",
            "softmax",
            SOFTMAX_OPS,
            {**att_dims, "m": m, "n": n},
            [("S", s_dims, Role.INPUT)],
            ("P", s_dims),
            c,
        ),
        Einsum(
            name="av",
            dims={**att_dims, "m": m, "n": n, "d": dh},
            tensors=(
                Tensor("P", s_dims, Role.INPUT),
                Tensor("V", kv_dims, Role.INPUT),
                Tensor("O", q_dims, Role.OUTPUT),
            ),
            count=c,
        ),
        _projection("out_proj", b, m, model.n_heads * dh, d_model, c),
        _residual("residual1", b, m, d_model, c),
        _norm("norm1", model.norm, b, m, d_model, c),
    ]

    bmf = ("b", "m", "f")
    ff_dims = {"b": b, "m": m, "f": d_ff}
    if model.activation == "swiglu":
        ops += [
            _projection("ffn_gate", b, m, d_model, d_ff, c),
            _projection("ffn_up", b, m, d_model, d_ff, c),
            _elementwise(
                "act",
                "swiglu",
                SWIGLU_OPS,
                ff_dims,
                [("G", bmf, Role.INPUT), ("U", bmf, Role.INPUT)],
                ("Y", bmf),
                c,
            ),
        ]
    else:
        ops += [
            _projection("ffn1", b, m, d_model, d_ff, c),
            _elementwise(
                "act",
                model.activation,
                _ACT_OPS[model.activation],
                ff_dims,
                [("X", bmf, Role.INPUT)],
                ("Y", bmf),
                c,
            ),
        ]
    ops += [
        _projection("ffn2", b, m, d_ff, d_model, c),
        _residual("residual2", b, m, d_model, c),
        _norm("norm2", model.norm, b, m, d_model, c),
    ]
    _check_sizes(ops, model, batch, seq_len)
    return ops


def _check_sizes(ops: list[Einsum], model: ModelConfig, batch: int, seq_len: int) -> None:
    """Refuse a block whose largest operator iterates more than 2**53 times: its figures (float64)
    would no longer be exact (:mod:`cosamt.limits`)."""
    largest = max(ops, key=lambda op: op.points)
    if largest.points > MAX_OPERATOR_POINTS:
        raise InputError(
            "",
            [
                Problem(
                    "seq_len",
                    f"with batch {batch}, seq_len {seq_len} and model {model.name!r}, operator "
                    f"{largest.name} iterates {largest.points:.3e} times, more than 2**53 "
                    "(float64's exact integers); use a smaller seq_len, batch or model",
                )
            ],
        )


def model_macs(ops: Iterable[Einsum]) -> int:
    """Total MACs of the whole model: every operator's MACs times its ``count``."""
    return sum(op.macs * op.count for op in ops)
