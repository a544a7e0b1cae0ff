"""Run the points of a sweep: in this process, in local processes, or on a Dask cluster.

Rows are appended to the store as points finish (completion order), so a killed sweep keeps every
finished row; points whose key is already in the store are skipped.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from cosamt.errors import InputError, Problem
from cosamt.interrupts import on_stop, worker_init
from cosamt.sweep.rows import Row, flatten, row_key
from cosamt.sweep.spec import KEY_COLUMNS, SweepPoint
from cosamt.sweep.store import RowStore, done_keys


class ExecutorKind(StrEnum):
    LOCAL = "local"
    DASK = "dask"


@dataclass(frozen=True)
class RunOptions:
    jobs: int = 1  # local processes (1: in this process)
    executor: ExecutorKind = ExecutorKind.LOCAL
    scheduler: str | None = None  # Dask scheduler address, for ExecutorKind.DASK
    cache_dir: Path | None = None  # None: no cache
    settings: tuple[
        tuple[str, Any], ...
    ] = ()  # SolveSettings overrides (time_limit_s, threads, ...)


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs for one point (picklable)."""

    point: SweepPoint
    base_dir: Path | None
    cache_dir: Path | None
    settings: tuple[tuple[str, Any], ...]


class PointError(InputError):
    """Bad input found while solving a point; picklable, so it crosses process boundaries."""

    def __reduce__(self) -> tuple[type[PointError], tuple[str, tuple[Problem, ...]]]:
        return (type(self), (self.source, self.problems))


@dataclass(frozen=True)
class SweepSummary:
    points: int
    skipped: int  # already in the output
    solved: int
    seconds: float


ProgressFn = Callable[[int, int], None]  # (finished, total)


def run_point(task: PointTask) -> Row:
    """Solve one point and return its row (runs in a worker)."""
    from cosamt.invariants import check, report_violations
    from cosamt.pipeline import resolve, settings_for, solve_instance
    from cosamt.sweep.cache import SolveCache, solve_instance_cached

    start, cpu = time.perf_counter(), time.process_time()
    inst = task.point.instance
    try:
        resolved = resolve(inst, task.base_dir)
        settings = settings_for(inst, **dict(task.settings))
        cache = None if task.cache_dir is None else SolveCache(task.cache_dir)
        report = (
            solve_instance(resolved, settings)
            if cache is None
            else solve_instance_cached(resolved, settings, cache)
        )
    except InputError as exc:
        raise PointError(exc.source or f"sweep point {task.point.label}", exc.problems) from None
    check(resolved, report_violations(report))  # a bug, not bad input: the sweep exits 1
    row = flatten(report)
    hits = 0 if cache is None else cache.hits
    key = {c: row.pop(c) for c in KEY_COLUMNS}
    return {
        **key,
        "wall_seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "cache_hits": hits,
        **row,
    }


def run_sweep(
    points: Sequence[SweepPoint],
    store: RowStore,
    options: RunOptions,
    base_dir: Path | None = None,
    progress: ProgressFn | None = None,
) -> SweepSummary:
    """Solve every point not yet in ``store`` and append its row as soon as it finishes."""
    start = time.perf_counter()
    done = done_keys(store)
    todo = {p.key: p for p in points if p.key not in done}
    tasks = [PointTask(p, base_dir, options.cache_dir, options.settings) for p in todo.values()]
    finished = len(points) - len(todo)
    if progress:
        progress(finished, len(points))
    for row in _execute(tasks, options):
        if row_key(row) not in todo:
            raise RuntimeError(f"a worker returned an unexpected point {row_key(row)}")
        store.append(row)
        finished += 1
        if progress:
            progress(finished, len(points))
    return SweepSummary(
        len(points), len(points) - len(todo), len(todo), time.perf_counter() - start
    )


def _execute(tasks: list[PointTask], options: RunOptions) -> Iterator[Row]:
    if not tasks:
        return iter(())
    if options.executor is ExecutorKind.DASK:
        if not options.scheduler:
            raise InputError(
                "", [Problem("--scheduler", "--executor dask needs a scheduler address")]
            )
        return _on_dask(tasks, options.scheduler)
    if options.jobs == 1:
        return map(run_point, tasks)
    return _in_processes(tasks, options.jobs)


def _in_processes(tasks: list[PointTask], jobs: int) -> Iterator[Row]:
    # spawn: no fork of a process that may run threads (progress bar, solver). Workers leave
    # Ctrl-C to this process, which kills them when stopped, and exit if it dies (interrupts.py).
    _quiet_resource_tracker()
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_init,
    )

    def kill_workers() -> None:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()

    try:
        with on_stop(kill_workers):
            futures = [pool.submit(run_point, t) for t in tasks]
            for future in as_completed(futures):
                yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with its stderr on /dev/null: when a sweep is
    stopped it still removes the pool's semaphores, but its "leaked semaphore" warning would
    follow the one-line message."""
    from multiprocessing import resource_tracker

    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        resource_tracker.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _on_dask(tasks: list[PointTask], address: str) -> Iterator[Row]:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise InputError(
            "", [Problem("--executor", "dask is not installed: pip install 'cosamt[sweep]'")]
        ) from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            "", [Problem("--scheduler", f"cannot connect to {address!r}: {exc}")]
        ) from None
    try:
        futures = client.map(run_point, tasks, pure=False)
        for future in dask_completed(futures):
            yield future.result()
    finally:
        client.close()
