"""Whole commands as library calls: what the CLI and the scripts run, so the CLI only parses flags
and prints. Every function raises ``InputError`` (one problem per line, each with its JSON path or
flag) for bad input; the instance is resolved once per command (``load_resolved``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosamt.errors import InputError, Problem

if TYPE_CHECKING:  # the solver stack is imported only by the functions that solve
    from cosamt.arch.spec import Architecture
    from cosamt.evaluate.group import GroupMetrics
    from cosamt.export.accelforge_import import ImportedArch
    from cosamt.fusion.schemes import Group
    from cosamt.pipeline import Resolved
    from cosamt.schedule.mapping import Mapping
    from cosamt.solve.solver import ParetoFront
    from cosamt.workload.einsum import Einsum


# Command-line options that override ``options.*`` of the instance.
OPTION_FLAGS = ("time_limit_s", "solve_time_limit_s", "threads", "jobs", "max_group")
# Fields a command-line flag may set, and the flag.
FLAGS = {
    "seq_len": "--seq-len",
    "batch": "--batch",
    "options.time_limit_s": "--time-limit",
    "options.solve_time_limit_s": "--solve-time-limit",
    "options.threads": "--threads",
    "options.jobs": "--jobs",
    "options.max_group": "--max-group",
}


def flag_problem(problem: Problem) -> Problem:
    """A problem in an overridden field, named by its flag: ``--time-limit (options.time_limit_s)``."""
    flag = FLAGS.get(problem.path)
    return problem if flag is None else Problem(f"{flag} ({problem.path})", problem.message)


def load_resolved(instance_path: Path, **overrides: Any) -> Resolved:
    """Load, check and resolve an instance file: its own fields, command-line ``overrides`` (None
    means not given), then every name and file it refers to (model, preset, hf_config) and the
    phase. Problems name the file they are in, or the flag they came from."""
    from cosamt.io.instance import (
        hf_config_path,
        load_instance,
        parse_instance,
        read_json,
        reference_problems,
    )
    from cosamt.pipeline import resolve

    source = str(instance_path)
    inst = load_instance(instance_path)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if changes:
        data = inst.model_dump(mode="json", exclude_unset=True)
        for key, value in changes.items():
            if key in OPTION_FLAGS:
                data["options"] = {**data.get("options", {}), key: value}
            else:
                data[key] = value
        try:
            inst = parse_instance(data, source)
        except InputError as exc:
            # The file itself was valid, so what is wrong now came from the command line.
            raise InputError("command line", [flag_problem(p) for p in exc.problems]) from None
    problems = reference_problems(inst, instance_path.parent)
    if problems:
        raise InputError(source, problems)
    hf = hf_config_path(inst, instance_path.parent)
    if hf is not None:
        read_json(hf)  # unreadable or malformed JSON: reported against the config, line/column
    try:
        return resolve(inst, instance_path.parent)  # builds the operators: decode on an encoder...
    except InputError as exc:
        raise exc.with_source(source) from None


def check_solver(name: str, flag: str = "--solver") -> None:
    """InputError unless Pyomo can run the MIP solver ``name`` here."""
    from cosamt.solve.names import solver_available

    if not solver_available(name):
        raise InputError(
            "", [Problem(flag, f"solver {name!r} is not installed or not known to Pyomo")]
        )


def find_operator(resolved: Resolved, name: str, path: str = "operator") -> Einsum:
    ops = {op.name: op for op in resolved.operators}
    if name not in ops:
        raise InputError(
            "", [Problem(path, f"unknown operator {name!r}; operators are {list(ops)}")]
        )
    return ops[name]


@dataclass(frozen=True)
class ScheduledGroup:
    """One group of a schedule file, matched to the instance and evaluated."""

    path: str  # JSON path of the group's entry, e.g. "groups[2]"
    group: Group
    mappings: dict[str, Mapping]
    metrics: GroupMetrics


def evaluate_schedule(resolved: Resolved, schedule: Path) -> list[ScheduledGroup]:
    """Match every group of a schedule file to the instance's operators and fusion schemes and
    evaluate it; every unknown operator or scheme, malformed nest and violation is reported at
    once (InputError naming the schedule file, each problem at its JSON path)."""
    from cosamt.evaluate.group import evaluate_group
    from cosamt.fusion.chain import find_chain_groups, replaced, view_operators
    from cosamt.schedule.file import read_schedule, violation_problems

    sched = read_schedule(schedule)
    ops = {op.name: op for op in (*resolved.operators, *view_operators(resolved.operators))}
    problems: list[Problem] = []
    if sched.arch is not None and sched.arch != resolved.arch.name:
        problems.append(
            Problem("arch", f"schedule is for {sched.arch!r}, instance uses {resolved.arch.name!r}")
        )
    out = []
    scheduled: dict[str, str] = {}  # operator -> path of the group that schedules it
    for i, entry in enumerate(sched.groups):
        path = f"groups[{i}]"
        twice = [(j, n) for j, n in enumerate(entry.operators) if n in scheduled]
        for j, name in twice:
            problems.append(
                Problem(
                    f"{path}.operators[{j}]",
                    f"operator {name!r} is already scheduled by {scheduled[name]}; "
                    "each operator belongs to one group",
                )
            )
        scheduled.update((n, path) for n in entry.operators if n not in scheduled)
        for j, name in enumerate(entry.operators):  # a split view's operator or the block's
            other = replaced(name)
            clash = [n for n in scheduled if n == other or replaced(n) == name]
            if clash:
                problems.append(
                    Problem(
                        f"{path}.operators[{j}]",
                        f"operator {name!r} and {clash[0]!r} ({scheduled[clash[0]]}) compute the "
                        "same projection; a schedule holds the block's or its split view's",
                    )
                )
                twice.append((j, name))
        if twice:
            continue
        unknown = [(j, n) for j, n in enumerate(entry.operators) if n not in ops]
        if unknown:
            j, name = unknown[0]
            problems.append(
                Problem(
                    f"{path}.operators[{j}]",
                    f"unknown operator {name!r}; operators are {list(ops)}",
                )
            )
            continue
        groups = find_chain_groups(resolved.operators, entry.scheme, entry.operators)
        if not groups:
            problems.append(
                Problem(
                    f"{path}.scheme",
                    f"no {entry.scheme!r} group over operators {list(entry.operators)}",
                )
            )
            continue
        parsed = _first_parsed(entry, groups, resolved.arch, path)
        if isinstance(parsed, InputError):
            problems += list(parsed.problems)
            continue
        group, mappings = parsed
        metrics = evaluate_group(
            group,
            resolved.arch,
            mappings,
            double_buffering=resolved.instance.options.double_buffering,
        )
        problems += violation_problems(entry, path, metrics.violations)
        out.append(ScheduledGroup(path, group, mappings, metrics))
    if problems:
        raise InputError(str(schedule), problems)
    return out


def _first_parsed(
    entry: Any, groups: list[Group], arch: Architecture, path: str
) -> tuple[Group, dict[str, Mapping]] | InputError:
    """The first group whose tensor names the entry's mappings fit (menu's or the chain rule's,
    fusion explore), with its mappings; else the first group's problems."""
    from cosamt.schedule.file import mappings_from_entry

    first: InputError | None = None
    for group in groups:
        try:
            return group, mappings_from_entry(entry, group, arch, path)
        except InputError as exc:
            first = first or exc
    assert first is not None
    return first


