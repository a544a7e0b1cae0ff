"""From an instance to solved, evaluated and bounded operator groups (the ``cosamt solve`` job)."""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from cosamt.arch.presets import resolve_arch
from cosamt.arch.spec import Architecture
from cosamt.baselines.streaming import streaming_schedule
from cosamt.bounds import LowerBound, combine_bounds, group_lower_bound, sum_bounds
from cosamt.errors import InputError, Problem
from cosamt.evaluate.group import GroupMetrics, evaluate_group
from cosamt.export.accelforge_import import load_accelforge_arch
from cosamt.fusion.chain import block_chains, candidates, unstated
from cosamt.fusion.explore import (
    SLACK,
    Beyond,
    Cost,
    Outcome,
    Partition,
    Step,
    add,
    least_bound,
    min_sum,
    settle,
    shortest_partition,
)
from cosamt.fusion.schemes import Group, Segment, segments
from cosamt.interrupts import worker_init
from cosamt.io.instance import AccelForgeArchRef, HFConfigRef, Instance, accelforge_arch_path
from cosamt.schedule.file import ScheduleFile, group_entry
from cosamt.schedule.mapping import Mapping, renamed
from cosamt.solve.solver import (
    SolveResult,
    SolveSettings,
    SolveStatus,
    solve_group,
    solve_within,
    solver_version,
)
from cosamt.types import AGREEMENT_TOLERANCE as AGREEMENT_TOLERANCE  # re-exported
from cosamt.types import FusionChoice, Objective
from cosamt.workload.einsum import Einsum
from cosamt.workload.models import ModelConfig, get_model, load_hf_config
from cosamt.workload.transformer import build_block


@dataclass(frozen=True)
class Resolved:
    instance: Instance
    model: ModelConfig
    arch: Architecture
    operators: tuple[Einsum, ...]


def _resolve_arch(instance: Instance, base_dir: Path | None) -> Architecture:
    ref = instance.arch
    if not isinstance(ref, AccelForgeArchRef):
        return resolve_arch(ref)
    path = accelforge_arch_path(instance, base_dir)
    assert path is not None
    extra = ref.model_dump(mode="json", exclude={"accelforge"}, exclude_none=True)
    return load_accelforge_arch(path, extra).arch


def resolve(instance: Instance, base_dir: Path | None = None) -> Resolved:
    """Turn names and references into a model config, an architecture and the block's operators."""
    if isinstance(instance.model, str):
        model = get_model(instance.model)
    elif isinstance(instance.model, HFConfigRef):
        path = Path(instance.model.hf_config)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        model = load_hf_config(path, instance.model.name)
    else:
        model = instance.model
    arch = _resolve_arch(instance, base_dir)
    ops = build_block(
        model, instance.phase, instance.batch, instance.seq_len, instance.options.lm_head
    )
    arch.check_tensor_names(t for op in ops for t in op.tensors)
    return Resolved(instance, model, arch, tuple(ops))


def settings_for(instance: Instance, **overrides: Any) -> SolveSettings:
    o = instance.options
    base = SolveSettings(
        objective=o.objective,
        time_limit_s=o.time_limit_s,
        threads=o.threads,
        jobs=o.jobs,
        mip_gap=o.mip_gap,
        double_buffering=o.double_buffering,
        padding=o.padding,
    )
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class GroupResult:
    group: Group
    solve: SolveResult
    mappings: dict[str, Mapping]
    metrics: GroupMetrics
    bound: LowerBound
    source: str  # "mip", or "streaming fallback" when the solver returned no schedule
    same_as: str | None = None  # an identical group solved earlier in the block

    @property
    def name(self) -> str:
        return self.group.name

    @property
    def count(self) -> int:
        return self.group.count

    def evaluator_value(self, objective: Objective) -> float:
        m = self.metrics
        if objective is Objective.ENERGY:
            return m.energy_pj
        if objective is Objective.EDP:
            return m.energy_pj * m.latency_cycles
        return m.latency_cycles

    def agreement(self, objective: Objective) -> float | None:
        """Relative difference between the solver's own figure for its schedule (before the exact
        recomputation that the reported figures come from) and the evaluator's: how faithful the
        MIP is, within the solver's tolerances. None for EDP (not a MIP row) and fallbacks."""
        mip = self.solve.mip_objective
        if mip is None or self.source != "mip":
            return None
        ev = self.evaluator_value(objective)
        return abs(mip - ev) / max(abs(ev), 1e-30)


@dataclass(frozen=True)
class Alternative:
    label: str  # e.g. "unfused", "flat", "online"
    groups: tuple[GroupResult, ...]  # empty when no schedule exists
    chosen: bool
    note: str = ""  # why an alternative has no schedule

    @property
    def feasible(self) -> bool:
        return bool(self.groups)

    @property
    def latency_cycles(self) -> float:
        return sum(g.metrics.latency_cycles for g in self.groups)

    @property
    def energy_pj(self) -> float:
        return sum(g.metrics.energy_pj for g in self.groups)

    @property
    def bound(self) -> LowerBound:
        return sum_bounds([g.bound for g in self.groups])


