"""The schedule file: what ``cosamt solve --out`` writes and ``cosamt evaluate`` reads.

```json
{"format": "cosamt-schedule/1", "arch": "cloud",
 "groups": [{"name": "ffn1", "operators": ["ffn1"], "padding": {},
             "levels": [{"level": "DRAM", "temporal": [["m", 4], ["f", 3]]},
                        {"level": "GlobalBuffer", "temporal": [["e", 3]],
                         "spatial": [["e", 256, "rows"], ["f", 256, "cols"]], "keep": ["X", "W", "Y"]},
                        {"level": "Registers", "temporal": [["m", 256]], "keep": ["W"]}]}]}
```

Levels are listed outermost first; a level left out has no loops and keeps nothing. DRAM keeps
every tensor whatever ``keep`` says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cosamt.arch.spec import SHARED, Architecture
from cosamt.errors import InputError, Problem, json_type, problems_from_pydantic
from cosamt.fusion.schemes import Group
from cosamt.limits import LEVEL_NAME_PATTERN, Factor
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.schedule.violations import Violation
from cosamt.workload.einsum import Einsum

FORMAT: Final = "cosamt-schedule/1"
PosInt = Factor
AxisName = Annotated[str, Field(pattern=LEVEL_NAME_PATTERN)]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class LevelEntry(Frozen):
    level: str
    """Memory level name, as in the architecture."""
    temporal: tuple[tuple[str, PosInt], ...] = ()
    """Temporal loops ``[dim, factor]``, outermost first."""
    spatial: tuple[tuple[str, PosInt, AxisName], ...] = ()
    """Spatial loops ``[dim, factor, axis]`` (only at the level directly above the PE array, axis
    ``rows`` or ``cols``, or directly above a further fan-out, on one of its axes)."""
    keep: tuple[str, ...] = ()
    """Tensors this level keeps (the others bypass it)."""


class NestEntry(Frozen):
    levels: tuple[LevelEntry, ...]
    """One fused operator's own loops per memory level, outermost first (inside the shared loops)."""
    padding: dict[str, PosInt] = {}
    """Padded dimension sizes (unused for fused groups so far)."""


class GroupEntry(Frozen):
    name: str
    """Group name (the operator name for a single-operator group)."""
    operators: tuple[str, ...] = Field(min_length=1)
    """Operators of the group, in execution order."""
    scheme: str = "none"
    """Fusion scheme: none, flat, online, ffn_chain, epilogue or chain (any other run of a block's
    operators, fusion explore: docs/fusion_explore.md)."""
    padding: dict[str, PosInt] = {}
    """Padded sizes of dimensions that were padded to factor better."""
    levels: tuple[LevelEntry, ...] = ()
    """Per memory level, outermost first (single-operator groups)."""
    shared: tuple[tuple[str, PosInt], ...] = ()
    """Fused groups: the loops all operators share, ``[dim, factor]``, outermost first."""
    nests: dict[str, NestEntry] = {}
    """Fused groups: each operator's own nest inside the shared loops."""


class ScheduleFile(Frozen):
    format: Literal["cosamt-schedule/1"] = FORMAT
    """Format tag."""
    arch: str | None = None
    """Architecture name the schedule was made for (checked when given)."""
    groups: tuple[GroupEntry, ...] = Field(min_length=1)
    """One entry per operator group (at least one; a schedule that leaves operators out is
    evaluated as partial: its total covers only the groups listed)."""


def read_schedule(path: Path) -> ScheduleFile:
    from cosamt.io.instance import read_json

    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError(str(path), [Problem("", f"expected a JSON object, got {json_type(data)}")])
    try:
        return ScheduleFile.model_validate(data)
    except ValidationError as exc:
        raise InputError(str(path), problems_from_pydantic(exc)) from None


