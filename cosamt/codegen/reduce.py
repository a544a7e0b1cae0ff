"""Smaller problems with the same schedule structure, for groups too big to run in full.

Every loop keeps its place, its level, its axis and whether it is trivial; a non-trivial factor f
becomes the largest power of two not above min(f, cap). Members of a fused group must agree on
every dimension, so a member whose own loops over a dimension multiply to less than another's has
the difference put into its outermost own temporal loop over that dimension. A padded dimension
keeps its padding amount where it still fits (otherwise it loses its padding)."""

from __future__ import annotations

import dataclasses
import math

from cosamt.fusion.schemes import Group, Rescale
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.workload.einsum import Einsum


def _shrink(f: int, cap: int) -> int:
    if f <= 1:
        return f
    return 1 << (min(f, cap).bit_length() - 1)


def _own_levels(mapping: Mapping, fused: bool) -> int:
    return len(mapping.levels) - 1 if fused else len(mapping.levels)


def reduce_group(
    group: Group, mappings: dict[str, Mapping], cap: int
) -> tuple[Group, dict[str, Mapping]]:
    fused = group.fused
    small: dict[str, list[LevelMapping]] = {}
    for op in group.ops:
        mp = mappings[op.name]
        small[op.name] = [
            LevelMapping(
                tuple(Loop(lp.dim, _shrink(lp.factor, cap)) for lp in lm.temporal),
                tuple(SpatialLoop(sp.dim, _shrink(sp.factor, cap), sp.axis) for sp in lm.spatial),
                lm.keep,
            )
            for lm in mp.levels
        ]
    dims = {d for op in group.ops for d in op.dims}
    target: dict[str, int] = {}
    for d in dims:
        prods = [
            math.prod(
                [lp.factor for lm in small[op.name] for lp in lm.temporal if lp.dim == d]
                + [sp.factor for lm in small[op.name] for sp in lm.spatial if sp.dim == d]
            )
            for op in group.ops
            if d in op.dims
        ]
        target[d] = max(prods)
        for op in group.ops:
            if d in op.dims:
                _stretch(small[op.name], d, target[d], _own_levels(mappings[op.name], fused))
    new_ops = []
    new_maps: dict[str, Mapping] = {}
    for op in group.ops:
        mp = mappings[op.name]
        real: dict[str, int] = {}
        padding: dict[str, int] = {}
        for d, size in op.dims.items():
            pad = mp.padding.get(d, size) - size
            real[d] = target[d] - pad if target[d] > 2 * pad else target[d]
            if real[d] < target[d]:
                padding[d] = target[d]
        new_ops.append(dataclasses.replace(op, dims=real))
        new_maps[op.name] = Mapping(tuple(small[op.name]), padding)
    return _regroup(group, tuple(new_ops)), new_maps


def _stretch(levels: list[LevelMapping], dim: str, target: int, own: int) -> None:
    got = math.prod(
        [lp.factor for lm in levels for lp in lm.temporal if lp.dim == dim]
        + [sp.factor for lm in levels for sp in lm.spatial if sp.dim == dim]
    )
    if got == target:
        return
    extra = target // got
    for lvl in range(own - 1, -1, -1):
        lm = levels[lvl]
        for pos, lp in enumerate(lm.temporal):
            if lp.dim == dim and lp.factor > 1:
                temporal = list(lm.temporal)
                temporal[pos] = Loop(dim, lp.factor * extra)
                levels[lvl] = dataclasses.replace(lm, temporal=tuple(temporal))
                return
    for lvl in range(own - 1, -1, -1):  # no own temporal loop: a spatial one takes it
        lm = levels[lvl]
        for pos, sp in enumerate(lm.spatial):
            if sp.dim == dim and sp.factor > 1:
                spatial = list(lm.spatial)
                spatial[pos] = SpatialLoop(dim, sp.factor * extra, sp.axis)
                levels[lvl] = dataclasses.replace(lm, spatial=tuple(spatial))
                return
    raise ValueError(f"cannot reduce dimension {dim}: no own loop to absorb x{extra}")


def _regroup(group: Group, ops: tuple[Einsum, ...]) -> Group:
    rescale = group.rescale
    if rescale is not None:
        av = next(o for o in ops if o.output.name == rescale.output)
        out = av.output
        rows = math.prod(av.dims[d] for d in out.dims if d != "d")
        rescale = Rescale(rescale.dim, rescale.operator, rescale.output, av.size(out), rows)
    return dataclasses.replace(group, ops=ops, rescale=rescale)
