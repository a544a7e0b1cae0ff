"""Helpers shared by the CLI's command modules: consoles, error reporting, progress. Loading and
checking live in the library (:mod:`cosamt.api`)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cosamt.errors import InputError

PROGRESS_INTERVAL_S = 10.0
"""Seconds between two progress lines when stderr is not a terminal."""
TABLE_WIDTH = 100
"""Width of the tables when stdout is not a terminal (and COLUMNS is not set): they fit it."""

err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else TABLE_WIDTH)


@contextmanager
def user_errors() -> Iterator[None]:
    """Report InputError as one line per problem on stderr, exit code 2, no traceback; Ctrl-C
    stops at once with one line and exit code 130 (:mod:`cosamt.interrupts`)."""
    from pydantic import ValidationError

    from cosamt.errors import problems_from_pydantic
    from cosamt.interrupts import stop_on_signals
    from cosamt.invariants import InvariantError

    try:
        with stop_on_signals():
            yield
    except InvariantError as exc:
        for line in exc.violations:
            print(f"internal error (a bug in cosamt): {line}", file=sys.stderr)
        where = f"saved to {exc.saved}" if exc.saved else "could not be saved"
        print(f"internal error: the instance is {where}; please report it", file=sys.stderr)
        sys.stderr.flush()
        raise typer.Exit(1) from None
    except (InputError, ValidationError) as exc:
        error = exc if isinstance(exc, InputError) else InputError("", problems_from_pydantic(exc))
        # Plain writes: one problem per line whatever the terminal width (rich would wrap).
        for line in error.lines():
            print(f"error: {line}", file=sys.stderr)
        sys.stderr.flush()
        raise typer.Exit(2) from None


def load(instance_path: Path, **overrides: Any) -> Any:
    """The checked and resolved instance, resolved once per command
    (:func:`cosamt.api.load_resolved`; ``resolved.instance`` is the instance itself)."""
    from cosamt.api import load_resolved

    return load_resolved(instance_path, **overrides)


def check_options(**values: Any) -> None:
    """Command-line solver options (``time_limit_s``, ``threads``) checked against the schema of
    ``options`` without an instance (``cosamt sweep``)."""
    from pydantic import ValidationError

    from cosamt.api import flag_problem
    from cosamt.errors import problems_from_pydantic
    from cosamt.io.instance import Options

    given = {k: v for k, v in values.items() if v is not None}
    try:
        Options.model_validate(given)
    except ValidationError as exc:
        problems = problems_from_pydantic(exc, "options")
        raise InputError("command line", [flag_problem(p) for p in problems]) from None


class LineProgress:
    """Progress without a terminal (logs, ``nohup``, CI): one line on ``stream`` at most every
    ``interval_s`` seconds, with items done, elapsed time and ETA, and a last line when done (if
    anything was printed before)."""

    def __init__(
        self,
        what: str,
        unit: str,
        stream: IO[str] | None = None,
        interval_s: float = PROGRESS_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.unit, self.interval_s, self.clock = what, unit, interval_s, clock
        self.stream = stream
        self.start = clock()
        self.last_line: float | None = None

    def line(self, done: int, total: int, item: str = "") -> str:
        elapsed = self.clock() - self.start
        text = f"{self.what}: {done}/{total} {self.unit} done, {_clock(elapsed)} elapsed"
        if 0 < done < total:
            text += f", ETA {_clock(elapsed / done * (total - done))}"
        return text + (f" ({item})" if item else "")

    def __call__(self, done: int, total: int, item: str = "") -> None:
        now = self.clock()
        finished = total > 0 and done >= total
        due = now - (self.start if self.last_line is None else self.last_line) >= self.interval_s
        if due or (finished and self.last_line is not None):
            print(self.line(done, total, item), file=self.stream or sys.stderr, flush=True)
            self.last_line = now


def _clock(s: float) -> str:
    m, sec = divmod(round(s), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@contextmanager
def group_progress(what: str) -> Iterator[Callable[[str, int, int], None]]:
    """Progress over operator groups, ``update(name, done, total)``: a bar on a terminal, periodic
    lines otherwise (both on stderr, so ``--json`` output stays clean)."""
    if not err.is_terminal:
        lines = LineProgress(what, "groups")
        yield lambda name, done, total: lines(done, total, name)
        return
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task(what, total=None)

    def update(name: str, done: int, total: int) -> None:
        bar.update(
            task, description=f"{what} {name}" if name else "done", completed=done, total=total
        )

    with bar:
        yield update


def check_solve_invariants(report: Any) -> None:
    """Every schedule of a solve report valid, at or above its lower bound, finite (else exit 1)."""
    from cosamt.invariants import check, report_violations

    check(report.resolved, report_violations(report))


def _check_solver(name: str) -> None:
    from cosamt.api import check_solver

    check_solver(name)
