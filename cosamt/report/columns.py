"""The sweep rows' column names, as the figures read them."""

from __future__ import annotations

from collections.abc import Iterable


def group_names(columns: Iterable[str]) -> list[str]:
    """Group names present in a set of sweep-row columns (``NAME.latency_cycles``), in order."""
    names = [c.rsplit(".", 1)[0] for c in columns if c.endswith(".latency_cycles")]
    return [n for n in dict.fromkeys(names) if n not in ("total", "lower_bound")]
