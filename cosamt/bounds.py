"""Lower bounds on any schedule's latency and energy, independent of both the MIP and the evaluator.

* Compute: every MAC needs a PE-cycle (MACs / PEs); every vector op a lane-cycle.
* Data movement: DRAM must deliver every input word once and take every output word once
  (compulsory traffic); and a 3-tensor contraction of W MACs with S words on chip moves at least
  2W/sqrt(S) - 2S words (Smith, Lowery, Langou, van de Geijn, "A tight I/O lower bound for matrix
  multiplication", 2019; the -2S term covers what is on chip at the start and end).
* Energy: MACs and vector ops, plus compulsory DRAM traffic at DRAM's energy per word.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cosamt.arch.spec import Architecture
from cosamt.workload.einsum import Einsum, OpKind, Role


@dataclass(frozen=True)
class LowerBound:
    compute_cycles: float
    traffic_words: float  # DRAM words any schedule must move
    traffic_cycles: float
    latency_cycles: float
    energy_pj: float


def on_chip_words(arch: Architecture) -> int:
    """Words that fit on chip: the shared levels' capacities plus every PE's private storage."""
    total = 0
    for i, lv in enumerate(arch.levels[:-1]):
        words = sum(cap for _roles, cap in lv.capacity_groups(arch.word_bytes))
        total += words * (arch.pe_array.pes if arch.is_private(i) else 1)
    return total


def lower_bound(op: Einsum, arch: Architecture) -> LowerBound:
    dram = arch.dram
    wb = arch.word_bytes
    reads = sum(op.size(t) for t in op.tensors if t.role is not Role.OUTPUT)
    writes = op.size(op.output)
    if op.kind is OpKind.MAC:
        compute = op.macs / arch.pe_array.pes
        s = on_chip_words(arch)
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
        + reads * dram.read_energy_pj
        + writes * dram.write_energy_pj
    )
    return LowerBound(compute, traffic, traffic_cycles, max(compute, traffic_cycles), energy)
