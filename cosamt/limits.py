"""The sizes and numbers cosamt accepts, in one place, written into the input schemas.

Why these limits:

* Every number is finite (JSON has no ``Infinity``/``NaN``, Python's parser accepts them anyway).
* Loop counts, tensor sizes, accesses and MACs are Python ints (exact); latency and energy are
  float64, exact to ~1e-16 relative. Issue #12 asks for exactness up to FLAT's longest settings
  (batch 64, 32 heads, 2^20 tokens: about 2^62 iteration points), so an operator may iterate up to
  2**64 times (:data:`MAX_OPERATOR_POINTS`); beyond that it is refused.
* Per-field maxima are far beyond any real design (a 65,536-wide PE axis, a 4M-token context,
  a 1M-wide layer) but small enough that products of a few of them stay meaningful; a value past
  them is almost certainly a typo, and a refusal that names the field is kinder than a figure of
  1e33 mJ.
* Rates and energies have a floor as well as a ceiling: a DRAM of 1e-300 bytes/cycle is a typo,
  and its latencies would overflow float64.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

MAX_OPERATOR_POINTS: Final = 2**64
"""Largest iteration space of one operator (MACs of a GEMM, element operations of a softmax)."""

MAX_SEQ_LEN: Final = 2**22  # 4,194,304 tokens
MAX_BATCH: Final = 2**16
MAX_WIDTH: Final = 2**20  # d_model, d_ff, head_dim
MAX_HEADS: Final = 2**14
MAX_LAYERS: Final = 2**16
MAX_AXIS: Final = 2**16  # PEs along one array axis
MAX_LANES: Final = 2**20
MAX_WORD_BYTES: Final = 64
MAX_CAPACITY_BYTES: Final = 2**50  # 1 PiB
MIN_RATE: Final = 1e-3  # bytes/cycle, GHz
MAX_RATE: Final = 1e9
MAX_ENERGY_PJ: Final = 1e9  # 1 mJ per access or operation
MAX_TIME_LIMIT_S: Final = 1e6  # about 11.6 days
MAX_THREADS: Final = 1024
MAX_FACTOR: Final = MAX_OPERATOR_POINTS  # a loop factor in a schedule file

RESERVED_LEVEL_NAMES: Final = frozenset({"Shared"})
"""``Shared`` is the virtual outermost level of a fused group's shared loops."""
LEVEL_NAME_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9_]*$"
"""Level names appear in schedule files and error paths (``GlobalBuffer.keep``): identifiers."""


def _int(low: int, high: int) -> object:
    # gt=low-1 rather than ge=low: "greater than 0" reads better than "greater than or equal to 1".
    return Field(gt=low - 1, le=high, strict=True)


def _float(low: float, high: float, *, exclusive_low: bool = False) -> object:
    if exclusive_low:
        return Field(gt=low, le=high, allow_inf_nan=False)
    return Field(ge=low, le=high, allow_inf_nan=False)


SeqLen = Annotated[int, _int(1, MAX_SEQ_LEN)]
Batch = Annotated[int, _int(1, MAX_BATCH)]
Width = Annotated[int, _int(1, MAX_WIDTH)]
Heads = Annotated[int, _int(1, MAX_HEADS)]
Layers = Annotated[int, _int(1, MAX_LAYERS)]
AxisSize = Annotated[int, _int(1, MAX_AXIS)]
Lanes = Annotated[int, _int(1, MAX_LANES)]
WordBytes = Annotated[int, _int(1, MAX_WORD_BYTES)]
CapacityBytes = Annotated[int, _int(1, MAX_CAPACITY_BYTES)]
Factor = Annotated[int, _int(1, MAX_FACTOR)]
Threads = Annotated[int, _int(1, MAX_THREADS)]
Rate = Annotated[float, _float(MIN_RATE, MAX_RATE)]
"""Bytes per cycle, or GHz."""
Energy = Annotated[float, _float(0.0, MAX_ENERGY_PJ)]
TimeLimit = Annotated[float, _float(0.0, MAX_TIME_LIMIT_S, exclusive_low=True)]
Gap = Annotated[float, _float(0.0, 1.0)]
