"""AccelForge architecture YAML -> cosamt architecture: the export read backwards (a round trip on
every exportable preset), a hand-written Eyeriss-like spec read by hand, and every field cosamt
cannot model refused by its path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import one_width
from typer.testing import CliRunner

from cosamt.arch.presets import list_presets, load_preset
from cosamt.cli import app
from cosamt.errors import InputError
from cosamt.export.accelforge import ExportError, arch_spec, sequence_specs, to_yaml_text
from cosamt.export.accelforge_import import architecture_from_accelforge, parse_yaml
from cosamt.io.instance import parse_instance
from cosamt.pipeline import resolve
from cosamt.types import Phase
from cosamt.workload.einsum import Role
from cosamt.workload.models import get_model
from cosamt.workload.transformer import build_block

DATA = Path(__file__).parent / "data" / "accelforge"
EYERISS_EXTRA: dict[str, Any] = {
    "clock_ghz": 0.2,
    "word_bytes": 2,
    "vector_unit": {"lanes": 14, "energy_per_op_pj": 2.0},
}


def _extra(name: str) -> dict[str, Any]:
    a = load_preset(name)
    return {
        "name": a.name,
        "description": a.description,
        "clock_ghz": a.clock_ghz,
        "word_bytes": a.word_bytes,
        "vector_unit": a.vector_unit.model_dump(),
    }


@pytest.mark.parametrize("name", [n for n in list_presets() if not load_preset(n).fanouts])
def test_export_then_import_is_the_preset(name: str) -> None:
    arch = one_width(name)
    text = to_yaml_text(arch_spec(arch))
    imported = architecture_from_accelforge(parse_yaml(text), _extra(name))
    assert imported.arch == arch


def test_network_energy_is_not_exported() -> None:
    arch = load_preset("edge")
    pe = arch.pe_array.model_copy(update={"hop_energy_pj": 1.0})
    with pytest.raises(ExportError, match=r"pe_array\.hop_energy_pj"):
        arch_spec(arch.model_copy(update={"pe_array": pe}))


def test_a_preset_with_fanouts_is_not_exported() -> None:
    """The export models the PE array only; simba_chiplets' PE and chiplet fan-outs are refused
    by name."""
    with pytest.raises(InputError) as info:
        arch_spec(one_width("simba_chiplets"))
    assert [p.path for p in info.value.problems] == ["arch.fanouts"]


@pytest.mark.parametrize("name", ["gemmini", "tpuv1"])
def test_mixed_widths_are_not_exported(name: str) -> None:
    with pytest.raises(ExportError, match="role_bytes"):
        arch_spec(load_preset(name))


def test_the_exported_vector_unit_is_read_back() -> None:
    """The Fork of vector computes (lanes / k points per cycle, k x energy per op) is the unit."""
    arch = load_preset("edge")
    block = build_block(get_model("gpt2"), Phase.PREFILL, 1, 16)
    spec, _workload = sequence_specs(
        [op for op in block if op.name in ("qk", "softmax", "av")], arch
    )
    extra = {k: v for k, v in _extra("edge").items() if k != "vector_unit"}
    imported = architecture_from_accelforge(parse_yaml(to_yaml_text(spec)), extra)
    assert imported.arch.vector_unit == arch.vector_unit


def test_eyeriss_like_spec_by_hand() -> None:
    """Sizes in bits / 8 = bytes; pJ/bit x 16 bits = pJ/word; bits/cycle / 8 = bytes/cycle; the
    three scratchpads (one role each) below the 12x14 array are one private level in three
    partitions: 12, 224 and 24 words."""
    imported = architecture_from_accelforge(
        parse_yaml((DATA / "eyeriss_like.yaml").read_text()), EYERISS_EXTRA, "eyeriss_like.yaml"
    )
    a = imported.arch
    assert (a.pe_array.rows.size, a.pe_array.cols.size, a.pe_array.below) == (
        12,
        14,
        "GlobalBuffer",
    )
    assert [lv.name for lv in a.levels] == [
        "InputScratchpad_WeightScratchpad_OutputScratchpad",
        "GlobalBuffer",
        "DRAM",
    ]
    rf, gb, dram = a.levels
    assert rf.partitions is not None
    assert [(p.roles, p.capacity_bytes) for p in rf.partitions] == [
        ((Role.INPUT,), 24),
        ((Role.WEIGHT,), 448),
        ((Role.OUTPUT,), 48),
    ]
    assert (rf.read_energy_pj, rf.read_bandwidth) == (1.0, None)
    assert (gb.capacity_bytes, gb.read_bandwidth, gb.read_energy_pj) == (108 * 1024, 32.0, 6.0)
    assert (dram.capacity_bytes, dram.read_bandwidth, dram.write_energy_pj) == (None, 8.0, 200.0)
    assert a.mac_energy_pj == 2.0 and a.name == "eyeriss_like"
    assert any("may-keep" in n for n in imported.notes)


def _doc(**memory: Any) -> str:
    """A two-level spec whose buffer carries ``memory``'s extra keys."""
    buf = {
        "name": "Buf",
        "size": 1024,
        "actions": [{"name": "read", "energy": 0.5}, {"name": "write", "energy": 0.5}],
        **memory,
    }
    return json.dumps(
        {
            "arch": {
                "nodes": [
                    {
                        "!Memory": True,
                        "name": "MainMemory",
                        "size": "inf",
                        "actions": [
                            {"name": "read", "energy": 10},
                            {"name": "write", "energy": 10},
                        ],
                    },
                    {"!Memory": True, **buf},
                    {
                        "!Compute": True,
                        "name": "MAC",
                        "actions": [{"name": "compute", "energy": 1}],
                    },
                ]
            }
        }
    )


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        ("arch:\n  nodes:\n  - !Memory {name: {{X}}}\n", "", "Jinja"),
        (_doc(leak_power=3), "arch.nodes[1].leak_power", "leakage"),
        (
            _doc(
                component_class="SmartBufferSRAM",
                actions=[{"name": "read"}, {"name": "write", "energy": 1}],
            ),
            "arch.nodes[1].actions[0].energy",
            "SmartBufferSRAM",
        ),
        (_doc(size="lots"), "arch.nodes[1].size", "arithmetic"),
        (_doc(size=12), "arch.nodes[1].size", "bytes"),
        (_doc(tensors={"keep": "Q & K"}), "arch.nodes[1].tensors.keep", "roles"),
        (_doc(total_latency="read_actions / 32"), "arch.nodes[1].total_latency", "ports"),
        (_doc(sparse_optimizations=1), "arch.nodes[1].sparse_optimizations", "not modelled"),
    ],
)
def test_what_cosamt_cannot_model_is_refused_by_path(text: str, path: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        architecture_from_accelforge(parse_yaml(text), EYERISS_EXTRA)
    problems = info.value.problems
    assert any(p.path == path and words in p.message for p in problems), problems


def test_a_third_spatial_dimension_and_fanout_reuse_are_refused() -> None:
    text = (
        (DATA / "eyeriss_like.yaml")
        .read_text()
        .replace(
            "    - {name: cols, fanout: 14}\n",
            "    - {name: cols, fanout: 14}\n    - {name: chips, fanout: 2}\n",
        )
    )
    with pytest.raises(InputError) as info:
        architecture_from_accelforge(parse_yaml(text), EYERISS_EXTRA)
    assert [p.path for p in info.value.problems] == ["arch.nodes[2].spatial"]
    text = (
        (DATA / "eyeriss_like.yaml")
        .read_text()
        .replace("{name: rows, fanout: 12}", "{name: rows, fanout: 12, may_reuse: weight}")
    )
    with pytest.raises(InputError) as info:
        architecture_from_accelforge(parse_yaml(text), EYERISS_EXTRA)
    assert [p.path for p in info.value.problems] == ["arch.nodes[2].spatial[0].may_reuse"]


def test_partitions_that_differ_in_energy_are_refused() -> None:
    text = (DATA / "eyeriss_like.yaml").read_text()
    head, tail = text.split("name: OutputScratchpad")
    tail = tail.replace("energy: 0.0625", "energy: 0.125")
    with pytest.raises(InputError) as info:
        architecture_from_accelforge(
            parse_yaml(head + "name: OutputScratchpad" + tail), EYERISS_EXTRA
        )
    assert [p.path for p in info.value.problems] == ["OutputScratchpad.read_energy_pj"]


def test_an_instance_names_the_yaml_and_resolves_to_the_same_arch(tmp_path: Path) -> None:
    (tmp_path / "edge.yaml").write_text(to_yaml_text(arch_spec(load_preset("edge"))))
    ref = {"accelforge": "edge.yaml", **_extra("edge")}
    inst = parse_instance({"model": "gpt2", "seq_len": 16, "arch": ref})
    assert resolve(inst, tmp_path).arch == load_preset("edge")


def test_cli_import_arch(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "arch.json"
    args = [
        "import-arch",
        str(DATA / "eyeriss_like.yaml"),
        "--word-bytes",
        "2",
        "--clock-ghz",
        "0.2",
    ]
    res = runner.invoke(
        app, [*args, "--vector-lanes", "14", "--vector-energy", "2", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["pe_array"]["rows"]["size"] == 12 and data["levels"][-1]["name"] == "DRAM"
    res = runner.invoke(app, args)  # no vector unit: named, exit 2
    assert res.exit_code == 2
    assert "vector_unit" in res.output and "Traceback" not in res.output
