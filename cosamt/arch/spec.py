"""Accelerator description: a PE array under a memory hierarchy, plus a vector unit.

Levels are listed innermost first, DRAM last. The PE array fans out directly below the level named
``pe_array.below``: every level below it is private to one PE. Capacities, bandwidths and energies
of private levels are per PE (a bandwidth: each PE moves its own share of the traffic at it).
Further fan-outs (``fanouts``, chiplets of a package for example) sit
directly below higher levels: the levels below such a fan-out, down to the PE array's, are
replicated once per instance of it (their capacities, energies and bandwidths are per instance).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cosamt.errors import InputError, Problem
from cosamt.limits import (
    LEVEL_NAME_PATTERN,
    RESERVED_LEVEL_NAMES,
    AxisSize,
    CapacityBytes,
    Energy,
    Lanes,
    Rate,
    WordBytes,
)
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor

LevelName = Annotated[str, Field(pattern=LEVEL_NAME_PATTERN)]
# A tensor's block name (``Q``, ``W``): identifiers, as the workload names its tensors.
TensorName = Annotated[str, Field(pattern=LEVEL_NAME_PATTERN)]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class DimClass(StrEnum):
    """Which dimensions an array axis may unroll, independent of an operator's dimension names."""

    REDUCTION = "reduction"  # dims that do not index the output (K of a GEMM)
    OUTPUT = "output"  # dims that index the output (M, N of a GEMM)


def dim_class(op: Einsum, dim: str) -> DimClass:
    return DimClass.REDUCTION if dim in op.reduction_dims else DimClass.OUTPUT


class ArrayAxis(Frozen):
    size: AxisSize
    """Number of PEs along this axis."""
    unrolls: tuple[DimClass, ...] = (DimClass.REDUCTION, DimClass.OUTPUT)
    """Classes of dimensions this axis may unroll."""


class PEArray(Frozen):
    rows: ArrayAxis
    """The row axis."""
    cols: ArrayAxis
    """The column axis."""
    below: LevelName
    """Name of the memory level directly above the array; spatial loops belong to its mapping."""
    multicast: bool = True
    """One read of the level above feeds every PE whose unrolled dimension does not index the tensor."""
    spatial_reduction: bool = True
    """Partial sums of PEs that unroll a reduction dimension are added in the array (adder tree)."""
    hop_energy_pj: Energy = 0.0
    """Network energy per word delivered across the array, charged once per destination PE (a
    multicast word reaching k PEs costs k), per word of ``word_bytes``; 0 = no network cost."""

    @property
    def pes(self) -> int:
        return self.rows.size * self.cols.size

    def axis(self, name: str) -> ArrayAxis:
        return {"rows": self.rows, "cols": self.cols}[name]


AXES: tuple[str, ...] = ("rows", "cols")  # the PE array's axes


class FanOut(Frozen):
    """A fan-out above the PE array: ``axes`` instances of everything below the level ``below``
    (a package's chiplets, each with its own buffers and PE array)."""

    below: LevelName
    """Name of the memory level directly above this fan-out; its spatial loops belong to its mapping."""
    axes: dict[Annotated[str, Field(pattern=LEVEL_NAME_PATTERN)], ArrayAxis] = Field(min_length=1)
    """The fan-out's axes by name (unique across the PE array and every fan-out; schedules name
    them in spatial loops)."""
    multicast: bool = True
    """One read of the level above feeds every instance whose unrolled dimension does not index
    the tensor (otherwise one copy per instance)."""
    spatial_reduction: bool = True
    """Partial sums of instances that unroll a reduction dimension are added in the network."""
    hop_energy_pj: Energy = 0.0
    """Network energy per word delivered across this fan-out, charged once per destination
    (a multicast word reaching k buffers below costs k), per word of ``word_bytes``; 0 = none."""

    @property
    def size(self) -> int:
        return math.prod(a.size for a in self.axes.values())


SHARED = "Shared"  # the virtual level of a fused group's shared loops


class Partition(Frozen):
    roles: tuple[Role, ...] = ()
    """Roles whose tiles share this partition (every tensor of the role that no partition of the
    level names in ``tensors``)."""
    tensors: tuple[TensorName, ...] = ()
    """Tensors, by their block names (``Q``, ``K``), whose tiles go to this partition whatever
    their role: QKᵀ's Q and K (both inputs) in separate buffers, for example."""
    capacity_bytes: CapacityBytes
    """Bytes of this partition (per PE for private levels); at least one word."""

    @model_validator(mode="after")
    def _names_something(self) -> Partition:
        if not self.roles and not self.tensors:
            raise ValueError("a partition needs roles or tensors")
        return self


