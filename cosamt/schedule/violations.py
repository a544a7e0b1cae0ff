"""Typed violations: every way a schedule is not legal, as data rather than as a sentence to parse.

A ``Violation`` says which rule is broken (``rule``), where (group, operator, memory level, field of
that level, dimension, tensor, PE-array axis) and what was found against what was expected. Its
``str`` is the sentence shown to users; callers that need the place (the schedule file's JSON path,
say) read the fields, never the text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class Rule(StrEnum):
    """The legality rules of docs/semantics.md, one name per check."""

    LEVEL_COUNT = "level_count"  # the mapping does not have one entry per memory level
    UNKNOWN_DIMENSION = "unknown_dimension"
    UNKNOWN_TENSOR = "unknown_tensor"
    PADDING_TOO_SMALL = "padding_too_small"
    FACTOR_PRODUCT = "factor_product"  # a dimension's loop factors do not multiply to its size
    LEVEL_CANNOT_HOLD = "level_cannot_hold"  # the level does not hold the tensor's role
    VECTOR_IN_PRIVATE_LEVEL = "vector_in_private_level"
    SPATIAL_LEVEL = "spatial_level"  # spatial loops away from the level above the PE array
    SHARED_LEVEL = "shared_level"  # the shared-loop level keeps something or unrolls
    DRAM_KEEP = "dram_keep"  # a non-intermediate tensor not kept in DRAM
    INTERMEDIATE_IN_DRAM = "intermediate_in_dram"
    INTERMEDIATE_OFF_CHIP = "intermediate_off_chip"  # not kept in the outermost on-chip level
    PARTIAL_INTERMEDIATE = "partial_intermediate"  # a shared loop would hand on a partial sum
    SPLIT_INTERMEDIATE = "split_intermediate"  # an intermediate is not whole on chip
    VECTOR_UNROLLED = "vector_unrolled"
    AXIS_SIZE = "axis_size"  # spatial factors exceed the PE-array axis
    AXIS_UNROLLS = "axis_unrolls"  # the axis cannot unroll this class of dimension
    SPATIAL_REDUCTION = "spatial_reduction"  # reduction unrolled without spatial reduction
    CAPACITY = "capacity"  # one operator's tiles exceed a level's capacity
    SHARED_LOOPS_DIFFER = "shared_loops_differ"  # fused members disagree on the shared loops
    NOT_SHARED_DIMENSION = "not_shared_dimension"
    GROUP_CAPACITY = "group_capacity"  # a fused group's tiles together exceed a level's capacity


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``where`` and ``what`` make the user's sentence (``where: what``);
    ``found``/``expected`` are the offending and the admissible value when there are numbers."""

    rule: Rule
    what: str
    where: str = ""  # the sentence's location prefix, e.g. "GlobalBuffer.keep" or "PE array rows"
    expected: str = ""
    found: str = ""
    level: str | None = None  # memory level name
    field: str | None = None  # "keep", "temporal", "spatial" or "padding"
    dimension: str | None = None
    tensor: str | None = None
    axis: str | None = None  # "rows" or "cols"
    operator: str | None = None
    group: str | None = None

    def __str__(self) -> str:
        parts = [self.where, self.what] if self.where else [self.what]
        # In a fused group the member's name says which nest is wrong.
        if self.operator and self.group and self.group != self.operator:
            parts.insert(0, self.operator)
        return ": ".join(parts)

    def in_group(self, group: str, operator: str | None = None) -> Violation:
        """The same violation attributed to ``group`` (and, for a member's own rule, ``operator``)."""
        return replace(self, group=group, operator=operator or self.operator)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": str(self), "rule": self.rule.value}
        for key in ("group", "operator", "level", "field", "dimension", "tensor", "axis"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        for key in ("found", "expected"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out
