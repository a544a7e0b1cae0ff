"""Solve a formulation with any Pyomo MIP solver; nothing Pyomo leaves this module."""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import pyomo.environ as pyo
from pyomo.opt import TerminationCondition

from cosamt.arch.spec import Architecture
from cosamt.evaluate.evaluator import evaluate
from cosamt.evaluate.group import evaluate_group
from cosamt.formulation.fused_group import build_group
from cosamt.formulation.lattice import prime_factors, solver_padding
from cosamt.formulation.single_operator import (
    BuiltModel,
    CostTerms,
    OperatorModel,
    Problem,
    build,
)
from cosamt.fusion.schemes import Group
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.schedule.violations import Violation
from cosamt.solve.names import pyomo_solver_name
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"  # a valid schedule within the requested gap (plus NUMERIC_GAP) of a bound
    FEASIBLE = "feasible"  # a valid schedule, not proven within the gap (time limit, numerics)
    INFEASIBLE = "infeasible"  # no schedule fits the architecture
    NO_SOLUTION = "no_solution"  # stopped with no incumbent, or the tie-break stage never ran
    INVALID = "invalid"  # the solver's schedule was rejected by the evaluator (never reported)


# The certified figure of a schedule is the evaluator's; the solver's dual bound, a bound of the
# model relaxed by its feasibility tolerance (TIGHT_TOLERANCE on scaled rows), may sit that much
# below the true optimum. A schedule is called optimal when it is within the requested gap plus this
# of the bound.
NUMERIC_GAP = 1e-6
# Stage 2 of a lexicographic solve keeps the primary within this of stage 1's exact value.
TIEBREAK_SLACK = 1e-9
# Feasibility tolerances passed to HiGHS (the loose one only to confirm an infeasibility claim).
# 1e-9 was tried: HiGHS then pruned the optimum of FLAT attention at 2^59 points and called a
# schedule 1.9x slower optimal (the tie-break stage found the better one); 1e-7 finds it.
TIGHT_TOLERANCE = 1e-7
LOOSE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class SolveSettings:
    objective: Objective = Objective.LATENCY
    time_limit_s: float = 60.0  # wall-time bound on one group: every MIP and stage it needs
    threads: int = 2
    jobs: int = 1  # groups solved at once in local processes (the pipeline's, not one MIP's)
    mip_gap: float = 0.0
    double_buffering: bool = False
    padding: bool = True
    solver: str = "highs"
    # Only a schedule whose primary objective (latency or energy) is at most this matters: stage 1
    # gets the row ``primary <= cutoff`` and may prove that none is (status INFEASIBLE) long before
    # it would prove an optimum above it (the fusion explorer's budgets).
    cutoff: float | None = None
    # False: stage 1 only (the primary optimum; the tie-break is reported as not run). The fusion
    # explorer runs the tie-break only for candidates on a partition of the least primary.
    tiebreak: bool = True
    # (value, bound) of the primary objective, proven optimal by an earlier stage 1 of this very
    # model: only stage 2 runs, pinned there (the explorer completing a candidate it solved
    # without its tie-break). A stage 2 that finds nothing returns no schedule: the caller keeps
    # the earlier one.
    known_primary: tuple[float, float] | None = None


@dataclass(frozen=True)
class Certificate:
    """The evaluator's verdict on the schedule read off a solved model."""

    latency: float
    energy: float
    violations: tuple[Violation, ...] = ()

    def value(self, objective: Objective) -> float:
        if objective is Objective.ENERGY:
            return self.energy
        if objective is Objective.EDP:
            return self.latency * self.energy
        return self.latency


@dataclass(frozen=True)
class SolveResult:
    status: SolveStatus
    objective: float | None  # primary objective (latency cycles, energy pJ or EDP), certified
    bound: float | None  # best proven bound on the primary objective
    seconds: float
    mappings: dict[str, Mapping] = field(default_factory=dict)  # per operator; empty if none found
    latency: float | None = None  # the evaluator's latency and energy at the returned schedule
    energy: float | None = None
    solves: int = 1
    # Status of the tie-break stage (the other metric at the primary optimum); a time limit can cut
    # it short, leaving the primary optimum proven but the tie-break unproven.
    tiebreak: SolveStatus | None = None
    tiebreak_gap: float | None = None  # how much the other metric might still improve (relative)
    mip_objective: float | None = None  # the solver's own figure for the primary (tolerance-bound)
    note: str = ""  # what went wrong, when something did (a rejected schedule, dropped rows, ...)

    @property
    def mapping(self) -> Mapping | None:
        """The schedule of a single-operator solve."""
        return next(iter(self.mappings.values())) if len(self.mappings) == 1 else None

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)

    @property
    def proven(self) -> bool:
        """Optimal in the primary objective and, where one ran, in the tie-break too."""
        return self.status is SolveStatus.OPTIMAL and self.tiebreak in (None, SolveStatus.OPTIMAL)

    @property
    def numerical_error(self) -> float | None:
        """Relative difference between the solver's figure and the certified one."""
        if self.mip_objective is None or not self.objective:
            return None
        return abs(self.mip_objective - self.objective) / abs(self.objective)


