"""Ctrl-C and termination: stop at once with one line and exit 130 (143 for SIGTERM).

Why not KeyboardInterrupt: HiGHS (through Pyomo) catches it, cancels the MIP it is running and
returns normally, so the solve carried on with the next group and exited 0. The handler here ends
the process instead. That is safe because every output is written whole or not at all: schedule and
CSV files and cache entries go through :func:`cosamt.io.outputs.write_atomically` (a unique
temporary name, removed here, then a rename); sweep rows are appended one complete line at a
time (a cut line is dropped on ``--resume``); output locks are the kernel's and end with the process.

Worker processes of ``sweep --jobs N`` ignore SIGINT (their parent stops them) and watch their
parent: if it dies in any way (SIGKILL included) they exit within :data:`WATCH_SECONDS`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
WATCH_SECONDS = 0.5
_TRACKER_WARNING = "ignore:resource_tracker:UserWarning"

_temporaries: set[Path] = set()
_on_stop: list[Callable[[], None]] = []
_lock = threading.Lock()
_stderr_copy: list[int] = []


def track_temporary(path: Path) -> None:
    """A temporary file being written; removed if the process is stopped before it is renamed."""
    with _lock:
        _temporaries.add(path)


def untrack_temporary(path: Path) -> None:
    with _lock:
        _temporaries.discard(path)


@contextmanager
def on_stop(action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` (kill worker processes, say) if the process is stopped inside this block."""
    _on_stop.append(action)
    try:
        yield
    finally:
        _on_stop.remove(action)


def _stop(signum: int, _frame: FrameType | None) -> None:
    name = "interrupted" if signum == signal.SIGINT else "terminated"
    for action in list(_on_stop):
        with suppress(Exception):
            action()
    with _lock:
        for path in _temporaries:
            path.unlink(missing_ok=True)
    try:
        # To a copy of the original stderr: during a solve Pyomo points fd 2 at its capture pipe.
        os.write(
            _stderr_copy[0] if _stderr_copy else 2,
            f"{name}: stopped; no partial output was written\n".encode(),
        )
    finally:
        os._exit(EXIT_CODES.get(signal.Signals(signum), 130))


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Inside this block SIGINT and SIGTERM end the process at once (one line, exit 130/143).
    The previous handlers come back afterwards (tests call commands in-process)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # A stopped parent leaves its worker pool's semaphores to multiprocessing's resource tracker
    # (a process started later, with these warning options), which would warn about them after
    # the one line; they are released all the same.
    if _TRACKER_WARNING not in sys.warnoptions:
        sys.warnoptions.append(_TRACKER_WARNING)
    _stderr_copy.append(os.dup(2))
    previous = {sig: signal.signal(sig, _stop) for sig in EXIT_CODES}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(_stderr_copy.pop())


def worker_init() -> None:
    """Initializer of a sweep worker process: leave SIGINT to the parent, die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="cosamt-parent-watch", daemon=True).start()
