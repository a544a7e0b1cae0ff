"""Per-tensor holds and partitions (``MemoryLevel.holds_tensors``, ``Partition.tensors``): QKᵀ's Q
and K, both inputs, in separate buffers of one level. Expected values are derived by hand in each
test's docstring; the MIP, the evaluator and the AccelForge round trip are checked against them,
and every refusal names its field (exit code 2 from the CLI)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from support import ffn_chain_4, make_arch
from typer.testing import CliRunner

from cosamt.arch.presets import load_preset
from cosamt.arch.spec import Architecture, MemoryLevel, Partition
from cosamt.cli import app
from cosamt.errors import InputError
from cosamt.evaluate.evaluator import evaluate
from cosamt.evaluate.group import evaluate_group
from cosamt.export.accelforge import arch_spec, to_yaml_text
from cosamt.export.accelforge_import import architecture_from_accelforge, parse_yaml
from cosamt.pipeline import solve_group_result
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping
from cosamt.schedule.violations import Rule
from cosamt.solve.solver import SolveSettings, solve_operator
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum, Role, Tensor

WB = 2  # make_arch's word_bytes
# S[m, n] += Q[m, d] K[n, d], every dimension 4: Q, K and S are 16 words each.
QK = Einsum(
    "qk",
    {"m": 4, "n": 4, "d": 4},
    (
        Tensor("Q", ("m", "d"), Role.INPUT),
        Tensor("K", ("n", "d"), Role.INPUT),
        Tensor("S", ("m", "n"), Role.OUTPUT),
    ),
)
OUT = Partition(roles=(Role.WEIGHT, Role.OUTPUT), capacity_bytes=8 * WB)  # 8 words: S never whole
# One 20-word input buffer, or Q's own 10 words beside 10 for the other inputs (K): same total.
SHARED = (Partition(roles=(Role.INPUT,), capacity_bytes=20 * WB), OUT)
SPLIT = (
    Partition(tensors=("Q",), capacity_bytes=10 * WB),
    Partition(roles=(Role.INPUT,), capacity_bytes=10 * WB),
    OUT,
)


def _arch(partitions: tuple[Partition, ...], **level: Any) -> Architecture:
    """make_arch's GlobalBuffer + DRAM (1 PE, GlobalBuffer 6 pJ, DRAM 200 pJ per word) with
    these partitions at GlobalBuffer."""
    base = make_arch(2, 1, 1, True)
    gb = base.levels[0].model_dump()
    gb.update(capacity_bytes=None, partitions=[p.model_dump() for p in partitions], **level)
    return Architecture.model_validate(
        {**base.model_dump(), "levels": [gb, base.levels[1].model_dump()]}
    )


def _tile(m: Mapping, level: int, t: Tensor) -> int:
    return math.prod(m.tile_extent(d, level) for d in t.dims)


def _solve(arch: Architecture) -> tuple[Mapping, float]:
    res = solve_operator(QK, arch, SolveSettings(objective=Objective.ENERGY, threads=1))
    assert res.mapping is not None and res.objective is not None
    return res.mapping, res.objective


def test_split_partitions_cost_dram_traffic_the_shared_buffer_avoids() -> None:
    """DRAM words, derived by hand. Compulsory traffic is |Q| + |K| + |S| = 48 words (each read
    or written once); any refetch adds a whole tensor (16 words: loop factors divide evenly), and
    16 DRAM words (3200 pJ) outweigh every saving at the 6 pJ buffer (under 400 accesses for 64
    MACs), so the energy optimum has the least DRAM traffic.

    Shared 20-word input buffer: DRAM loop n 4 over buffer loops m 4, d 4 keeps Q whole (16) and
    one row of K (4), or the same with Q and K swapped: 20 words, each read once; S streams out 4 words at a time (8-word buffer):
    48, the minimum. Split 10 + 10: Q and K each need their whole 16 words to be read once across
    the other's loop, and splitting d at DRAM instead needs S whole (16 > 8) to accumulate, so
    compulsory traffic is out of reach: the next value is 64 (one operand read twice)."""
    shared, _ = _solve(_arch(SHARED))
    split, energy = _solve(_arch(SPLIT))
    assert evaluate(QK, _arch(SHARED), shared).dram_bytes == 48 * WB
    met = evaluate(QK, _arch(SPLIT), split)
    assert met.valid and met.dram_bytes == 64 * WB
    assert met.energy_pj == pytest.approx(energy, rel=1e-9)  # the MIP's figure is the evaluator's
    q, k, _s = QK.tensors
    # each partition separately: Q at most 10 words, K (an input, by role) at most 10
    assert (not split.keeps(0, "Q")) or _tile(split, 0, q) <= 10
    assert (not split.keeps(0, "K")) or _tile(split, 0, k) <= 10
    # the shared optimum keeps one operand whole (16 words; Q and K are symmetric here, so which
    # one is the solver's tie-break): over that operand's partition, refused by name
    # (K's partition is the one for the other inputs, labelled by its role)
    whole, label = (q, "Q") if _tile(shared, 0, q) == 16 else (k, "input")
    assert _tile(shared, 0, whole) == 16
    (v,) = evaluate(QK, _arch(SPLIT), shared).violations
    assert (v.rule, v.found, v.expected) == (Rule.CAPACITY, "16 words", "at most 10 words")
    assert v.what.startswith(f"{label} tiles")


# The shared optimum by hand: DRAM loop n 4; buffer loops m 4, d 4; Q and K kept, S bypasses.
Q_WHOLE = Mapping(
    levels=(
        LevelMapping(temporal=(Loop("m", 4), Loop("d", 4)), keep=frozenset("QK")),
        LevelMapping(temporal=(Loop("n", 4),), keep=frozenset("QKS")),
    )
)


def test_the_evaluator_counts_each_partition_apart() -> None:
    """Q_WHOLE's tiles at the buffer: Q 4 x 4 = 16 words, K 1 x 4 = 4. Shared (20 words): 20 fit.
    Q's own 16 words, K's own 4: both fit; Q's own 15 words: Q overflows alone, K still fits."""
    assert evaluate(QK, _arch(SHARED), Q_WHOLE).valid
    q16 = (Partition(tensors=("Q",), capacity_bytes=16 * WB), *SPLIT[1:])
    assert evaluate(QK, _arch(q16), Q_WHOLE).valid
    q15 = (Partition(tensors=("Q",), capacity_bytes=15 * WB), *SPLIT[1:])
    (v,) = evaluate(QK, _arch(q15), Q_WHOLE).violations
    assert (v.rule, v.found, v.expected) == (Rule.CAPACITY, "16 words", "at most 15 words")


