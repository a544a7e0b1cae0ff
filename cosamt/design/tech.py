"""Area and per-access energy that scale with the design, from the cited table shipped as data
(``cosamt/design/data/tech45.json``; its ``provenance`` and per-entry ``source`` say where every
figure comes from)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Tech:
    """The technology table: read once, used by every design point."""

    data: dict[str, Any]

    @property
    def node_nm(self) -> int:
        return int(self.data["node_nm"])

    @property
    def source_note(self) -> str:
        return f"cosamt/design/data/tech45.json ({self.node_nm} nm; sources listed there)"

    def mac_energy_pj(self, word_bits: int) -> float:
        return float(self.data["mac"][str(word_bits)]["energy_pj"])

    def mac_area_um2(self, word_bits: int) -> float:
        return float(self.data["mac"][str(word_bits)]["area_um2"])

    @property
    def vector_energy_pj(self) -> float:
        return float(self.data["vector_lane"]["energy_per_op_pj"])

    @property
    def vector_area_um2(self) -> float:
        return float(self.data["vector_lane"]["area_um2"])

    def sram_energy_pj(self, capacity_bytes: int, word_bits: int) -> float:
        """Energy per word access of an SRAM of ``capacity_bytes``: relative x 16-bit MAC x
        sqrt(bank / reference), bank = min(capacity, bank size), times word bits / 16; rounded."""
        s = self.data["sram"]
        bank = min(capacity_bytes, int(s["bank_bytes"]))
        per16 = (
            s["relative_energy"] * self.mac_energy_pj(16) * math.sqrt(bank / s["reference_bytes"])
        )
        return round(per16 * word_bits / 16, int(s["round_decimals"]))

    def sram_area_um2(self, capacity_bytes: int) -> float:
        """Macro area: bits x cell area / array efficiency."""
        s = self.data["sram"]
        return capacity_bytes * 8 * s["cell_area_um2"] / s["array_efficiency"]


@cache
def load_tech() -> Tech:
    """The shipped 45 nm table."""
    text = resources.files("cosamt.design").joinpath("data/tech45.json").read_text("utf-8")
    return Tech(json.loads(text))
