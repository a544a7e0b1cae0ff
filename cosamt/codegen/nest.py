"""A group's loop nests as code: loops in execution order, buffers per level, and where every fill
and write-back goes.

Written from the loop-nest semantics of docs/semantics.md, like the trace simulator, and kept apart
from the evaluator's formulas: nothing here counts, it only places the transfers. A tensor's tile at
a level is moved where the reuse rule says: just inside the innermost loop of the sequence that
remains after dropping factor-1 loops and the innermost run of loops that do not index the tensor
(at the very start when nothing remains). An output tile is read back from its parent when it is
revisited (a kept irrelevant loop has moved on) and starts at zero otherwise.

Loops of a member, in execution order: the group's shared loops (a fused group's virtual Shared
level), then per memory level from DRAM down its temporal loops, and at the level above the PE
array its spatial loops right after them (they enumerate the PEs). A loop's stride in its dimension
is the product of the factors of the later loops over the same dimension (mixed radix, outer levels
more significant).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from cosamt.arch.spec import Architecture
from cosamt.fusion.schemes import Group, Scheme
from cosamt.schedule.mapping import Mapping
from cosamt.workload.einsum import Einsum, Role, Tensor

LATCH = -1


@dataclass(frozen=True)
class NestLoop:
    var: str
    dim: str
    factor: int
    level: int
    spatial: bool
    axis: str | None
    stride: int


@dataclass(frozen=True)
class Link:
    """One hop of a tensor's chain: ``child`` (a level, or the latch) is filled from ``parent``."""

    tensor: Tensor
    child: int
    parent: int
    position: int  # index into the member's loops: the transfer sits at the start of that body
    revisit: tuple[str, ...]  # loop variables of kept loops that do not index the tensor


@dataclass(frozen=True)
class MemberNest:
    index: int
    op: Einsum
    mapping: Mapping
    loops: tuple[NestLoop, ...]
    n_shared: int
    links: tuple[Link, ...]
    top_init: tuple[tuple[Tensor, int, tuple[str, ...]], ...]  # intermediate outputs zeroed on chip
    spatial_start: int  # index of the first spatial loop (== spatial_end if none)
    spatial_end: int
    padded: dict[str, int]

    @property
    def spatial(self) -> tuple[NestLoop, ...]:
        return self.loops[self.spatial_start : self.spatial_end]

    @property
    def instances(self) -> int:
        return math.prod(lp.factor for lp in self.spatial)

    def chain(self, t: Tensor) -> list[int]:
        return [lk.parent for lk in self.links if lk.tensor.name == t.name]


@dataclass(frozen=True)
class GroupNest:
    group: Group
    arch: Architecture  # with the Shared level for fused groups
    members: tuple[MemberNest, ...]
    shared: tuple[NestLoop, ...]

    @property
    def online(self) -> bool:
        return self.group.scheme is Scheme.ONLINE

    def padded(self, dim: str) -> int:
        for m in self.members:
            if dim in m.padded:
                return m.padded[dim]
        raise KeyError(dim)

    def tensor_dims(self, t: Tensor) -> tuple[int, ...]:
        return tuple(self.padded(d) for d in t.dims)


def _member_loops(
    mapping: Mapping, arch: Architecture, prefix: str, shared_prefix: str, fused: bool
) -> list[NestLoop]:
    raw: list[tuple[str, str, int, int, bool, str | None]] = []
    n = len(mapping.levels)
    for lvl in range(n - 1, -1, -1):
        lm = mapping.levels[lvl]
        shared = fused and lvl == n - 1
        for pos, lp in enumerate(lm.temporal):
            var = f"{shared_prefix}{pos}" if shared else f"{prefix}t{lvl}_{pos}"
            raw.append((var, lp.dim, lp.factor, lvl, False, None))
        for pos, sp in enumerate(lm.spatial):
            raw.append((f"{prefix}p{pos}", sp.dim, sp.factor, lvl, True, sp.axis))
    loops = []
    for j, (var, dim, factor, lvl, spatial, axis) in enumerate(raw):
        stride = math.prod(r[2] for r in raw[j + 1 :] if r[1] == dim)
        loops.append(NestLoop(var, dim, factor, lvl, spatial, axis, stride))
    return loops


def _retained(loops: list[NestLoop], above: int, dims: tuple[str, ...]) -> tuple[int, list[int]]:
    """(position, indices of kept loops) of the reuse rule for a tile at level ``above``'s child."""
    seq = [j for j, lp in enumerate(loops) if lp.level > above and not lp.spatial and lp.factor > 1]
    while seq and loops[seq[-1]].dim not in dims:
        seq.pop()
    return (seq[-1] + 1 if seq else 0), seq


def build_member(
    index: int, group: Group, op: Einsum, arch: Architecture, mapping: Mapping
) -> MemberNest:
    fused = group.fused
    loops = _member_loops(mapping, arch, f"m{index}_", "s", fused)
    n_shared = len(mapping.levels[-1].temporal) if fused else 0
    n = len(mapping.levels)
    dram = arch.dram_index
    links: list[Link] = []
    top_init: list[tuple[Tensor, int, tuple[str, ...]]] = []
    for t in op.tensors:
        chain = [LATCH] + [i for i in range(n) if mapping.keeps(i, t.name)]
        on_chip = t.name in group.on_chip
        for child, parent in itertools.pairwise(chain):
            pos, kept = _retained(loops, child, t.dims)
            if on_chip:
                pos = max(pos, n_shared)  # produced by an earlier member in the same iteration
            revisit = tuple(loops[j].var for j in kept if loops[j].dim not in t.dims)
            links.append(Link(t, child, parent, pos, revisit))
        if on_chip and t.role is Role.OUTPUT:
            top = chain[-1]
            pos, kept = _retained(loops, top, t.dims)
            revisit = tuple(loops[j].var for j in kept if loops[j].dim not in t.dims)
            top_init.append((t, max(pos, n_shared), revisit))
        elif not on_chip and chain[-1] != dram:
            raise ValueError(f"{op.name}: tensor {t.name} does not end in DRAM")
    sp = [j for j, lp in enumerate(loops) if lp.spatial]
    start = sp[0] if sp else len(loops)
    end = sp[-1] + 1 if sp else len(loops)
    padded = {d: mapping.padding.get(d, s) for d, s in op.dims.items()}
    return MemberNest(
        index,
        op,
        mapping,
        tuple(loops),
        n_shared,
        tuple(links),
        tuple(top_init),
        start,
        end,
        padded,
    )


def build_group(group: Group, arch: Architecture, mappings: dict[str, Mapping]) -> GroupNest:
    arch.require_one_fanout("code generation")
    garch = arch.with_shared_level() if group.fused else arch
    members = tuple(
        build_member(i, group, op, garch, mappings[op.name]) for i, op in enumerate(group.ops)
    )
    shared = members[0].loops[: members[0].n_shared]
    return GroupNest(group, garch, members, shared)