def test_a_level_holding_only_named_tensors_makes_the_others_bypass() -> None:
    """holds: [], holds_tensors: [K]: only K may be kept there; the MIP keeps nothing else, and
    the evaluator refuses a mapping keeping Q, naming what the level holds."""
    arch = make_arch(2, 1, 1, True, 64 * WB)
    gb = arch.levels[0].model_copy(update={"holds": (), "holds_tensors": ("K",)})
    arch = arch.model_copy(update={"levels": (gb, arch.levels[1])})
    mapping, _ = _solve(arch)
    assert mapping.levels[0].keep <= {"K"}
    met = evaluate(QK, arch, Q_WHOLE)
    (v,) = met.violations
    assert (v.rule, v.where) == (Rule.LEVEL_CANNOT_HOLD, "GlobalBuffer.keep")
    assert "tensor K" in (v.expected or "")


def test_an_arch_json_with_tensor_holds_round_trips(tmp_path: Path) -> None:
    """JSON out and back is the same architecture, and an instance naming it resolves to it."""
    arch = _arch(SPLIT, holds_tensors=["K"])
    text = arch.model_dump_json()
    assert Architecture.model_validate_json(text) == arch
    assert json.loads(text)["levels"][0]["partitions"][0]["tensors"] == ["Q"]
    from cosamt.io.instance import parse_instance
    from cosamt.pipeline import resolve

    inst = {"model": "gpt2", "seq_len": 64, "arch": json.loads(text)}
    assert resolve(parse_instance(inst, "i.json")).arch == arch


