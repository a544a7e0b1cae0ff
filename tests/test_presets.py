"""Shipped architecture presets: they load, validate, and carry the published numbers."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from pydantic import ValidationError

from cosamt.arch.presets import list_presets, load_preset, resolve_arch
from cosamt.arch.spec import Architecture, DimClass
from cosamt.errors import InputError
from cosamt.workload.einsum import Role

KiB = 1024
MiB = 1024 * KiB
EXPECTED = {"cloud", "edge", "gemmini", "mobile", "simba"}


def _level(arch: Architecture, name: str) -> Any:
    return arch.levels[arch.level_index(name)]


def test_list_presets_names_every_shipped_file() -> None:
    names = list_presets()
    assert names == sorted(names)
    assert set(names) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_loads_and_follows_the_shared_conventions(name: str) -> None:
    arch = load_preset(name)
    assert isinstance(arch, Architecture)
    assert arch.name == name
    assert arch.description  # every preset says where its numbers come from
    assert "Eyeriss" in arch.description and "Horowitz" in arch.description
    assert "Registers" not in arch.level_names  # the MAC's operand latch is the PE's register
    assert arch.level_names[-1] == "DRAM"
    assert "GlobalBuffer" in arch.level_names
    assert arch.pe_array.below == "GlobalBuffer"
    assert not arch.is_private(arch.level_index("GlobalBuffer"))
    assert arch.dram.capacity_bytes is None and arch.dram.partitions is None
    assert set(arch.dram.holds) == set(Role)
    assert arch.pe_array.multicast and arch.pe_array.spatial_reduction
    classes = set(arch.pe_array.rows.unrolls) | set(arch.pe_array.cols.unrolls)
    assert classes == {DimClass.REDUCTION, DimClass.OUTPUT}
    # every bounded buffer holds at least one word
    for level in arch.levels:
        for _roles, words in level.capacity_groups(arch.word_bytes):
            assert words >= 1


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_energy_ordering(name: str) -> None:
    arch = load_preset(name)
    gb, dram = (_level(arch, n) for n in ("GlobalBuffer", "DRAM"))
    for attr in ("read_energy_pj", "write_energy_pj"):
        assert getattr(dram, attr) > getattr(gb, attr) > arch.mac_energy_pj > 0
    # energies never decrease outward through the hierarchy
    reads = [lv.read_energy_pj for lv in arch.levels]
    assert reads == sorted(reads)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_round_trips_through_json(name: str) -> None:
    arch = load_preset(name)
    assert Architecture.model_validate_json(arch.model_dump_json()) == arch


def test_flat_edge_numbers() -> None:
    arch = load_preset("edge")
    assert (arch.pe_array.rows.size, arch.pe_array.cols.size) == (32, 32)
    assert _level(arch, "GlobalBuffer").capacity_bytes == 512 * KiB
    assert arch.word_bytes == 2
    # 50 GB/s at the stated clock, in bytes per cycle
    assert arch.dram.read_bandwidth == pytest.approx(50.0 / arch.clock_ghz)
    assert arch.dram.write_bandwidth == pytest.approx(50.0 / arch.clock_ghz)
    assert str(arch.clock_ghz) in arch.description or "940 MHz" in arch.description


def test_flat_cloud_numbers() -> None:
    arch = load_preset("cloud")
    assert (arch.pe_array.rows.size, arch.pe_array.cols.size) == (256, 256)
    assert _level(arch, "GlobalBuffer").capacity_bytes == 32 * MiB
    assert arch.clock_ghz == pytest.approx(0.94)
    assert arch.word_bytes == 2
    assert arch.dram.read_bandwidth == pytest.approx(400.0 / 0.94)
    assert arch.dram.write_bandwidth == pytest.approx(400.0 / 0.94)


def test_mobile_lies_between_edge_and_cloud() -> None:
    edge, mobile, cloud = (load_preset(n) for n in ("edge", "mobile", "cloud"))
    assert edge.pe_array.pes < mobile.pe_array.pes < cloud.pe_array.pes
    gb = [_level(a, "GlobalBuffer").capacity_bytes for a in (edge, mobile, cloud)]
    assert gb == sorted(gb) and len(set(gb)) == 3
    bw = [a.dram.read_bandwidth or 0.0 for a in (edge, mobile, cloud)]
    assert all(b > 0 for b in bw)
    assert bw == sorted(bw) and len(set(bw)) == 3


def test_gemmini_partitions() -> None:
    arch = load_preset("gemmini")
    assert (arch.pe_array.rows.size, arch.pe_array.cols.size) == (16, 16)
    assert arch.word_bytes == 1
    gb = _level(arch, "GlobalBuffer")
    assert gb.capacity_bytes is None
    groups = {frozenset(p.roles): p.capacity_bytes for p in gb.partitions}
    assert groups == {
        frozenset({Role.INPUT, Role.WEIGHT}): 256 * KiB,
        frozenset({Role.OUTPUT}): 64 * KiB,
    }


def test_simba_global_buffer_bypasses_weights() -> None:
    arch = load_preset("simba")
    assert arch.pe_array.pes == 16 * 64
    gb = _level(arch, "GlobalBuffer")
    assert gb.capacity_bytes == 64 * KiB
    assert set(gb.holds) == {Role.INPUT, Role.OUTPUT}
    pe_buffer = _level(arch, "PEBuffer")
    assert arch.is_private(arch.level_index("PEBuffer"))
    # the per-PE buffers (8 KiB input, 32 KiB weight, 3 KiB output) shared out over 64 MAC lanes
    sizes = {p.roles: p.capacity_bytes for p in pe_buffer.partitions}
    assert sizes == {
        (Role.INPUT,): 8 * KiB // 64,
        (Role.WEIGHT,): 32 * KiB // 64,
        (Role.OUTPUT,): 3 * KiB // 64,
    }


def test_unknown_preset_raises_input_error_naming_arch() -> None:
    with pytest.raises(InputError) as info:
        load_preset("nonexistent")
    (problem,) = info.value.problems
    assert problem.path == "arch"
    assert "nonexistent" in problem.message
    for name in EXPECTED:
        assert name in problem.message


def test_resolve_arch() -> None:
    edge = load_preset("edge")
    assert resolve_arch("edge") == edge
    assert resolve_arch(edge) is edge
    with pytest.raises(InputError):
        resolve_arch("no-such-arch")


# ---- inline architectures that must fail validation ------------------------------------


def _edge_dict() -> dict[str, Any]:
    text = resources.files("cosamt.arch").joinpath("presets", "edge.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def test_inline_copy_of_a_preset_validates() -> None:
    assert Architecture.model_validate(_edge_dict()) == load_preset("edge")


def test_duplicate_level_name_fails() -> None:
    data = _edge_dict()
    data["levels"][1]["name"] = "GlobalBuffer"
    with pytest.raises(ValidationError, match="unique"):
        Architecture.model_validate(data)


def test_bad_pe_array_below_fails() -> None:
    data = _edge_dict()
    data["pe_array"]["below"] = "L2"
    with pytest.raises(ValidationError, match=r"pe_array\.below"):
        Architecture.model_validate(data)


def test_dram_with_capacity_fails() -> None:
    data = _edge_dict()
    data["levels"][-1]["capacity_bytes"] = 8 * 1024**3
    with pytest.raises(ValidationError, match="capacity null"):
        Architecture.model_validate(data)
