"""Programs for every group of a checked schedule: written to a folder, optionally built, run and
checked (the library behind ``cosamt codegen``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cosamt.arch.spec import Architecture
from cosamt.codegen.emit_c import CodegenError
from cosamt.codegen.legality import Reason, computation_problems
from cosamt.codegen.run import DEFAULT_MAX_POINTS, GroupCheck, check_group, generate
from cosamt.errors import InputError, Problem
from cosamt.fusion.schemes import Group
from cosamt.io.outputs import group_folder
from cosamt.schedule.mapping import Mapping


@dataclass(frozen=True)
class Entry:
    path: str  # JSON path of the group in the schedule file
    group: Group
    mappings: dict[str, Mapping]


def computation_reasons(entries: list[Entry]) -> list[tuple[str, Reason]]:
    return [(e.path, r) for e in entries for r in computation_problems(e.group, e.mappings)]


def write_programs(arch: Architecture, entries: list[Entry], out_dir: Path) -> list[Path]:
    """``OUT/<group>/main.c`` at the schedule's own sizes, and ``counters.json`` naming its
    counters."""
    arch.require_one_fanout("code generation")
    written = []
    problems: list[Problem] = []
    programs = []
    for e in entries:
        try:
            programs.append((e, generate(e.group, arch, e.mappings)))
        except CodegenError as exc:
            problems.append(Problem(e.path, f"cannot be generated: {exc}"))
    if problems:
        raise InputError("", problems)
    for e, program in programs:
        folder = out_dir / group_folder(e.group.name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "main.c").write_text(program.source)
        names = {
            "counters": [list(k) for k in program.counters],
            "stats_counters": [list(k) for k in program.stats_counters],
            "inputs": [t.name for t in program.inputs],
            "outputs": [t.name for t in program.outputs],
        }
        (folder / "counters.json").write_text(json.dumps(names, indent=1) + "\n")
        written.append(folder / "main.c")
    return written


def check_programs(
    arch: Architecture,
    entries: list[Entry],
    out_dir: Path,
    *,
    max_points: int = DEFAULT_MAX_POINTS,
    cap: int | None = None,
    double_buffering: bool = False,
) -> list[GroupCheck]:
    """Build and run every group (in ``OUT/<group>/check/``, reduced if the group is too big) and
    check it against numpy and the evaluator."""
    return [
        check_group(
            e.group,
            arch,
            e.mappings,
            out_dir / group_folder(e.group.name) / "check",
            max_points=max_points,
            cap=cap,
            double_buffering=double_buffering,
        )
        for e in entries
    ]
