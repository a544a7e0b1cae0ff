"""One unit policy for every table, summary and figure.

* time: cycles, and beside them seconds scaled to ns/µs/ms/s when the clock is known;
* energy: one unit per table (:func:`energy_unit` picks it from the table's values);
* bytes: binary prefixes (B, KiB, MiB, GiB, TiB), whole bytes below 1 KiB (688 B, not 0 KiB);
* counts (cycles, MACs): SI suffixes k, M, G, T with 3 significant digits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TIME_UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))
ENERGY_UNITS = (("J", 1e12), ("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3), ("pJ", 1.0))
"""Energy units and their size in pJ, largest first."""
BYTE_UNITS = (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))
COUNT_SUFFIXES = (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3))


@dataclass(frozen=True)
class Unit:
    """A display unit: its symbol and how many base units (pJ, s) one of it is."""

    symbol: str
    scale: float

    def __call__(self, value: float, digits: int = 4) -> str:
        """``value`` (in base units) in this unit, without the symbol."""
        return f"{value / self.scale:.{digits}g}"


def count(x: float) -> str:
    """A count (cycles, MACs) with an SI suffix: 1.77M, 602k, 42."""
    for suffix, scale in COUNT_SUFFIXES:
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


def seconds(s: float, digits: int = 4) -> str:
    """Seconds in the largest unit that keeps the number at least 1: 118.4 ms, 25.6 µs."""
    for symbol, scale in TIME_UNITS:
        if abs(s) >= scale:
            return f"{s / scale:.{digits}g} {symbol}"
    return f"{s / 1e-9:.{digits}g} ns"


def cycles_to_seconds(cycles: float, clock_ghz: float) -> float:
    return cycles / (clock_ghz * 1e9)


def cycle_time(cycles: float, clock_ghz: float | None) -> str:
    """Cycles and, with a clock, the time they take: ``1.77M cycles (1.878 ms)``."""
    text = f"{count(cycles)} cycles"
    if clock_ghz:
        text += f" ({seconds(cycles_to_seconds(cycles, clock_ghz))})"
    return text


def energy_unit(values_pj: Iterable[float]) -> Unit:
    """The one energy unit for a table: the largest unit in which the largest value is >= 1."""
    top = max((abs(v) for v in values_pj), default=0.0)
    for symbol, scale in ENERGY_UNITS:
        if top >= scale:
            return Unit(symbol, scale)
    return Unit("pJ", 1.0)


def time_unit(values_s: Iterable[float]) -> Unit:
    """The one time unit for a table or axis: the largest in which the largest value is >= 1."""
    top = max((abs(v) for v in values_s), default=0.0)
    for symbol, scale in TIME_UNITS:
        if top >= scale:
            return Unit(symbol, scale)
    return Unit("ns", 1e-9)


def energy(pj: float, digits: int = 4) -> str:
    """One energy figure with its own unit (for a sentence, not a table column)."""
    unit = energy_unit([pj])
    return f"{unit(pj, digits)} {unit.symbol}"


def nbytes(n: float) -> str:
    """Bytes with binary prefixes: 688 B, 64 KiB, 19.5 MiB, 1.07 GiB."""
    for symbol, scale in BYTE_UNITS:
        if abs(n) >= scale:
            return f"{n / scale:.3g} {symbol}"
    return f"{n:.0f} B"


def ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}×"
