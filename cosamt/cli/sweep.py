"""``cosamt sweep`` and ``cosamt plot``: typer commands registered by :mod:`cosamt.cli`.

Also runnable on its own: ``python -m cosamt.cli.sweep sweep ...`` / ``... plot ...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from cosamt.sweep.run import ExecutorKind, ProgressFn

if TYPE_CHECKING:
    from cosamt.sweep.spec import SweepSpec


MAX_JOBS = 256


class PlotFormat(StrEnum):
    PNG = "png"
    SVG = "svg"


def sweep(
    instance: Annotated[Path, typer.Argument(help="Base instance JSON file.")],
    seq_lens: Annotated[
        str, typer.Option("--seq-lens", help="Comma-separated sequence lengths, e.g. 128,256,512.")
    ],
    models: Annotated[
        str | None, typer.Option(help="Comma-separated shipped models (default: the instance's).")
    ] = None,
    presets: Annotated[
        str | None,
        typer.Option(help="Comma-separated architecture presets (default: the instance's)."),
    ] = None,
    phases: Annotated[
        str | None, typer.Option(help="Comma-separated phases: prefill, decode.")
    ] = None,
    objective: Annotated[
        str | None, typer.Option(help="Objective(s), comma-separated: latency, energy, edp.")
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Output .csv or .parquet (default: INSTANCE_sweep.csv)."),
    ] = None,
    jobs: Annotated[int, typer.Option(help="Local worker processes (--executor local).")] = 1,
    executor: Annotated[
        ExecutorKind, typer.Option(help="Where points run: local processes or a Dask cluster.")
    ] = ExecutorKind.LOCAL,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (with --executor dask).")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue an existing output, skipping its points.")
    ] = False,
    cache: Annotated[
        Path | None,
        typer.Option(help="Solved-group cache folder (default: OUT.cache next to the output)."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Solve every group, without the cache.")
    ] = False,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per MIP solve.")] = None,
    threads: Annotated[int | None, typer.Option(help="Solver threads per point.")] = None,
) -> None:
    """Solve a grid of instances; one row per point in CSV/Parquet, resumable, parallel."""
    from cosamt.cli.common import check_options, err, out, user_errors
    from cosamt.io.outputs import check_output_dir, check_output_file, output_lock
    from cosamt.sweep.run import RunOptions, run_sweep
    from cosamt.sweep.spec import expand
    from cosamt.sweep.store import open_store

    with user_errors():
        check_options(time_limit_s=time_limit, threads=threads)
        if not 1 <= jobs <= MAX_JOBS:
            _fail("--jobs", f"expected a number of processes from 1 to {MAX_JOBS}, got {jobs}")
        out_path = out_file or Path(f"{instance.stem}_sweep.csv")
        check_output_file(out_path, "--out")
        cache_dir = None if no_cache else (cache or out_path.with_name(out_path.name + ".cache"))
        if cache_dir is not None:
            check_output_dir(cache_dir, "--cache")
        spec = _spec(instance, seq_lens, models, presets, phases, objective)
        points = expand(spec)
        if executor is ExecutorKind.DASK and not scheduler:
            _fail("--scheduler", "--executor dask needs a scheduler address (e.g. tcp://host:8786)")
        settings = tuple(
            (k, v) for k, v in (("time_limit_s", time_limit), ("threads", threads)) if v is not None
        )
        options = RunOptions(jobs, executor, scheduler, cache_dir, settings)
        with output_lock(out_path, "--out"):
            store = open_store(out_path, resume)
            with _progress(err, len(points)) as update:
                summary = run_sweep(points, store, options, spec.base_dir, update)
    out.print(
        f"{summary.points} points: {summary.solved} new rows, {summary.skipped} already there; "
        f"{out_path} ({summary.seconds:.1f} s)",
        highlight=False,
    )


def plot(
    results: Annotated[
        Path,
        typer.Argument(
            help="A `cosamt sweep` output (.csv/.parquet), a `compare --csv` file or a `cosamt design --json` output."
        ),
    ],
    out_dir: Annotated[
        Path | None,
        typer.Option(help="Folder for the figures (default: RESULTS_plots next to it)."),
    ] = None,
    fmt: Annotated[PlotFormat, typer.Option("--format", help="Image format.")] = PlotFormat.PNG,
) -> None:
    """Figures: latency/energy vs sequence length, roofline, or MIP vs baselines."""
    from cosamt.cli.common import out, user_errors
    from cosamt.io.outputs import check_output_dir
    from cosamt.report.plots import save_figures

    with user_errors():
        folder = out_dir or results.with_name(f"{results.stem}_plots")
        check_output_dir(folder, "--out-dir")
        paths = save_figures(results, folder, fmt.value)
    for path in paths:
        out.print(f"wrote {path}", highlight=False)


def _spec(
    instance: Path,
    seq_lens: str,
    models: str | None,
    presets: str | None,
    phases: str | None,
    objective: str | None,
) -> SweepSpec:
    from cosamt.arch.presets import list_presets
    from cosamt.io.instance import load_instance
    from cosamt.sweep.spec import SweepSpec, parse_names, parse_seq_lens
    from cosamt.types import Objective, Phase
    from cosamt.workload.models import list_models

    lens = parse_seq_lens(seq_lens)
    model_names = parse_names(models, "--models", list_models())
    preset_names = parse_names(presets, "--presets", list_presets())
    phase_values = parse_names(phases, "--phases", [p.value for p in Phase])
    objectives = parse_names(objective, "--objective", [o.value for o in Objective])
    return SweepSpec(
        load_instance(instance),
        lens,
        model_names,
        preset_names,
        tuple(Phase(p) for p in phase_values),
        tuple(Objective(o) for o in objectives),
        instance.parent,
    )


def _fail(option: str, message: str) -> None:
    from cosamt.errors import InputError, Problem

    raise InputError("", [Problem(option, message)])


@contextmanager
def _progress(console: Console, total: int) -> Iterator[ProgressFn]:
    """A progress bar with ETA on ``console`` if it is a terminal, else periodic one-line progress
    (points done, elapsed, ETA) on it."""
    if not console.is_terminal:
        from cosamt.cli.common import LineProgress

        lines = LineProgress("sweep", "points", console.file)
        yield lambda done, all_: lines(done, all_)
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("[bold]sweep"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} points"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("sweep", total=total)
    with bar:
        yield lambda done, all_: bar.update(task, completed=done, total=all_)


app = typer.Typer(add_completion=False, no_args_is_help=True, help="cosamt sweep and plot.")
app.command()(sweep)
app.command()(plot)

if __name__ == "__main__":  # pragma: no cover
    app()
