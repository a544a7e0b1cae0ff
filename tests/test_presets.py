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
from cosamt.io.instance import Instance
from cosamt.pipeline import SolveReport, resolve, settings_for, solve_instance
from cosamt.solve.solver import SolveStatus
from cosamt.types import AGREEMENT_TOLERANCE
from cosamt.workload.einsum import Role

KiB = 1024
MiB = 1024 * KiB
EXPECTED = {"cloud", "edge", "eyeriss", "gemmini", "mobile", "simba", "simba_chiplets", "tpuv1"}


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
    # the PE array sits below GlobalBuffer, or below a per-PE buffer under a fan-out of PEs
    assert arch.pe_array.below == ("PEBuffer" if arch.fanouts else "GlobalBuffer")
    assert not arch.is_private(arch.level_index("GlobalBuffer"))
    assert arch.dram.capacity_bytes is None and arch.dram.partitions is None
    assert set(arch.dram.holds) == set(Role)
    assert all(f.multicast and f.spatial_reduction for f in arch.all_fanouts)
    classes = set(arch.pe_array.rows.unrolls) | set(arch.pe_array.cols.unrolls)
    assert classes == {DimClass.REDUCTION, DimClass.OUTPUT}
    # every bounded buffer holds at least one word
    for level in arch.levels:
        for buf in level.capacity_groups(arch.word_bytes):
            assert buf.words >= 1


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


def _words(arch: Architecture, level: str) -> dict[tuple[Role, ...], float]:
    """Capacity of each buffer of ``level`` in words of its roles' own width."""
    i = arch.level_index(level)
    out = {}
    for buf in _level(arch, level).capacity_groups(arch.word_bytes):
        roles = tuple(r for r in Role if r in buf.roles)  # in Role's order
        out[roles] = buf.words / max(arch.width(i, r) for r in roles)
    return out


def test_eyeriss_carries_the_chip_numbers() -> None:
    """Chen et al., ISSCC 2016 / JSSC 2017: 12 x 14 PEs; scratchpads of 12 ifmap, 224 filter and
    24 psum 16-bit words per PE; a 108 KB (KiB) global buffer; 200 MHz. Energies: Eyeriss's
    normalised costs (ISCA 2016) times a 1.5 pJ MAC: RF 1x, buffer 6x, DRAM 200x."""
    arch = load_preset("eyeriss")
    assert (arch.pe_array.rows.size, arch.pe_array.cols.size) == (12, 14)
    assert arch.pe_array.pes == 168
    assert arch.word_bytes == 2 and arch.clock_ghz == pytest.approx(0.2)
    assert arch.level_names == ("RF", "GlobalBuffer", "DRAM")
    assert arch.is_private(arch.level_index("RF"))
    assert _words(arch, "RF") == {(Role.INPUT,): 12, (Role.WEIGHT,): 224, (Role.OUTPUT,): 24}
    assert _words(arch, "GlobalBuffer") == {tuple(Role): 108 * KiB / 2}
    assert not arch.mixed_widths
    # the two array edges: (rows + cols) 16-bit words per cycle; DRAM: one 64-bit word per cycle
    gb = _level(arch, "GlobalBuffer")
    assert gb.read_bandwidth == gb.write_bandwidth == (12 + 14) * 2
    assert arch.dram.read_bandwidth == arch.dram.write_bandwidth == 64 / 8
    mac = 1.1 + 0.4  # Horowitz's FP16 multiply + add, pJ
    assert arch.mac_energy_pj == pytest.approx(mac)
    for name, ratio in (("RF", 1), ("GlobalBuffer", 6), ("DRAM", 200)):
        level = _level(arch, name)
        assert level.read_energy_pj == level.write_energy_pj == pytest.approx(ratio * mac)


