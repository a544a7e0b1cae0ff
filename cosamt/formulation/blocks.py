"""Building blocks of the MIPs: constraint families that may be constant, the exact secant epigraph of
exp over a lattice of attainable values, and exact values by one-hot choice (formulations/*.md)."""

from __future__ import annotations

import bisect
import math

import pyomo.environ as pyo


def family(index: object, rule: object, doc: str = "") -> pyo.Constraint:
    """A constraint family whose rule may reduce to a constant (e.g. no spatial slots at all)."""

    def checked(m: pyo.ConcreteModel, *idx: object) -> object:
        expr = rule(m, *idx)  # type: ignore[operator]
        if isinstance(expr, bool):
            return pyo.Constraint.Feasible if expr else pyo.Constraint.Infeasible
        return expr

    return pyo.Constraint(index, rule=checked, doc=doc)


def epigraph(
    m: pyo.ConcreteModel,
    name: str,
    y: pyo.Expression,
    values: list[int],
    gate: pyo.Var | float = 1.0,
    lower: float | None = None,
    upper: float | None = None,
) -> pyo.Expression:
    """An expression z with z >= exp(y) at every lattice point of y when ``gate`` = 1 (z >= 0 otherwise).

    The secants of exp through consecutive attainable values lie below exp outside their interval,
    so max over secants equals exp exactly on the lattice. The gate shifts y left in the log domain,
    by just enough that every secant is <= 0 there (a small, well-scaled big-M). The variable is
    stored scaled by the largest kept value, so every coefficient stays moderate.

    The lattice is narrowed to the monomial's own range, which keeps the rows well conditioned on
    big operators: ``lower`` is a value exp(y) never goes below when the gate is open (compulsory
    traffic, say); ``upper`` one it must not exceed when the gate is open (a capacity), and y is
    bounded accordingly (``{name}_upper``)."""
    full_top = math.log(values[-1])
    if lower is not None:
        values = values[max(0, bisect.bisect_right(values, lower) - 1) :]
    if upper is not None:
        values = values[: max(1, bisect.bisect_right(values, upper))]
    values = significant(values)
    logs = [math.log(v) for v in values]
    scale = float(values[-1])
    zhat = pyo.Var(domain=pyo.NonNegativeReals, bounds=(0, None))
    m.add_component(name, zhat)
    gated = not (isinstance(gate, float) and gate == 1.0)
    rows: list[object] = []  # {name}_epigraph[k]: the secant through values k and k+1
    if len(values) == 1:
        rows.append(zhat >= (gate if gated else 1.0))
    else:
        shift: object = 0.0
        if gated:
            slope0 = (values[1] - values[0]) / (logs[1] - logs[0])
            shift = (full_top - logs[0] + values[0] / slope0) * (1 - gate)
        for (v0, l0), (v1, l1) in zip(
            zip(values, logs, strict=True), zip(values[1:], logs[1:], strict=True), strict=False
        ):
            slope = (v1 - v0) / (l1 - l0)
            rows.append(zhat >= (v0 + slope * (y - shift - l0)) / scale)
    # Declared before {name}_upper, as the rows always were (the solver sees the same row order).
    m.add_component(
        f"{name}_epigraph",
        pyo.Constraint(range(len(rows)), rule=lambda _m, k: rows[k], doc="secant k of exp"),
    )
    if logs[-1] < full_top:
        m.add_component(
            f"{name}_upper",
            pyo.Constraint(expr=y <= logs[-1] + (full_top - logs[-1]) * (1 - gate)),
        )
    return scale * zhat


SIGNIFICANT = 1e-10


def significant(values: list[int]) -> list[int]:
    """The lattice from just below ``SIGNIFICANT`` x its largest value up. Secants of smaller values
    would get coefficients (relative to the row's scale) that solvers drop as numerical noise, and
    HiGHS then returned wrong "optimal" schedules on operators of 2^40+ points; values that small
    change the figure by at most 1e-10 relative, so the lowest kept secant, extended left, is used."""
    floor = values[-1] * SIGNIFICANT
    first = max(0, bisect.bisect_left(values, floor) - 1)
    return values[first:]


def exact_value(
    m: pyo.ConcreteModel, name: str, y: pyo.Expression, values: list[int]
) -> pyo.Expression:
    """exp(y) as an exact linear expression via a one-hot choice among the attainable values."""
    u = pyo.Var(range(len(values)), domain=pyo.Binary)
    m.add_component(f"{name}_onehot", u)
    m.add_component(
        f"{name}_onehot_sum", pyo.Constraint(expr=sum(u[i] for i in range(len(values))) == 1)
    )
    m.add_component(
        f"{name}_onehot_log",
        pyo.Constraint(expr=y == sum(math.log(v) * u[i] for i, v in enumerate(values))),
    )
    return sum(v * u[i] for i, v in enumerate(values))
