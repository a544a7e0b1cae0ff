"""Durable row files: every finished row is one complete line, flushed and fsync'ed.

* ``*.csv``: the CSV file itself is the journal. A row with a column the header lacks (a model with
  other operators) rewrites the file with the wider header, atomically (temporary file + rename).
* ``*.parquet``: rows go to the journal ``FILE.parquet.jsonl`` (one JSON object a line); after each
  row the Parquet file is rewritten from the journal, atomically. The journal is the source of truth.

A process killed mid-write leaves at most one partial last line; opening the file drops it.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from cosamt.errors import InputError, Problem
from cosamt.io.outputs import write_atomically
from cosamt.sweep.rows import Row, row_key
from cosamt.sweep.spec import KEY_COLUMNS, Key

SUFFIXES = (".csv", ".parquet")


class RowStore(Protocol):
    path: Path

    def rows(self) -> list[Row]: ...

    def append(self, row: Row) -> None: ...


def open_store(path: Path, resume: bool) -> RowStore:
    """The store for ``path`` (by suffix). Without ``resume`` an existing non-empty output is an
    error; with it, the finished rows are loaded (a partial last line is dropped)."""
    if path.suffix not in SUFFIXES:
        raise InputError(
            "", [Problem("--out", f"expected a .csv or .parquet file, got {path.name!r}")]
        )
    store: CsvStore | ParquetStore = CsvStore(path) if path.suffix == ".csv" else ParquetStore(path)
    if store.has_data() and not resume:
        raise InputError(
            "",
            [
                Problem(
                    "--out",
                    f"{path} exists and is not empty; pass --resume to "
                    "continue it, or choose another file",
                )
            ],
        )
    store.load()
    return store


def done_keys(store: RowStore) -> set[Key]:
    return {row_key(r) for r in store.rows()}


# ---- line files -------------------------------------------------------------------------------


def append_line(path: Path, line: str) -> None:
    """Append one complete line and make it durable before returning."""
    with path.open("a", encoding="utf-8", newline="") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def recover(path: Path) -> str:
    """The complete lines of ``path``; a partial last line (a killed writer) is cut off the file."""
    if not path.exists():
        return ""
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    if cut < len(data):
        with path.open("r+b") as f:
            f.truncate(cut)
            f.flush()
            os.fsync(f.fileno())
    return data[:cut].decode("utf-8")


def replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through ``write(tmp_path)`` and rename it into place: old or new, never half
    (the temporary name is unique to the writer, so concurrent writers never collide)."""
    write_atomically(path, write)


def unique_rows(rows: list[Row]) -> tuple[list[Row], int]:
    """The first row of every point, and how many repeats were dropped."""
    seen: set[Key] = set()
    kept = []
    for row in rows:
        key = row_key(row)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept, len(rows) - len(kept)


def _not_ours(path: Path, what: str) -> InputError:
    return InputError(str(path), [Problem("", f"{what}; not a cosamt sweep output")])


# ---- CSV ----------------------------------------------------------------------------------------


class CsvStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: list[str] = []
        self._rows: list[Row] = []

    def has_data(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def load(self) -> None:
        lines = list(csv.reader(io.StringIO(recover(self.path), newline="")))
        if not lines:
            return
        self.header = lines[0]
        missing = [c for c in KEY_COLUMNS if c not in self.header]
        if missing:
            raise _not_ours(self.path, f"no column {missing[0]!r}")
        for n, fields in enumerate(lines[1:], start=2):
            if len(fields) != len(self.header):
                raise _not_ours(
                    self.path, f"line {n} has {len(fields)} fields, the header {len(self.header)}"
                )
            self._rows.append(dict(zip(self.header, fields, strict=True)))
        self._rows, dropped = unique_rows(self._rows)
        if dropped:  # left by two runs on one output before outputs were locked
            replace_atomically(self.path, self._write_all)

    def rows(self) -> list[Row]:
        return list(self._rows)

    def append(self, row: Row) -> None:
        new = [c for c in row if c not in self.header]
        self._rows.append(row)
        if new or not self.header:
            self.header += new
            replace_atomically(self.path, self._write_all)
        else:
            append_line(self.path, self._line(row))

    def _line(self, row: Row) -> str:
        buf = io.StringIO(newline="")
        csv.writer(buf, lineterminator="\n").writerow(_cell(row.get(c)) for c in self.header)
        return buf.getvalue()

    def _write_all(self, tmp: Path) -> None:
        lines = [self._line(dict(zip(self.header, self.header, strict=True)))]
        lines += [self._line(r) for r in self._rows]
        tmp.write_text("".join(lines), encoding="utf-8", newline="")


def _cell(value: Any) -> Any:
    return "" if value is None else value


# ---- Parquet (behind a JSON-lines journal) -----------------------------------------------------


class ParquetStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.journal = path.with_name(path.name + ".jsonl")
        self._rows: list[Row] = []

    def has_data(self) -> bool:
        return any(p.exists() and p.stat().st_size > 0 for p in (self.path, self.journal))

    def load(self) -> None:
        _require_pyarrow()
        text = recover(self.journal)
        for n, line in enumerate(text.splitlines(), start=1):
            try:
                self._rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise _not_ours(self.journal, f"line {n} is not JSON") from None
        self._rows, dropped = unique_rows(self._rows)
        if dropped:
            replace_atomically(self.journal, self._write_journal)
        if not self._rows and self.path.exists():
            self._seed_journal()
        elif self._rows:  # a kill between journal and Parquet writes left the Parquet file behind
            replace_atomically(self.path, self._write_parquet)

    def _seed_journal(self) -> None:
        """A Parquet file without its journal: the journal starts from the Parquet rows."""
        import pyarrow.parquet as pq

        self._rows = pq.read_table(self.path).to_pylist()
        if self._rows and any(c not in self._rows[0] for c in KEY_COLUMNS):
            raise _not_ours(self.path, "no point parameters")
        replace_atomically(self.journal, self._write_journal)

    def _write_journal(self, tmp: Path) -> None:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in self._rows), encoding="utf-8")

    def rows(self) -> list[Row]:
        return list(self._rows)

    def append(self, row: Row) -> None:
        append_line(self.journal, json.dumps(row) + "\n")
        self._rows.append(row)
        replace_atomically(self.path, self._write_parquet)

    def _write_parquet(self, tmp: Path) -> None:
        import pandas as pd

        pd.DataFrame(self._rows).to_parquet(tmp, index=False)


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError(
            "",
            [
                Problem(
                    "--out",
                    "writing Parquet needs pyarrow: "
                    "pip install 'cosamt[sweep]' (or use a .csv file)",
                )
            ],
        ) from None