def test_accelforge_export_writes_tensor_keeps_and_the_import_reads_them_back() -> None:
    """Q's partition keeps ``Q``; the input partition keeps its role less Q (``(input) - (Q)``,
    what cosamt's rule means); imported, the three memories are one level again, Q's partition
    named by its tensor. The level then also lists Q in holds_tensors (already held by role)."""
    arch = _arch(SPLIT).model_copy(update={"name": "split"})
    doc = arch_spec(arch, tensors=QK.tensors)
    keeps = {n["name"]: n["tensors"]["may_keep"] for n in doc["arch"]["nodes"][1:4]}
    assert keeps == {
        "GlobalBuffer_Q": "Q",
        "GlobalBuffer_input": "(input) - (Q)",
        "GlobalBuffer_weight_output": "weight | output",
    }
    extra = {
        "name": "split",
        "clock_ghz": arch.clock_ghz,
        "word_bytes": WB,
        "vector_unit": arch.vector_unit.model_dump(),
    }
    back = architecture_from_accelforge(parse_yaml(to_yaml_text(doc)), extra).arch
    gb = arch.levels[0].model_copy(update={"holds_tensors": ("Q",)})
    assert back == arch.model_copy(update={"levels": (gb, arch.levels[1])})


def test_accelforge_import_refuses_an_exclusion_no_partition_names() -> None:
    """``(input) - (K)`` on a lone memory: nothing of the level names K, and cosamt cannot take a
    tensor out of a role, so the import refuses it by the memory's name."""
    doc = arch_spec(_arch(SPLIT), tensors=QK.tensors)
    nodes = [n for n in doc["arch"]["nodes"] if n["name"] != "GlobalBuffer_Q"]
    nodes[1]["tensors"]["may_keep"] = "(input) - (K)"
    with pytest.raises(InputError) as info:
        architecture_from_accelforge(
            {"arch": {"nodes": nodes}},
            {"clock_ghz": 1, "word_bytes": WB, "vector_unit": {"lanes": 4, "energy_per_op_pj": 1}},
        )
    assert any("K" in p.message and ".tensors" in p.path for p in info.value.problems)


def test_a_tensor_in_two_partitions_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match=r"partitions\[\]\.tensors: K in more than one"):
        MemoryLevel(
            name="GlobalBuffer",
            read_energy_pj=1,
            write_energy_pj=1,
            partitions=(
                Partition(roles=tuple(Role), tensors=("K",), capacity_bytes=64),
                Partition(tensors=("K", "V"), capacity_bytes=64),
            ),
        )
    with pytest.raises(ValidationError, match="roles or tensors"):
        Partition(capacity_bytes=64)


def _edge_with(**gb: Any) -> dict[str, Any]:
    arch = load_preset("edge").model_dump(mode="json")
    arch["levels"][0].update(gb)
    return arch


def _run(tmp_path: Path, arch: dict[str, Any]) -> Any:
    path = tmp_path / "inst.json"
    path.write_text(json.dumps({"model": "gpt2", "seq_len": 64, "arch": arch}))
    return CliRunner().invoke(app, ["workload", str(path)])


def test_cli_refuses_an_unknown_tensor_name_with_the_known_ones(tmp_path: Path) -> None:
    res = _run(tmp_path, _edge_with(holds_tensors=["Kv"]))
    assert res.exit_code == 2, res.output
    assert "arch.levels[0].holds_tensors[0]" in res.output
    assert (
        "'Kv'" in res.output and "its tensors are A, B, G, K, O, P, Q, S, V, W, X, Y" in res.output
    )
    assert "Traceback" not in res.output


def test_cli_refuses_a_tensor_in_two_partitions(tmp_path: Path) -> None:
    cap = load_preset("edge").levels[0].capacity_bytes
    parts = [
        {"roles": ["input", "weight", "output"], "tensors": ["K"], "capacity_bytes": cap},
        {"tensors": ["K"], "capacity_bytes": cap},
    ]
    res = _run(tmp_path, _edge_with(capacity_bytes=None, partitions=parts))
    assert res.exit_code == 2, res.output
    assert "partitions" in res.output and "K in more than one partition" in res.output
    assert "Traceback" not in res.output


