"""Lower bounds on any schedule's latency and energy, independent of both the MIP and the evaluator.

* Compute: every MAC needs a PE-cycle (MACs / PEs); every vector op a lane-cycle.
* Data movement: DRAM must deliver every input word once and take every output word once
  (compulsory traffic); and a 3-tensor contraction of W MACs with S words on chip moves at least
  2W/sqrt(S) - 2S words (Smith, Lowery, Langou, van de Geijn, "A tight I/O lower bound for matrix
  multiplication", 2019; the -2S term covers what is on chip at the start and end; S counts the
  buffers and every PE's operand latches).
* Energy: MACs and vector ops, plus compulsory DRAM traffic at DRAM's energy per word.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields

from cosamt.arch.spec import Architecture
from cosamt.fusion.schemes import Group
from cosamt.workload.einsum import Einsum, OpKind, Role


@dataclass(frozen=True)
class LowerBound:
    compute_cycles: float
    traffic_words: float  # DRAM words any schedule must move
    traffic_cycles: float
    latency_cycles: float
    energy_pj: float


def narrowest(arch: Architecture) -> float:
    """The smallest width of any role at any level in words of word_bytes, at most 1: every word
    access costs at least this many words' energy and bandwidth, and a buffer holds at most its
    capacity over it (1 unless a level's role_bytes makes a role narrower than word_bytes)."""
    return min(1.0, *(arch.width(i, r) for i in range(len(arch.levels)) for r in Role))


def on_chip_words(arch: Architecture) -> float:
    """Words that fit on chip: the shared levels' capacities plus every PE's private storage."""
    total = 0
    for i, lv in enumerate(arch.levels[:-1]):
        words = sum(cap for _roles, cap in lv.capacity_groups(arch.word_bytes))
        total += words * (arch.pe_array.pes if arch.is_private(i) else 1)
    return total / narrowest(arch)


def lower_bound(op: Einsum, arch: Architecture) -> LowerBound:
    dram = arch.dram
    wb = arch.word_bytes * narrowest(arch)  # bytes of the narrowest word
    reads = sum(op.size(t) for t in op.tensors if t.role is not Role.OUTPUT)
    writes = op.size(op.output)
    if op.kind is OpKind.MAC:
        compute = op.macs / arch.pe_array.pes
        # The PEs' operand latches (one word per tensor) are on-chip storage too: without them a
        # one-word buffer gave a "bound" above a schedule that keeps its operands in the latches.
        s = on_chip_words(arch) + arch.pe_array.pes * len(op.tensors)
        contraction = len(op.tensors) == 3 and bool(op.reduction_dims)
        hong_kung = 2 * op.macs / math.sqrt(s) - 2 * s if contraction and s else 0.0
    else:
        compute = math.ceil(op.vector_ops / arch.vector_unit.lanes)
        hong_kung = 0.0
    traffic = max(float(reads + writes), hong_kung)
    cycles = [
        reads * wb / dram.read_bandwidth if dram.read_bandwidth else 0.0,
        writes * wb / dram.write_bandwidth if dram.write_bandwidth else 0.0,
    ]
    if dram.read_bandwidth and dram.write_bandwidth:
        cycles.append(traffic * wb / (dram.read_bandwidth + dram.write_bandwidth))
    traffic_cycles = max(cycles)
    energy = (
        op.macs * arch.mac_energy_pj
        + op.vector_ops * arch.vector_unit.energy_per_op_pj
        + reads * dram.read_energy_pj * narrowest(arch)
        + writes * dram.write_energy_pj * narrowest(arch)
    )
    return LowerBound(compute, traffic, traffic_cycles, max(compute, traffic_cycles), energy)


def combine_bounds(bounds: list[LowerBound], how: Callable[[Iterable[float]], float]) -> LowerBound:
    """Component-wise combination: ``sum`` for operators that run one after another, ``min`` for a
    bound valid whichever alternative runs."""
    return LowerBound(*(how(getattr(b, f.name) for b in bounds) for f in fields(LowerBound)))


def sum_bounds(bounds: list[LowerBound]) -> LowerBound:
    """Bounds of operators that run one after another (not overlapped): they add up."""
    return combine_bounds(bounds, sum)


def group_lower_bound(group: Group, arch: Architecture) -> LowerBound:
    """A single operator's bound, or a fused group's: its members may overlap (pipelined shared
    iterations), so per resource the members' work adds up and latency is the max over resources;
    only tensors entering or leaving the group count as compulsory DRAM traffic (each once)."""
    if not group.fused:
        return lower_bound(group.ops[0], arch)
    dram = arch.dram
    wb = arch.word_bytes * narrowest(arch)  # bytes of the narrowest word
    compute = sum(op.macs for op in group.ops) / arch.pe_array.pes
    vector = sum(math.ceil(op.vector_ops / arch.vector_unit.lanes) for op in group.ops)
    sizes: dict[tuple[str, Role], int] = {}
    for op in group.ops:
        for t in op.tensors:
            if t.name not in group.on_chip:
                sizes[(t.name, Role.OUTPUT if t.role is Role.OUTPUT else Role.INPUT)] = op.size(t)
    reads = sum(v for (_n, r), v in sizes.items() if r is Role.INPUT)
    writes = sum(v for (_n, r), v in sizes.items() if r is Role.OUTPUT)
    cycles = max(
        reads * wb / dram.read_bandwidth if dram.read_bandwidth else 0.0,
        writes * wb / dram.write_bandwidth if dram.write_bandwidth else 0.0,
    )
    energy = (
        sum(op.macs for op in group.ops) * arch.mac_energy_pj
        + sum(op.vector_ops for op in group.ops) * arch.vector_unit.energy_per_op_pj
        + reads * dram.read_energy_pj * narrowest(arch)
        + writes * dram.write_energy_pj * narrowest(arch)
    )
    return LowerBound(
        max(compute, vector), float(reads + writes), cycles, max(compute, vector, cycles), energy
    )
