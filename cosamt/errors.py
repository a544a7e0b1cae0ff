"""Typed errors that the CLI turns into one line per problem and exit code 2."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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


def problems_from_pydantic(exc: object, prefix: str = "") -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into problems with dotted JSON paths."""
    from pydantic import ValidationError

    assert isinstance(exc, ValidationError)
    out: list[Problem] = []
    for err in exc.errors():
        path = prefix
        for part in err["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path = f"{path}.{part}" if path else str(part)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key missing"
        elif "input" in err and err["type"] not in ("model_type",):
            msg = f"{msg} (got {err['input']!r})"
        out.append(Problem(path, msg))
    return out