@dataclass(frozen=True)
class Buffer:
    """One bounded buffer of a level: what goes in it and its capacity in words. A tensor goes to
    the partitions naming it (by any of its block names), else to those holding one of its roles;
    ``claimed`` are the tensors some partition of the level names."""

    roles: frozenset[Role]
    tensors: frozenset[str]
    claimed: frozenset[str]
    words: int

    def roles_of(self, names: frozenset[str], roles: frozenset[Role]) -> frozenset[Role]:
        """The roles in which a tensor with ``names`` playing ``roles`` occupies this buffer (none:
        it is not here). A named tensor brings every role it plays."""
        if names & self.tensors:
            return roles
        if names & self.claimed:
            return frozenset()
        return roles & self.roles

    def takes(self, tensor: Tensor) -> bool:
        return bool(self.roles_of(tensor.names, frozenset({tensor.role})))

    @property
    def label(self) -> str:
        """``input/weight``, ``K/V``: what this buffer holds, for messages and reports."""
        return "/".join([r.value for r in Role if r in self.roles] + sorted(self.tensors))


class RoleBytes(Frozen):
    """Bytes per word of each role at one level, where it differs from the architecture's
    ``word_bytes`` (int8 operands with int32 partial sums: ``{"output": 4}`` at the accumulator)."""

    input: WordBytes | None = None
    """Bytes per input word here (null: word_bytes)."""
    weight: WordBytes | None = None
    """Bytes per weight word here (null: word_bytes)."""
    output: WordBytes | None = None
    """Bytes per output (partial-sum) word here (null: word_bytes)."""

    def of(self, role: Role) -> int | None:
        return {Role.INPUT: self.input, Role.WEIGHT: self.weight, Role.OUTPUT: self.output}[role]


