"""Einsum operators: the unit every mapping, formulation and evaluation works on.

An operator is a perfectly nested loop over named dimensions. Every tensor is indexed by a subset of
those dimensions (Transformers have no sliding windows, so a tile of a tensor is the product of the
tile sizes of the dimensions that index it). A ``mac`` operator performs one multiply-accumulate per
point of its iteration space on the PE array; a ``vector`` operator performs ``ops_per_point``
vector-unit operations per point (softmax, GELU, LayerNorm, residual add, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """What a tensor is to its operator; architectures say which roles a level may hold."""

    INPUT = "input"  # an activation read by the operator
    WEIGHT = "weight"  # a model parameter
    OUTPUT = "output"  # the tensor the operator writes (accumulated for mac operators)


class OpKind(StrEnum):
    MAC = "mac"
    VECTOR = "vector"


@dataclass(frozen=True)
class Tensor:
    name: str
    dims: tuple[str, ...]
    role: Role
    # The name this tensor has in its block operator when a fused group renamed it (``K`` for
    # ``K_qk``): architectures name tensors by their block names (a level's ``holds_tensors``).
    block_names: tuple[str, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        """The names an architecture may use for this tensor: its block name(s)."""
        return frozenset(self.block_names or (self.name,))


@dataclass(frozen=True)
class Einsum:
    """One operator. ``dims`` maps dimension name to size, in the canonical (outer-to-inner) order."""

    name: str
    dims: dict[str, int]
    tensors: tuple[Tensor, ...]
    kind: OpKind = OpKind.MAC
    ops_per_point: int = 1
    # How many times this exact operator runs in the model (identical layers): solved once, counted n times.
    count: int = 1
    # Free-text description of the vector operation (``softmax``, ``gelu``, ...), for reports.
    op: str = "mac"
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        for d, size in self.dims.items():
            if not isinstance(size, int) or size < 1:
                raise ValueError(
                    f"operator {self.name}: dimension {d} must be a positive integer, got {size!r}"
                )
        names = [t.name for t in self.tensors]
        if len(set(names)) != len(names):
            raise ValueError(f"operator {self.name}: duplicate tensor names {names}")
        for t in self.tensors:
            unknown = [d for d in t.dims if d not in self.dims]
            if unknown:
                raise ValueError(
                    f"operator {self.name}: tensor {t.name} uses unknown dims {unknown}"
                )
        if len(self.outputs) != 1:
            raise ValueError(f"operator {self.name}: exactly one output tensor expected")

    # ---- derived views -------------------------------------------------------------------
    @property
    def outputs(self) -> tuple[Tensor, ...]:
        return tuple(t for t in self.tensors if t.role is Role.OUTPUT)

    @property
    def output(self) -> Tensor:
        return self.outputs[0]

    @property
    def operands(self) -> tuple[Tensor, ...]:
        return tuple(t for t in self.tensors if t.role is not Role.OUTPUT)

    def tensor(self, name: str) -> Tensor:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def points(self) -> int:
        """Points of the iteration space (MACs for a mac operator)."""
        return math.prod(self.dims.values())

    @property
    def macs(self) -> int:
        return self.points if self.kind is OpKind.MAC else 0

    @property
    def vector_ops(self) -> int:
        return self.points * self.ops_per_point if self.kind is OpKind.VECTOR else 0

    def size(self, tensor: Tensor | str, dims: dict[str, int] | None = None) -> int:
        """Number of elements of a tensor (under ``dims`` if given, e.g. padded sizes)."""
        t = self.tensor(tensor) if isinstance(tensor, str) else tensor
        sizes = dims or self.dims
        return math.prod(sizes[d] for d in t.dims)

    @property
    def reduction_dims(self) -> tuple[str, ...]:
        """Dimensions that do not index the output (summed over by a mac operator)."""
        return tuple(d for d in self.dims if d not in self.output.dims)

    def signature(self) -> tuple[object, ...]:
        """Everything a schedule depends on; equal signatures are solved once."""
        return (
            tuple(self.dims.items()),
            tuple(
                (t.name, t.dims, t.role.value, *((t.block_names,) if t.block_names else ()))
                for t in self.tensors
            ),
            self.kind.value,
            self.ops_per_point,
        )


def gemm(name: str, m: int, n: int, k: int, *, weight: bool = True, count: int = 1) -> Einsum:
    """``Y[m,n] += X[m,k] * W[k,n]``: the building block of tests and examples."""
    return Einsum(
        name=name,
        dims={"m": m, "n": n, "k": k},
        tensors=(
            Tensor("X", ("m", "k"), Role.INPUT),
            Tensor("W", ("k", "n"), Role.WEIGHT if weight else Role.INPUT),
            Tensor("Y", ("m", "n"), Role.OUTPUT),
        ),
        count=count,
    )


def batched(b: int, m: int, n: int, k: int) -> Einsum:
    """``Y[b,m,n] += X[b,m,k] * W[k,n]``: a GEMM with a batch dimension the weight does not have."""
    return Einsum(
        name="bmm",
        dims={"b": b, "m": m, "n": n, "k": k},
        tensors=(
            Tensor("X", ("b", "m", "k"), Role.INPUT),
            Tensor("W", ("k", "n"), Role.WEIGHT),
            Tensor("Y", ("b", "m", "n"), Role.OUTPUT),
        ),
    )
