"""Lower bounds on any schedule's latency and energy, independent of both the MIP and the evaluator.

* Compute: every MAC needs a PE-cycle (MACs / PEs); every vector op a lane-cycle. Over the
  solver's mapspace (``padding`` given: no padding in a fused group, a single operator's padding
  candidates), a MAC operator's compute cycles are its points over its spatial factors, so at least
  its points over the largest spatial product the array admits at those sizes (:func:`best_spatial`:
  GPT-2's dimensions, products of 2 and 3, keep at most 12 x 12 of a 12 x 14 array busy). A user's
  schedule may pad any dimension to any size, so the bound over every schedule keeps MACs / PEs.
* Data movement: DRAM must deliver every input word once and take every output word once
  (compulsory traffic); and a 3-tensor contraction of W MACs with S words on chip moves at least
  2W/sqrt(S) - 2S words (Smith, Lowery, Langou, van de Geijn, "A tight I/O lower bound for matrix
  multiplication", 2019; the -2S term covers what is on chip at the start and end; S counts the
  buffers and every PE's operand latches).
* Energy: MACs and vector ops; DRAM traffic as above (the compulsory words at DRAM's read and write
  energies, any further words the contraction bound forces at the cheaper of the two); and on-chip
  accesses (:func:`memory_energy`): every word that enters or leaves a PE's operand latches
  crosses the latch boundary, at least once per word of every tensor of every operator (fused
  intermediates included) and at least the contraction bound with S = the latches alone; a
  crossing not served by DRAM directly is an access of an on-chip level, at that level's energy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields

from cosamt.arch.spec import Architecture
from cosamt.fusion.schemes import Group
from cosamt.lattice import divisors, solver_padding
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
    """Words that fit on chip: the shared levels' capacities plus every PE's private storage
    (infinite when an on-chip level is unbounded)."""
    total = 0.0
    for i, lv in enumerate(arch.levels[: arch.dram_index]):
        if lv.capacity_bytes is None and lv.partitions is None:
            return math.inf
        words = sum(buf.words for buf in lv.capacity_groups(arch.word_bytes))
        total += words * arch.max_instances(i)  # every copy of a private or replicated level
    return total / narrowest(arch)


def contraction_traffic(op: Einsum, s: float) -> float:
    """Smith et al.'s bound on the words a 3-tensor contraction moves between a fast memory of ``s``
    words and the memory behind it (0 for other operators or no fast memory)."""
    if op.kind is not OpKind.MAC or len(op.tensors) != 3 or not op.reduction_dims:
        return 0.0
    if not s or math.isinf(s):
        return 0.0
    return max(0.0, 2 * op.macs / math.sqrt(s) - 2 * s)


def latch_words(op: Einsum, arch: Architecture) -> int:
    """The PEs' operand latches: one word of every tensor of ``op`` per PE (of every fan-out)."""
    return arch.units * len(op.tensors)


def memory_energy(
    arch: Architecture, reads: float, writes: float, chip: float, latch: float
) -> float:
    """Least memory energy of ``reads`` compulsory DRAM reads and ``writes`` compulsory DRAM writes,
    at least ``chip`` words (>= reads + writes) crossing the chip boundary (DRAM accesses) and at
    least ``latch`` words crossing the latch boundary.

    A latch crossing is served by DRAM directly (it is then one of the chip crossings) or by an
    on-chip level (an access of that level, at least ``near`` pJ). With u >= chip DRAM accesses,
    the energy is at least dram(u) + near * max(0, latch - u): convex and piecewise linear in u,
    so its least value is at u = chip or at u = max(chip, latch)."""
    dram = arch.dram
    far = min(dram.read_energy_pj, dram.write_energy_pj)
    on_chip = arch.levels[: arch.dram_index]
    near = min([min(lv.read_energy_pj, lv.write_energy_pj) for lv in on_chip] + [far])
    base = reads * dram.read_energy_pj + writes * dram.write_energy_pj
    compulsory = reads + writes

    def at(u: float) -> float:
        return base + far * (u - compulsory) + near * max(0.0, latch - u)

    return min(at(chip), at(max(chip, latch)))


def best_spatial(op: Einsum, arch: Architecture, sizes: dict[str, int] | None = None) -> int:
    """The largest product of spatial factors any schedule of ``op`` at ``sizes`` (default: its
    own) can have, by the spatial rule the MIP and the evaluator share: each dimension's factors on
    the axes that may unroll it (``Architecture.unroll_axes``) multiply to a divisor of its size,
    and each axis's factors multiply to at most its size. Exact, by enumerating the per-axis
    products reachable dimension by dimension (a few thousand states at most on 64 x 64)."""
    sizes = dict(op.dims) if sizes is None else sizes
    axes = arch.axis_names
    caps = tuple(arch.axis_size(a) for a in axes)
    states = {tuple(1 for _ in axes)}
    for d, size in sizes.items():
        eligible = tuple(axes.index(a) for a in arch.unroll_axes(op, d))
        states = {new for st in states for new in _spread(size, eligible, st, caps)}
    return max(math.prod(st) for st in states)