def relative_gap(value: float | None, bound: float | None) -> float | None:
    if value is None or bound is None:
        return None
    if value == 0:
        return 0.0
    return max(0.0, (value - bound) / abs(value))


_highs_threads: list[int] = []  # the thread count HiGHS's process-wide scheduler was started with


def _highs_scheduler(threads: int) -> int:
    """HiGHS runs one scheduler per process, sized by the first solve; a later solve asking for a
    different thread count fails with an error status (seen as "no solution"). Restart it then;
    highspy before 1.8 cannot, so there every solve keeps the first solve's count. Returns the
    thread count to pass."""
    if _highs_threads and _highs_threads[0] != threads:
        import highspy

        reset = getattr(highspy.Highs, "resetGlobalScheduler", None)
        if reset is None:
            return _highs_threads[0]
        reset(True)
    _highs_threads[:] = [threads]
    return threads


def solver_version(name: str) -> str:
    """ "highs 1.16.0": the solver and version that produced a result (for reports and caches)."""
    if name == "highs":
        from importlib.metadata import version

        return f"highs {version('highspy')}"
    try:
        opt = pyo.SolverFactory(pyomo_solver_name(name))
        ver = opt.version() if opt is not None else None
    except Exception:
        ver = None
    return f"{name} {'.'.join(map(str, ver)) if isinstance(ver, tuple) else ver or 'unknown'}"


