"""The streaming schedule: always legal, used when a solver returns nothing.

Every operand streams from DRAM straight into the PE array (nothing is kept on chip, so no
capacity can be exceeded); the array is filled greedily with the largest admissible divisors.
"""

from __future__ import annotations

from cosamt.arch.spec import AXES, Architecture
from cosamt.lattice import divisors
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.workload.einsum import Einsum, OpKind


def streaming_schedule(op: Einsum, arch: Architecture) -> Mapping:
    left = dict(op.dims)
    spatial: list[SpatialLoop] = []
    if op.kind is OpKind.MAC:
        for axis_name in AXES:
            axis = arch.pe_array.axis(axis_name)
            room = axis.size
            for d in sorted(left, key=lambda d: -left[d]):
                if axis_name not in arch.unroll_axes(op, d):
                    continue
                f = max(x for x in divisors(left[d]) if x <= room)
                if f > 1:
                    spatial.append(SpatialLoop(d, f, axis_name))
                    left[d] //= f
                    room //= f
    temporal = tuple(Loop(d, s) for d, s in left.items() if s > 1)
    levels = [LevelMapping() for _ in arch.levels]
    levels[arch.spatial_level] = LevelMapping(spatial=tuple(spatial))
    levels[-1] = LevelMapping(temporal=temporal, keep=frozenset(t.name for t in op.tensors))
    if arch.spatial_level == len(levels) - 1:
        levels[-1] = LevelMapping(temporal=temporal, spatial=tuple(spatial), keep=levels[-1].keep)
    return Mapping(levels=tuple(levels))