@dataclass(frozen=True)
class SegmentResult:
    name: str
    alternatives: tuple[Alternative, ...]

    @property
    def chosen(self) -> Alternative:
        return next(a for a in self.alternatives if a.chosen)

    @property
    def bound(self) -> LowerBound:
        """A bound on every grouping considered: the smallest per component."""
        return combine_bounds([a.bound for a in self.alternatives if a.feasible], min)


@dataclass(frozen=True)
class SolveReport:
    resolved: Resolved
    settings: SolveSettings
    fusion: FusionChoice
    segments: tuple[SegmentResult, ...]
    solver: str = ""  # the solver and its version ("highs 1.16.0")
    explorations: tuple[Exploration, ...] = ()  # fusion explore: per block, how it was chosen
    neighbours: tuple[Neighbour, ...] = ()  # --pareto-slack: per chosen group

    @property
    def groups(self) -> tuple[GroupResult, ...]:
        return tuple(g for seg in self.segments for g in seg.chosen.groups)

    def schedule(self) -> ScheduleFile:
        arch = self.resolved.arch
        return ScheduleFile(
            arch=arch.name,
            groups=tuple(group_entry(g.group, arch, g.mappings) for g in self.groups),
        )


ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Exploration:
    """How ``fusion: explore`` chose one block's partition (cosamt/explore.py)."""

    block: str  # the block's operator prefix ("" for a model with one block type)
    operators: tuple[str, ...]
    menu_cost: Cost | None  # today's menu on this block (the incumbent)
    partitions: dict[str, Partition[Group]]  # per chain view ("block", "split")
    chosen: str  # the view chosen, or "menu" (no explored partition is cheaper)
    solved: int  # MIPs solved (groups not solved before)
    reused: int  # candidates answered from the cache
    seconds: float
    unproven: tuple[str, ...]  # candidates not proven optimal (or infeasible): path not exact
    note: str = ""  # why a block was not explored
    bound: LowerBound | None = None  # over every partition considered (menu's and explored)
    count: int = 1  # how often the block runs per model (its layers)
    covers: frozenset[str] = frozenset()  # its operators and its split view's
    solve_seconds: float = 0.0  # the solver's seconds on this block: the menu's and explore's

    @property
    def exact(self) -> bool:
        return not self.note and not self.unproven

    @property
    def cost(self) -> Cost | None:
        if self.chosen == "menu":
            return self.menu_cost
        return self.partitions[self.chosen].cost


def _label(candidate: tuple[Group, ...]) -> str:
    return "unfused" if all(not g.fused for g in candidate) else candidate[0].scheme.value


def _choose(alts: list[Alternative], objective: Objective) -> int:
    def key(a: Alternative) -> tuple[float, float]:
        if objective is Objective.ENERGY:
            return (a.energy_pj, a.latency_cycles)
        if objective is Objective.EDP:
            return (a.energy_pj * a.latency_cycles, a.latency_cycles)
        return (a.latency_cycles, a.energy_pj)

    feasible = [i for i, a in enumerate(alts) if a.feasible]
    return min(feasible, key=lambda i: key(alts[i]))


class NoSchedule(Exception):
    """A fused group for which the solver found no valid schedule (the message says why);
    ``proven``: the solver proved that none exists (infeasible), or, with ``budget``, that none
    costs at most the budget (``SolveSettings.cutoff``)."""

    def __init__(
        self, note: str, proven: bool = False, budget: float | None = None, seconds: float = 0.0
    ) -> None:
        super().__init__(note)
        self.proven = proven
        self.budget = budget
        self.seconds = seconds  # the solver's, spent finding none


class NoValidSchedule(InputError):
    """An operator that no schedule can run on the architecture: even the streaming schedule,
    which keeps nothing on chip, is rejected by the evaluator."""

    def __reduce__(self) -> tuple[type[NoValidSchedule], tuple[str, tuple[Problem, ...]]]:
        return (type(self), (self.source, self.problems))  # crosses process boundaries (jobs)


def solve_group_result(group: Group, arch: Architecture, settings: SolveSettings) -> GroupResult:
    """Solve and evaluate a group. An unfused operator falls back to the streaming schedule when
    the solver returns no valid one (the source says why); a fused group may have none:
    NoSchedule. A schedule the evaluator rejects is never returned. A cutoff applies to fused groups
    only: an operator's streaming fallback lies outside its MIP, so the MIP's proof says nothing
    of it."""
    if not group.fused:
        settings = replace(settings, cutoff=None)
    res = solve_group(group, arch, settings)
    proven = res.status is SolveStatus.INFEASIBLE
    if res.mappings:
        mappings, source = res.mappings, "mip"
    elif group.fused and proven and settings.cutoff is not None:
        raise NoSchedule("no schedule within the budget", True, settings.cutoff, res.seconds)
    elif group.fused:
        raise NoSchedule(infeasible_note(group, arch, res), proven, seconds=res.seconds)
    else:
        mappings = {op.name: streaming_schedule(op, arch) for op in group.ops}
        source = "streaming fallback" + (f" ({res.note})" if res.note else "")
    metrics = evaluate_group(group, arch, mappings, double_buffering=settings.double_buffering)
    if not metrics.valid:
        if group.fused:
            raise NoSchedule(f"the solver's schedule is invalid: {metrics.violations[0]}")
        raise NoValidSchedule(
            "",
            [
                Problem(
                    "arch",
                    f"no schedule of {group.name} fits: even streaming every operand from DRAM "
                    f"is rejected ({metrics.violations[0]})",
                )
            ],
        )
    return GroupResult(group, res, mappings, metrics, group_lower_bound(group, arch), source)