class MemoryLevel(Frozen):
    name: LevelName
    """Unique level name (an identifier; not ``Shared``, the fused groups' virtual level);
    schedules refer to it."""
    capacity_bytes: CapacityBytes | None = None
    """Capacity in bytes shared by all kept tensors (per PE for private levels), at least one word;
    null = unbounded."""
    partitions: tuple[Partition, ...] | None = None
    """Separate buffers per group of roles instead of one shared capacity (Gemmini's
    scratchpad for inputs and weights plus accumulator for outputs, for example)."""
    holds: tuple[Role, ...] = (Role.INPUT, Role.WEIGHT, Role.OUTPUT)
    """Roles of tensors this level may keep; others bypass it."""
    holds_tensors: tuple[TensorName, ...] = ()
    """Tensors this level may keep whatever their role, by their block names (``K``, ``V``: a K/V
    buffer; with ``holds: []``, only these); checked against the workload's tensor names."""
    read_bandwidth: Rate | None = None
    """Bytes per cycle one instance of this level can read (per PE for private levels, per
    fan-out instance for replicated ones: each instance moves its own share of the traffic);
    null means unlimited."""
    write_bandwidth: Rate | None = None
    """Bytes per cycle one instance of this level can write (per PE, per fan-out instance, as
    for reads); null means unlimited."""
    read_energy_pj: Energy
    """Energy of reading one word of ``word_bytes`` (a wider or narrower word costs in proportion
    to its bytes)."""
    write_energy_pj: Energy
    """Energy of writing one word of ``word_bytes`` (in proportion to bytes, likewise)."""
    role_bytes: RoleBytes = RoleBytes()
    """Word widths of roles that differ from ``word_bytes`` at this level: their tiles take, and
    their accesses cost, bytes / word_bytes words of capacity, energy and bandwidth."""

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_LEVEL_NAMES:
            raise ValueError(
                f"{name!r} is reserved (the virtual level of a fused group's shared loops)"
            )
        return name

    @model_validator(mode="after")
    def _partitions_cover_holds(self) -> MemoryLevel:
        if len(set(self.holds_tensors)) != len(self.holds_tensors):
            raise ValueError(f"holds_tensors names a tensor twice: {list(self.holds_tensors)}")
        if self.partitions is not None:
            if self.capacity_bytes is not None:
                raise ValueError("give capacity_bytes or partitions, not both")
            listed = [r for p in self.partitions for r in p.roles]
            if len(set(listed)) != len(listed):
                raise ValueError("a role appears in more than one partition")
            named = [t for p in self.partitions for t in p.tensors]
            twice = sorted({t for t in named if named.count(t) > 1})
            if twice:
                raise ValueError(
                    f"partitions[].tensors: {', '.join(twice)} in more than one partition "
                    "(a tensor has one buffer per level)"
                )
            missing = [r.value for r in self.holds if r not in listed]
            if missing:
                raise ValueError(f"partitions give no capacity to held roles {missing}")
        return self

    def capacity_groups(self, word_bytes: int) -> list[Buffer]:
        """Every bounded buffer of this level (capacity in words)."""
        if self.partitions is not None:
            claimed = frozenset(t for p in self.partitions for t in p.tensors)
            return [
                Buffer(
                    frozenset(p.roles),
                    frozenset(p.tensors),
                    claimed,
                    p.capacity_bytes // word_bytes,
                )
                for p in self.partitions
            ]
        if self.capacity_bytes is None:
            return []
        tensors = frozenset(self.holds_tensors)
        return [Buffer(frozenset(self.holds), tensors, tensors, self.capacity_bytes // word_bytes)]

    def partition_of(self, tensor: Tensor) -> int | None:
        """Index of the partition that takes ``tensor`` (None: unpartitioned, or none does)."""
        if self.partitions is None:
            return None
        buffers = self.capacity_groups(1)  # membership only: the word width does not matter
        return next((j for j, b in enumerate(buffers) if b.takes(tensor)), None)

    def may_hold(self, tensor: Tensor) -> bool:
        """The level holds the tensor's role or names the tensor."""
        return tensor.role in self.holds or bool(tensor.names & set(self.holds_tensors))

    @property
    def stores(self) -> bool:
        """Whether this level keeps anything (not the fused groups' virtual ``Shared`` level)."""
        return bool(self.holds or self.holds_tensors)


def _partition_problems(lv: MemoryLevel, at: str, roles: dict[str, set[Role]]) -> list[Problem]:
    """A tensor the level holds that no partition takes; a partition naming a tensor the level
    does not hold."""
    if lv.partitions is None:
        return []
    by_role = {r for p in lv.partitions for r in p.roles}
    named = {n for p in lv.partitions for n in p.tensors}
    out = [
        Problem(
            f"{at}.partitions",
            f"{lv.name} holds {n} ({'/'.join(sorted(rs))}) but no partition takes it: name it in "
            "a partition's tensors or give its role a partition",
        )
        for n, rs in sorted(roles.items())
        if n not in named
        and any(r not in by_role for r in rs if r in lv.holds or n in lv.holds_tensors)
    ]
    for j, p in enumerate(lv.partitions):
        out += [
            Problem(
                f"{at}.partitions[{j}].tensors[{k}]",
                f"{lv.name} does not hold {n} (add it to holds_tensors or its role to holds)",
            )
            for k, n in enumerate(p.tensors)
            if n in roles and n not in lv.holds_tensors and not roles[n] & set(lv.holds)
        ]
    return out


class VectorUnit(Frozen):
    lanes: Lanes
    """Vector operations per cycle."""
    energy_per_op_pj: Energy
    """Energy of one vector operation."""


class Architecture(Frozen):
    name: str
    """Preset or user name of this design."""
    description: str = ""
    """Where the numbers come from."""
    clock_ghz: Rate
    """Clock frequency in GHz (bandwidths are in bytes per cycle)."""
    word_bytes: WordBytes
    """Bytes per data word (2 for 16-bit); capacities count, and energies are quoted per, words of
    this width. A level's ``role_bytes`` may give a role another width there."""
    mac_energy_pj: Energy
    """Energy of one multiply-accumulate."""
    pe_array: PEArray
    """The spatial array of MAC units."""
    fanouts: tuple[FanOut, ...] = ()
    """Further fan-outs above the PE array, innermost first (none: one PE array, as before)."""
    levels: tuple[MemoryLevel, ...] = Field(min_length=2)
    """Memory levels, innermost first; the last is DRAM and holds everything."""
    vector_unit: VectorUnit
    """Unit for non-linear and element-wise operators."""

    @model_validator(mode="after")
    def _check(self) -> Architecture:
        names = [lv.name for lv in self.levels]
        if len(set(names)) != len(names):
            raise ValueError(f"level names must be unique, got {names}")
        if self.pe_array.below not in names:
            raise ValueError(
                f"pe_array.below names unknown level {self.pe_array.below!r}; levels are {names}"
            )
        self._check_fanouts(names)
        self._every_buffer_holds_a_word()
        top = self.levels[-1]
        if set(top.holds) != set(Role):
            raise ValueError(f"the outermost level ({top.name}) must hold every role")
        if top.capacity_bytes is not None or top.partitions is not None:
            raise ValueError(f"the outermost level ({top.name}) is DRAM: leave its capacity null")
        return self

    def _check_fanouts(self, names: list[str]) -> None:
        axes = list(AXES) + [a for f in self.fanouts for a in f.axes]
        if len(set(axes)) != len(axes):
            raise ValueError(
                f"fan-out axis names must be unique (rows and cols included), got {axes}"
            )
        lower = names.index(self.pe_array.below)
        for j, f in enumerate(self.fanouts):
            if f.below not in names:
                raise ValueError(
                    f"fanouts[{j}].below names unknown level {f.below!r}; levels are {names}"
                )
            at = names.index(f.below)
            if at <= lower:
                raise ValueError(
                    f"fanouts[{j}].below ({f.below}) must be above the PE array's or the previous "
                    "fan-out's level (fan-outs are listed innermost first)"
                )
            lower = at

    def _every_buffer_holds_a_word(self) -> None:
        for lv in self.levels:
            sizes = [lv.capacity_bytes] if lv.capacity_bytes is not None else []
            sizes += [p.capacity_bytes for p in lv.partitions or ()]
            if any(size < self.word_bytes for size in sizes):
                raise ValueError(
                    f"level {lv.name}: a capacity of {min(sizes)} bytes holds no word of "
                    f"{self.word_bytes} bytes (word_bytes)"
                )

    # ---- derived views -------------------------------------------------------------------
    @property
    def level_names(self) -> tuple[str, ...]:
        return tuple(lv.name for lv in self.levels)

    def level_index(self, name: str) -> int:
        return self.level_names.index(name)

    @property
    def spatial_level(self) -> int:
        """Index of the level whose mapping carries the spatial loops."""
        return self.level_index(self.pe_array.below)

    def is_private(self, level: int) -> bool:
        return level < self.spatial_level

    def require_one_fanout(self, what: str) -> None:
        """InputError (naming ``fanouts``) for a part of cosamt that models the PE array only."""
        if self.fanouts:
            below = ", ".join(f.below for f in self.fanouts)
            raise InputError(
                "",
                [
                    Problem(
                        "arch.fanouts",
                        f"{what} handles one fan-out (the PE array) only; architecture "
                        f"{self.name} has {len(self.fanouts)} more (below {below})",
                    )
                ],
            )

    def check_tensor_names(self, tensors: Iterable[Tensor]) -> None:
        """InputError unless every tensor an architecture names (``holds_tensors``, a partition's
        ``tensors``) is one of ``tensors`` (the workload's, by block name), every named tensor a
        partitioned level holds has a partition, and every tensor a partition names is held."""
        roles: dict[str, set[Role]] = {}
        for t in tensors:
            for n in t.names:
                roles.setdefault(n, set()).add(t.role)
        known = ", ".join(sorted(roles))
        problems: list[Problem] = []
        for i, lv in enumerate(self.levels):
            at = f"arch.levels[{i}]"
            named = [(f"{at}.holds_tensors[{k}]", n) for k, n in enumerate(lv.holds_tensors)]
            for j, p in enumerate(lv.partitions or ()):
                named += [
                    (f"{at}.partitions[{j}].tensors[{k}]", n) for k, n in enumerate(p.tensors)
                ]
            problems += [
                Problem(path, f"no tensor of the workload is named {n!r}; its tensors are {known}")
                for path, n in named
                if n not in roles
            ]
            problems += _partition_problems(lv, at, roles)
        if problems:
            raise InputError("", problems)

    @property
    def all_fanouts(self) -> tuple[FanOut, ...]:
        """The PE array (as a fan-out with axes rows and cols) and every further fan-out,
        innermost first."""
        pe = self.pe_array
        inner = FanOut(
            below=pe.below,
            axes={"rows": pe.rows, "cols": pe.cols},
            multicast=pe.multicast,
            spatial_reduction=pe.spatial_reduction,
            hop_energy_pj=pe.hop_energy_pj,
        )
        return (inner, *self.fanouts)

    @property
    def axis_names(self) -> tuple[str, ...]:
        """Every spatial axis, innermost fan-out first (``rows``, ``cols``, then the fan-outs')."""
        return tuple(a for f in self.all_fanouts for a in f.axes)

    def fanout_of(self, axis: str) -> FanOut:
        return next(f for f in self.all_fanouts if axis in f.axes)

    def axis_level(self, axis: str) -> int:
        """Index of the level whose mapping carries the spatial loops on ``axis``."""
        return self.level_index(self.fanout_of(axis).below)

    def axis_size(self, axis: str) -> int:
        return self.fanout_of(axis).axes[axis].size

    @property
    def fanout_levels(self) -> tuple[int, ...]:
        """Levels that carry spatial loops, innermost first."""
        return tuple(self.level_index(f.below) for f in self.all_fanouts)

    def hop_energy(self, child: int, parent: int) -> float:
        """Network energy per word moving between ``child`` and ``parent`` (child < parent): the
        hop energies of the fan-outs it crosses (those below a level in ``(child, parent]``)."""
        return sum(
            f.hop_energy_pj for f in self.all_fanouts if child < self.level_index(f.below) <= parent
        )

    def fanout_at(self, level: int) -> FanOut | None:
        return next((f for f in self.all_fanouts if self.level_index(f.below) == level), None)

    @property
    def units(self) -> int:
        """MAC units of the whole machine: the PE array times every fan-out."""
        return math.prod(f.size for f in self.all_fanouts)

    def max_instances(self, level: int) -> int:
        """Copies of ``level`` in the machine: the sizes of the fan-outs above it multiplied."""
        return math.prod(f.size for f in self.all_fanouts if self.level_index(f.below) > level)

    def may_keep(self, level: int, op: Einsum, tensor: Tensor) -> bool:
        """Whether ``level`` may keep ``tensor`` of ``op``: the level holds the tensor's role, and
        vector operators run on the vector unit, never in PE-private levels."""
        if op.kind is OpKind.VECTOR and self.is_private(level):
            return False
        return self.levels[level].may_hold(tensor)

    def unroll_axes(self, op: Einsum, dim: str) -> tuple[str, ...]:
        """The spatial axes (the PE array's, then every fan-out's) that may unroll ``dim`` of
        ``op``: those whose ``unrolls`` include the dimension's class; none for vector operators,
        none of a fan-out without spatial reduction for a reduction dimension."""
        if op.kind is OpKind.VECTOR:
            return ()
        cls = dim_class(op, dim)
        return tuple(
            a
            for f in self.all_fanouts
            if cls is not DimClass.REDUCTION or f.spatial_reduction
            for a, ax in f.axes.items()
            if cls in ax.unrolls
        )

    def bytes_of(self, level: int, role: Role) -> int:
        """Bytes of one word of ``role`` at ``level``."""
        return self.levels[level].role_bytes.of(role) or self.word_bytes

    def width(self, level: int, role: Role) -> float:
        """Words of ``word_bytes`` one word of ``role`` takes at ``level`` (1.0 unless the level
        gives the role its own width): the weight of its tiles in capacity and of its accesses in
        energy and bandwidth."""
        return self.bytes_of(level, role) / self.word_bytes

    @property
    def mixed_widths(self) -> bool:
        return any(lv.role_bytes != RoleBytes() for lv in self.levels)

    @property
    def dram_index(self) -> int:
        """The outermost level that stores data (a fused group's virtual ``Shared`` level is above it)."""
        return max(i for i, lv in enumerate(self.levels) if lv.stores)

    @property
    def dram(self) -> MemoryLevel:
        return self.levels[self.dram_index]

    def with_shared_level(self) -> Architecture:
        """This architecture plus a virtual outermost level ``Shared`` that stores nothing: its loops are
        the loops a fused group's operators share (outside each operator's own nest)."""
        # model_construct: the name is reserved for exactly this level, so validation would refuse it.
        shared = MemoryLevel.model_construct(
            name=SHARED, holds=(), read_energy_pj=0.0, write_energy_pj=0.0
        )
        return Architecture.model_construct(**{**dict(self), "levels": (*self.levels, shared)})
