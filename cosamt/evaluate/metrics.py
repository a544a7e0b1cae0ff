"""Frozen results of evaluating one schedule."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cosamt.schedule.violations import Violation


class Stationarity(StrEnum):
    WEIGHT = "weight"
    INPUT = "input"
    OUTPUT = "output"
    NONE = "none"


@dataclass(frozen=True)
class TensorLevelStats:
    tensor: str
    level: str
    tile_words: int  # per instance (per PE for private levels)
    fills: int  # per instance: how many times the tile is (re)loaded
    reads: int  # words read from this level, all instances
    writes: int  # words written into this level, all instances


@dataclass(frozen=True)
class LevelStats:
    level: str
    instances: int
    occupancy_words: float  # peak per instance in words of word_bytes (double-buffered if asked)
    capacity_words: int | None
    reads: int
    writes: int
    read_cycles: float
    write_cycles: float
    energy_pj: float
    stationarity: Stationarity
    bytes_moved: int  # reads + writes in bytes, each word at its role's width here

    @property
    def cycles(self) -> float:
        return max(self.read_cycles, self.write_cycles)


@dataclass(frozen=True)
class Metrics:
    operator: str
    macs: int  # including padded work
    useful_macs: int  # the operator's own MACs
    vector_ops: int
    compute_cycles: float
    vector_cycles: float
    latency_cycles: float
    energy_pj: float
    mac_energy_pj: float
    vector_energy_pj: float
    dram_bytes: int
    utilisation: float  # useful MACs / (latency x PEs)
    levels: tuple[LevelStats, ...]
    tensors: tuple[TensorLevelStats, ...]
    pe_stationarity: Stationarity = Stationarity.NONE  # what stays in the PE's latch
    violations: tuple[Violation, ...] = ()
    network_energy_pj: float = 0.0  # words crossing fan-outs (hop_energy_pj), in energy_pj

    @property
    def valid(self) -> bool:
        return not self.violations

    @property
    def bound_by(self) -> str:
        """What sets the latency: compute, vector, or a level's bandwidth."""
        cands = [("compute", self.compute_cycles), ("vector", self.vector_cycles)]
        cands += [(lv.level, lv.cycles) for lv in self.levels]
        return max(cands, key=lambda c: c[1])[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "latency_cycles": self.latency_cycles,
            "energy_pj": self.energy_pj,
            "dram_bytes": self.dram_bytes,
            "utilisation": self.utilisation,
            "bound_by": self.bound_by,
            "pe_stationarity": self.pe_stationarity.value,
            "macs": self.macs,
            "useful_macs": self.useful_macs,
            "vector_ops": self.vector_ops,
            "compute_cycles": self.compute_cycles,
            "vector_cycles": self.vector_cycles,
            "mac_energy_pj": self.mac_energy_pj,
            "vector_energy_pj": self.vector_energy_pj,
            "levels": [
                {
                    "level": lv.level,
                    "instances": lv.instances,
                    "occupancy_words": lv.occupancy_words,
                    "capacity_words": lv.capacity_words,
                    "reads": lv.reads,
                    "writes": lv.writes,
                    "read_cycles": lv.read_cycles,
                    "write_cycles": lv.write_cycles,
                    "energy_pj": lv.energy_pj,
                    "stationarity": lv.stationarity.value,
                }
                for lv in self.levels
            ],
            "tensors": [
                {
                    "tensor": t.tensor,
                    "level": t.level,
                    "tile_words": t.tile_words,
                    "fills": t.fills,
                    "reads": t.reads,
                    "writes": t.writes,
                }
                for t in self.tensors
            ],
            "violations": [v.to_json() for v in self.violations],
            # only where a fan-out has a hop energy: other reports stay as they were
            **({"network_energy_pj": self.network_energy_pj} if self.network_energy_pj else {}),
        }


def words_text(words: float) -> str:
    """A count of words as text: exact for whole counts, 6 digits for the fractional ones that
    mixed word widths give."""
    return str(int(words)) if float(words).is_integer() else f"{words:.6g}"
