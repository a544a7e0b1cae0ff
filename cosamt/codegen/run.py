"""Build, run and check a group's generated program: numpy for the values, the evaluator for the
counts."""

from __future__ import annotations

import math
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cosamt.arch.spec import Architecture
from cosamt.codegen.emit_c import Program, emit
from cosamt.codegen.legality import Reason, computation_problems
from cosamt.codegen.nest import GroupNest, build_group
from cosamt.codegen.reduce import reduce_group
from cosamt.codegen.reference import run_group
from cosamt.evaluate.group import evaluate_group
from cosamt.fusion.schemes import Group
from cosamt.schedule.mapping import Mapping

# Doubles throughout; the loop nest sums in a different order than numpy, nothing else differs.
REL_TOLERANCE = 1e-9
DEFAULT_MAX_POINTS = 20_000_000  # iteration points over all members, to keep a check quick
CAPS = (None, 64, 16, 8, 4, 2)


class BuildError(Exception):
    pass


@dataclass
class GroupCheck:
    name: str
    scheme: str
    dims: dict[str, int]  # the sizes that ran (real, unpadded)
    reduced: int | None  # the factor cap, None at full size
    reasons: list[Reason] = field(default_factory=list)
    max_abs_error: float = math.nan
    max_rel_error: float = math.nan
    values_match: bool = False
    counts_match: bool = False
    mismatches: list[str] = field(default_factory=list)
    transfers: int = 0  # words counted over all levels
    rescale_ops: int | None = None
    expected_rescale_ops: int | None = None
    stats_reads: int = 0  # the statistics passes (not in the cost model)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.reasons and self.values_match and self.counts_match

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fusion": self.scheme,
            "dims": self.dims,
            "reduced_cap": self.reduced,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "values_match": self.values_match,
            "counts_match": self.counts_match,
            "mismatches": self.mismatches,
            "counted_words": self.transfers,
            "rescale_ops": self.rescale_ops,
            "expected_rescale_ops": self.expected_rescale_ops,
            "stats_reads": self.stats_reads,
            "reasons": [
                {"name": r.name, "operator": r.operator, "message": r.message} for r in self.reasons
            ],
            "seconds": self.seconds,
        }


def points(group: Group, mappings: dict[str, Mapping]) -> int:
    return sum(
        math.prod(mappings[op.name].padding.get(d, s) for d, s in op.dims.items())
        for op in group.ops
    )


def sized(
    group: Group, mappings: dict[str, Mapping], max_points: int, cap: int | None = None
) -> tuple[Group, dict[str, Mapping], int | None]:
    """The group at full size if it fits ``max_points``, else the largest reduction that does (or
    the one asked for)."""
    caps = (cap,) if cap is not None else CAPS
    for c in caps:
        g, m = (group, mappings) if c is None else reduce_group(group, mappings, c)
        if points(g, m) <= max_points or c == caps[-1]:
            return g, m, c
    raise AssertionError("unreachable")


def generate(group: Group, arch: Architecture, mappings: dict[str, Mapping]) -> Program:
    return emit(build_group(group, arch, mappings))


def compiler() -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise BuildError("no C compiler found (cc or gcc on PATH)")
    return cc


