"""Typed errors that the CLI turns into one line per problem and exit code 2."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (a JSON path such as ``arch.levels[1].capacity``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InputError(Exception):
    """Bad user input: every problem found, each with its JSON path."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{self.source}: {p}" if self.source else str(p) for p in self.problems]

    def with_source(self, source: str) -> InputError:
        """The same problems attributed to ``source`` when this error names no file of its own."""
        return self if self.source else InputError(source, self.problems)


_MAX_INPUT_REPR = 60
# Error types whose "input" is a whole object (repeating it only adds noise).
_NO_INPUT_TYPES = {
    "model_type",
    "missing",
    "extra_forbidden",
    "value_error",
    "assertion_error",
    "dict_type",
    "model_attributes_type",
}


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_INPUT_REPR else text[: _MAX_INPUT_REPR - 3] + "..."


def json_path(loc: Sequence[Any], prefix: str = "") -> str:
    """A pydantic location as a JSON path: ``("levels", 1, "capacity_bytes")`` -> ``levels[1].capacity_bytes``."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def problems_from_pydantic(
    exc: object, prefix: str = "", strip: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None
) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into problems with dotted JSON paths.

    ``strip`` may rewrite each error location first (to drop union-branch tags, say).
    """
    from pydantic import ValidationError

    assert isinstance(exc, ValidationError)
    errors = exc.errors()
    locs = [tuple(err["loc"]) for err in errors]
    if strip is not None:
        locs = [strip(loc) for loc in locs]
    out: list[Problem] = []
    for err, loc in zip(errors, locs, strict=True):
        kind = err["type"]
        # "Tuple should have at least 2 items after validation" only echoes errors of its items.
        if (
            kind == "too_short"
            and "after validation" in err["msg"]
            and any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs)
        ):
            continue
        msg = err["msg"]
        if kind == "extra_forbidden":
            msg = "unknown key"
        elif kind == "missing":
            msg = "required key missing"
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            msg = f"expected a JSON object, got {json_type(err.get('input'))}"
        else:
            if kind == "value_error":
                msg = msg.removeprefix("Value error, ")
            if "input" in err and kind not in _NO_INPUT_TYPES:
                msg = f"{msg} (got {_short_repr(err['input'])})"
        problem = Problem(json_path(loc, prefix), msg)
        if problem not in out:
            out.append(problem)
    return out


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