def environment(solver: str = "highs") -> dict[str, Any]:
    """What produced a result, for benchmark and results JSON: solver, packages, machine."""
    import os
    import platform
    from importlib.metadata import version

    return {
        "solver": solver_version(solver),
        "pyomo": version("pyomo"),
        "cosamt": version("cosamt"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def _solver(settings: SolveSettings, time_left: float, loose: bool = False) -> object:
    name = pyomo_solver_name(settings.solver)
    opt = pyo.SolverFactory(name)
    if opt is None or not opt.available(exception_flag=False):
        raise RuntimeError(f"solver {settings.solver!r} is not available")
    if name == "appsi_highs":
        threads = _highs_scheduler(settings.threads)
        opt.config.time_limit = max(time_left, 0.01)
        opt.config.mip_gap = settings.mip_gap
        tolerance = LOOSE_TOLERANCE if loose else TIGHT_TOLERANCE
        opt.highs_options = {
            "threads": threads,
            "mip_abs_gap": 1e-9,
            "random_seed": 0,
            "mip_rel_gap": settings.mip_gap,
            "output_flag": False,
            # Rows and integrality hold to 1e-7 on scaled variables: the dual bound is then tight
            # enough to prove the certified figures within NUMERIC_GAP; the reported figures are
            # the evaluator's anyway (certify).
            "primal_feasibility_tolerance": tolerance,
            "mip_feasibility_tolerance": tolerance,
            # Epigraph rows are scaled by the largest attainable value; on big operators (2^40
            # iteration points) the secants of small values have coefficients below HiGHS's default
            # 1e-9 cut-off, which it silently drops, and then its "optimal" is not (found on FLAT's
            # batch-64, 16K-token attention). 1e-12 is the smallest it accepts.
            "small_matrix_value": 1e-12,
        }
    else:
        for key, value in _generic_options(settings.solver, time_left, settings).items():
            opt.options[key] = value
    return opt


# Option names of common Pyomo MIP solvers: time limit, relative gap, threads.
_OPTION_NAMES: dict[str, tuple[str | None, str | None, str | None]] = {
    "cbc": ("sec", "ratioGap", "threads"),
    "glpk": ("tmlim", "mipgap", None),
    "gurobi": ("TimeLimit", "MIPGap", "Threads"),
    "gurobi_direct": ("TimeLimit", "MIPGap", "Threads"),
    "cplex": ("timelimit", "mipgap", "threads"),
    "scip": ("limits/time", "limits/gap", None),
}


def _generic_options(
    name: str, time_left: float, settings: SolveSettings
) -> dict[str, float | int]:
    limit, gap, threads = _OPTION_NAMES.get(name, (None, None, None))
    out: dict[str, float | int] = {}
    if limit:
        out[limit] = max(1, math.ceil(time_left)) if name == "glpk" else max(time_left, 0.01)
    if gap:
        out[gap] = settings.mip_gap
    if threads:
        out[threads] = settings.threads
    return out


class DroppedRows(Exception):
    """The solver loaded fewer rows than the model has (HiGHS treats |coefficient| >= 1e15 as
    infinite and drops the row, then solves what is left): its answer is about another model."""


def _check_rows_loaded(opt: object) -> None:
    highs = getattr(opt, "_solver_model", None)
    if highs is None:
        return
    # APPSI maps every row it handed over; HiGHS keeps only those it accepted.
    expected = len(opt._pyomo_con_to_solver_con_map)  # type: ignore[attr-defined]
    loaded = highs.getNumRow()
    if loaded != expected:
        raise DroppedRows(f"the solver loaded {loaded} of the model's {expected} rows")


def _interrupt_at(highs: Any, deadline: float) -> None:
    """Stop HiGHS at ``deadline`` (wall clock) from its own interrupt callbacks. Its
    ``time_limit`` alone is not enough: a tie-break stage on a 4-level hierarchy given 30 s ran
    for minutes without returning."""
    import highspy

    kinds = highspy._core.cb.HighsCallbackType

    def callback(_kind: int, _message: str, _out: Any, data_in: Any, _user: Any) -> None:
        if time.perf_counter() > deadline:
            data_in.user_interrupt = True

    highs.setCallback(callback, None)
    for kind in (
        kinds.kCallbackMipInterrupt,
        kinds.kCallbackSimplexInterrupt,
        kinds.kCallbackIpmInterrupt,
    ):
        highs.startCallback(kind)


def _load_interrupted(opt: Any) -> tuple[bool, float | None]:
    """After an interrupt Pyomo refuses to load the incumbent; read it from HiGHS directly."""
    highs = opt._solver_model
    info = highs.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return False, None
    opt.load_vars()
    bound = float(info.mip_dual_bound)
    return True, bound if math.isfinite(bound) else None


def _run(
    model: pyo.ConcreteModel, settings: SolveSettings, time_left: float, loose: bool = False
) -> tuple[SolveStatus, float | None]:
    start = time.perf_counter()
    opt: Any = _solver(settings, time_left, loose)
    highs = pyomo_solver_name(settings.solver) == "appsi_highs"
    if highs:
        opt.set_instance(model)  # solve() then reuses this HiGHS object, callbacks included
        _interrupt_at(opt._solver_model, start + max(time_left, 0.01))
    with _quiet_pyomo():
        res = opt.solve(model, load_solutions=False)
    _check_rows_loaded(opt)
    tc = res.solver.termination_condition
    bound = res.problem.lower_bound
    bound = float(bound) if bound is not None and math.isfinite(float(bound)) else None
    try:
        model.solutions.load_from(res)
        has = True
    except Exception:  # no incumbent to load, or Pyomo does not know the status
        has = False
        if highs and tc not in (
            TerminationCondition.infeasible,
            TerminationCondition.infeasibleOrUnbounded,
        ):
            has, bound = _load_interrupted(opt)
    if tc == TerminationCondition.optimal and has:
        return SolveStatus.OPTIMAL, bound
    if has and bound is None:
        # Stopped (time limit) before any dual bound: the objective variables are nonnegative, so 0
        # is a valid bound and the schedule's gap is reported (100%) rather than left out.
        bound = 0.0
    if tc in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        left = time_left - (time.perf_counter() - start)
        if not loose and left > 0.05:
            # Infeasibility is a claim users act on: confirm it at the solver's looser tolerance.
            return _run(model, settings, left, loose=True)
        return SolveStatus.INFEASIBLE, None
    return (SolveStatus.FEASIBLE if has else SolveStatus.NO_SOLUTION), bound


@contextmanager
def _quiet_pyomo() -> Iterator[None]:
    """Pyomo logs a warning for HiGHS's interrupt status, which cosamt handles itself."""
    log = logging.getLogger("pyomo.contrib.appsi.solvers.highs")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def extract_mappings(built: BuiltModel) -> dict[str, Mapping]:
    """Every formulated operator's schedule, read off the solved model."""
    return {om.problem.op.name: extract_mapping(om) for om in built.members}


def extract_mapping(om: OperatorModel) -> Mapping:
    """Read factors, loop orders and keep decisions off a solved operator's variables."""
    pb, count, outer, kept = om.problem, om.block.count, om.order.outer, om.keeps.kept
    n = pb.n_levels
    factor: dict[tuple[str, str], int] = {}
    for d in pb.dims:
        for p, _k in prime_factors(pb.sizes[d]):
            for slot in pb.slots(d):
                cnt = round(pyo.value(count[d, p, slot.key]))
                factor[(d, slot.key)] = factor.get((d, slot.key), 1) * p**cnt
    levels = []
    for k in range(n):
        loops = [d for d in pb.dims if factor.get((d, f"T{k}"), 1) > 1]
        # number of loops each loop is outside of: sorts outermost first
        rank = {a: sum(round(pyo.value(outer(k, a, b))) for b in loops if b != a) for a in loops}
        ordered = sorted(loops, key=lambda a: (-rank[a], pb.dims.index(a)))
        temporal = tuple(Loop(d, factor[(d, f"T{k}")]) for d in ordered)
        spatial = tuple(
            SpatialLoop(d, factor[(d, f"S{a}")], a)
            for a in pb.arch.axis_names
            for d in pb.dims
            if k == pb.arch.axis_level(a) and factor.get((d, f"S{a}"), 1) > 1
        )
        keep = frozenset(t.name for t in pb.op.tensors if round(pyo.value(kept(t.name, k))) == 1)
        levels.append(LevelMapping(temporal=temporal, spatial=spatial, keep=keep))
    padding = {d: s for d, s in pb.sizes.items() if s != pb.op.dims[d]}
    return Mapping(levels=tuple(levels), padding=padding)


def _objective_vars(
    costs: CostTerms, objective: Objective
) -> tuple[tuple[pyo.Var, float], tuple[pyo.Var, float]]:
    """(variable, scale) of the primary metric and of the tie-break metric."""
    latency = (costs.latency_scaled, costs.latency_scale)
    energy = (costs.energy_scaled, costs.energy_scale)
    return (energy, latency) if objective is Objective.ENERGY else (latency, energy)


@dataclass(frozen=True)
class _Stage:
    """One solved MIP: the solver's status and bound (natural units), the schedule read off it and
    the evaluator's certificate of that schedule."""

    status: SolveStatus
    bound: float | None
    mappings: dict[str, Mapping] = field(default_factory=dict)
    certificate: Certificate | None = None
    mip_value: float | None = None
    note: str = ""  # why there is no schedule, when the solver's answer cannot be used


def _set_objective(model: pyo.ConcreteModel, var: pyo.Var) -> None:
    if hasattr(model, "obj"):
        model.del_component("obj")
    model.obj = pyo.Objective(expr=var)


def _solve_stage(
    built: BuiltModel,
    f: Formulated,
    var: pyo.Var,
    scale: float,
    settings: SolveSettings,
    deadline: float,
) -> _Stage:
    _set_objective(built.model, var)
    try:
        status, bound = _run(built.model, settings, deadline - time.perf_counter())
    except DroppedRows as exc:
        return _Stage(SolveStatus.NO_SOLUTION, None, note=str(exc))
    if status in (SolveStatus.INFEASIBLE, SolveStatus.NO_SOLUTION):
        return _Stage(status, None)
    mappings = extract_mappings(built)
    return _Stage(
        status,
        None if bound is None else bound * scale,
        mappings,
        f.certify(mappings),
        float(pyo.value(var)) * scale,
    )


def _proven(solver_status: SolveStatus, value: float, bound: float | None, gap: float) -> bool:
    """Optimal means: the solver says so and the certified value is within the requested gap
    (plus the solver's numerical slack) of its bound."""
    if solver_status is not SolveStatus.OPTIMAL:
        return False
    measured = relative_gap(value, bound)
    return measured is not None and measured <= gap + NUMERIC_GAP


def _lexicographic(
    built: BuiltModel,
    f: Formulated,
    objective: Objective,
    settings: SolveSettings,
    deadline: float,
) -> SolveResult:
    """Minimise the primary metric, then the other one with the primary held at stage 1's exact
    (certified) value. Every schedule is certified by the evaluator before it is used: an invalid
    one is never returned (status INVALID, with the evaluator's reason), and stage 2's schedule is
    kept only if it is valid, no worse in the primary and better in the other metric."""
    start = time.perf_counter()
    (first, first_scale), (second, second_scale) = _objective_vars(built.costs, objective)
    other = Objective.LATENCY if objective is Objective.ENERGY else Objective.ENERGY
    if settings.cutoff is not None:
        built.model.primary_cutoff = pyo.Constraint(expr=first <= settings.cutoff / first_scale)
    s1 = _solve_stage(built, f, first, first_scale, settings, deadline)
    if settings.cutoff is not None:
        built.model.del_component("primary_cutoff")  # stage 2's pin is tighter
    cert1 = s1.certificate
    if cert1 is None:
        return SolveResult(s1.status, None, None, time.perf_counter() - start, note=s1.note)
    if cert1.violations:
        return SolveResult(
            SolveStatus.INVALID,
            None,
            None,
            time.perf_counter() - start,
            note=f"the solver's schedule is invalid: {cert1.violations[0]}",
        )
    primary = cert1.value(objective)
    bound = None if s1.bound is None else min(s1.bound, primary)
    status = (
        SolveStatus.OPTIMAL
        if _proven(s1.status, primary, bound, settings.mip_gap)
        else SolveStatus.FEASIBLE
    )
    chosen, tiebreak, tiebreak_gap, note = s1, SolveStatus.NO_SOLUTION, None, ""
    # Stage 1's schedule satisfies the pin exactly (every row is exact at integer points), so stage
    # 2 is feasible whatever the solver's tolerances did in stage 1.
    built.model.lexicographic_bound = pyo.Constraint(
        expr=first <= primary / first_scale * (1 + TIEBREAK_SLACK)
    )
    if not settings.tiebreak:
        note = "tie-break not run (not asked for)"
    elif deadline - time.perf_counter() > 0.05:
        s2 = _solve_stage(built, f, second, second_scale, settings, deadline)
        tiebreak, tiebreak_gap, note, better = _judge_tiebreak(s1, s2, objective, other)
        if better:
            chosen = s2
    else:
        note = "tie-break not run: no time left after stage 1"
    built.model.del_component("lexicographic_bound")
    cert = chosen.certificate
    assert cert is not None
    if cert.value(objective) < primary * (1 - NUMERIC_GAP) and s1.status is SolveStatus.FEASIBLE:
        # Stage 1 was stopped (time limit) before the solver proved its schedule: stage 2 improved
        # on it. Stage 1's dual bound still bounds every schedule; nothing is proven.
        primary = cert.value(objective)
        bound = None if bound is None else min(bound, primary)
    elif cert.value(objective) < primary * (1 - NUMERIC_GAP):
        # Stage 2 found a schedule strictly better in the primary than stage 1's "optimum": the
        # solver's bound was wrong (seen on FLAT attention at 2^59 points). Keep the better
        # schedule, and claim nothing about optimality.
        primary, bound, status = cert.value(objective), None, SolveStatus.FEASIBLE
        note = (
            "the solver's optimality claim was refuted: the tie-break stage found a better "
            f"{objective.value}; no bound is claimed"
        )
    return SolveResult(
        status=status,
        objective=primary,
        bound=bound,
        seconds=time.perf_counter() - start,
        mappings=chosen.mappings,
        latency=cert.latency,
        energy=cert.energy,
        solves=2 if settings.tiebreak else 1,
        tiebreak=tiebreak,
        tiebreak_gap=tiebreak_gap,
        mip_objective=s1.mip_value,
        note=note,
    )


def _second_stage(
    built: BuiltModel,
    f: Formulated,
    objective: Objective,
    settings: SolveSettings,
    deadline: float,
) -> SolveResult:
    """Stage 2 alone, the primary pinned at ``settings.known_primary`` (proven optimal by an
    earlier stage 1 of the same model, so solving stage 1 again would only find it again). The
    result claims that proof; its schedule is stage 2's, certified like any other, or none."""
    assert settings.known_primary is not None
    start = time.perf_counter()
    primary = settings.known_primary[0]
    bound: float | None = settings.known_primary[1]
    (first, first_scale), (second, second_scale) = _objective_vars(built.costs, objective)
    other = Objective.LATENCY if objective is Objective.ENERGY else Objective.ENERGY
    built.model.lexicographic_bound = pyo.Constraint(
        expr=first <= primary / first_scale * (1 + TIEBREAK_SLACK)
    )
    s2 = _solve_stage(built, f, second, second_scale, settings, deadline)
    built.model.del_component("lexicographic_bound")
    cert = s2.certificate
    seconds = time.perf_counter() - start
    if cert is None or cert.violations:
        # never INFEASIBLE: that would claim the group has no schedule, and the earlier one stands
        why = s2.note or ("rejected" if cert is not None else f"status {s2.status.value}")
        return SolveResult(
            SolveStatus.NO_SOLUTION, None, None, seconds, note=f"tie-break found nothing ({why})"
        )
    status, note = SolveStatus.OPTIMAL, ""
    if cert.value(objective) > primary * (1 + TIEBREAK_SLACK):
        return SolveResult(
            SolveStatus.NO_SOLUTION,
            None,
            None,
            seconds,
            note="tie-break schedule rejected: its exact primary is worse than stage 1's",
        )
    if cert.value(objective) < primary * (1 - NUMERIC_GAP):  # as in _lexicographic
        primary, bound, status = cert.value(objective), None, SolveStatus.FEASIBLE
        note = (
            "the solver's optimality claim was refuted: the tie-break stage found a better "
            f"{objective.value}; no bound is claimed"
        )
    value = cert.value(other)
    tiebreak_bound = None if s2.bound is None else min(s2.bound, value)
    return SolveResult(
        status=status,
        objective=primary,
        bound=bound,
        seconds=seconds,
        mappings=s2.mappings,
        latency=cert.latency,
        energy=cert.energy,
        solves=1,
        tiebreak=(
            SolveStatus.OPTIMAL
            if _proven(s2.status, value, tiebreak_bound, 0.0)
            else SolveStatus.FEASIBLE
        ),
        tiebreak_gap=relative_gap(value, tiebreak_bound),
        mip_objective=float(pyo.value(first)) * first_scale,  # the solver's figure, this schedule
        note=note,
    )


def _judge_tiebreak(
    s1: _Stage, s2: _Stage, objective: Objective, other: Objective
) -> tuple[SolveStatus, float | None, str, bool]:
    """(tie-break status, how much the other metric may still improve, note, use stage 2)."""
    assert s1.certificate is not None
    kept = s1.certificate.value(other)
    cert = s2.certificate
    bound = s2.bound
    if cert is None:
        why = s2.note or (
            "infeasible" if s2.status is SolveStatus.INFEASIBLE else "no schedule in the time left"
        )
        return s2.status, relative_gap(kept, bound), f"tie-break found nothing ({why})", False
    if cert.violations:
        return (
            SolveStatus.INVALID,
            relative_gap(kept, bound),
            f"tie-break schedule rejected: {cert.violations[0]}",
            False,
        )
    if cert.value(objective) > s1.certificate.value(objective) * (1 + TIEBREAK_SLACK):
        return (
            SolveStatus.FEASIBLE,
            relative_gap(kept, bound),
            "tie-break schedule rejected: its exact primary is worse than stage 1's",
            False,
        )
    better = cert.value(other) < kept
    value = cert.value(other) if better else kept
    bound = None if bound is None else min(bound, value)
    proven = _proven(s2.status, value, bound, 0.0)
    return (
        (SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE),
        relative_gap(value, bound),
        "",
        better,
    )


@dataclass(frozen=True)
class Formulated:
    """How to build a model and certify the schedules read back from it (single operator or fused
    group). ``certify`` is the evaluator: the reported figures are its, never the solver's."""

    build: Callable[[], BuiltModel]
    certify: Callable[[dict[str, Mapping]], Certificate]


def single_formulation(pb: Problem) -> Formulated:
    def certify(mappings: dict[str, Mapping]) -> Certificate:
        m = evaluate(pb.op, pb.arch, mappings[pb.op.name], double_buffering=pb.double_buffering)
        return Certificate(m.latency_cycles, m.energy_pj, m.violations)

    return Formulated(lambda: build(pb), certify)


def group_formulation(
    group: Group,
    arch: Architecture,
    double_buffering: bool,
    shared_factors: dict[str, int] | None = None,
) -> Formulated:
    def certify(mappings: dict[str, Mapping]) -> Certificate:
        m = evaluate_group(group, arch, mappings, double_buffering=double_buffering)
        return Certificate(m.latency_cycles, m.energy_pj, m.violations)

    return Formulated(lambda: build_group(group, arch, double_buffering, shared_factors), certify)


def solve_problem(
    pb: Problem, settings: SolveSettings, deadline: float | None = None
) -> SolveResult:
    return solve_formulated(single_formulation(pb), settings, deadline)


def solve_formulated(
    f: Formulated, settings: SolveSettings, deadline: float | None = None
) -> SolveResult:
    """Lexicographic solve: the primary objective, then the other metric at the primary's optimum.

    EDP is the product of two sums and is not linear in the epigraph variables; it is minimised
    over the latency-energy Pareto front (``solve_edp``)."""
    deadline = deadline if deadline is not None else time.perf_counter() + settings.time_limit_s
    if settings.objective is Objective.EDP:  # a latency or energy cutoff means nothing here
        return solve_edp(f, replace(settings, cutoff=None, known_primary=None), deadline)
    if settings.known_primary is not None:
        return _second_stage(f.build(), f, settings.objective, settings, deadline)
    return _lexicographic(f.build(), f, settings.objective, settings, deadline)


MAX_PARETO_POINTS = 64
# The latency cap of the next Pareto point is this far below the last point's exact latency; if the
# solver (within its tolerance) returns the same latency again, the margin grows to the next value.
PARETO_MARGINS = (1e-9, 1e-7, 1e-5)


@dataclass(frozen=True)
class ParetoFront:
    points: tuple[SolveResult, ...]  # from the minimum-energy point toward the fastest
    complete: bool  # every point proven and the walk ended by a proven stop
    note: str  # how the walk ended


def pareto_front(
    f: Formulated,
    settings: SolveSettings,
    max_points: int = MAX_PARETO_POINTS,
    deadline: float | None = None,
    stop: Callable[[SolveResult], bool] | None = None,
) -> ParetoFront:
    """The latency-energy Pareto front by the epsilon-constraint method, from the minimum-energy
    schedule toward the fastest: minimise energy under a latency cap (then latency at that energy),
    and lower the cap just below the latency found, until no schedule is fast enough. ``stop``
    ends the walk early once it returns True for the last point (the EDP pruning)."""
    deadline = deadline if deadline is not None else time.perf_counter() + settings.time_limit_s
    built = f.build()
    model = built.model
    model.cap = pyo.Param(mutable=True, initialize=0.0)
    model.latency_cap = pyo.Constraint(expr=built.costs.latency_scaled <= model.cap)
    model.latency_cap.deactivate()
    scale = built.costs.latency_scale
    front: list[SolveResult] = []
    margin = 0
    while True:
        if len(front) >= max_points:
            return ParetoFront(tuple(front), False, f"stopped at {max_points} points")
        if deadline - time.perf_counter() <= 0.05:
            return ParetoFront(tuple(front), False, "stopped by the time limit")
        r = _lexicographic(built, f, Objective.ENERGY, settings, deadline)
        if r.objective is None:
            proven = r.status is SolveStatus.INFEASIBLE and all(p.proven for p in front)
            why = (
                "no faster schedule exists"
                if r.status is SolveStatus.INFEASIBLE
                else r.status.value
            )
            return ParetoFront(tuple(front), proven and bool(front), why)
        assert r.latency is not None
        if front and r.latency >= (front[-1].latency or 0.0):
            # The solver met the cap only within its tolerance: the same point again.
            margin += 1
            if margin >= len(PARETO_MARGINS):
                return ParetoFront(tuple(front), False, "the solver repeats the last point")
        else:
            front.append(r)
            if stop is not None and stop(r):
                return ParetoFront(tuple(front), all(p.proven for p in front), "pruned by a bound")
        last = front[-1].latency or 0.0
        model.cap.set_value(last / scale * (1 - PARETO_MARGINS[margin]))
        model.latency_cap.activate()


def solve_edp(f: Formulated, settings: SolveSettings, deadline: float | None = None) -> SolveResult:
    """Minimum energy-delay product. Every EDP optimum is Pareto-optimal (a dominating point has a
    strictly smaller product), so it is the best point of the front; the walk from the
    minimum-energy end stops as soon as no later point can win: later points have energy >= the
    last one's and latency >= the minimum latency L*, so once L* x energy >= the best EDP found,
    the best is proven. Stage 0 finds L* (the fastest schedule, itself a front point)."""
    start = time.perf_counter()
    deadline = deadline if deadline is not None else start + settings.time_limit_s
    fastest = _lexicographic(f.build(), f, Objective.LATENCY, settings, deadline)
    if fastest.objective is None:
        return replace(fastest, seconds=time.perf_counter() - start)
    lat_bound = fastest.bound if fastest.bound is not None else 0.0
    best = [fastest]

    def edp(r: SolveResult) -> float:
        return (r.latency or 0.0) * (r.energy or 0.0)

    def stop(r: SolveResult) -> bool:
        if edp(r) < edp(best[0]):
            best[0] = r
        return lat_bound * (r.energy or 0.0) >= edp(best[0]) * (1 - NUMERIC_GAP)

    front = pareto_front(f, settings, deadline=deadline, stop=stop)
    winner = best[0]
    value = edp(winner)
    proven = front.complete and fastest.proven
    energy_bound = front.points[0].bound if front.points and front.points[0].bound else 0.0
    return replace(
        winner,
        objective=value,
        bound=value if proven else lat_bound * energy_bound,
        status=SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE,
        seconds=time.perf_counter() - start,
        solves=fastest.solves + sum(r.solves for r in front.points),
        mip_objective=None,
        note=f"EDP over {len(front.points) + 1} Pareto points; walk: {front.note}",
    )


def solve_group(
    group: Group,
    arch: Architecture,
    settings: SolveSettings,
    shared_factors: dict[str, int] | None = None,
) -> SolveResult:
    """A single operator (with padding candidates) or a fused group as one MIP; ``shared_factors``
    fixes a fused group's shared loops (the other shared dims get factor 1). ``time_limit_s``
    bounds the whole group: every MIP and stage it needs."""
    if not group.fused:
        return solve_operator(group.ops[0], arch, settings)
    return solve_formulated(
        group_formulation(group, arch, settings.double_buffering, shared_factors), settings
    )


def solve_operator(op: Einsum, arch: Architecture, settings: SolveSettings) -> SolveResult:
    """Solve one operator, trying padded sizes for dimensions that factor badly (each combination
    gets an equal share of the time left). The result is proven optimal only if every size
    combination was solved to optimality; its bound is the smallest over the combinations."""
    start = time.perf_counter()
    deadline = start + settings.time_limit_s
    options = [[s] for s in op.dims.values()]
    if settings.padding:
        options = [solver_padding(s) for s in op.dims.values()]
    combos = list(itertools.product(*options))
    results = []
    for i, combo in enumerate(combos):
        share = (deadline - time.perf_counter()) / (len(combos) - i)
        problem = Problem(
            op, arch, dict(zip(op.dims, combo, strict=True)), settings.double_buffering
        )
        results.append(solve_problem(problem, settings, time.perf_counter() + share))
    found = [r for r in results if r.objective is not None]
    seconds = time.perf_counter() - start
    if not found:
        invalid = [r for r in results if r.status is SolveStatus.INVALID]
        return replace(invalid[0] if invalid else results[0], seconds=seconds)
    best = min(found, key=lambda r: r.objective or 0.0)
    proven = all(r.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE) for r in results)
    bounds = [r.bound for r in results if r.status is not SolveStatus.INFEASIBLE]
    bound = min(b for b in bounds if b is not None) if all(b is not None for b in bounds) else None
    return replace(
        best,
        status=best.status if proven else SolveStatus.FEASIBLE,
        bound=bound,
        seconds=seconds,
        solves=sum(r.solves for r in results),
    )


def solve_within(
    group: Group, arch: Architecture, settings: SolveSettings, primary: Objective, cap: float
) -> SolveResult:
    """The Pareto neighbour of a group's optimum: the best other metric (energy for a latency
    objective, latency for energy) with the primary at most ``cap``, then the primary at that value
    (lexicographic). A single operator is solved at its own sizes (no padding candidates)."""
    if group.fused:
        f = group_formulation(group, arch, settings.double_buffering)
    else:
        op = group.ops[0]
        f = single_formulation(Problem(op, arch, dict(op.dims), settings.double_buffering))
    deadline = time.perf_counter() + settings.time_limit_s
    built = f.build()
    (var, scale), _other = _objective_vars(built.costs, primary)
    built.model.primary_cap = pyo.Constraint(expr=var <= cap / scale)
    other = Objective.LATENCY if primary is Objective.ENERGY else Objective.ENERGY
    return _lexicographic(built, f, other, settings, deadline)