def test_simba_chiplets_carries_the_paper_numbers() -> None:
    """Shao et al., MICRO 2019: a 36-chiplet package (6 x 6), 16 PEs per chiplet (4 x 4), 8 vector
    MACs of 8 lanes per PE; per PE 8 KB input, 32 KB weight and 3 KB accumulation buffers (24-bit
    partial sums); a 64 KB global buffer per chiplet; 128 TOPS at the package's peak."""
    arch = load_preset("simba_chiplets")
    chips, pes, vmacs, lanes = 6 * 6, 4 * 4, 8, 8
    assert arch.level_names == ("PEBuffer", "GlobalBuffer", "DRAM")
    assert (arch.pe_array.rows.size, arch.pe_array.cols.size) == (vmacs, lanes)
    assert arch.pe_array.below == "PEBuffer"
    pe_fan, chip_fan = arch.fanouts
    assert (pe_fan.below, chip_fan.below) == ("GlobalBuffer", "DRAM")
    assert [a.size for a in pe_fan.axes.values()] == [4, 4]
    assert [a.size for a in chip_fan.axes.values()] == [6, 6]
    assert arch.units == chips * pes * vmacs * lanes == 36864
    # one PEBuffer per PE (shared by its 8 vector MACs), one GlobalBuffer per chiplet
    assert arch.max_instances(arch.level_index("PEBuffer")) == chips * pes
    assert arch.max_instances(arch.level_index("GlobalBuffer")) == chips
    assert not any(arch.is_private(i) for i in range(len(arch.levels)))
    assert arch.word_bytes == 1
    pe = arch.level_index("PEBuffer")
    assert arch.bytes_of(pe, Role.OUTPUT) == 24 // 8
    assert _words(arch, "PEBuffer") == {
        (Role.INPUT,): 8 * KiB,
        (Role.WEIGHT,): 32 * KiB,
        (Role.OUTPUT,): 3 * KiB / 3,
    }
    assert _words(arch, "GlobalBuffer") == {(Role.INPUT, Role.OUTPUT): 64 * KiB}
    # 2 operations per MAC per cycle: 128 TOPS over the package
    assert 2 * arch.units * arch.clock_ghz / 1000 == pytest.approx(128, abs=0.01)
    # rows unroll output channels (one per vector MAC), cols the 8-lane dot product
    assert arch.pe_array.rows.unrolls == (DimClass.OUTPUT,)
    assert arch.pe_array.cols.unrolls == (DimClass.REDUCTION,)
    # the chiplet keeps the simba preset's figures: GlobalBuffer 80 B/cycle per chiplet, and
    # DRAM 20 B/cycle per chiplet for all 36
    simba = load_preset("simba")
    gb = _level(arch, "GlobalBuffer")
    assert gb.read_bandwidth == _level(simba, "GlobalBuffer").read_bandwidth == 16 + 64
    assert arch.dram.read_bandwidth == chips * simba.dram.read_bandwidth == 36 * 20
    assert arch.mac_energy_pj == simba.mac_energy_pj == pytest.approx(0.2 + 0.1)
    # per-PE SRAM total 8 + 32 + 3 = 43 KiB in the sqrt rule: 6 x 1.5 pJ x sqrt(43/108) / 2
    level = _level(arch, "PEBuffer")
    assert level.read_energy_pj == pytest.approx(4.5 * (43 / 108) ** 0.5, abs=1e-4)
    assert gb.read_energy_pj == pytest.approx(4.5 * (64 / 108) ** 0.5, abs=1e-4)
    assert arch.dram.read_energy_pj == pytest.approx(200 * 1.5 / 2)
    assert arch.vector_unit.lanes == chips * pes


def test_tpuv1_carries_the_chip_numbers() -> None:
    """Jouppi et al., ISCA 2017: 256 x 256 8-bit MACs at 700 MHz (92 TOPS); 24 MiB Unified
    Buffer; 4 MiB of accumulators = 4096 x 256 32-bit entries; Weight FIFO four 256 x 256-byte
    tiles deep; 34 GB/s of DRAM."""
    arch = load_preset("tpuv1")
    assert (arch.pe_array.rows.size, arch.pe_array.cols.size) == (256, 256)
    assert 2 * arch.pe_array.pes * arch.clock_ghz / 1000 == pytest.approx(92, abs=0.5)  # TOPS
    assert arch.word_bytes == 1
    assert arch.level_names == ("GlobalBuffer", "DRAM")
    gb = arch.level_index("GlobalBuffer")
    assert arch.bytes_of(gb, Role.OUTPUT) == 4  # 32-bit accumulators
    assert arch.bytes_of(gb, Role.INPUT) == arch.bytes_of(gb, Role.WEIGHT) == 1
    assert arch.bytes_of(arch.dram_index, Role.OUTPUT) == 1  # results leave as int8
    assert _words(arch, "GlobalBuffer") == {
        (Role.INPUT,): 24 * MiB,
        (Role.WEIGHT,): 4 * 256 * 256,
        (Role.OUTPUT,): 4096 * 256,
    }
    # weight-stationary: K down the rows (partial sums flow down a column), N across the columns
    assert arch.pe_array.rows.unrolls == (DimClass.REDUCTION,)
    assert arch.pe_array.cols.unrolls == (DimClass.OUTPUT,)
    # per cycle: 256 one-byte inputs, 256 one-byte weights, 256 four-byte partial sums
    level = _level(arch, "GlobalBuffer")
    assert level.read_bandwidth == level.write_bandwidth == 256 * 1 + 256 * 1 + 256 * 4
    assert arch.dram.read_bandwidth == pytest.approx(34.0 / 0.7)
    assert arch.dram.write_bandwidth == pytest.approx(34.0 / 0.7)
    assert arch.mac_energy_pj == pytest.approx(0.2 + 0.1)  # Horowitz int8 multiply + int32 add
    # the 16-bit table halved for bytes: 6 x 1.5 pJ x sqrt(256 KiB bank / 108 KiB) / 2; 200 x 1.5 / 2
    assert level.read_energy_pj == pytest.approx(4.5 * (256 / 108) ** 0.5, abs=1e-4)
    assert arch.dram.read_energy_pj == pytest.approx(150.0)