GroupSolver = Callable[[Group, Architecture, SolveSettings], GroupResult]
GroupOutcome = GroupResult | NoSchedule  # a fused group may have no schedule


def solve_instance(
    resolved: Resolved,
    settings: SolveSettings,
    progress: ProgressFn | None = None,
    fusion: FusionChoice | None = None,
    group_solver: GroupSolver | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> SolveReport:
    """Explore the fusion candidates of every segment of the block; solve each group once (groups
    with identical operators are solved once) and keep the cheapest candidate per segment, with the
    rejected ones for ``--explain``. With objective EDP the choice is per segment (EDP of the parts).
    With ``settings.jobs`` > 1 (and the default group solver) the distinct groups are solved that
    many at a time in local processes (``pool``'s, else processes of its own); the report is the
    same as one after another."""
    choice = fusion or resolved.instance.options.fusion
    if choice is FusionChoice.EXPLORE:
        return explore_instance(resolved, settings, progress, group_solver)
    clock = Deadline.after(resolved.instance.options.solve_time_limit_s)
    solver = group_solver or solve_group_result
    segs = segments(resolved.operators, choice)
    total = sum(len(g) for seg in segs for g in seg.candidates)
    done: dict[tuple[object, ...], GroupOutcome] = {}
    parallel = settings.jobs > 1 and group_solver is None
    if parallel:
        done = solve_in_processes(segs, resolved.arch, settings, clock, progress, pool)
    used: set[tuple[object, ...]] = set()
    solved = 0
    out: list[SegmentResult] = []
    for seg in segs:
        alts: list[Alternative] = []
        for cand in seg.candidates:
            results: list[GroupResult] = []
            note = ""
            for group in cand:
                if progress and not parallel:
                    progress(group.name, solved, total)
                solved += 1
                key = group.signature()
                if key not in done:
                    done[key] = solve_one(solver, group, resolved.arch, settings, clock)
                outcome = done[key]
                if isinstance(outcome, NoSchedule):
                    note = str(outcome)
                    break
                results.append(reuse(outcome, group) if key in used else outcome)
                used.add(key)
            alts.append(Alternative(_label(cand), tuple(results) if not note else (), False, note))
        best = _choose(alts, settings.objective)
        alts[best] = replace(alts[best], chosen=True)
        out.append(SegmentResult(seg.name, tuple(alts)))
    if progress:
        count = len(done) if parallel else total  # in processes: distinct groups
        progress("", count, count)
    return SolveReport(resolved, settings, choice, tuple(out), solver_version(settings.solver))


def solve_one(
    solver: GroupSolver,
    group: Group,
    arch: Architecture,
    settings: SolveSettings,
    clock: Deadline,
) -> GroupOutcome:
    """One group within the whole-solve time limit: solved, labelled out of time, or NoSchedule."""
    try:
        if clock.expired():
            return out_of_time(group, arch, settings)
        return solver(group, arch, clock.limit(settings))
    except NoSchedule as exc:
        return exc


def solve_in_processes(
    segs: Sequence[Segment],
    arch: Architecture,
    settings: SolveSettings,
    clock: Deadline,
    progress: ProgressFn | None,
    pool: ProcessPoolExecutor | None = None,
) -> dict[tuple[object, ...], GroupOutcome]:
    """Every distinct group of every candidate, ``settings.jobs`` at a time in spawned processes
    (no fork of a process that may run solver threads), fused groups (the slowest) first: in
    ``pool`` (left running for its owner) or in processes started and ended here."""
    unique: dict[tuple[object, ...], Group] = {}
    for seg in segs:
        for cand in seg.candidates:
            for group in cand:
                unique.setdefault(group.signature(), group)
    order = sorted(unique, key=lambda key: -len(unique[key].ops))
    out: dict[tuple[object, ...], GroupOutcome] = {}
    own = pool is None
    workers = pool or ProcessPoolExecutor(
        max_workers=min(settings.jobs, len(unique)) or 1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_init,  # SIGINT left to the parent; dies with the parent
    )
    try:
        futures = {
            workers.submit(solve_one, solve_group_result, unique[key], arch, settings, clock): key
            for key in order
        }
        for finished, future in enumerate(as_completed(futures)):
            key = futures[future]
            if progress:  # distinct groups, as they finish
                progress(unique[key].name, finished + 1, len(unique))
            out[key] = future.result()
    finally:
        if own:
            workers.shutdown(wait=True, cancel_futures=True)
    return out


@dataclass(frozen=True)
class Deadline:
    """The end of a whole-solve time limit (``options.solve_time_limit_s``), or none."""

    at: float | None

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        return cls(None if seconds is None else time.monotonic() + seconds)

    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def limit(self, settings: SolveSettings) -> SolveSettings:
        """``settings`` with each MIP's time limit cut to the time left."""
        if self.at is None:
            return settings
        left = max(self.at - time.monotonic(), 0.01)
        return settings if left >= settings.time_limit_s else replace(settings, time_limit_s=left)


def _mip_schedule(outcome: GroupOutcome) -> bool:
    """Whether a solve gave a schedule of its MIP (not none, not the streaming fallback a group
    gets once the whole-solve time limit has passed)."""
    return isinstance(outcome, GroupResult) and outcome.source == "mip"


def out_of_time(group: Group, arch: Architecture, settings: SolveSettings) -> GroupResult:
    """A group reached after the whole-solve time limit: the labelled streaming schedule for an
    operator, no schedule for a fused group (NoSchedule)."""
    if group.fused:
        raise NoSchedule("not solved: the whole-solve time limit was reached before this group")
    res = SolveResult(SolveStatus.NO_SOLUTION, None, None, 0.0)
    mappings = {op.name: streaming_schedule(op, arch) for op in group.ops}
    metrics = evaluate_group(group, arch, mappings, double_buffering=settings.double_buffering)
    bound = group_lower_bound(group, arch)
    return GroupResult(group, res, mappings, metrics, bound, "streaming fallback (time limit)")


def reuse(prev: GroupResult, group: Group) -> GroupResult:
    """An identical group's result, relabelled with this group's operator names."""
    names = dict(zip((o.name for o in prev.group.ops), (o.name for o in group.ops), strict=True))
    members = tuple(replace(m, operator=names[m.operator]) for m in prev.metrics.members)
    return replace(
        prev,
        group=group,
        mappings={names[op]: mp for op, mp in prev.mappings.items()},
        solve=replace(
            prev.solve,
            seconds=0.0,
            mappings={names[op]: mp for op, mp in prev.solve.mappings.items()},
        ),
        metrics=replace(prev.metrics, group=group.name, members=members),
        same_as=prev.name,
    )


def reuse_shape(
    prev: GroupResult, group: Group, arch: Architecture, settings: SolveSettings
) -> GroupResult | None:
    """A result of another group of the same shape (``Group.shape``) for this one: its schedule
    renamed and evaluated again on this group; None if the evaluator does not give the same
    figures (then the group is solved)."""
    if prev.group.signature() == group.signature():
        return reuse(prev, group)
    named = arch.named_tensors
    dims, tensors = prev.group.shape(named).names_in(group.shape(named))
    mappings = {
        new.name: renamed(prev.mappings[old.name], dims[i], tensors)
        for i, (old, new) in enumerate(zip(prev.group.ops, group.ops, strict=True))
    }
    metrics = evaluate_group(group, arch, mappings, double_buffering=settings.double_buffering)
    same = all(
        math.isclose(getattr(metrics, f), getattr(prev.metrics, f), rel_tol=1e-12)
        for f in ("latency_cycles", "energy_pj")
    )
    if not metrics.valid or not same:
        return None
    return replace(
        prev,
        group=group,
        mappings=mappings,
        solve=replace(prev.solve, seconds=0.0, mappings=mappings),
        metrics=metrics,
        same_as=prev.name,
    )


def infeasible_note(group: Group, arch: Architecture, res: SolveResult) -> str:
    top = arch.levels[arch.dram_index - 1].name if arch.dram_index else "chip"
    if res.status is SolveStatus.INVALID or res.note:
        return res.note
    why = (
        "infeasible"
        if res.status is SolveStatus.INFEASIBLE
        else "no schedule found in the time limit"
    )
    return (
        f"{why}: the intermediates "
        f"{', '.join(sorted(group.on_chip))} must fit in {top} for one iteration of the shared loops "
        f"over {', '.join(sorted(group.shared_dims))}"
    )


# ---- fusion: explore (any contiguous run of a block's chain; the partition chosen exactly) ------


def group_cost(result: GroupResult, objective: Objective) -> Cost:
    """A group's cost for the shortest path: the objective, then the other metric (tie-break)."""
    m = result.metrics
    if objective is Objective.ENERGY:
        return (m.energy_pj, m.latency_cycles)
    if objective is Objective.EDP:
        return (m.energy_pj * m.latency_cycles, m.latency_cycles)
    return (m.latency_cycles, m.energy_pj)


def bound_value(bound: LowerBound, objective: Objective) -> float:
    if objective is Objective.ENERGY:
        return bound.energy_pj
    if objective is Objective.EDP:
        return bound.energy_pj * bound.latency_cycles
    return bound.latency_cycles


def _blocks(ops: tuple[Einsum, ...]) -> list[tuple[str, tuple[Einsum, ...]]]:
    """The operators by block prefix, in order (``dec.qk`` -> ``dec.``); the LM head apart."""
    out: list[tuple[str, list[Einsum]]] = []
    for op in ops:
        prefix = op.name.rpartition(".")[0]
        if op.name in ("final_norm", "lm_head"):
            prefix = "head"
        if not out or out[-1][0] != prefix:
            out.append((prefix, []))
        out[-1][1].append(op)
    return [(p, tuple(o)) for p, o in out]


def _result_key(group: Group) -> tuple[object, ...]:
    """Candidates differ by name (the run) and formulation (FLAT and online share a name)."""
    return (group.name, group.signature(), group.rescale is not None)


class _Solver:
    """Candidates solved once (by signature), a batch side by side in ``pool`` when there is one,
    the whole-solve deadline, what was not proven."""

    def __init__(
        self,
        arch: Architecture,
        settings: SolveSettings,
        solver: GroupSolver,
        clock: Deadline,
        seed: dict[tuple[object, ...], GroupResult],
        pool: ProcessPoolExecutor | None = None,
    ) -> None:
        self.arch, self.settings, self.solver, self.clock = arch, settings, solver, clock
        self.pool = pool
        self.done: dict[tuple[object, ...], GroupOutcome] = dict(seed)
        self.results: dict[tuple[object, ...], GroupResult] = {}
        self.solved = self.reused = 0
        self.seconds = 0.0
        self.unproven: list[str] = []
        self.provisional: set[tuple[object, ...]] = set()  # solved without their tie-break

    def __call__(self, edges: Sequence[tuple[Group, float | None]]) -> list[Outcome]:
        """The outcomes of (group, budget) pairs: each group solved once, under the loosest
        budget it is asked for (a cut-off outcome answers a tighter budget again)."""
        fresh: dict[tuple[object, ...], tuple[Group, float | None]] = {}
        for g, budget in edges:
            key = self._key(g)
            if self._known(key, budget):
                continue
            if key in fresh:
                budget = _looser(fresh[key][1], budget)
            fresh[key] = (g, budget)
        for key, outcome in self._solve(list(fresh.values())).items():
            self.done[key] = outcome
            if isinstance(outcome, GroupResult):
                self.solved += 1
                self.seconds += outcome.solve.seconds
                if not self._lexicographic:
                    self.provisional.add(key)
            else:
                self.seconds += outcome.seconds
        self.reused += len(edges) - len(fresh)
        return [self._cost(g) for g, _budget in edges]

    @property
    def _lexicographic(self) -> bool:
        """Whether a candidate's first solve runs its tie-break: with EDP the objective is one
        figure of the Pareto walk; with latency or energy the tie-break waits (``exact``)."""
        return self.settings.objective is Objective.EDP

    def exact(self, groups: Sequence[Group]) -> list[Cost | None]:
        """The costs of ``groups`` with their tie-break solved (``explore.settle``): a group
        solved without it is solved again in full (no budget), as the menu solves its groups."""
        fresh = [g for g in groups if self._key(g) in self.provisional]
        fresh = list({self._key(g): g for g in fresh}.values())
        outcomes = self._solve_each([(g, self._completion(self._key(g))) for g in fresh])
        for key, outcome in outcomes.items():
            self._complete(key, outcome)
        out: list[Cost | None] = []
        for g in groups:
            cost = self._cost(g)
            out.append(None if isinstance(cost, Beyond) else cost)
        return out

    def _completion(self, key: tuple[object, ...]) -> SolveSettings:
        """The settings that complete a provisional solve with its tie-break: stage 2 alone,
        pinned at the primary optimum the first solve proved (``known_primary``); the whole
        lexicographic solve again when the first one proved nothing."""
        full = replace(self.settings, tiebreak=True, cutoff=None)
        first = self.done.get(key)
        if (
            isinstance(first, GroupResult)
            and first.source == "mip"
            and first.solve.status is SolveStatus.OPTIMAL
            and first.solve.objective is not None
            and first.solve.bound is not None
        ):
            return replace(full, known_primary=(first.solve.objective, first.solve.bound))
        return full

    def _complete(self, key: tuple[object, ...], outcome: GroupOutcome) -> None:
        """Record a completing solve. Its schedule replaces the first one unless it has none of
        its MIP (out of time) or a worse tie-break (cut short): then the first stays, provisional,
        its note saying why."""
        self.seconds += (
            outcome.solve.seconds if isinstance(outcome, GroupResult) else outcome.seconds
        )
        first = self.done[key]
        objective = self.settings.objective
        if _mip_schedule(outcome) and (
            not isinstance(first, GroupResult)
            or not isinstance(outcome, GroupResult)
            or group_cost(outcome, objective) <= group_cost(first, objective)
        ):
            self.done[key] = outcome
            self.provisional.discard(key)
        elif isinstance(first, GroupResult):
            if self.clock.expired():
                why = "the whole-solve time limit was reached"
            else:
                why = outcome.solve.note if isinstance(outcome, GroupResult) else str(outcome)
            note = f"tie-break not solved: {why or 'no better schedule found'}"
            self.done[key] = replace(first, solve=replace(first.solve, note=note))

    def _key(self, group: Group) -> tuple[object, ...]:
        """Groups of one key are one MIP on this architecture."""
        return group.shape(self.arch.named_tensors).key

    def _known(self, key: tuple[object, ...], budget: float | None) -> bool:
        outcome = self.done.get(key)
        if isinstance(outcome, NoSchedule) and outcome.budget is not None:
            return budget is not None and budget <= outcome.budget
        return outcome is not None

    def _settings(self, group: Group, budget: float | None) -> SolveSettings:
        """A fused group's MIP may stop at its budget (latency or energy objectives); the
        tie-break waits until it can decide the partition."""
        if self._lexicographic:
            return self.settings
        settings = replace(self.settings, tiebreak=False)
        if budget is None or not group.fused:
            return settings
        return replace(settings, cutoff=budget)

    def _solve(
        self, edges: list[tuple[Group, float | None]]
    ) -> dict[tuple[object, ...], GroupOutcome]:
        return self._solve_each([(g, self._settings(g, b)) for g, b in edges])

    def _solve_each(
        self, jobs: list[tuple[Group, SolveSettings]]
    ) -> dict[tuple[object, ...], GroupOutcome]:
        """Each group solved with its settings, side by side in the pool when there is one."""
        if self.pool is None or len(jobs) < 2:
            return {
                self._key(g): solve_one(self.solver, g, self.arch, s, self.clock) for g, s in jobs
            }
        futures = {  # the largest (slowest) first
            self._key(g): self.pool.submit(
                solve_one, solve_group_result, g, self.arch, s, self.clock
            )
            for g, s in sorted(jobs, key=lambda e: -len(e[0].ops))
        }
        return {key: f.result() for key, f in futures.items()}

    def known(self, group: Group) -> Cost | None:
        """The group's cost if a group of its shape was solved already (the schedule renamed and
        evaluated again on this group), without solving: a complete partition made of such groups
        is an incumbent (``shortest_partition``'s ``known``)."""
        outcome = self.done.get(self._key(group))
        if not isinstance(outcome, GroupResult):
            return None
        result = (
            outcome
            if outcome.group == group
            else reuse_shape(outcome, group, self.arch, self.settings)
        )
        return None if result is None else group_cost(result, self.settings.objective)

    def settle_menu(self, segs: list[SegmentResult]) -> list[SegmentResult]:
        """The menu's segments with the tie-breaks that decide solved: per segment, every
        alternative of the least objective (within SLACK) gets its groups solved in full and the
        segment chooses again (the others cost more in the objective and never win)."""
        if self._lexicographic:
            return segs
        out: list[SegmentResult] = []
        for seg in segs:
            alts = list(seg.alternatives)
            primary = [_alt_cost(a, self.settings.objective)[0] for a in alts]
            least = min(primary)
            for k, a in enumerate(alts):
                if a.feasible and primary[k] <= least * (1 + SLACK):
                    alts[k] = replace(a, groups=tuple(self._full(g) for g in a.groups))
            alts = [replace(a, chosen=False) for a in alts]
            best = _choose(alts, self.settings.objective)
            alts[best] = replace(alts[best], chosen=True)
            out.append(SegmentResult(seg.name, tuple(alts)))
        return out

    def _full(self, g: GroupResult) -> GroupResult:
        """A menu group's result with its tie-break solved (solved again if it was not)."""
        key = self._key(g.group)
        if not isinstance(self.done.get(key), GroupResult):  # the menu's own first solve
            self.done[key] = g
            self.provisional.add(key)
        if key in self.provisional:
            completion = self._completion(key)
            self._complete(key, solve_one(self.solver, g.group, self.arch, completion, self.clock))
            if key in self.provisional:  # e.g. out of time: the first schedule stays, said so
                first = self.done[key]
                assert isinstance(first, GroupResult)
                return replace(g, solve=replace(g.solve, note=first.solve.note))
        prev = self.done[key]
        assert isinstance(prev, GroupResult)
        result = reuse_shape(prev, g.group, self.arch, self.settings)
        if result is None:
            full = replace(self.settings, tiebreak=True, cutoff=None)
            outcome = solve_one(self.solver, g.group, self.arch, full, self.clock)
            if not _mip_schedule(outcome):
                return g
            assert isinstance(outcome, GroupResult)
            result = outcome
        if g.same_as is None and result.same_as is not None:  # this group's own solve
            result = replace(
                result, same_as=None, solve=replace(result.solve, seconds=prev.solve.seconds)
            )
        elif g.same_as is not None:
            result = replace(result, same_as=g.same_as, solve=replace(result.solve, seconds=0.0))
        return result

    def _cost(self, group: Group) -> Outcome:
        key = self._key(group)
        outcome = self.done[key]
        if isinstance(outcome, NoSchedule):
            if outcome.budget is not None:
                return Beyond(outcome.budget)
            if not outcome.proven:
                self.unproven.append(group.name)
            return None
        result = (
            outcome
            if outcome.group == group
            else reuse_shape(outcome, group, self.arch, self.settings)
        )
        if result is None:  # the evaluator disagrees: solve this group itself
            self.done[key] = solve_one(self.solver, group, self.arch, self.settings, self.clock)
            self.provisional.discard(key)  # solved in full
            return self._cost(group)
        if result.source != "mip" or result.solve.status is not SolveStatus.OPTIMAL:
            self.unproven.append(group.name)
        self.results[_result_key(group)] = result
        return group_cost(result, self.settings.objective)


def _looser(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else max(a, b)


def _second(pair: tuple[str, Cost | None]) -> Cost:
    return pair[1] or (math.inf, math.inf)


def _alt_cost(alt: Alternative, objective: Objective) -> Cost:
    if not alt.feasible:
        return (math.inf, math.inf)
    total: Cost = (0.0, 0.0)
    for g in alt.groups:
        total = add(total, group_cost(g, objective))
    return total


def _menu_cost(segs: list[SegmentResult], objective: Objective) -> Cost:
    total: Cost = (0.0, 0.0)
    for seg in segs:
        for g in seg.chosen.groups:
            total = add(total, group_cost(g, objective))
    return total


def _explore_block(
    prefix: str,
    ops: tuple[Einsum, ...],
    menu: list[SegmentResult],
    solve: _Solver,
    max_group: int | None,
) -> tuple[Exploration, list[SegmentResult]]:
    objective = solve.settings.objective
    start = time.perf_counter()
    solved0, reused0, unproven0 = solve.solved, solve.reused, len(solve.unproven)
    seconds0 = solve.seconds
    menu_seconds = sum(g.solve.seconds for seg in menu for a in seg.alternatives for g in a.groups)
    menu_cost = _menu_cost(menu, objective)  # its tie-break provisional until it decides
    chains = block_chains(ops)
    names = tuple(o.name for o in ops)
    if not chains:
        menu = solve.settle_menu(menu)
        menu_cost = _menu_cost(menu, objective)
        note = (
            f"the dataflow of {', '.join(unstated(ops))} is not stated (MoE, cross-attention, "
            "patch merging, ...): the menu is used"
        )
        return Exploration(prefix, names, menu_cost, {}, "menu", 0, 0, 0.0, (), note), menu
    parts: dict[str, Partition[Group]] = {}

    padding = solve.settings.padding

    bounds: dict[tuple[object, ...], float] = {}

    def bound(g: Group) -> float:  # over the solver's mapspace: what the edge's cost is
        key = _result_key(g)
        if key not in bounds:
            bounds[key] = bound_value(group_lower_bound(g, solve.arch, padding), objective)
        return bounds[key]

    incumbent = menu_cost[0]
    # the view that may cost least first: its partition is then the incumbent of the others
    by_bound = sorted(
        chains,
        key=lambda c: least_bound(len(c.ops), partial(candidates, c), bound, max_group),
    )
    for chain in by_bound:
        part = shortest_partition(
            len(chain.ops),
            partial(candidates, chain),
            bound,
            solve,
            incumbent=incumbent,
            max_group=max_group,
            known=solve.known,
        )
        parts[chain.view] = part
        if part.cost is not None:  # the next view needs to beat this one, or the menu
            incumbent = min(incumbent, part.cost[0])
    parts = {c.view: parts[c.view] for c in chains}  # reported (and tied) in the views' order
    parts = settle(parts, menu_cost[0], solve.exact)  # the tie-breaks that decide, solved
    feasible = [(v, p.cost) for v, p in parts.items() if p.cost is not None]
    view, cost = min(feasible, key=_second, default=("menu", None))
    if cost is None or cost[0] >= menu_cost[0] * (1 - SLACK):  # the menu may win: its tie-breaks
        menu = solve.settle_menu(menu)
        menu_cost = _menu_cost(menu, objective)
    chosen = view if cost is not None and cost < menu_cost else "menu"
    segs = menu
    if chosen != "menu":
        segs = [
            SegmentResult(
                step.group.name,
                (
                    Alternative(
                        _label((step.group,)), (solve.results[_result_key(step.group)],), True
                    ),
                ),
            )
            for step in parts[chosen].path
        ]
    exploration = Exploration(
        prefix,
        names,
        menu_cost,
        parts,
        chosen,
        solve.solved - solved0,
        solve.reused - reused0,
        time.perf_counter() - start,
        tuple(solve.unproven[unproven0:]),
        bound=_partitions_bound(menu, parts, solve.arch),
        count=ops[0].count,
        covers=frozenset(o.name for c in chains for o in c.ops),
        solve_seconds=menu_seconds + solve.seconds - seconds0,
    )
    return exploration, segs


def _partitions_bound(
    menu: list[SegmentResult], parts: dict[str, Partition[Group]], arch: Architecture
) -> LowerBound:
    """Per component, the smallest over the menu's alternatives and every explored partition of
    the summed group bounds: a lower bound on the block whichever partition is taken."""
    menu_bound = sum_bounds([seg.bound for seg in menu])
    bounds = {id(s): group_lower_bound(s.group, arch) for p in parts.values() for s in p.steps}
    lat = [menu_bound.latency_cycles]
    energy = [menu_bound.energy_pj]
    for p in parts.values():

        def lat_of(s: Step[Group]) -> float:
            return bounds[id(s)].latency_cycles

        def energy_of(s: Step[Group]) -> float:
            return bounds[id(s)].energy_pj

        for values, value in ((lat, lat_of), (energy, energy_of)):
            v = min_sum(p.n, p.steps, value)
            if v is not None:
                values.append(v)
    return replace(menu_bound, latency_cycles=min(lat), energy_pj=min(energy))


@contextmanager
def _explore_pool(
    settings: SolveSettings, group_solver: GroupSolver | None
) -> Iterator[ProcessPoolExecutor | None]:
    """``settings.jobs`` spawned processes for the menu's groups and the explorer's batches (the
    default group solver only), started once and shut down with the exploration; none for one
    job."""
    if settings.jobs < 2 or group_solver is not None:
        yield None
        return
    pool = ProcessPoolExecutor(
        max_workers=settings.jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_init,
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def explore_instance(
    resolved: Resolved,
    settings: SolveSettings,
    progress: ProgressFn | None = None,
    group_solver: Callable[[Group, Architecture, SolveSettings], GroupResult] | None = None,
) -> SolveReport:
    """``fusion: explore``: today's menu first (the incumbent, and the fallback: the result is never
    worse), then per block and chain view the shortest path over cut points
    (cosamt/fusion/explore.py), every candidate group of the rule (cosamt/fusion/chain.py) an edge
    costed by its solved objective, pruned only by its proven lower bound against the menu."""
    clock = Deadline.after(resolved.instance.options.solve_time_limit_s)  # menu and explore
    # with latency or energy, the menu's tie-breaks wait until they decide (settle_menu)
    lazy = settings.objective is not Objective.EDP
    first = replace(settings, tiebreak=False) if lazy else settings
    with _explore_pool(settings, group_solver) as pool:  # one set of processes: menu, explore
        menu = solve_instance(resolved, first, progress, FusionChoice.ALL, group_solver, pool)
        menu = replace(menu, settings=settings)
        seed: dict[tuple[object, ...], GroupResult] = {  # the menu's groups, fused ones too
            g.group.shape(resolved.arch.named_tensors).key: g
            for seg in menu.segments
            for a in seg.alternatives
            for g in a.groups
            if g.same_as is None
        }
        solve = _Solver(
            resolved.arch, settings, group_solver or solve_group_result, clock, seed, pool
        )
        if lazy:
            solve.provisional.update(seed)
        segs: list[SegmentResult] = []
        explorations: list[Exploration] = []
        for prefix, ops in _blocks(resolved.operators):
            names = {o.name for o in ops}
            mine = [
                s
                for s in menu.segments
                if {g.name for g in s.chosen.groups}
                and all(set(g.group.source_ops) <= names for g in s.chosen.groups)
            ]
            if progress:
                progress(f"explore {prefix or 'block'}", 0, 1)
            exploration, chosen = _explore_block(
                prefix, ops, mine, solve, resolved.instance.options.max_group
            )
            explorations.append(exploration)
            segs += chosen
    return replace(
        menu, fusion=FusionChoice.EXPLORE, segments=tuple(segs), explorations=tuple(explorations)
    )


# ---- the Pareto neighbour of each chosen group (issue #16, point 4) ------------------------------


@dataclass(frozen=True)
class Neighbour:
    """A chosen group's best other metric within ``slack`` of its primary optimum (latency-first:
    the least energy at most (1 + slack) x the latency), so a trade is visible without re-running."""

    group: str
    slack: float
    primary: float  # the chosen schedule's primary metric (the cap is (1 + slack) x this)
    result: SolveResult
    metrics: GroupMetrics | None  # the evaluator's figures of the neighbour's schedule
    note: str = ""

    @property
    def valid(self) -> bool:
        return self.metrics is not None and self.metrics.valid


def pareto_neighbours(report: SolveReport, slack: float) -> SolveReport:
    """``report`` with, per distinct chosen group, the best other metric within ``slack`` of its
    primary (latency or energy objective; EDP has no single primary)."""
    objective = report.settings.objective
    if objective is Objective.EDP:
        raise InputError("", [Problem("--pareto-slack", "needs objective latency or energy")])
    arch, settings = report.resolved.arch, report.settings
    out: list[Neighbour] = []
    for g in report.groups:
        if g.same_as is not None:
            continue
        primary = g.evaluator_value(objective)
        cap = primary * (1 + slack)
        res = solve_within(g.group, arch, settings, objective, cap)
        metrics = None
        note = res.note
        if res.mappings:
            metrics = evaluate_group(
                g.group, arch, res.mappings, double_buffering=settings.double_buffering
            )
            if metrics.valid and _value(metrics, objective) > cap * (1 + 1e-9):
                note = f"over the cap by {_value(metrics, objective) / cap - 1:.1e} (tolerance)"
            other = Objective.LATENCY if objective is Objective.ENERGY else Objective.ENERGY
            if not metrics.valid or _value(metrics, other) > _value(g.metrics, other):
                # e.g. an operator the pipeline solved padded: the chosen schedule is the neighbour
                metrics, note = g.metrics, "the chosen schedule (none better found at own sizes)"
        out.append(Neighbour(g.name, slack, primary, res, metrics, note))
    return replace(report, neighbours=tuple(out))


def _value(m: GroupMetrics, objective: Objective) -> float:
    return m.energy_pj if objective is Objective.ENERGY else m.latency_cycles
