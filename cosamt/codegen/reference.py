"""The operators of a group in numpy, written from their definitions (not from the loop nest)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from cosamt.fusion.schemes import Group
from cosamt.workload.einsum import Einsum, OpKind, Role

Array = NDArray[np.float64]
NORM_EPS = 1e-5  # the same epsilon as the generated C


def gelu(x: Array) -> Array:
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


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
        return args[0] + args[1]
    if kind == "gelu":
        return gelu(args[0])
    if kind == "relu":
        return np.maximum(args[0], 0.0)
    if kind == "swiglu":
        g, u = args
        return g / (1.0 + np.exp(-g)) * u
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
