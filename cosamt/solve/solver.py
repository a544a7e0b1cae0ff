"""Solve a formulation with any Pyomo MIP solver; nothing Pyomo leaves this module."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

import pyomo.environ as pyo
from pyomo.opt import TerminationCondition

from cosamt.arch.spec import AXES, Architecture
from cosamt.formulation.fused_group import build_group
from cosamt.formulation.lattice import padding_candidates, prime_factors
from cosamt.formulation.single_operator import Problem, build
from cosamt.fusion.schemes import Group
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"  # proven optimal within the requested gap
    FEASIBLE = "feasible"  # stopped (time limit) with an incumbent
    INFEASIBLE = "infeasible"  # no schedule fits the architecture
    NO_SOLUTION = "no_solution"  # stopped with no incumbent


@dataclass(frozen=True)
class SolveSettings:
    objective: Objective = Objective.LATENCY
    time_limit_s: float = 60.0
    threads: int = 2
    mip_gap: float = 0.0
    double_buffering: bool = False
    padding: bool = True
    solver: str = "highs"


@dataclass(frozen=True)
class SolveResult:
    status: SolveStatus
    objective: float | None  # primary objective (latency cycles, energy pJ or EDP)
    bound: float | None  # best proven bound on the primary objective
    seconds: float
    mappings: dict[str, Mapping] = field(default_factory=dict)  # per operator; empty if none found
    latency: float | None = None  # the MIP's latency and energy at the returned schedule
    energy: float | None = None
    solves: int = 1
    # Status of the tie-break stage (the other metric at the primary optimum); a time limit can cut
    # it short, leaving the primary optimum proven but the tie-break unproven.
    tiebreak: SolveStatus | None = None

    @property
    def mapping(self) -> Mapping | None:
        """The schedule of a single-operator solve."""
        return next(iter(self.mappings.values())) if len(self.mappings) == 1 else None

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        if self.objective == 0:
            return 0.0
        return max(0.0, (self.objective - self.bound) / abs(self.objective))


_highs_threads: list[int] = []  # the thread count HiGHS's process-wide scheduler was started with


def _highs_scheduler(threads: int) -> None:
    """HiGHS runs one scheduler per process, sized by the first solve; a later solve asking for a
    different thread count fails with an error status (seen as "no solution"). Restart it then."""
    if _highs_threads and _highs_threads[0] != threads:
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
    _highs_threads[:] = [threads]


def _solver(settings: SolveSettings, time_left: float, loose: bool = False) -> object:
    name = "appsi_highs" if settings.solver == "highs" else settings.solver
    opt = pyo.SolverFactory(name)
    if opt is None or not opt.available(exception_flag=False):
        raise RuntimeError(f"solver {settings.solver!r} is not available")
    if name == "appsi_highs":
        _highs_scheduler(settings.threads)
        opt.config.time_limit = max(time_left, 0.01)
        opt.config.mip_gap = settings.mip_gap
        # A tight primal tolerance keeps the epigraph rows exact to ~1e-9 relative (so the MIP's
        # figures equal the evaluator's); a tighter MIP feasibility tolerance than HiGHS's default
        # made it declare feasible models infeasible, so that one stays at its default.
        opt.highs_options = {
            "threads": settings.threads,
            "mip_abs_gap": 1e-9,
            "random_seed": 0,
            "mip_rel_gap": settings.mip_gap,
            "output_flag": False,
            "primal_feasibility_tolerance": 1e-7 if loose else 1e-9,
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


def _run(
    model: pyo.ConcreteModel, settings: SolveSettings, time_left: float, loose: bool = False
) -> tuple[SolveStatus, float | None]:
    start = time.perf_counter()
    opt = _solver(settings, time_left, loose)
    res = opt.solve(model, load_solutions=False)  # type: ignore[attr-defined]
    tc = res.solver.termination_condition
    try:
        model.solutions.load_from(res)
        has = True
    except Exception:  # no incumbent to load
        has = False
    bound = res.problem.lower_bound
    bound = float(bound) if bound is not None and math.isfinite(float(bound)) else None
    if tc == TerminationCondition.optimal and has:
        return SolveStatus.OPTIMAL, bound
    if tc in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        left = time_left - (time.perf_counter() - start)
        if not loose and left > 0.05:
            # Infeasibility is a claim users act on: confirm it at the solver's looser tolerance.
            return _run(model, settings, left, loose=True)
        return SolveStatus.INFEASIBLE, None
    return (SolveStatus.FEASIBLE if has else SolveStatus.NO_SOLUTION), bound


def extract_mapping(model: pyo.ConcreteModel, pb: Problem) -> Mapping:
    """Read factors, loop orders and keep decisions off a solved model."""
    n = pb.n_levels
    factor: dict[tuple[str, str], int] = {}
    for d in pb.dims:
        for p, _k in prime_factors(pb.sizes[d]):
            for slot in pb.slots(d):
                cnt = round(pyo.value(model.count[d, p, slot.key]))
                factor[(d, slot.key)] = factor.get((d, slot.key), 1) * p**cnt
    levels = []
    for k in range(n):
        loops = [d for d in pb.dims if factor.get((d, f"T{k}"), 1) > 1]
        # number of loops each loop is outside of: sorts outermost first
        rank = {
            a: sum(round(pyo.value(model.outer(k, a, b))) for b in loops if b != a) for a in loops
        }
        ordered = sorted(loops, key=lambda a: (-rank[a], pb.dims.index(a)))
        temporal = tuple(Loop(d, factor[(d, f"T{k}")]) for d in ordered)
        spatial = tuple(
            SpatialLoop(d, factor[(d, f"S{a}")], a)
            for a in AXES
            for d in pb.dims
            if k == pb.spatial_level and factor.get((d, f"S{a}"), 1) > 1
        )
        keep = frozenset(
            t.name for t in pb.op.tensors if round(pyo.value(model.kept(t.name, k))) == 1
        )
        levels.append(LevelMapping(temporal=temporal, spatial=spatial, keep=keep))
    padding = {d: s for d, s in pb.sizes.items() if s != pb.op.dims[d]}
    return Mapping(levels=tuple(levels), padding=padding)


def _primary(model: pyo.ConcreteModel, objective: Objective) -> tuple[pyo.Var, pyo.Var]:
    if objective is Objective.ENERGY:
        return model.energy_scaled, model.latency_scaled
    return model.latency_scaled, model.energy_scaled


def _lexicographic(
    model: pyo.ConcreteModel,
    first: pyo.Var,
    second: pyo.Var,
    settings: SolveSettings,
    deadline: float,
) -> tuple[SolveStatus, float | None, float | None, SolveStatus | None]:
    """Minimise ``first``, then ``second`` with ``first`` held at its optimum.

    Returns (status of stage 1, bound on ``first``, optimum of ``first``, status of stage 2); the
    model holds the stage-2 schedule, or stage 1's if stage 2 found nothing in time."""
    for name in ("obj", "obj2", "lexicographic_bound"):
        if hasattr(model, name):
            model.del_component(name)
    model.obj = pyo.Objective(expr=first)
    status, bound = _run(model, settings, deadline - time.perf_counter())
    if status in (SolveStatus.INFEASIBLE, SolveStatus.NO_SOLUTION):
        return status, bound, None, None
    best = float(pyo.value(first))
    model.obj.deactivate()
    model.lexicographic_bound = pyo.Constraint(expr=first <= best * (1 + 1e-9) + 1e-9)
    model.obj2 = pyo.Objective(expr=second)
    tiebreak = SolveStatus.NO_SOLUTION
    if deadline - time.perf_counter() > 0.05:
        # loads the schedule only if it found one
        tiebreak, _ = _run(model, settings, deadline - time.perf_counter())
    return status, bound, best, tiebreak


