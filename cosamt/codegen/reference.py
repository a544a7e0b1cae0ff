"""The operators of a group in numpy, written from their definitions (not from the loop nest)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from cosamt.fusion.schemes import Group
from cosamt.workload.einsum import Einsum, OpKind, Role
from cosamt.workload.transformer import SOFTMAX_OPS

Array = NDArray[np.float64]
NORM_EPS = 1e-5  # the same epsilon as the generated C
ROPE_BASE = 10000.0
_GATES = {"swiglu": "silu", "geglu": "gelu", "reglu": "relu", "relu2glu": "relu2"}


def gelu(x: Array) -> Array:
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def silu(x: Array) -> Array:
    return x / (1.0 + np.exp(-x))


def relu(x: Array) -> Array:
    return np.maximum(x, 0.0)


_PLAIN = {"gelu": gelu, "relu": relu, "relu2": lambda x: relu(x) ** 2, "silu": silu}


def rope(x: Array, dims: tuple[str, ...]) -> Array:
    """Each feature pair (2p, 2p+1) rotated by the angle pos * ROPE_BASE^(-2p/F), pos the token
    index (an odd last feature rotates with a zero partner)."""
    f_ax, m_ax = dims.index("f"), dims.index("m")
    n_f = x.shape[f_ax]
    xs = np.moveaxis(x, (m_ax, f_ax), (-2, -1))
    padded = np.concatenate([xs, np.zeros((*xs.shape[:-1], n_f % 2))], axis=-1)
    pairs = padded.reshape(*padded.shape[:-1], -1, 2)
    p = np.arange(pairs.shape[-2])
    theta = np.arange(xs.shape[-2])[:, None] * ROPE_BASE ** (-2.0 * p / n_f)
    cos, sin = np.cos(theta), np.sin(theta)
    even = pairs[..., 0] * cos - pairs[..., 1] * sin
    odd = pairs[..., 1] * cos + pairs[..., 0] * sin
    out = np.stack([even, odd], axis=-1).reshape(padded.shape)[..., :n_f]
    return np.moveaxis(out, (-2, -1), (m_ax, f_ax))


def route(x: Array, axis: int, k: int) -> Array:
    """Softmax over the experts, kept for the k largest logits (ties at the k-th kept), 0 elsewhere."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    probs = e / e.sum(axis=axis, keepdims=True)
    kth = -np.sort(-x, axis=axis).take([min(k, x.shape[axis]) - 1], axis=axis)
    return np.where(x >= kth, probs, 0.0)


def _axis(op: Einsum, dim: str) -> int:
    return op.operands[0].dims.index(dim)


def apply(op: Einsum, values: dict[str, Array]) -> Array:
    args = [values[t.name] for t in op.operands]
    if op.kind is OpKind.MAC:
        letters = {d: chr(ord("a") + i) for i, d in enumerate(op.dims)}
        spec = ",".join("".join(letters[d] for d in t.dims) for t in op.operands)
        out = "".join(letters[d] for d in op.output.dims)
        return np.einsum(f"{spec}->{out}", *args)
    kind = op.op
    if kind == "add":
        return np.sum(args, axis=0)
    if kind in _PLAIN:
        return _PLAIN[kind](args[0])
    if kind in _GATES:
        g, u = args
        return _PLAIN[_GATES[kind]](g) * u
    if kind == "rope":
        return rope(args[0], op.operands[0].dims)
    if kind == "softmax+topk":
        return route(args[0], _axis(op, "f"), op.ops_per_point - SOFTMAX_OPS)
    if kind == "combine":
        return args[0].sum(axis=op.operands[0].dims.index("k"))
    if kind == "softmax":
        ax = _axis(op, "n")
        e = np.exp(args[0] - args[0].max(axis=ax, keepdims=True))
        return e / e.sum(axis=ax, keepdims=True)
    if kind in ("layernorm", "rmsnorm"):
        x = args[0]
        gamma = next(values[t.name] for t in op.operands if t.role is Role.WEIGHT)
        ax = _axis(op, "f")
        if kind == "layernorm":
            mu = x.mean(axis=ax, keepdims=True)
            return (x - mu) / np.sqrt(x.var(axis=ax, keepdims=True) + NORM_EPS) * gamma
        return x / np.sqrt((x * x).mean(axis=ax, keepdims=True) + NORM_EPS) * gamma
    raise ValueError(f"{op.name}: no reference for vector operator {kind!r}")


def run_group(group: Group, inputs: dict[str, Array]) -> dict[str, Array]:
    """Every tensor the group computes, members in order, at the operators' real sizes."""
    values = dict(inputs)
    for op in group.ops:
        values[op.output.name] = apply(op, values)
    return values
