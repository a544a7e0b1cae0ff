"""Helpers shared by the CLI's command modules: consoles, error reporting, progress. Loading and
checking live in the library (:mod:`cosamt.api`)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cosamt.errors import InputError

err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 200)


@contextmanager
def user_errors() -> Iterator[None]:
    """Report InputError as one line per problem on stderr, exit code 2, no traceback."""
    from pydantic import ValidationError

    from cosamt.errors import problems_from_pydantic

    try:
        yield
    except (InputError, ValidationError) as exc:
        error = exc if isinstance(exc, InputError) else InputError("", problems_from_pydantic(exc))
        # Plain writes: one problem per line whatever the terminal width (rich would wrap).
        for line in error.lines():
            print(f"error: {line}", file=sys.stderr)
        sys.stderr.flush()
        raise typer.Exit(2) from None


def _progress(enabled: bool) -> tuple[Callable[[str, int, int], None] | None, Progress | None]:
    if not enabled:
        return None, None
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("solving", total=None)

    def update(name: str, done: int, total: int) -> None:
        bar.update(
            task, description=f"solving {name}" if name else "done", completed=done, total=total
        )

    return update, bar
