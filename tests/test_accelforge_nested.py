"""FFM's nested Sequential trees read into cosamt (no AccelForge needed): a nested split with only
storage nodes and one-iteration loops above it flattens into one group's branches; a loop of more
iterations there (shared by only some members) is refused, naming it. Expected mappings by hand."""

from __future__ import annotations

from typing import Any

import pytest

from cosamt.arch.presets import load_preset
from cosamt.export.accelforge import ExportError, sequence_mappings_from_nodes
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor

ARCH = load_preset("edge").with_shared_level()  # levels: GlobalBuffer, DRAM, Shared
QK = Einsum("qk", {"m": 4, "n": 4, "d": 2}, (Tensor("Q", ("m", "d"), Role.INPUT),
            Tensor("K", ("n", "d"), Role.INPUT), Tensor("S", ("m", "n"), Role.OUTPUT)))  # fmt: skip
SM = Einsum("softmax", {"m": 4, "n": 4}, (Tensor("S", ("m", "n"), Role.INPUT),
            Tensor("P", ("m", "n"), Role.OUTPUT)), kind=OpKind.VECTOR, ops_per_point=5, op="softmax")  # fmt: skip
AV = Einsum("av", {"m": 4, "n": 4, "d2": 2}, (Tensor("P", ("m", "n"), Role.INPUT),
            Tensor("V", ("n", "d2"), Role.INPUT), Tensor("O", ("m", "d2"), Role.OUTPUT)))  # fmt: skip


def st(comp: str, *tensors: str) -> dict[str, Any]:
    return {"type": "Storage", "component": comp, "tensors": list(tensors)}


def loop(d: str, tile: int, kind: str = "Temporal", axis: str = "") -> dict[str, Any]:
    node = {"type": kind, "rank_variable": d, "tile_shape": tile}
    return {**node, "name": axis, "component": "PEArray"} if axis else node


def compute(einsum: str, unit: str) -> dict[str, Any]:
    return {"type": "Compute", "einsum": einsum, "component": unit}


PREFIX = [st("MainMemory", "Q", "K", "V", "O"), loop("m", 2), st("GlobalBuffer", "S", "P")]
QK_BRANCH = [loop("m", 1, "Spatial", "cols"), st("Register", "S"), loop("n", 1), loop("d", 1),
             st("Register", "Q", "K"), compute("S", "MAC")]  # fmt: skip
SM_BRANCH = [
    loop("m", 1),
    loop("n", 1),
    st("VectorRegister", "S", "P"),
    compute("P", "VectorUnit5"),
]
AV_BRANCH = [loop("d2", 1, "Spatial", "rows"), st("Register", "O"), loop("m", 1), loop("n", 1),
             st("Register", "P", "V"), compute("O", "MAC")]  # fmt: skip


def nested(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Nested", "nodes": list(nodes)}


def split(kind: str, *branches: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "nodes": list(branches)}


def by_hand() -> dict[str, Mapping]:
    """Shared: m by 2 (the prefix's loop). Below: each member's loops sit above its Register
    (or VectorRegister), so they are the GlobalBuffer level's; DRAM keeps the members' block
    tensors; the GlobalBuffer keeps the intermediates, and V (lifted from the nested branch)."""

    def m(buffer: tuple[Loop, ...], spatial: tuple[SpatialLoop, ...], gb: set[str],
          dram: set[str]) -> Mapping:  # fmt: skip
        return Mapping(
            levels=(
                LevelMapping(temporal=buffer, spatial=spatial, keep=frozenset(gb)),
                LevelMapping(keep=frozenset(dram)),
                LevelMapping(temporal=(Loop("m", 2),)),
            )
        )

    return {
        "qk": m((Loop("n", 4), Loop("d", 2)), (SpatialLoop("m", 2, "cols"),), {"S"}, {"Q", "K"}),
        "softmax": m((Loop("m", 2), Loop("n", 4)), (), {"S", "P"}, set()),
        "av": m((Loop("m", 2), Loop("n", 4)), (SpatialLoop("d2", 2, "rows"),), {"P", "V"},
                {"V", "O"}),
    }  # fmt: skip


@pytest.mark.parametrize("kind", ["Sequential", "Pipeline"])
def test_nested_split_under_storage_and_a_one_iteration_loop_flattens(kind: str) -> None:
    """QKᵀ, then a branch holding V in the buffer and a loop over m of tile 2 (the prefix already
    tiles m to 2: one iteration) above a nested split of softmax and A·V: one group of three."""
    inner = nested(st("GlobalBuffer", "V"), loop("m", 2), split(kind, nested(*SM_BRANCH),
                   nested(*AV_BRANCH)))  # fmt: skip
    tree = [*PREFIX, split("Sequential", nested(*QK_BRANCH), inner)]
    assert sequence_mappings_from_nodes((QK, SM, AV), ARCH, tree) == by_hand()


def test_a_loop_shared_by_only_some_members_is_refused() -> None:
    """A loop over n of tile 2 (two iterations of 4) above the nested split of QKᵀ and softmax
    would be shared by those two only: cosamt's group has one Shared level, so it is refused."""
    inner = nested(st("GlobalBuffer", "S"), loop("n", 2),
                   split("Sequential", nested(*QK_BRANCH), nested(*SM_BRANCH)))  # fmt: skip
    tree = [*PREFIX, split("Sequential", inner, nested(*AV_BRANCH))]
    with pytest.raises(ExportError, match=r"loop over 'n' \(tile shape 2 of 4\) above the nested "
                       r"Sequential computing S, P"):  # fmt: skip
        sequence_mappings_from_nodes((QK, SM, AV), ARCH, tree)


def test_a_branch_ending_in_no_compute_is_refused() -> None:
    tree = [*PREFIX, split("Sequential", nested(*QK_BRANCH), nested(st("GlobalBuffer", "V")))]
    with pytest.raises(ExportError, match="ends in a Storage node"):
        sequence_mappings_from_nodes((QK, SM, AV), ARCH, tree)
