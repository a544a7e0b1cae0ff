"""A sweep specification and its expansion into explicit points (the cartesian product)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosamt.errors import InputError, Problem
from cosamt.io.instance import Instance, parse_instance
from cosamt.limits import MAX_SEQ_LEN
from cosamt.types import Objective, Phase

KEY_COLUMNS = ("model", "phase", "batch", "seq_len", "arch", "objective")
"""The parameters that identify a point; a row's key is these columns, as strings."""

Key = tuple[str, ...]


@dataclass(frozen=True)
class SweepSpec:
    """A base instance and the values to sweep; an empty tuple keeps the base instance's value."""

    base: Instance
    seq_lens: tuple[int, ...]
    models: tuple[str, ...] = ()
    presets: tuple[str, ...] = ()
    phases: tuple[Phase, ...] = ()
    objectives: tuple[Objective, ...] = ()
    base_dir: Path | None = None  # where relative paths in the base instance (hf_config) start


@dataclass(frozen=True)
class SweepPoint:
    """One instance of the sweep and its key (the row parameters it will produce)."""

    instance: Instance
    key: Key

    @property
    def label(self) -> str:
        return " ".join(f"{c}={v}" for c, v in zip(KEY_COLUMNS, self.key, strict=True))


def expand(spec: SweepSpec) -> list[SweepPoint]:
    """Every combination once, in a stable order; each point is validated (model, preset, phase)."""
    base = spec.base
    models: tuple[Any, ...] = spec.models or (None,)
    presets: tuple[Any, ...] = spec.presets or (None,)
    phases = spec.phases or (base.phase,)
    objectives = spec.objectives or (base.options.objective,)
    points: list[SweepPoint] = []
    for model, arch, phase, objective, seq_len in itertools.product(
        models, presets, phases, objectives, spec.seq_lens
    ):
        values = {
            "model": model,
            "arch": arch,
            "phase": phase,
            "seq_len": seq_len,
            "objective": objective,
        }
        try:
            inst = _override(base, **values)
            points.append(SweepPoint(inst, point_key(inst, spec.base_dir)))
        except InputError as exc:
            where = " ".join(f"{k}={v}" for k, v in values.items() if v is not None)
            raise InputError(f"sweep point {where}", exc.problems) from None
    return points


def point_key(inst: Instance, base_dir: Path | None) -> Key:
    """The row key of an instance: resolved model and architecture names, phase, sizes, objective."""
    from cosamt.pipeline import resolve

    resolved = resolve(inst, base_dir)
    values = (
        resolved.model.name,
        inst.phase.value,
        inst.batch,
        inst.seq_len,
        resolved.arch.name,
        inst.options.objective.value,
    )
    return tuple(str(v) for v in values)


def _override(base: Instance, **changes: Any) -> Instance:
    data = base.model_dump(mode="json", exclude_unset=True)
    options = {**data.get("options", {}), "objective": changes.pop("objective").value}
    data.update({k: v for k, v in changes.items() if v is not None}, options=options)
    return parse_instance(data)


# ---- command-line values ----------------------------------------------------------------------


def parse_seq_lens(text: str, option: str = "--seq-lens") -> tuple[int, ...]:
    """``"128,256"`` -> ``(128, 256)``; anything but positive integers is an error naming ``option``."""
    values: list[int] = []
    for item in _items(text, option):
        # Length first: int() of a long digit string is slow (and refused past 4300 digits).
        digits = item.isascii() and item.isdigit() and len(item) <= len(str(MAX_SEQ_LEN))
        if not digits or not 1 <= int(item) <= MAX_SEQ_LEN:
            raise InputError(
                "",
                [
                    Problem(
                        option,
                        f"expected comma-separated integers from 1 to {MAX_SEQ_LEN} "
                        f"(seq_len's limit), got {item[:40]!r}",
                    )
                ],
            )
        values.append(int(item))
    return tuple(dict.fromkeys(values))


def parse_names(text: str | None, option: str, known: list[str]) -> tuple[str, ...]:
    """A comma-separated list of names, each one of ``known``; ``None`` is the empty tuple."""
    if text is None:
        return ()
    names = _items(text, option)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(
            "",
            [
                Problem(
                    option, f"unknown {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
                )
            ],
        )
    return tuple(dict.fromkeys(names))


def _items(text: str, option: str) -> list[str]:
    items = [s.strip() for s in text.split(",")]
    if not text.strip() or any(not s for s in items):
        raise InputError(
            "",
            [Problem(option, f"expected a comma-separated list without empty items, got {text!r}")],
        )
    return items