def operator_pareto_front(resolved: Resolved, operator: str) -> ParetoFront:
    """The latency-energy Pareto front of one operator of the instance (epsilon-constraint walk),
    with the instance's solve settings."""
    from cosamt.formulation.single_operator import Problem as MipProblem
    from cosamt.pipeline import settings_for
    from cosamt.solve.solver import pareto_front, single_formulation

    op = find_operator(resolved, operator)
    settings = settings_for(resolved.instance)
    problem = MipProblem(op, resolved.arch, dict(op.dims), settings.double_buffering)
    return pareto_front(single_formulation(problem), settings)


_IMPORT_FLAGS = {
    "word_bytes": "--word-bytes",
    "clock_ghz": "--clock-ghz",
    "vector_unit.lanes": "--vector-lanes",
    "vector_unit.energy_per_op_pj": "--vector-energy",
    "vector_unit": "--vector-lanes/--vector-energy",
    "name": "--name",
}


def import_accelforge_arch(
    path: Path,
    *,
    word_bytes: int,
    clock_ghz: float,
    vector_lanes: int | None = None,
    vector_energy: float | None = None,
    name: str | None = None,
) -> ImportedArch:
    """An AccelForge arch YAML as a cosamt architecture, with what AccelForge does not state given
    as flags (checked by the instance schema's ``{"accelforge": ...}`` reference)."""
    from pydantic import ValidationError

    from cosamt.errors import problems_from_pydantic
    from cosamt.export.accelforge_import import load_accelforge_arch
    from cosamt.io.instance import AccelForgeArchRef

    ref: dict[str, Any] = {
        "accelforge": str(path),
        "word_bytes": word_bytes,
        "clock_ghz": clock_ghz,
    }
    if vector_lanes is not None or vector_energy is not None:
        ref["vector_unit"] = {"lanes": vector_lanes, "energy_per_op_pj": vector_energy}
    if name is not None:
        ref["name"] = name
    try:
        checked = AccelForgeArchRef.model_validate(ref)
    except ValidationError as exc:
        problems = [
            Problem(_IMPORT_FLAGS.get(p.path, p.path), p.message)
            for p in problems_from_pydantic(exc)
        ]
        raise InputError("command line", problems) from None
    extra = checked.model_dump(mode="json", exclude={"accelforge"}, exclude_none=True)
    return load_accelforge_arch(path, extra)