@dataclass(frozen=True)
class Formulated:
    """How to build a model and read its schedules back (single operator or fused group)."""

    build: Callable[[], pyo.ConcreteModel]
    extract: Callable[[pyo.ConcreteModel], dict[str, Mapping]]


def single_formulation(pb: Problem) -> Formulated:
    return Formulated(lambda: build(pb), lambda model: {pb.op.name: extract_mapping(model, pb)})


def group_formulation(
    group: Group,
    arch: Architecture,
    double_buffering: bool,
    shared_factors: dict[str, int] | None = None,
) -> Formulated:
    def extract(model: pyo.ConcreteModel) -> dict[str, Mapping]:
        return {
            pb.op.name: extract_mapping(model.member[i], pb) for i, pb in enumerate(model.problems)
        }

    return Formulated(lambda: build_group(group, arch, double_buffering, shared_factors), extract)


def solve_problem(pb: Problem, settings: SolveSettings) -> SolveResult:
    return solve_formulated(single_formulation(pb), settings)


def solve_formulated(f: Formulated, settings: SolveSettings) -> SolveResult:
    """Lexicographic solve: the primary objective, then the other metric at the primary's optimum.

    EDP is the product of two sums and is not linear in the epigraph variables; it is minimised
    over the latency-energy Pareto front (``solve_edp``)."""
    if settings.objective is Objective.EDP:
        return solve_edp(f, settings)
    start = time.perf_counter()
    model = f.build()
    first, second = _primary(model, settings.objective)
    status, bound, best, tiebreak = _lexicographic(
        model, first, second, settings, start + settings.time_limit_s
    )
    scale = model.energy_scale if settings.objective is Objective.ENERGY else model.latency_scale
    scaled_bound = None if bound is None else bound * scale
    if best is None:
        return SolveResult(status, None, scaled_bound, time.perf_counter() - start)
    return SolveResult(
        status=status,
        objective=best * scale,
        bound=scaled_bound,
        seconds=time.perf_counter() - start,
        mappings=f.extract(model),
        latency=float(pyo.value(model.latency)),
        energy=float(pyo.value(model.energy)),
        solves=2,
        tiebreak=tiebreak,
    )


