"""Fan-outs above the PE array at the command line: the presets table shows them and the copies
of each replicated level; the parts of cosamt that model the PE array as the only fan-out refuse an
architecture with ``arch.fanouts`` by name (exit code 2), rather than exporting or generating code
for a machine with one chip's worth of instances."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_fanouts import chips_arch
from typer.testing import CliRunner

from cosamt.cli import app
from cosamt.cli.info import copies, level_summary, spatial_summary
from cosamt.design.derive import arch_area
from cosamt.errors import InputError

TINY = {"name": "tiny", "n_layers": 1, "d_model": 16, "n_heads": 2, "d_ff": 32}


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny model solved on a two-chip architecture: the instance and its schedule file."""
    folder = tmp_path_factory.mktemp("fanouts")
    inst = folder / "inst.json"
    arch = chips_arch(gb_bytes=4096).model_dump(mode="json")
    options = {"threads": 1, "fusion": "all"}
    inst.write_text(json.dumps({"model": TINY, "seq_len": 8, "arch": arch, "options": options}))
    sched = folder / "sched.json"
    result = CliRunner().invoke(app, ["solve", str(inst), "--out", str(sched)])
    assert result.exit_code == 0, result.output
    return inst, sched


@pytest.mark.parametrize(
    ("command", "what"), [("export", "the AccelForge export"), ("codegen", "code generation")]
)
def test_cli_refuses_fanouts_by_name(
    solved: tuple[Path, Path], tmp_path: Path, command: str, what: str
) -> None:
    inst, sched = solved
    result = CliRunner().invoke(app, [command, str(inst), str(sched), "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "arch.fanouts" in result.output
    assert f"{what} handles one fan-out" in result.output
    assert "below DRAM" in result.output  # names where the extra fan-out sits
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_area_model_refuses_fanouts() -> None:
    with pytest.raises(InputError) as info:
        arch_area(chips_arch())
    assert [p.path for p in info.value.problems] == ["arch.fanouts"]


def test_presets_table_names_the_fanouts_and_the_copies_of_each_level() -> None:
    arch = chips_arch(chips=4, rows=2, cols=3, gb_bytes=4096)
    assert spatial_summary(arch) == "4 (chip) below DRAM x 2x3 PEs"
    summaries = [
        level_summary(lv, arch.word_bytes, copies(arch, i)) for i, lv in enumerate(arch.levels)
    ]
    # Registers: private, no capacity; GlobalBuffer: one per chip; L2 and DRAM: no capacity
    assert summaries == ["Registers", "GlobalBuffer 4 KiB each (x4)", "L2", "DRAM"]
    assert copies(arch, arch.level_index("Registers")) == " per PE"
    shared_l2 = chips_arch(chips=4, top="L2", gb_bytes=4096)
    assert copies(shared_l2, shared_l2.level_index("L2")) == ""  # above the fan-out: one L2
