"""Solved groups cached by content, so a sweep never solves the same group twice.

Key: sha256 of (group signature, architecture JSON, solve settings, solver and version). Value: the schedule-file group
entry (:func:`cosamt.schedule.file.group_entry`), the schedule source and the :class:`SolveResult`
numbers. A hit rebuilds the mappings and re-evaluates them with the evaluator (cheap); its
``seconds`` is 0 (nothing solved). Entries are written atomically, so concurrent workers sharing the
folder never see half an entry; an unreadable entry is a miss (solved again and rewritten).

:func:`cosamt.pipeline.solve_instance` takes the per-group solver through its ``group_solver``
parameter.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cosamt.arch.spec import Architecture
from cosamt.bounds import group_lower_bound
from cosamt.errors import InputError
from cosamt.evaluate.group import evaluate_group
from cosamt.fusion.schemes import Group
from cosamt.pipeline import GroupResult, Resolved, SolveReport, solve_group_result, solve_instance
from cosamt.schedule.file import GroupEntry, group_entry, mappings_from_entry
from cosamt.schedule.mapping import Mapping
from cosamt.solve.solver import SolveResult, SolveSettings, SolveStatus, solver_version
from cosamt.sweep.store import replace_atomically

FORMAT = "cosamt-group-cache/2"


@dataclass
class SolveCache:
    """A folder of cached groups; ``hits`` and ``misses`` count this object's look-ups."""

    root: Path
    hits: int = 0
    misses: int = 0

    def key(self, group: Group, arch: Architecture, settings: SolveSettings) -> str:
        content = {
            "format": FORMAT,
            "group": group.signature(),
            "arch": arch.model_dump(mode="json"),
            # a full solve (tiebreak true, the default) keeps the keys of caches written before
            # the field existed
            "settings": {
                k: v for k, v in asdict(settings).items() if not (k == "tiebreak" and v is True)
            },
            "solver": solver_version(settings.solver),  # another solver may find another optimum
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()

    def solve_group(self, group: Group, arch: Architecture, settings: SolveSettings) -> GroupResult:
        """The group's result: re-evaluated from the cache if present, else solved and stored."""
        key = self.key(group, arch, settings)
        found = self._load(key, group, arch)
        if found is None:
            self.misses += 1
            result = solve_group_result(group, arch, settings)
            self._store(key, result, arch)
            return result
        self.hits += 1
        res, mappings, source = found
        metrics = evaluate_group(group, arch, mappings, double_buffering=settings.double_buffering)
        return GroupResult(group, res, mappings, metrics, group_lower_bound(group, arch), source)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def _load(
        self, key: str, group: Group, arch: Architecture
    ) -> tuple[SolveResult, dict[str, Mapping], str] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            entry = _renamed(GroupEntry.model_validate(data["group"]), group)
            mappings = mappings_from_entry(entry, group, arch, "cache")
            source = str(data["source"])
            result = _result_from_json(data["result"], mappings if source == "mip" else {})
        except (OSError, ValueError, KeyError, TypeError, InputError):
            return None  # absent or unreadable
        return result, mappings, source

    def _store(self, key: str, result: GroupResult, arch: Architecture) -> None:
        entry = {
            "format": FORMAT,
            "source": result.source,
            "group": group_entry(result.group, arch, result.mappings).model_dump(mode="json"),
            "result": _result_json(result.solve),
        }
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, lambda tmp: tmp.write_text(json.dumps(entry), encoding="utf-8"))


def _renamed(entry: GroupEntry, group: Group) -> GroupEntry:
    """The entry with the operator names of ``group`` (equal signatures, maybe other names)."""
    names = tuple(op.name for op in group.ops)
    nests = {
        new: entry.nests[old]
        for old, new in zip(entry.operators, names, strict=True)
        if old in entry.nests
    }
    return entry.model_copy(update={"name": group.name, "operators": names, "nests": nests})


def _result_json(res: SolveResult) -> dict[str, Any]:
    return {
        "status": res.status.value,
        "objective": res.objective,
        "bound": res.bound,
        "seconds": res.seconds,
        "latency": res.latency,
        "energy": res.energy,
        "solves": res.solves,
        "tiebreak": None if res.tiebreak is None else res.tiebreak.value,
        "tiebreak_gap": res.tiebreak_gap,
        "mip_objective": res.mip_objective,
        "note": res.note,
    }


def _result_from_json(data: dict[str, Any], mappings: dict[str, Mapping]) -> SolveResult:
    tiebreak = data["tiebreak"]
    return SolveResult(
        status=SolveStatus(data["status"]),
        objective=data["objective"],
        bound=data["bound"],
        seconds=0.0,
        mappings=mappings,
        latency=data["latency"],
        energy=data["energy"],
        solves=data["solves"],
        tiebreak=None if tiebreak is None else SolveStatus(tiebreak),
        tiebreak_gap=data["tiebreak_gap"],
        mip_objective=data["mip_objective"],
        note=data["note"],
    )


def solve_instance_cached(
    resolved: Resolved, settings: SolveSettings, cache: SolveCache
) -> SolveReport:
    """:func:`cosamt.pipeline.solve_instance` with every group solved through ``cache``."""
    return solve_instance(resolved, settings, group_solver=cache.solve_group)
