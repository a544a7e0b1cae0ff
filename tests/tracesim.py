"""A trace simulator: literally executes a tiny loop nest and counts every word that moves.

Deliberately written without the evaluator's closed-form rules (no fill formulas, no tile-size
products): it steps through every temporal iteration, for every PE instance works out the set of
element coordinates each storage level must hold, and counts a transfer whenever a held tile has to
change. Only meant for tiny problems (a few thousand MAC steps); clarity over speed.

Semantics:

* Levels are innermost first; level -1 is the MAC's operand latch (one element of every tensor per
  PE). Spatial loops sit at the levels directly above a fan-out (the PE array's, and any further
  fan-out's). An instance of a level is one combination of the indices of the spatial loops at
  the levels above it: the latch and levels below the PE array have one per PE, a level between
  two fan-outs one per instance of the outer one, the top one.
* Execution order: temporal loops of level n-1 (outermost first), ..., down to level 0. Spatial
  loops enumerate PE instances that execute every temporal step together.
* Coordinates: per dim a mixed-radix number; higher level = more significant, and at the spatial
  level its spatial loops sit inside its temporal loops.
* The tile of t at level l = coordinates of t reached by varying every loop at levels <= l with the
  loops above l fixed. Each instance of each keeping level (latch ... DRAM) holds one tile; when
  the required tile differs it is replaced from the parent (next keeping level above).
* Inputs/weights: parent reads, child writes (latch writes free); the same tile sent from the same
  parent instance in one step is read once per distinct combination of the destinations' indices
  on the spatial loops between child and parent that belong to fan-outs without multicast (once
  when every fan-out in between multicasts).
* Outputs: an evicted tile is read by the child (free for the latch) and written once per distinct
  (parent instance, tile) per step (reduction in the array). A loaded output tile is read back
  (parent read + child write, once per distinct tile per step) iff the parent has ever received
  partial sums for any of its coordinates. Everything still held is evicted at the end.
* Per instance: every word is also counted at the instance that reads or writes it
  (``per_instance``); a read-back partial sum shared by instances that reduce it together is
  written into one of them. ``crossing`` counts, per pair of consecutive keeping levels, every
  word delivered to or sent from a child instance (the latch's PEs too): the network traffic
  across the fan-outs between them, once per destination.

Fused-group members (``arch.with_shared_level()``, ``on_chip`` as given to the evaluator):

* The virtual ``Shared`` level above DRAM stores nothing; its temporal loops are simply the
  outermost temporal loops of the nest (the group's shared loops).
* A tensor's chain ends at its top: DRAM for ordinary tensors (which holds the whole tensor from
  start to end, whatever loops sit above it), or, for an on-chip intermediate (``on_chip``: DRAM does
  not keep it), the outermost level that keeps it. That top tile is produced or consumed in place by
  the neighbouring members of the group: loading a new top tile brings it from nowhere (nothing
  moves, an output tile starts at zero), and evicting an output tile from the top discards it
  (nothing moves, its partial sums are gone).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

from cosamt.arch.spec import Architecture
from cosamt.schedule.mapping import Mapping
from cosamt.workload.einsum import Einsum, Role, Tensor

LATCH = -1

Coord = tuple[int, ...]
Tile = frozenset[Coord]


@dataclass(frozen=True)
class _Loop:
    level: int
    dim: str
    factor: int
    spatial: bool
    rank: tuple[int, int, int]  # nesting rank for coordinates: larger = inner


@dataclass
class SimResult:
    counts: dict[tuple[int, str], tuple[int, int]]  # (level index, tensor) -> (reads, writes)
    # level index -> instance (spatial indices above it) -> words it (reads, writes), all tensors
    per_instance: dict[int, dict[tuple[int, ...], tuple[int, int]]]
    # (child, parent, tensor) -> words delivered to (fills, read-backs) or sent from (updates)
    # child instances, the latch's PEs included: what crosses the fan-outs in between
    crossing: dict[tuple[int, int, str], int]
    steps: int  # temporal steps executed
    macs: int  # (step, PE instance) pairs executed


class _Nest:
    """The loops of a mapping and the coordinate / tile functions they define."""

    def __init__(self, op: Einsum, arch: Architecture, mapping: Mapping) -> None:
        n = len(arch.levels)
        assert len(mapping.levels) == n
        fanout_levels = set(arch.fanout_levels)
        temporal: list[_Loop] = []
        spatial: list[_Loop] = []
        for lvl in range(n - 1, -1, -1):  # execution order: outermost level first
            lm = mapping.levels[lvl]
            for pos, lp in enumerate(lm.temporal):
                temporal.append(_Loop(lvl, lp.dim, lp.factor, False, (-lvl, 0, pos)))
            for pos, sp in enumerate(lm.spatial):
                assert lvl in fanout_levels, "spatial loops only directly above a fan-out"
                spatial.append(_Loop(lvl, sp.dim, sp.factor, True, (-lvl, 1, pos)))
        # an index vector is: temporal indices (execution order) followed by spatial indices
        self.loops = temporal + spatial
        self.n_temporal = len(temporal)
        self.temporal_ranges = [range(lp.factor) for lp in temporal]
        self.spatial_ranges = [range(lp.factor) for lp in spatial]
        # stride of each loop in its dim's mixed-radix coordinate
        self.stride: list[int] = []
        for lp in self.loops:
            s = 1
            for other in self.loops:
                if other.dim == lp.dim and other.rank > lp.rank:
                    s *= other.factor
            self.stride.append(s)
        self._cache: dict[tuple[str, int, tuple[int, ...]], Tile] = {}

    def coord(self, t: Tensor, vec: list[int] | tuple[int, ...]) -> Coord:
        return tuple(
            sum(vec[j] * self.stride[j] for j, lp in enumerate(self.loops) if lp.dim == d)
            for d in t.dims
        )

    def tile(self, t: Tensor, level: int, vec: tuple[int, ...]) -> Tile:
        """Coordinates of t reached by all loops at levels <= level, loops above fixed by vec."""
        outer = [j for j, lp in enumerate(self.loops) if lp.level > level and lp.dim in t.dims]
        key = (t.name, level, tuple(vec[j] for j in outer))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        inner = [j for j, lp in enumerate(self.loops) if lp.level <= level and lp.dim in t.dims]
        base = list(vec)
        coords = set()
        for combo in itertools.product(*(range(self.loops[j].factor) for j in inner)):
            for j, i in zip(inner, combo, strict=True):
                base[j] = i
            coords.add(self.coord(t, base))
        tile = frozenset(coords)
        self._cache[key] = tile
        return tile


def simulate(
    op: Einsum, arch: Architecture, mapping: Mapping, on_chip: frozenset[str] = frozenset()
) -> SimResult:
    nest = _Nest(op, arch, mapping)
    n = len(arch.levels)
    dram = arch.dram_index
    pes = list(itertools.product(*nest.spatial_ranges))  # PE instances (spatial index tuples)
    spatial = nest.loops[nest.n_temporal :]
    # positions (in a PE's spatial index tuple) of the spatial loops above each level
    above = {lv: [j for j, lp in enumerate(spatial) if lp.level > lv] for lv in range(-1, n)}
    multicast = {arch.level_index(f.below): f.multicast for f in arch.all_fanouts}

    def inst(level: int, pe: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(pe[j] for j in above[level])

    def instances(level: int) -> list[tuple[int, ...]]:
        return list(dict.fromkeys(inst(level, pe) for pe in pes))

    def copies(child: int, parent: int, dests: list[tuple[int, ...]]) -> int:
        """Copies a parent instance reads to feed ``dests`` (child instances): one per distinct
        index combination on the spatial loops in (child, parent] of fan-outs without multicast."""
        unicast = [
            k
            for k, j in enumerate(above[child])
            if spatial[j].level <= parent and not multicast[spatial[j].level]
        ]
        return len({tuple(ci[k] for k in unicast) for ci in dests})

    reads: dict[tuple[int, str], int] = defaultdict(int)
    writes: dict[tuple[int, str], int] = defaultdict(int)
    held: dict[tuple[str, int, tuple[int, ...]], Tile] = {}
    received: dict[tuple[str, int, tuple[int, ...]], set[Coord]] = defaultdict(set)

    chains: dict[str, list[int]] = {}
    for t in op.tensors:
        if t.name in on_chip:  # ends at its outermost keeping level below DRAM
            kept = [i for i in range(dram) if t.name in mapping.levels[i].keep]
            assert kept, f"on-chip tensor {t.name} is kept nowhere"
        else:  # ends at DRAM
            kept = [i for i in range(dram) if t.name in mapping.levels[i].keep] + [dram]
        chains[t.name] = [LATCH, *kept]
    full = {t.name: nest.tile(t, n - 1, tuple([0] * len(nest.loops))) for t in op.tensors}

    crossing: dict[tuple[int, int, str], int] = defaultdict(int)
    inst_reads: dict[tuple[int, tuple[int, ...]], int] = defaultdict(int)
    inst_writes: dict[tuple[int, tuple[int, ...]], int] = defaultdict(int)

    def count_read(level: int, t: Tensor, words: int, at: tuple[int, ...]) -> None:
        if level != LATCH:
            reads[(level, t.name)] += words
            inst_reads[(level, at)] += words

    def count_write(level: int, t: Tensor, words: int, at: tuple[int, ...]) -> None:
        if level != LATCH:
            writes[(level, t.name)] += words
            inst_writes[(level, at)] += words

    first_pe = {(lv, inst(lv, pe)): pe for lv in range(-1, n) for pe in reversed(pes)}

    def pe_of(level: int, i: tuple[int, ...]) -> tuple[int, ...]:
        """A PE served by instance i of level (any of them: all see the same tiles there)."""
        return first_pe[(level, i)]

    def evict_outputs(t: Tensor, want: dict[tuple[int, tuple[int, ...]], Tile] | None) -> None:
        """Send every held output tile that is no longer wanted (all of them if want is None)
        to its parent, innermost level first (the parent still holds its old tile)."""
        for child, parent in itertools.pairwise(chains[t.name]):
            groups: set[tuple[tuple[int, ...], Tile]] = set()
            for ci in instances(child):
                old = held.get((t.name, child, ci))
                if old is None or (want is not None and want[(child, ci)] == old):
                    continue
                pi = inst(parent, pe_of(child, ci))
                assert old <= held[(t.name, parent, pi)]
                count_read(child, t, len(old), ci)
                crossing[(child, parent, t.name)] += len(old)
                groups.add((pi, old))  # same tile, same parent, same step: reduced in the array
                del held[(t.name, child, ci)]
            for pi, old in groups:
                count_write(parent, t, len(old), pi)
                received[(t.name, parent, pi)].update(old)
        top = chains[t.name][-1]
        if t.name in on_chip:  # the top tile is consumed in place: discard it, nothing moves
            for ti in instances(top):
                old = held.get((t.name, top, ti))
                if old is None or (want is not None and want[(top, ti)] == old):
                    continue
                del held[(t.name, top, ti)]
                received[(t.name, top, ti)] -= old

    # DRAM holds every ordinary tensor whole from the start (loops above it change nothing)
    for t in op.tensors:
        if t.name not in on_chip:
            held[(t.name, dram, ())] = full[t.name]

    steps = 0
    macs = 0
    for tidx in itertools.product(*nest.temporal_ranges):
        steps += 1
        macs += len(pes)
        for t in op.tensors:
            chain = chains[t.name]
            want: dict[tuple[int, tuple[int, ...]], Tile] = {}
            for pe in pes:
                vec = tidx + pe
                for lvl in chain:
                    want[(lvl, inst(lvl, pe))] = (
                        full[t.name] if lvl == dram else nest.tile(t, lvl, vec)
                    )
            if t.role is Role.OUTPUT:
                evict_outputs(t, want)
            if t.name in on_chip:  # a new top tile comes from nowhere (an output's starts at zero)
                top = chain[-1]
                for ti in instances(top):
                    held[(t.name, top, ti)] = want[(top, ti)]
            # loads, outermost pair first, so each parent already holds what its child needs
            for child, parent in reversed(list(itertools.pairwise(chain))):
                sent: dict[tuple[tuple[int, ...], Tile], list[tuple[int, ...]]] = defaultdict(list)
                for ci in instances(child):
                    new = want[(child, ci)]
                    if held.get((t.name, child, ci)) == new:
                        continue
                    pi = inst(parent, pe_of(child, ci))
                    assert new <= held[(t.name, parent, pi)]
                    held[(t.name, child, ci)] = new
                    sent[(pi, new)].append(ci)
                for (pi, tile), dests in sent.items():
                    words = len(tile)
                    if t.role is Role.OUTPUT:
                        if received[(t.name, parent, pi)] & tile:  # partial sums exist: read back
                            count_read(parent, t, words, pi)
                            # the instances sharing the tile reduce it together: one receives it
                            count_write(child, t, words, dests[0])
                            crossing[(child, parent, t.name)] += words
                            for ci in dests:
                                received[(t.name, child, ci)].update(tile)
                        # otherwise the tile starts at zero: nothing moves
                    else:
                        count_read(parent, t, words * copies(child, parent, dests), pi)
                        for ci in dests:
                            count_write(child, t, words, ci)
                            crossing[(child, parent, t.name)] += words
    for t in op.outputs:
        evict_outputs(t, None)

    counts = {
        (lvl, t.name): (reads.get((lvl, t.name), 0), writes.get((lvl, t.name), 0))
        for t in op.tensors
        for lvl in chains[t.name]
        if lvl != LATCH
    }
    per_instance = {
        lvl: {
            i: (inst_reads.get((lvl, i), 0), inst_writes.get((lvl, i), 0)) for i in instances(lvl)
        }
        for lvl in range(n)
    }
    return SimResult(
        counts=counts,
        steps=steps,
        macs=macs,
        per_instance=per_instance,
        crossing=dict(crossing),
    )