def _spread(
    size: int, eligible: tuple[int, ...], state: tuple[int, ...], caps: tuple[int, ...]
) -> Iterator[tuple[int, ...]]:
    """Every way to put factors of ``size`` (multiplying to a divisor of it) on the ``eligible``
    axes of ``state`` without passing an axis's cap."""
    if not eligible:
        yield state
        return
    a, rest = eligible[0], eligible[1:]
    for f in divisors(size):
        if state[a] * f > caps[a]:
            break
        yield from _spread(size // f, rest, (*state[:a], state[a] * f, *state[a + 1 :]), caps)


def mapspace_compute(op: Einsum, arch: Architecture, padding: bool) -> float:
    """The least compute cycles of a MAC operator over the single-operator solve's mapspace: its
    points over :func:`best_spatial`, at the sizes it tries (``solver_padding``; its own only
    without ``padding``; the streaming fallback is unpadded)."""
    if op.kind is not OpKind.MAC:
        return 0.0
    options = [solver_padding(s) if padding else [s] for s in op.dims.values()]
    return min(
        math.prod(combo) / best_spatial(op, arch, dict(zip(op.dims, combo, strict=True)))
        for combo in itertools.product(*options)
    )


def lower_bound(op: Einsum, arch: Architecture, padding: bool | None = None) -> LowerBound:
    """Any schedule's (``padding`` None), or one of the solver's single-operator mapspace, with
    or without its padding candidates (module docstring)."""
    dram = arch.dram
    scale = narrowest(arch)
    wb = arch.word_bytes * scale  # bytes of the narrowest word
    reads = sum(op.size(t) for t in op.tensors if t.role is not Role.OUTPUT)
    writes = op.size(op.output)
    if op.kind is OpKind.MAC:
        compute = op.macs / arch.units
        if padding is not None:
            compute = max(compute, mapspace_compute(op, arch, padding))
    else:
        compute = math.ceil(op.vector_ops / arch.vector_unit.lanes)
    # The PEs' operand latches (one word per tensor) are on-chip storage too: without them a
    # one-word buffer gave a "bound" above a schedule that keeps its operands in the latches.
    latches = latch_words(op, arch)
    traffic = max(float(reads + writes), contraction_traffic(op, on_chip_words(arch) + latches))
    crossings = max(float(reads + writes), contraction_traffic(op, latches))
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
        # every access costs at least the narrowest word's share (role_bytes)
        + memory_energy(arch, reads, writes, traffic, crossings) * scale
    )
    return LowerBound(compute, traffic, traffic_cycles, max(compute, traffic_cycles), energy)


def combine_bounds(bounds: list[LowerBound], how: Callable[[Iterable[float]], float]) -> LowerBound:
    """Component-wise combination: ``sum`` for operators that run one after another, ``min`` for a
    bound valid whichever alternative runs."""
    return LowerBound(*(how(getattr(b, f.name) for b in bounds) for f in fields(LowerBound)))


def sum_bounds(bounds: list[LowerBound]) -> LowerBound:
    """Bounds of operators that run one after another (not overlapped): they add up."""
    return combine_bounds(bounds, sum)


def group_lower_bound(group: Group, arch: Architecture, padding: bool | None = None) -> LowerBound:
    """A single operator's bound, or a fused group's: its members may overlap (pipelined shared
    iterations), so per resource the members' work adds up and latency is the max over resources;
    only tensors entering or leaving the group count as compulsory DRAM traffic (each once).
    ``padding`` None: over every schedule; else over the solver's mapspace (a fused group's MIP
    never pads; ``padding`` is the single-operator solve's setting)."""
    if not group.fused:
        return lower_bound(group.ops[0], arch, padding)
    dram = arch.dram
    scale = narrowest(arch)
    wb = arch.word_bytes * scale  # bytes of the narrowest word
    compute = sum(op.macs for op in group.ops) / arch.units
    if padding is not None:  # each member's compute cycles add up (group_latency)
        compute = max(compute, sum(mapspace_compute(op, arch, False) for op in group.ops))
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
    # every member moves each word of each of its tensors (intermediates too) across the latches
    crossings = sum(
        max(
            float(sum(op.size(t) for t in op.tensors)),
            contraction_traffic(op, latch_words(op, arch)),
        )
        for op in group.ops
    )
    energy = (
        sum(op.macs for op in group.ops) * arch.mac_energy_pj
        + sum(op.vector_ops for op in group.ops) * arch.vector_unit.energy_per_op_pj
        + memory_energy(arch, reads, writes, float(reads + writes), crossings) * scale
    )
    return LowerBound(
        max(compute, vector), float(reads + writes), cycles, max(compute, vector, cycles), energy
    )
