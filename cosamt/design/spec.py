"""The design spec (``cosamt design SPEC.json``): workloads with weights, a finite design space, a
budget and an objective. Every knob is a finite list the user writes down; everything else about
the architecture follows the stated rules of :mod:`cosamt.design.derive`."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cosamt.errors import InputError, Problem, json_type, problems_from_pydantic
from cosamt.io.instance import read_json
from cosamt.types import FusionChoice, Objective, Phase

PositiveInt = Annotated[int, Field(gt=0, strict=True)]
PositiveFloat = Annotated[float, Field(gt=0)]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Workload(Frozen):
    """One model run of the mix."""

    model: Annotated[str, Field(min_length=1)]
    """A shipped model name (``cosamt models``)."""
    phase: Phase = Phase.PREFILL
    """``prefill`` or ``decode``."""
    batch: PositiveInt = 1
    """Batch size."""
    seq_len: PositiveInt
    """Sequence length (prefill) or KV-cache length (decode)."""
    weight: PositiveFloat = 1.0
    """Weight of this workload in the weighted total (latency and energy are summed with it)."""

    @property
    def label(self) -> str:
        return f"{self.model}/{self.phase.value}/b{self.batch}/L{self.seq_len}"


class DramTech(Frozen):
    """A DRAM technology the design may use."""

    name: Annotated[str, Field(min_length=1)]
    """Name to report (LPDDR4, HBM2, ...)."""
    bandwidth_gb_s: PositiveFloat
    """Peak bandwidth in GB/s (read and write each; bytes per cycle = this / clock in GHz)."""
    energy_pj_per_bit: PositiveFloat
    """Energy per bit moved (read or write)."""
    phy_area_mm2: Annotated[float, Field(ge=0)] = 0.0
    """Die area of the interface (PHY and controller) this technology costs; 0 = not counted."""
    source: str = ""
    """Where the figures come from."""


class PEArraySpace(Frozen):
    """Array shapes: ``rows`` x ``cols`` (every pair), or ``pes`` with ``aspect_ratios`` (rows/cols)."""

    rows: tuple[PositiveInt, ...] | None = None
    """Row counts."""
    cols: tuple[PositiveInt, ...] | None = None
    """Column counts."""
    pes: tuple[PositiveInt, ...] | None = None
    """PE counts (with aspect_ratios)."""
    aspect_ratios: tuple[PositiveFloat, ...] | None = None
    """rows / cols for every PE count; rows = sqrt(pes x ratio) must be a whole number."""

    @model_validator(mode="after")
    def _one_form(self) -> PEArraySpace:
        by_axes = self.rows is not None or self.cols is not None
        by_count = self.pes is not None or self.aspect_ratios is not None
        if by_axes == by_count:
            raise ValueError("give rows and cols, or pes and aspect_ratios")
        if by_axes and (not self.rows or not self.cols):
            raise ValueError("rows and cols must both be non-empty lists")
        if by_count and (not self.pes or not self.aspect_ratios):
            raise ValueError("pes and aspect_ratios must both be non-empty lists")
        for rows, cols in self._pairs():
            if rows * cols <= 0:
                raise ValueError("empty array")
        return self

    def _pairs(self) -> list[tuple[int, int]]:
        if self.rows is not None and self.cols is not None:
            return [(r, c) for r in self.rows for c in self.cols]
        pairs = []
        for n in self.pes or ():
            for ar in self.aspect_ratios or ():
                rows = math.sqrt(n * ar)
                if abs(rows - round(rows)) > 1e-9 or n % round(rows):
                    raise ValueError(
                        f"pes {n} with aspect ratio {ar} gives {rows:.4g} rows: not a whole array"
                    )
                pairs.append((round(rows), n // round(rows)))
        return pairs

    def shapes(self) -> list[tuple[int, int]]:
        """(rows, cols) of every array in the space, without repeats, in the order written."""
        return list(dict.fromkeys(self._pairs()))


class BufferBandwidth(StrEnum):
    ARRAY_EDGES = "array_edges"  # (rows + cols) words per cycle, what the two edges consume


class Space(Frozen):
    """The knobs. The design space is the product of every list."""

    pe_array: PEArraySpace
    """Array shapes."""
    global_buffer_kib: tuple[PositiveInt, ...] = Field(min_length=1)
    """Capacities of the shared on-chip GlobalBuffer, in KiB."""
    vector_lanes: tuple[PositiveInt, ...] | None = None
    """Vector-unit lanes; null = one lane per array column (the presets' rule)."""
    dram: tuple[DramTech, ...] = Field(min_length=1)
    """DRAM technologies."""
    clock_ghz: tuple[PositiveFloat, ...] = Field(min_length=1)
    """Clock frequencies."""
    word_bits: Literal[8, 16] = 16
    """Data word width (16: FP16 MACs; 8: int8 MACs with 32-bit accumulation)."""
    buffer_bandwidth: BufferBandwidth | PositiveFloat = BufferBandwidth.ARRAY_EDGES
    """GlobalBuffer read and write bandwidth: ``array_edges`` = (rows + cols) words per cycle, or
    a fixed number of bytes per cycle."""

    @model_validator(mode="after")
    def _distinct(self) -> Space:
        names = [d.name for d in self.dram]
        if len(set(names)) != len(names):
            raise ValueError(f"dram technology names must be unique, got {names}")
        return self


class Budget(Frozen):
    area_mm2: PositiveFloat
    """Die area budget in mm^2 at ``node_nm``."""
    node_nm: Literal[45] = 45
    """Technology node of the area and energy data (the shipped table is at 45 nm)."""
    power_w: PositiveFloat | None = None
    """Optional average-power budget over the weighted mix: weighted energy / weighted time."""


class Pruning(StrEnum):
    BEST = "best"  # prune a design whose lower bound is no better than the best solved design
    FRONT = "front"  # only when a solved design of no larger area is at least as good: the
    # objective-area front is exact too (prunes less)


class DesignOptions(Frozen):
    fusion: FusionChoice = FusionChoice.ALL
    """Fusion schemes the mapper may use."""
    time_limit_s: PositiveFloat = 60.0
    """Wall-clock limit per MIP solve."""
    threads: PositiveInt = 1
    """Solver threads per process."""
    jobs: PositiveInt = 1
    """Design points solved in parallel processes."""
    pruning: Pruning = Pruning.BEST
    """Which designs a lower bound may discard (see formulations/design.md)."""


class DesignSpec(Frozen):
    """A co-design problem: which accelerator of the declared space is best for the workload mix."""

    name: Annotated[str, Field(min_length=1)] = "design"
    """Name to report."""
    workloads: tuple[Workload, ...] = Field(min_length=1)
    """The weighted mix of models, phases and lengths."""
    space: Space
    """The finite design space."""
    budget: Budget
    """Area (and optional power) budget."""
    objective: Objective = Objective.EDP
    """Latency (seconds), energy or EDP of the weighted total."""
    options: DesignOptions = DesignOptions()
    """Solver and search options."""


def parse_design(data: Any, source: str = "") -> DesignSpec:
    """Validate a decoded design spec; every problem at once as an :class:`InputError`."""
    if not isinstance(data, dict):
        raise InputError(source, [Problem("", f"expected a JSON object, got {json_type(data)}")])
    try:
        spec = DesignSpec.model_validate(data)
    except ValidationError as exc:
        raise InputError(source, problems_from_pydantic(exc)) from None
    problems = reference_problems(spec)
    if problems:
        raise InputError(source, problems)
    return spec


def load_design(path: Path) -> DesignSpec:
    return parse_design(read_json(path), str(path))


def reference_problems(spec: DesignSpec) -> list[Problem]:
    """Unknown model names, and phases a model cannot run (decode on an encoder)."""
    from cosamt.workload.models import get_model, list_models

    known = list_models()
    problems = []
    for i, w in enumerate(spec.workloads):
        if w.model not in known:
            problems.append(
                Problem(
                    f"workloads[{i}].model", f"unknown model {w.model!r}; known: {', '.join(known)}"
                )
            )
        elif w.phase is Phase.DECODE and not get_model(w.model).decoder:
            problems.append(
                Problem(f"workloads[{i}].phase", f"{w.model} is an encoder: decode is not defined")
            )
    return problems