def build(program: Program, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "main.c"
    src.write_text(program.source)
    exe = folder / "main"
    res = subprocess.run(
        [compiler(), "-O1", "-std=c99", "-o", str(exe), str(src), "-lm"],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        raise BuildError(f"{src}: compilation failed:\n{res.stderr[-2000:]}")
    return exe


def _inputs(group: Group, program: Program, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = {d: s for op in group.ops for d, s in op.dims.items()}
    return {t.name: rng.standard_normal(tuple(sizes[d] for d in t.dims)) for t in program.inputs}


def _padded(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def check_group(
    group: Group,
    arch: Architecture,
    mappings: dict[str, Mapping],
    folder: Path,
    *,
    max_points: int = DEFAULT_MAX_POINTS,
    cap: int | None = None,
    double_buffering: bool = False,
    seed: int = 0,
    force: bool = False,
) -> GroupCheck:
    """Generate, build and run one group; compare its outputs with numpy and its counters with the
    evaluator (on the same, possibly reduced, group). ``force`` runs schedules the computation
    check rejects (to show what goes wrong)."""
    start = time.perf_counter()
    reasons = computation_problems(group, mappings)
    g, maps, used_cap = sized(group, mappings, max_points, cap)
    dims = {d: s for op in g.ops for d, s in op.dims.items()}
    result = GroupCheck(group.name, group.scheme.value, dims, used_cap, reasons)
    if reasons and not force:
        return result
    nest = build_group(g, arch, maps)
    program = emit(nest)
    exe = build(program, folder)
    inputs = _inputs(g, program, seed)
    for t in program.inputs:
        _padded(inputs[t.name], nest.tensor_dims(t)).tofile(folder / f"{t.name}.bin")
    run = subprocess.run([str(exe), str(folder)], capture_output=True, text=True)
    if run.returncode != 0:
        raise BuildError(f"{exe}: exited with {run.returncode}: {run.stderr[-2000:]}")
    ref = run_group(g, inputs)
    _compare_values(result, program, nest, folder, ref)
    _compare_counts(result, program, run.stdout, g, arch, maps, double_buffering)
    result.seconds = time.perf_counter() - start
    return result


def _compare_values(
    result: GroupCheck, program: Program, nest: GroupNest, folder: Path, ref: dict[str, np.ndarray]
) -> None:
    worst_abs, scale = 0.0, 0.0
    for t in program.outputs:
        got = np.fromfile(folder / f"{t.name}.bin").reshape(nest.tensor_dims(t))
        want = ref[t.name]
        got = got[tuple(slice(0, s) for s in want.shape)]
        worst_abs = max(worst_abs, float(np.max(np.abs(got - want))))
        scale = max(scale, float(np.max(np.abs(want))))
    result.max_abs_error = worst_abs
    result.max_rel_error = worst_abs / scale if scale else worst_abs
    result.values_match = bool(result.max_rel_error <= REL_TOLERANCE)


def _compare_counts(
    result: GroupCheck,
    program: Program,
    stdout: str,
    group: Group,
    arch: Architecture,
    mappings: dict[str, Mapping],
    double_buffering: bool,
) -> None:
    got: dict[tuple[str, str, str], tuple[int, int]] = {}
    for line in stdout.splitlines():
        parts = line.split()
        if parts[0] == "count":
            got[program.counters[int(parts[1])]] = (int(parts[2]), int(parts[3]))
        elif parts[0] == "stats":
            result.stats_reads += int(parts[2])
        elif parts[0] == "rescale_ops":
            result.rescale_ops = int(parts[1])
    metrics = evaluate_group(group, arch, mappings, double_buffering=double_buffering)
    want: dict[tuple[str, str, str], tuple[int, int]] = {}
    for op, m in zip(group.ops, metrics.members, strict=True):
        for ts in m.tensors:
            if ts.reads or ts.writes:
                want[(op.name, ts.level, ts.tensor)] = (ts.reads, ts.writes)
    got = {k: v for k, v in got.items() if v != (0, 0)}
    for key in sorted(set(got) | set(want)):
        g, w = got.get(key, (0, 0)), want.get(key, (0, 0))
        if g != w:
            result.mismatches.append(
                f"{key[0]} {key[1]} {key[2]}: program reads/writes {g}, evaluator {w}"
            )
    result.transfers = sum(r + w for r, w in got.values())
    if group.rescale is not None:
        result.expected_rescale_ops = metrics.extra_vector_ops
        if result.rescale_ops != metrics.extra_vector_ops:
            result.mismatches.append(
                f"rescaling: program {result.rescale_ops} ops, evaluator {metrics.extra_vector_ops}"
            )
    result.counts_match = not result.mismatches
