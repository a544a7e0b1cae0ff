"""Checks every reported figure must pass; a failure is a bug in cosamt, not in the input.

* every reported schedule is valid (the evaluator finds no violation);
* its latency and energy are not below the group's lower bound (:mod:`cosamt.bounds`, independent
  of the MIP and of the evaluator), up to float rounding;
* every figure and total is finite.

The CLI turns a failure into exit code 1 with the instance saved for a bug report.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from hashlib import sha256
from pathlib import Path
from typing import Any

from cosamt.bounds import LowerBound
from cosamt.evaluate.group import GroupMetrics

RELATIVE_SLACK = 1e-9  # float rounding of bound and evaluator, far below any real violation


class InvariantError(Exception):
    """A reported figure broke an invariant: a bug, with the instance saved to ``saved``."""

    def __init__(self, violations: list[str], saved: Path | None) -> None:
        self.violations = violations
        self.saved = saved
        super().__init__("; ".join(violations))

    def __reduce__(self) -> tuple[type[InvariantError], tuple[list[str], Path | None]]:
        return (type(self), (self.violations, self.saved))  # crosses sweep worker boundaries


def group_violations(name: str, metrics: GroupMetrics, bound: LowerBound) -> list[str]:
    out = [f"{name}: reported schedule is invalid: {v}" for v in metrics.violations]
    for what, value, low in (
        ("latency", metrics.latency_cycles, bound.latency_cycles),
        ("energy", metrics.energy_pj, bound.energy_pj),
    ):
        if not math.isfinite(value):
            out.append(f"{name}: {what} {value} is not finite")
        elif value < low * (1 - RELATIVE_SLACK):
            out.append(f"{name}: {what} {value:.9g} is below its lower bound {low:.9g}")
    if metrics.dram_bytes < 0:
        out.append(f"{name}: negative DRAM bytes {metrics.dram_bytes}")
    return out


def totals_violations(totals: Iterable[tuple[str, float]]) -> list[str]:
    return [
        f"total {what} {value} is not finite" for what, value in totals if not math.isfinite(value)
    ]


def report_violations(report: Any) -> list[str]:
    """Every group of every fusion alternative of a :class:`cosamt.pipeline.SolveReport`."""
    out: list[str] = []
    seen: set[int] = set()
    for seg in report.segments:
        for alt in seg.alternatives:
            for g in alt.groups:
                if id(g) not in seen:
                    seen.add(id(g))
                    out += group_violations(g.name, g.metrics, g.bound)
    groups = report.groups
    out += totals_violations(
        [
            ("latency", sum(g.metrics.latency_cycles * g.count for g in groups)),
            ("energy", sum(g.metrics.energy_pj * g.count for g in groups)),
        ]
    )
    return out


def save_for_report(instance: dict[str, Any], violations: list[str]) -> Path | None:
    """Write the (fully resolved) instance and the violations to ``cosamt-bug-<hash>.json`` in the
    current folder, else in the temporary folder; None if neither can be written."""
    text = json.dumps({"instance": instance, "violations": violations}, indent=1) + "\n"
    name = f"cosamt-bug-{sha256(text.encode()).hexdigest()[:12]}.json"
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        if os.access(folder, os.W_OK):
            path = folder / name
            try:
                path.write_text(text, encoding="utf-8")
            except OSError:
                continue
            return path
    return None


def resolved_instance_json(resolved: Any) -> dict[str, Any]:
    """An instance with its model and architecture inline (reproducible without other files)."""
    data: dict[str, Any] = resolved.instance.model_dump(mode="json")
    data["model"] = resolved.model.model_dump(mode="json")
    data["arch"] = resolved.arch.model_dump(mode="json")
    return data


def check(resolved: Any, violations: list[str]) -> None:
    """Raise :class:`InvariantError` (instance saved) if there is any violation."""
    if violations:
        raise InvariantError(
            violations, save_for_report(resolved_instance_json(resolved), violations)
        )