MAX_PARETO_POINTS = 64


def pareto_front(
    f: Formulated, settings: SolveSettings, max_points: int = MAX_PARETO_POINTS
) -> list[SolveResult]:
    """The latency-energy Pareto front by the epsilon-constraint method, from the minimum-energy
    schedule toward the fastest: minimise energy under a latency cap (then latency at that energy),
    and lower the cap just below the latency found, until no schedule is fast enough."""
    start = time.perf_counter()
    deadline = start + settings.time_limit_s
    model = f.build()
    model.cap = pyo.Param(mutable=True, initialize=0.0)
    model.latency_cap = pyo.Constraint(expr=model.latency_scaled <= model.cap)
    model.latency_cap.deactivate()
    front: list[SolveResult] = []
    while len(front) < max_points and deadline - time.perf_counter() > 0.05:
        t0 = time.perf_counter()
        status, bound, best, tiebreak = _lexicographic(
            model, model.energy_scaled, model.latency_scaled, settings, deadline
        )
        if best is None:
            break  # no schedule below the cap: the fastest point is already on the front
        lat, en = float(pyo.value(model.latency)), float(pyo.value(model.energy))
        front.append(
            SolveResult(
                status,
                en,
                None if bound is None else bound * model.energy_scale,
                time.perf_counter() - t0,
                f.extract(model),
                latency=lat,
                energy=en,
                solves=2,
                tiebreak=tiebreak,
            )
        )
        model.cap.set_value(float(pyo.value(model.latency_scaled)) * (1 - 1e-7))
        model.latency_cap.activate()
    return front


def solve_edp(f: Formulated, settings: SolveSettings) -> SolveResult:
    """Minimum energy-delay product over the Pareto front (every EDP optimum is Pareto-optimal).
    Proven optimal only when the whole front was walked within the time limit."""
    start = time.perf_counter()
    front = pareto_front(f, settings)
    if not front:
        return SolveResult(SolveStatus.INFEASIBLE, None, None, time.perf_counter() - start)
    best = min(front, key=lambda r: (r.latency or 0.0) * (r.energy or 0.0))
    capped = len(front) >= MAX_PARETO_POINTS
    walked = (
        not capped
        and time.perf_counter() - start < settings.time_limit_s
        and all(
            r.status is SolveStatus.OPTIMAL and r.tiebreak is SolveStatus.OPTIMAL for r in front
        )
    )
    edp = (best.latency or 0.0) * (best.energy or 0.0)
    return replace(
        best,
        objective=edp,
        bound=edp if walked else None,
        status=SolveStatus.OPTIMAL if walked else SolveStatus.FEASIBLE,
        seconds=time.perf_counter() - start,
        solves=sum(r.solves for r in front),
    )


def solve_group(
    group: Group,
    arch: Architecture,
    settings: SolveSettings,
    shared_factors: dict[str, int] | None = None,
) -> SolveResult:
    """A single operator (with padding candidates) or a fused group as one MIP; ``shared_factors``
    fixes a fused group's shared loops (the other shared dims get factor 1)."""
    if not group.fused:
        return solve_operator(group.ops[0], arch, settings)
    return solve_formulated(
        group_formulation(group, arch, settings.double_buffering, shared_factors), settings
    )


def solve_operator(op: Einsum, arch: Architecture, settings: SolveSettings) -> SolveResult:
    """Solve one operator, trying padded sizes for dimensions that factor badly. The result is
    proven optimal only if every size combination was solved to optimality."""
    options = [[s] for s in op.dims.values()]
    if settings.padding:
        options = [padding_candidates(s, count=1) for s in op.dims.values()]
    results = [
        solve_problem(
            Problem(op, arch, dict(zip(op.dims, combo, strict=True)), settings.double_buffering),
            settings,
        )
        for combo in itertools.product(*options)
    ]
    found = [r for r in results if r.objective is not None]
    if not found:
        return replace(results[0], seconds=sum(r.seconds for r in results))
    best = min(found, key=lambda r: r.objective or 0.0)
    proven = all(r.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE) for r in results)
    bounds = [r.bound for r in results if r.status is not SolveStatus.INFEASIBLE]
    return replace(
        best,
        status=best.status if proven else SolveStatus.FEASIBLE,
        bound=min(bounds) if all(b is not None for b in bounds) else None,  # type: ignore[type-var]
        seconds=sum(r.seconds for r in results),
    )
