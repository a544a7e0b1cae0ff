"""Output paths: checked before any work starts, locked against a concurrent run, written whole.

One rule for every command: an output *file* (``solve --out``, ``compare --csv``, ``sweep --out``)
goes into a folder that must exist; an output *folder* (``export --out``, ``plot --out-dir``) is
created if missing, but never over an existing file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cosamt.errors import InputError, Problem
from cosamt.interrupts import track_temporary, untrack_temporary

# File systems allow 255 bytes per name; a fused group's name joins its operators' names.
MAX_FOLDER_BYTES = 200


def group_folder(group: str) -> str:
    """The folder ``export`` and ``codegen`` give a group's files (``qk+softmax+av`` ->
    ``qk_softmax_av``). A name too long for a file system (a long fused group) is cut and ends in a
    hash of the whole name, so distinct groups keep distinct folders."""
    name = group.replace("+", "_")
    if len(name.encode()) <= MAX_FOLDER_BYTES:
        return name
    digest = hashlib.sha256(group.encode()).hexdigest()[:16]
    head = name.encode()[: MAX_FOLDER_BYTES - len(digest) - 1].decode(errors="ignore")
    return f"{head}-{digest}"


def _fail(flag: str, message: str) -> InputError:
    return InputError("", [Problem(flag, message)])


def check_output_file(path: Path, flag: str) -> None:
    """``path`` can be written as a file: its folder exists and is writable, it is not a folder."""
    parent = path.parent
    if path.is_dir():
        raise _fail(flag, f"{str(path)!r} is a directory; expected a file name")
    if not parent.exists():
        raise _fail(flag, f"directory {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise _fail(flag, f"{str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _fail(flag, f"directory {str(parent)!r} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise _fail(flag, f"{str(path)!r} is not writable")


def check_output_dir(path: Path, flag: str) -> None:
    """``path`` can be used as an output folder: it is a folder, or can be created as one."""
    if path.exists():
        if not path.is_dir():
            raise _fail(flag, f"{str(path)!r} exists and is not a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise _fail(flag, f"directory {str(path)!r} is not writable")
        return
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _fail(flag, f"{str(ancestor)!r} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise _fail(flag, f"cannot create {str(path)!r}: {str(ancestor)!r} is not writable")


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


@contextmanager
def output_lock(path: Path, flag: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for this run; a second run on the same output is refused
    at once. The lock is the kernel's (flock): it ends with the process however it ends. The lock
    file is left in place (removing it would let two runs lock two different files)."""
    lock = lock_path(path)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            raise _fail(
                flag,
                f"another cosamt run is writing {str(path)!r}"
                + (f" (process {holder})" if holder else "")
                + "; wait for it to finish or choose another output",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through ``write(tmp)`` on a temporary name unique to this process and thread,
    then rename it into place: readers and concurrent writers see the old file or a whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    track_temporary(tmp)
    try:
        write(tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        untrack_temporary(tmp)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
