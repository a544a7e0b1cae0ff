"""From a design point (one value per knob) to an :class:`Architecture` and its die area.

Rules (the FLAT-style presets' own rules, so edge, mobile and cloud are points of the space):

* structure: a PE array of rows x cols below one shared GlobalBuffer, then DRAM; rows may unroll a
  reduction or an output dimension, cols an output dimension; multicast and spatial reduction;
* GlobalBuffer bandwidth: (rows + cols) words per cycle each way (``array_edges``), or as given;
* DRAM bandwidth in bytes per cycle = GB/s / clock GHz; energy per word = pJ/bit x word bits;
* every per-access energy, MAC energy and area from :mod:`cosamt.design.tech`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

from cosamt.arch.spec import Architecture, ArrayAxis, DimClass, MemoryLevel, PEArray, VectorUnit
from cosamt.design.spec import BufferBandwidth, DesignSpec, DramTech, Space
from cosamt.design.tech import Tech, load_tech
from cosamt.workload.einsum import Role

KIB = 1024
ALL_ROLES = (Role.INPUT, Role.WEIGHT, Role.OUTPUT)


@dataclass(frozen=True)
class DesignPoint:
    """One value per knob."""

    rows: int
    cols: int
    buffer_kib: int
    lanes: int
    dram: DramTech
    clock_ghz: float

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    def knobs(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "cols": self.cols,
            "global_buffer_kib": self.buffer_kib,
            "vector_lanes": self.lanes,
            "dram": self.dram.name,
            "clock_ghz": self.clock_ghz,
        }

    @property
    def label(self) -> str:
        return (
            f"{self.rows}x{self.cols}-{self.buffer_kib}KiB-v{self.lanes}-{self.dram.name}"
            f"-{self.clock_ghz:g}GHz"
        )

    def key(self) -> str:
        """Content key of the knob values (DRAM by its figures, not only its name)."""
        content = {**self.knobs(), "dram": self.dram.model_dump(mode="json")}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


KNOBS: tuple[str, ...] = ("pe_array", "global_buffer_kib", "vector_lanes", "dram", "clock_ghz")


def knob_values(space: Space) -> dict[str, list[Any]]:
    """The finite list of each knob (``vector_lanes`` None = one lane per column)."""
    return {
        "pe_array": space.pe_array.shapes(),
        "global_buffer_kib": sorted(set(space.global_buffer_kib)),
        "vector_lanes": sorted(set(space.vector_lanes)) if space.vector_lanes else [None],
        "dram": list(space.dram),
        "clock_ghz": sorted(set(space.clock_ghz)),
    }


def point_from_indices(values: dict[str, list[Any]], idx: tuple[int, ...]) -> DesignPoint:
    """The design point at one index per knob (in :data:`KNOBS` order)."""
    (rows, cols), buf, lanes, dram, clock = (values[k][i] for k, i in zip(KNOBS, idx, strict=True))
    return DesignPoint(rows, cols, buf, cols if lanes is None else lanes, dram, clock)


def enumerate_space(space: Space) -> list[DesignPoint]:
    """Every design point of the space (the product of the knob lists)."""
    values = knob_values(space)
    ranges = [range(len(values[k])) for k in KNOBS]
    return [point_from_indices(values, idx) for idx in itertools.product(*ranges)]


def derive_arch(point: DesignPoint, space: Space, tech: Tech | None = None) -> Architecture:
    """The architecture of a design point, by the rules in this module's docstring."""
    tech = tech or load_tech()
    word_bytes = space.word_bits // 8
    capacity = point.buffer_kib * KIB
    sram_pj = tech.sram_energy_pj(capacity, space.word_bits)
    if space.buffer_bandwidth is BufferBandwidth.ARRAY_EDGES:
        buffer_bw = float((point.rows + point.cols) * word_bytes)
    else:
        buffer_bw = float(space.buffer_bandwidth)
    dram_bw = point.dram.bandwidth_gb_s / point.clock_ghz
    dram_pj = point.dram.energy_pj_per_bit * space.word_bits
    return Architecture(
        name=f"design-{point.label}",
        description=(
            f"cosamt design point {point.label}: derived by cosamt.design.derive from "
            f"{tech.source_note}"
        ),
        clock_ghz=point.clock_ghz,
        word_bytes=word_bytes,
        mac_energy_pj=tech.mac_energy_pj(space.word_bits),
        pe_array=PEArray(
            rows=ArrayAxis(size=point.rows, unrolls=(DimClass.REDUCTION, DimClass.OUTPUT)),
            cols=ArrayAxis(size=point.cols, unrolls=(DimClass.OUTPUT,)),
            below="GlobalBuffer",
        ),
        levels=(
            MemoryLevel(
                name="GlobalBuffer",
                capacity_bytes=capacity,
                holds=ALL_ROLES,
                read_bandwidth=buffer_bw,
                write_bandwidth=buffer_bw,
                read_energy_pj=sram_pj,
                write_energy_pj=sram_pj,
            ),
            MemoryLevel(
                name="DRAM",
                holds=ALL_ROLES,
                read_bandwidth=dram_bw,
                write_bandwidth=dram_bw,
                read_energy_pj=dram_pj,
                write_energy_pj=dram_pj,
            ),
        ),
        vector_unit=VectorUnit(lanes=point.lanes, energy_per_op_pj=tech.vector_energy_pj),
    )


@dataclass(frozen=True)
class Area:
    pe_array_mm2: float
    vector_mm2: float
    sram_mm2: float
    dram_phy_mm2: float

    @property
    def total_mm2(self) -> float:
        return self.pe_array_mm2 + self.vector_mm2 + self.sram_mm2 + self.dram_phy_mm2


def design_area(point: DesignPoint, space: Space, tech: Tech | None = None) -> Area:
    """Die area: MACs + vector lanes + SRAM macros + the DRAM technology's stated PHY area."""
    tech = tech or load_tech()
    um2 = 1e-6
    return Area(
        pe_array_mm2=point.pes * tech.mac_area_um2(space.word_bits) * um2,
        vector_mm2=point.lanes * tech.vector_area_um2 * um2,
        sram_mm2=tech.sram_area_um2(point.buffer_kib * KIB) * um2,
        dram_phy_mm2=point.dram.phy_area_mm2,
    )


def arch_area(arch: Architecture, tech: Tech | None = None) -> float:
    """Die area of a FLAT-style architecture (one shared GlobalBuffer), by the same rules; for a
    shipped preset as a "traditional" design. DRAM PHY area is not counted."""
    arch.require_one_fanout("the design-space area model")
    tech = tech or load_tech()
    bits = arch.word_bytes * 8
    sram = sum(
        buf.words * arch.word_bytes
        for i, lv in enumerate(arch.levels[:-1])
        for buf in lv.capacity_groups(arch.word_bytes)
        if not arch.is_private(i)
    )
    return 1e-6 * (
        arch.pe_array.pes * tech.mac_area_um2(bits)
        + arch.vector_unit.lanes * tech.vector_area_um2
        + tech.sram_area_um2(sram)
    )


def space_size(spec: DesignSpec) -> int:
    values = knob_values(spec.space)
    n = 1
    for k in KNOBS:
        n *= len(values[k])
    return n
