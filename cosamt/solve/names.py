"""Solver names as users write them, and the Pyomo plugin each one means (defined once)."""

from __future__ import annotations

# HiGHS is driven through Pyomo's in-process APPSI interface (exact options, no subprocess).
_PYOMO_PLUGIN = {"highs": "appsi_highs"}

# Pyomo MIP solvers cosamt has option names for (time limit, gap, threads): see solver.py.
KNOWN_MIP_SOLVERS = ("highs", "cbc", "glpk", "scip", "gurobi", "gurobi_direct", "cplex")


def pyomo_solver_name(name: str) -> str:
    """The ``pyo.SolverFactory`` name for a user-facing solver name (``highs`` -> ``appsi_highs``)."""
    return _PYOMO_PLUGIN.get(name, name)


def solver_available(name: str) -> bool:
    """Whether Pyomo can run ``name`` here (its plugin exists and finds its executable or library)."""
    import logging

    import pyomo.environ as pyo

    # Pyomo logs a warning and a traceback for an unknown name before returning a placeholder.
    log = logging.getLogger("pyomo")
    level = log.level
    log.setLevel(logging.CRITICAL + 1)
    try:
        opt = pyo.SolverFactory(pyomo_solver_name(name))
        return opt is not None and bool(opt.available(exception_flag=False))
    except Exception:  # the placeholder of an unknown name raises instead of answering: not there
        return False
    finally:
        log.setLevel(level)