def write_schedule(path: Path, schedule: ScheduleFile) -> None:
    """Write the schedule whole or not at all (temporary file + rename)."""
    from cosamt.io.outputs import write_atomically

    text = json.dumps(schedule_to_json(schedule), indent=1) + "\n"
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def schedule_to_json(schedule: ScheduleFile) -> dict[str, Any]:
    return schedule.model_dump(mode="json")


def group_from_mapping(name: str, op: Einsum, arch: Architecture, mapping: Mapping) -> GroupEntry:
    levels = []
    for idx in range(len(arch.levels) - 1, -1, -1):
        lm = mapping.levels[idx]
        keep = tuple(t.name for t in op.tensors if t.name in lm.keep)
        levels.append(
            LevelEntry(
                level=arch.levels[idx].name,
                temporal=tuple((lp.dim, lp.factor) for lp in lm.temporal),
                spatial=tuple((sp.dim, sp.factor, sp.axis) for sp in lm.spatial),
                keep=keep,
            )
        )
    return GroupEntry(
        name=name, operators=(op.name,), padding=dict(mapping.padding), levels=tuple(levels)
    )


def mapping_from_group(group: GroupEntry, op: Einsum, arch: Architecture, path: str) -> Mapping:
    """Convert a single-operator group entry to a Mapping, naming every structural problem at once."""
    return mapping_from_levels(group.levels, group.padding, op, arch, path)


def mapping_from_levels(
    entries: tuple[LevelEntry, ...],
    padding: dict[str, int],
    op: Einsum,
    arch: Architecture,
    path: str,
    on_chip: frozenset[str] = frozenset(),
) -> Mapping:
    """Per-level entries to a Mapping (DRAM keeps every tensor but a fused group's intermediates)."""
    problems: list[Problem] = []
    names = arch.level_names
    seen: list[int] = []
    by_level: dict[int, LevelMapping] = {}
    tensor_names = {t.name for t in op.tensors}
    for i, entry in enumerate(entries):
        lpath = f"{path}.levels[{i}]"
        if entry.level not in names:
            problems.append(
                Problem(
                    f"{lpath}.level", f"unknown level {entry.level!r}; levels are {list(names)}"
                )
            )
            continue
        idx = names.index(entry.level)
        if idx in seen:
            problems.append(Problem(f"{lpath}.level", f"level {entry.level!r} listed twice"))
            continue
        if seen and idx > seen[-1]:
            problems.append(
                Problem(f"{lpath}.level", "levels must be listed outermost (DRAM) first")
            )
        seen.append(idx)
        for j, (dim, _f) in enumerate(entry.temporal):
            if dim not in op.dims:
                problems.append(
                    Problem(
                        f"{lpath}.temporal[{j}]",
                        f"unknown dimension {dim!r} of {op.name}; dims are {list(op.dims)}",
                    )
                )
        for j, (dim, _f, axis) in enumerate(entry.spatial):
            if dim not in op.dims:
                problems.append(
                    Problem(
                        f"{lpath}.spatial[{j}]",
                        f"unknown dimension {dim!r} of {op.name}; dims are {list(op.dims)}",
                    )
                )
            if axis not in arch.axis_names:
                problems.append(
                    Problem(
                        f"{lpath}.spatial[{j}][2]",
                        f"unknown axis {axis!r}; axes are {list(arch.axis_names)}",
                    )
                )
        for j, t in enumerate(entry.keep):
            if t not in tensor_names:
                problems.append(
                    Problem(
                        f"{lpath}.keep[{j}]",
                        f"unknown tensor {t!r} of {op.name}; tensors are {sorted(tensor_names)}",
                    )
                )
        keep = frozenset(tensor_names - on_chip) if idx == len(names) - 1 else frozenset(entry.keep)
        by_level[idx] = LevelMapping(
            temporal=tuple(Loop(d, f) for d, f in entry.temporal),
            spatial=tuple(SpatialLoop(d, f, a) for d, f, a in entry.spatial),
            keep=keep,
        )
    for dim in padding:
        if dim not in op.dims:
            problems.append(
                Problem(f"{path}.padding.{dim}", f"unknown dimension {dim!r} of {op.name}")
            )
    if problems:
        raise InputError("", problems)
    dram_keep = frozenset(tensor_names - on_chip)
    levels = tuple(
        by_level.get(i, LevelMapping(keep=dram_keep if i == len(names) - 1 else frozenset()))
        for i in range(len(names))
    )
    return Mapping(levels=levels, padding=dict(padding))


