"""Helpers shared by the CLI's command modules: consoles, error reporting, loading, progress."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cosamt.errors import InputError, Problem

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


def _load(instance_path: Path, **overrides: Any) -> Any:
    """Load and check an instance: its own fields, command-line overrides, then every name and file
    it refers to (model, preset, hf_config) and the phase; problems name the file they are in."""
    from cosamt.io.instance import (
        hf_config_path,
        load_instance,
        parse_instance,
        read_json,
        reference_problems,
    )
    from cosamt.pipeline import resolve

    source = str(instance_path)
    inst = load_instance(instance_path)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if changes:
        try:
            inst = parse_instance(
                {**inst.model_dump(mode="json", exclude_unset=True), **changes}, source
            )
        except InputError as exc:
            # The file itself was valid, so what is wrong now came from the command line.
            raise InputError(
                "command line",
                [
                    Problem(
                        f"--{p.path.replace('_', '-')} ({p.path})" if p.path in changes else p.path,
                        p.message,
                    )
                    for p in exc.problems
                ],
            ) from None
    problems = reference_problems(inst, instance_path.parent)
    if problems:
        raise InputError(source, problems)
    hf = hf_config_path(inst, instance_path.parent)
    if hf is not None:
        read_json(
            hf
        )  # unreadable or malformed JSON: reported against the config file, with line/column
    try:
        resolve(
            inst, instance_path.parent
        )  # builds the operators: catches decode on an encoder, etc.
    except InputError as exc:
        raise exc.with_source(source) from None
    return inst


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


def _check_solver(name: str) -> None:
    from cosamt.solve.names import solver_available

    if not solver_available(name):
        raise InputError(
            "", [Problem("--solver", f"solver {name!r} is not installed or not known to Pyomo")]
        )
