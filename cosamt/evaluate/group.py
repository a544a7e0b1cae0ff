"""Evaluate an operator group (fused or not): the evaluator per member plus the group's own rules."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cosamt.arch.spec import Architecture
from cosamt.evaluate.evaluator import evaluate
from cosamt.evaluate.metrics import Metrics, words_text
from cosamt.fusion.schemes import Group
from cosamt.schedule.mapping import Mapping
from cosamt.schedule.violations import Rule, Violation


@dataclass(frozen=True)
class GroupMetrics:
    group: str
    members: tuple[Metrics, ...]
    extra_vector_ops: int  # online-softmax rescaling
    latency_cycles: float
    energy_pj: float
    dram_bytes: int
    useful_macs: int
    utilisation: float
    violations: tuple[Violation, ...]
    bound_by: str = "compute"  # the resource that sets the latency

    @property
    def valid(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "latency_cycles": self.latency_cycles,
            "energy_pj": self.energy_pj,
            "dram_bytes": self.dram_bytes,
            "utilisation": self.utilisation,
            "extra_vector_ops": self.extra_vector_ops,
            "members": [m.to_json() for m in self.members],
            "violations": [v.to_json() for v in self.violations],
        }


def group_arch(group: Group, arch: Architecture) -> Architecture:
    return arch.with_shared_level() if group.fused else arch


def shared_loops(mapping: Mapping, arch: Architecture) -> tuple[tuple[str, int], ...]:
    if len(mapping.levels) <= arch.dram_index + 1:
        return ()
    return tuple((lp.dim, lp.factor) for lp in mapping.levels[-1].temporal if lp.factor > 1)


def evaluate_group(
    group: Group,
    arch: Architecture,
    mappings: dict[str, Mapping],
    *,
    double_buffering: bool = False,
) -> GroupMetrics:
    """Members run one after another inside every iteration of the shared loops; iterations are
    pipelined across resources (``group_latency``). Energy is the members' sum plus the rescaling
    work of online softmax on the vector unit."""
    garch = group_arch(group, arch)
    members: list[Metrics] = []
    violations: list[Violation] = []
    for op in group.ops:
        m = evaluate(
            op,
            garch,
            mappings[op.name],
            double_buffering=double_buffering,
            on_chip=group.on_chip & {t.name for t in op.tensors},
            capacity_exclude=group.in_place.get(op.name, frozenset()),
        )
        members.append(m)
        violations += [v.in_group(group.name, op.name) for v in m.violations]
    violations += [v.in_group(group.name) for v in _check_shared(group, garch, mappings)]
    violations += [
        v.in_group(group.name)
        for v in _check_group_capacity(group, garch, mappings, double_buffering)
    ]
    extra = 0
    if group.rescale is not None:
        r = group.rescale
        tiles = math.prod(f for d, f in shared_loops(mappings[r.operator], garch) if d == r.dim)
        extra = r.ops(tiles)
    energy = sum(m.energy_pj for m in members) + extra * arch.vector_unit.energy_per_op_pj
    if group.fused:
        latency, bound_by = group_latency(members, extra / arch.vector_unit.lanes)
    else:
        latency, bound_by = members[0].latency_cycles, members[0].bound_by
    macs = sum(m.useful_macs for m in members)
    return GroupMetrics(
        group=group.name,
        members=tuple(members),
        extra_vector_ops=extra,
        latency_cycles=latency,
        energy_pj=energy,
        dram_bytes=sum(m.dram_bytes for m in members),
        useful_macs=macs,
        utilisation=macs / (latency * arch.units) if latency else 0.0,
        violations=tuple(violations),
        bound_by=bound_by,
    )


def group_latency(members: list[Metrics], extra_vector_cycles: float) -> tuple[float, str]:
    """Shared iterations are pipelined across the PE array, the vector unit and every memory port
    (FLAT's interleaved execution; fill and drain ignored): the max over resources of the summed
    cycles."""
    compute = sum(m.compute_cycles for m in members)
    vector = sum(m.vector_cycles for m in members) + extra_vector_cycles
    ports: dict[str, float] = {}
    for m in members:
        for lv in m.levels:
            ports[f"{lv.level}.read"] = ports.get(f"{lv.level}.read", 0.0) + lv.read_cycles
            ports[f"{lv.level}.write"] = ports.get(f"{lv.level}.write", 0.0) + lv.write_cycles
    resources = {"compute": compute, "vector": vector, **ports}
    name = max(resources, key=lambda r: resources[r])
    return resources[name], name


def _check_shared(
    group: Group, garch: Architecture, mappings: dict[str, Mapping]
) -> list[Violation]:
    if not group.fused:
        return []
    first = shared_loops(mappings[group.ops[0].name], garch)
    shared_level = garch.levels[-1].name
    out = []
    for op in group.ops:
        loops = shared_loops(mappings[op.name], garch)
        if loops != first:
            out.append(
                Violation(
                    Rule.SHARED_LOOPS_DIFFER,
                    f"shared loops {list(loops)} differ from {group.ops[0].name}'s {list(first)}",
                    found=str(list(loops)),
                    expected=str(list(first)),
                    level=shared_level,
                    field="temporal",
                    operator=op.name,
                )
            )
        bad = [d for d, _f in loops if d not in group.shared_dims]
        if bad:
            out.append(
                Violation(
                    Rule.NOT_SHARED_DIMENSION,
                    f"dimension {bad[0]} is not shared by the group",
                    found=bad[0],
                    expected=f"one of {sorted(group.shared_dims)}",
                    level=shared_level,
                    field="temporal",
                    dimension=bad[0],
                    operator=op.name,
                )
            )
    return out


def _check_group_capacity(
    group: Group, garch: Architecture, mappings: dict[str, Mapping], db: bool
) -> list[Violation]:
    """While the group runs, every on-chip level holds the largest tile of every tensor any member
    keeps there, all at once (a tile reused across shared iterations must survive the other members'
    turns); in-place outputs share their input's space."""
    if not group.fused:
        return []
    in_place = {t for ts in group.in_place.values() for t in ts}
    out: list[Violation] = []
    for lvl in range(garch.dram_index):
        sizes: dict[str, int] = {}
        for op in group.ops:
            mp = mappings[op.name]
            for t in op.tensors:
                if t.name in in_place or not mp.keeps(lvl, t.name):
                    continue
                tile = math.prod(mp.tile_extent(d, lvl) for d in t.dims)
                sizes[t.name] = max(tile, sizes.get(t.name, 0))
        level = garch.levels[lvl]
        for buf in level.capacity_groups(garch.word_bytes):
            cap = buf.words
            # a tensor counts in every partition holding a role it plays, or naming it (Group.roles_in)
            where = {n: group.roles_in(buf, n) for n in sizes}
            inside = sorted(n for n in sizes if where[n])
            widths = [group.width(garch, lvl, n, where[n]) for n in inside]
            used: float = sum(sizes[n] for n in inside)
            if any(w != 1.0 for w in widths):  # words of word_bytes (role_bytes)
                used = sum(sizes[n] * w for n, w in zip(inside, widths, strict=True))
            used *= 2 if db else 1
            if used > cap:
                names = ", ".join(inside)
                out.append(
                    Violation(
                        Rule.GROUP_CAPACITY,
                        f"the group keeps {names} at once: {words_text(used)} words, capacity is {cap}",
                        where=level.name,
                        found=f"{words_text(used)} words",
                        expected=f"at most {cap} words",
                        level=level.name,
                    )
                )
    return out