# GPT-2 small at 64 tokens: d_model 768, FFN 3072, QKV 3 x 768
M, E, F = 64, 768, 3072


def _solve_gpt2(preset: str) -> SolveReport:
    inst = Instance(
        model="gpt2",
        phase="prefill",
        seq_len=M,
        arch=preset,
        options={"time_limit_s": 300, "threads": 1, "fusion": "all"},
    )
    return solve_instance(resolve(inst), settings_for(inst))


def _check_proven_and_agreeing(report: SolveReport) -> dict[str, float]:
    """Every group the explorer solved (chosen or not) is proven optimal, valid, and the MIP's
    figure is the evaluator's; returns the chosen groups' latencies by name."""
    objective = report.settings.objective
    for seg in report.segments:
        for alt in seg.alternatives:
            for g in alt.groups:
                assert g.source == "mip", g.name
                assert g.solve.status is SolveStatus.OPTIMAL, (g.name, g.solve.status)
                assert g.metrics.valid, (g.name, g.metrics.violations)
                agreement = g.agreement(objective)
                assert agreement is not None and agreement <= AGREEMENT_TOLERANCE, g.name
    layers = report.resolved.model.n_layers
    latency = sum(g.metrics.latency_cycles * g.count for g in report.groups)
    bound = sum(seg.bound.latency_cycles for seg in report.segments) * layers
    assert latency >= bound * (1 - 1e-12)
    return {g.name: g.metrics.latency_cycles for g in report.groups}


@pytest.mark.slow  # about 45 s on one thread
def test_gpt2_on_eyeriss_is_proven_optimal_and_agrees() -> None:
    latency = _check_proven_and_agreeing(_solve_gpt2("eyeriss"))
    # by hand: qkv_proj can go no faster than its MACs on 168 PEs, nor than reading X and W
    # (2 bytes a word) from DRAM once at 8 bytes/cycle
    macs = M * E * 3 * E
    assert latency["qkv_proj"] >= max(macs / 168, (M * E + E * 3 * E) * 2 / 8)


@pytest.mark.slow  # about 3 s on one thread
def test_gpt2_on_tpuv1_is_proven_optimal_and_agrees() -> None:
    latency = _check_proven_and_agreeing(_solve_gpt2("tpuv1"))
    # by hand: at 64 tokens the weight-heavy groups are bound by reading every input and weight
    # byte from DRAM exactly once at 34 GB/s / 0.7 GHz (the 1-byte outputs are written on the
    # other port, in fewer cycles): qkv_proj reads X and W; the fused FFN reads X, W1 and W2
    bw = 34.0 / 0.7
    assert latency["qkv_proj"] == pytest.approx((M * E + E * 3 * E) / bw, rel=1e-9)
    assert latency["ffn1+act+ffn2"] == pytest.approx((M * E + 2 * E * F) / bw, rel=1e-9)


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


def test_gpt2_on_simba_chiplets_is_proven_optimal_and_agrees() -> None:
    """About 12 s on one thread. By hand, from the paper's 36 x 16 x 64 = 36864 MACs per cycle:
    at 64 tokens qkv_proj and the fused FFN keep every MAC busy (their DRAM traffic, inputs and
    weights read once at 36 x 20 bytes/cycle, takes fewer cycles), so each takes its MACs / 36864
    cycles, the FFN's GELU running beside on the vector unit."""
    latency = _check_proven_and_agreeing(_solve_gpt2("simba_chiplets"))
    units = 36 * 16 * 8 * 8
    assert M * E * 3 * E / units > (M * E + E * 3 * E) / (36 * 20)
    assert latency["qkv_proj"] == pytest.approx(M * E * 3 * E / units, rel=1e-9)
    assert latency["ffn1+act+ffn2"] == pytest.approx(2 * M * E * F / units, rel=1e-9)
