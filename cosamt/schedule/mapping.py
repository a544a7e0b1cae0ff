"""The loop nest of one operator on one architecture, in Timeloop's vocabulary.

Loops listed at a memory level iterate over the tiles held by the level below it; the loops of the
innermost level iterate over single MACs. ``Mapping.levels`` is indexed like ``Architecture.levels``
(innermost first); within a level, temporal loops are listed outermost first.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Loop:
    dim: str
    factor: int


@dataclass(frozen=True)
class SpatialLoop:
    dim: str
    factor: int
    axis: str  # "rows" or "cols"


@dataclass(frozen=True)
class LevelMapping:
    temporal: tuple[Loop, ...] = ()
    spatial: tuple[SpatialLoop, ...] = ()
    keep: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Mapping:
    levels: tuple[LevelMapping, ...]
    # Padded dimension sizes (only for padded dims); factors multiply to these.
    padding: dict[str, int] = field(default_factory=dict)

    def temporal_above(self, level: int) -> Iterator[Loop]:
        """Temporal loops of all levels above ``level``, outermost first (level -1 = the MAC)."""
        for k in range(len(self.levels) - 1, level, -1):
            yield from self.levels[k].temporal

    def spatial_between(self, low: int, high: int) -> Iterator[SpatialLoop]:
        """Spatial loops at levels ``low < k <= high``."""
        for k in range(low + 1, high + 1):
            yield from self.levels[k].spatial

    def factor_product(self, dim: str) -> int:
        return math.prod(
            [lp.factor for lv in self.levels for lp in lv.temporal if lp.dim == dim]
            + [sp.factor for lv in self.levels for sp in lv.spatial if sp.dim == dim]
        )

    def tile_extent(self, dim: str, level: int) -> int:
        """Extent of ``dim`` in one tile held at ``level`` (all loops at levels <= level)."""
        return math.prod(
            [lp.factor for lv in self.levels[: level + 1] for lp in lv.temporal if lp.dim == dim]
            + [sp.factor for lv in self.levels[: level + 1] for sp in lv.spatial if sp.dim == dim]
        )

    def keeps(self, level: int, tensor: str) -> bool:
        return tensor in self.levels[level].keep


def renamed(m: Mapping, dims: dict[str, str], tensors: dict[str, str]) -> Mapping:
    """The same schedule for an operator whose dimensions and tensors have other names."""
    return Mapping(
        levels=tuple(
            LevelMapping(
                temporal=tuple(Loop(dims[lp.dim], lp.factor) for lp in lv.temporal),
                spatial=tuple(SpatialLoop(dims[sp.dim], sp.factor, sp.axis) for sp in lv.spatial),
                keep=frozenset(tensors[t] for t in lv.keep),
            )
            for lv in m.levels
        ),
        padding={dims[d]: n for d, n in m.padding.items()},
    )