def group_entry(group: Group, arch: Architecture, mappings: dict[str, Mapping]) -> GroupEntry:
    """A solved group (single operator or fused) as a schedule-file entry."""
    if not group.fused:
        op = group.ops[0]
        return group_from_mapping(op.name, op, arch, mappings[op.name])
    first = mappings[group.ops[0].name]
    shared = tuple((lp.dim, lp.factor) for lp in first.levels[-1].temporal)
    nests = {}
    for op in group.ops:
        mp = mappings[op.name]
        base = Mapping(levels=mp.levels[:-1], padding=mp.padding)
        entry = group_from_mapping(op.name, op, arch, base)
        nests[op.name] = NestEntry(levels=entry.levels, padding=entry.padding)
    return GroupEntry(
        name=group.name,
        operators=tuple(o.name for o in group.ops),
        scheme=group.scheme.value,
        shared=shared,
        nests=nests,
    )


def mappings_from_entry(
    entry: GroupEntry, group: Group, arch: Architecture, path: str
) -> dict[str, Mapping]:
    """A fused (or single) group entry back to per-operator mappings; ``arch`` is the accelerator
    (fused mappings get the virtual Shared level on top)."""
    if not group.fused:
        op = group.ops[0]
        return {op.name: mapping_from_group(entry, op, arch, path)}
    problems: list[Problem] = []
    out: dict[str, Mapping] = {}
    shared = LevelMapping(temporal=tuple(Loop(d, f) for d, f in entry.shared))
    for j, (d, _f) in enumerate(entry.shared):
        if d not in group.shared_dims:
            problems.append(
                Problem(
                    f"{path}.shared[{j}]",
                    f"{d!r} is not a shared dimension of {group.name}; "
                    f"shared dimensions are {sorted(group.shared_dims)}",
                )
            )
    for op in group.ops:
        nest = entry.nests.get(op.name)
        if nest is None:
            problems.append(Problem(f"{path}.nests", f"no nest for operator {op.name!r}"))
            continue
        on_chip = frozenset(t.name for t in op.tensors if t.name in group.on_chip)
        try:
            base = mapping_from_levels(
                nest.levels, nest.padding, op, arch, f"{path}.nests.{op.name}", on_chip
            )
        except InputError as exc:
            problems += list(exc.problems)
            continue
        out[op.name] = Mapping(levels=(*base.levels, shared), padding=base.padding)
    if problems:
        raise InputError("", problems)
    return out


def violation_problems(
    group: GroupEntry, path: str, violations: Iterable[Violation]
) -> list[Problem]:
    """The evaluator's violations of one group as problems, each at the most precise JSON path the
    file has for it: the level entry (and its ``keep``/``temporal``/``spatial`` field) of the
    operator's nest, the group's ``padding.<dim>`` or ``shared`` loops, else the group itself."""
    return [Problem(violation_path(group, path, v), str(v)) for v in violations]


def violation_path(group: GroupEntry, path: str, v: Violation) -> str:
    if v.field == "padding" and v.dimension is not None and not group.nests:
        return f"{path}.padding.{v.dimension}"
    if v.level == SHARED and group.nests:
        return f"{path}.shared"
    if group.nests:
        nest = group.nests.get(v.operator or "")
        if nest is None:
            return path
        levels, base = nest.levels, f"{path}.nests.{v.operator}"
    else:
        levels, base = group.levels, path
    where = {entry.level: f"{base}.levels[{i}]" for i, entry in enumerate(levels)}
    if v.level not in where:
        return base
    return where[v.level] + (f".{v.field}" if v.field and v.field != "padding" else "")