def test_cli_refuses_a_held_tensor_no_partition_takes(tmp_path: Path) -> None:
    """holds: [weight] plus holds_tensors [K], partitions for weights only: K has no buffer."""
    cap = load_preset("edge").levels[0].capacity_bytes
    parts = [{"roles": ["weight"], "capacity_bytes": cap}]
    arch = _edge_with(capacity_bytes=None, holds=["weight"], holds_tensors=["K"], partitions=parts)
    res = _run(tmp_path, arch)
    assert res.exit_code == 2, res.output
    assert "arch.levels[0].partitions" in res.output and "holds K (input)" in res.output


def _chain_arch(h_words: int) -> Architecture:
    """GlobalBuffer: H's own partition beside operand (48 words) and output (24 words) ones."""
    return _arch(
        (
            Partition(tensors=("H",), capacity_bytes=h_words * WB),
            Partition(roles=(Role.INPUT, Role.WEIGHT), capacity_bytes=48 * WB),
            Partition(roles=(Role.OUTPUT,), capacity_bytes=24 * WB),
        )
    )


def test_a_fused_intermediate_named_by_a_partition_counts_there_only() -> None:
    """The whole chain in one shared iteration: X, W1, H, W2, Y 16 words each. By role H would
    count in the operand and the output partitions (64 > 48, 32 > 24); named, it takes its own
    partition only: operands X + W1 + W2 = 48, outputs Y = 16, H 16, all fit. With 15 words for H,
    only H's partition overflows (in each member and in the group)."""
    group = ffn_chain_4()
    whole = {
        op.name: Mapping(
            levels=(
                LevelMapping(
                    temporal=tuple(Loop(d, n) for d, n in op.dims.items()),
                    keep=frozenset(t.name for t in op.tensors),
                ),
                LevelMapping(keep=frozenset(t.name for t in op.tensors) - {"H"}),  # DRAM
                LevelMapping(),
            )
        )
        for op in group.ops
    }
    assert evaluate_group(group, _chain_arch(16), whole).valid
    # each member's H tile and the group's: H's partition only, 16 words in 15
    found = [
        (v.rule, v.operator, v.what)
        for v in evaluate_group(group, _chain_arch(15), whole).violations
    ]
    assert found == [
        (Rule.CAPACITY, "ffn1", "H tiles need 16 words, capacity is 15 words"),
        (Rule.CAPACITY, "ffn2", "H tiles need 16 words, capacity is 15 words"),
        (Rule.GROUP_CAPACITY, None, "the group keeps H at once: 16 words, capacity is 15"),
    ]


def test_the_mip_keeps_a_named_intermediate_within_its_partition() -> None:
    """H's partition of 8 words holds at most half of H at once, whatever the schedule: the MIP's
    largest tile of H over the members is at most 8 words, the schedule is valid and its figure
    is the evaluator's."""
    group, arch = ffn_chain_4(), _chain_arch(8)
    g = solve_group_result(group, arch, SolveSettings(time_limit_s=60, threads=1, padding=False))
    assert g.source == "mip" and g.metrics.valid and g.solve.proven
    assert g.solve.objective == evaluate_group(group, arch, g.mappings).latency_cycles
    h = max(_tile(g.mappings[op.name], 0, op.tensor("H")) for op in group.ops)
    assert h <= 8


def test_fused_groups_keep_the_block_names_of_renamed_tensors() -> None:
    """The FFN chain renames ffn1's W to W_ffn1 and its Y (the activation's X) to H; the explorer's
    chain candidates rename K to a run-wide name: an architecture still names them W, Y/X and K."""
    from cosamt.fusion.chain import block_chains, candidates
    from cosamt.fusion.schemes import ffn_chain
    from cosamt.workload.models import get_model
    from cosamt.workload.transformer import build_block

    ops = {op.name: op for op in build_block(get_model("gpt2"), "prefill", 1, 64)}
    group = ffn_chain([ops["ffn1"], ops["act"], ops["ffn2"]])
    assert group.names("W_ffn1") == {"W"} and group.names("H") == {"Y", "X"}
    chain = next(c for c in block_chains(list(ops.values())) if "qk" in [o.name for o in c.ops])
    at = [o.name for o in chain.ops].index("qk")
    fused = candidates(chain, at, at + 2)[0]
    k = next(t for t in fused.op("qk").tensors if t.role is Role.INPUT and "n" in t.dims)
    assert k.names == {"K"}
