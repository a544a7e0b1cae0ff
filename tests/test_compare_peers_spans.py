"""scripts/compare_peers.py's span verdicts: the comparison by FFM's key (least latency, then
energy), AccelForge's float32 figures against the float64 pricing of its action counts, the
latency-first / energy-first trade-off, the explorer's cost following the objective, and the
AccelForge runner writing nothing into its caller's folder (skipped without /tmp/peers/af)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest

from cosamt.arch.presets import load_preset
from cosamt.solve.solver import SolveSettings, SolveStatus
from cosamt.types import Objective
from cosamt.workload.einsum import gemm

ROOT = Path(__file__).resolve().parent.parent
AF_PYTHON = os.environ.get("COSAMT_ACCELFORGE_PYTHON", "/tmp/peers/af/bin/python")


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compare_peers", ROOT / "scripts" / "compare_peers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["compare_peers"] = module
    spec.loader.exec_module(module)
    return module


cp = _load()

# A made-up arch document: a memory, a Fork with a vector unit, a MAC (energies per action)
ARCH_DOC: dict[str, Any] = {
    "arch": {
        "nodes": [
            {
                "name": "MainMemory",
                "actions": [{"name": "read", "energy": 18.75}, {"name": "write", "energy": 18.75}],
            },
            {
                "name": "GlobalBuffer",
                "actions": [
                    {"name": "read", "energy": 0.866025},
                    {"name": "write", "energy": 0.866025},
                ],
            },
            {"nodes": [{"name": "VectorUnit5", "actions": [{"name": "compute", "energy": 7.5}]}]},
            {"name": "MAC", "actions": [{"name": "compute", "energy": 1.5}]},
        ]
    }
}
ACTIONS = {  # bits, or operations for a compute unit (span (a)'s sizes, made up)
    "MainMemory|A|read": 15466496.0,
    "MainMemory|B|write": 1048576.0,
    "MainMemory|C|write": 0.0,
    "GlobalBuffer|A|read": 185073664.0,
    "GlobalBuffer|A|write": 53739521.0,
    "VectorUnit5|None|compute": 1048576.0,
    "MAC|None|compute": 184549376.0,
}
MORE_BUFFER = {**ACTIONS, "GlobalBuffer|A|read": ACTIONS["GlobalBuffer|A|read"] + 16}
PRICES = {"MainMemory": 18.75, "GlobalBuffer": 0.866025, "VectorUnit5": 7.5, "MAC": 1.5}


def _float64_price(actions: dict[str, float]) -> float:
    """Each count x its energy as float64 products, summed exactly, rounded once."""
    exact = sum(Fraction(n * PRICES[k.split("|")[0]]) for k, n in actions.items())
    return float(exact)


def _float32_total(actions: dict[str, float], groups: list[list[str]]) -> float:
    """A total as AccelForge forms one: a float32 figure per group of actions (an Einsum's),
    summed."""
    prices = [sum(actions[k] * PRICES[k.split("|")[0]] for k in g) for g in groups]
    return sum(float(np.float32(p)) for p in prices)


def test_action_energies_walk_fork_branches() -> None:
    got = cp.action_energies(ARCH_DOC)
    assert got[("VectorUnit5", "compute")] == 7.5
    assert got[("GlobalBuffer", "write")] == 0.866025
    assert len(got) == 6


def test_reprice_is_the_float64_sum_of_counts_times_energies() -> None:
    assert cp.reprice(ACTIONS, cp.action_energies(ARCH_DOC)) == _float64_price(ACTIONS)


def test_reprice_names_an_action_the_arch_does_not_price() -> None:
    with pytest.raises(ValueError, match="Register"):
        cp.reprice({"Register|A|read": 8.0}, cp.action_energies(ARCH_DOC))


def test_component_words_counts_reads_and_writes_in_words() -> None:
    got = cp.component_words(ACTIONS, 16)
    assert got == {
        "MainMemory": (15466496 + 1048576) // 16,
        "GlobalBuffer": round(185073664 / 16) + round(53739521 / 16),
    }


def _entry(latency: float, energy: float, actions: dict[str, float]) -> dict[str, Any]:
    return {
        "status": "evaluated",
        "latency_cycles": latency,
        "energy_pj": energy,
        "repriced_energy_pj": _float64_price(actions),
        "actions_bits": actions,
        "dram_words": {"A": 256},
        "level_words": cp.component_words(actions, 16),
        "search_seconds": 1.0,
    }


def _span(table: dict[str, dict[str, Any]], same_schedule: bool = False) -> dict[str, Any]:
    fast, frugal = (cp.schedule_label(o) for o in cp.SPAN_OBJECTIVES)
    return {
        "case": "span-x",
        "operators": ["a", "b"],
        "ffm": {"status": "found", "wall_seconds": 10.0, "cap": 60.0},
        "ffm_reused_from": None,
        "cosamt": {
            fast: {
                "partition": ["a+b"],
                "statuses": ["optimal"],
                "exact": True,
                "mappings": {"a": "m1"},
            },
            frugal: {
                "partition": ["a+b"],
                "statuses": ["optimal"],
                "exact": True,
                "mappings": {"a": "m1" if same_schedule else "m2"},
            },
        },
        "table": table,
    }


def test_identical_counts_reported_apart_are_equal_within_float32_rounding() -> None:
    keys = list(ACTIONS)
    ours = _float32_total(ACTIONS, [keys])  # one Einsum
    theirs = _float32_total(ACTIONS, [[k] for k in keys])  # the same counts split otherwise
    assert ours != theirs  # the made-up figures do round apart in float32
    assert abs(ours - theirs) <= 2.0**-23 * max(ours, theirs) * len(keys)
    label = cp.schedule_label(Objective.ENERGY)
    r = _span(
        {
            f"{label}|accelforge": _entry(100, ours, ACTIONS),
            "ffm|accelforge": _entry(100, theirs, ACTIONS),
        }
    )
    text = cp.verdict(r, label, "accelforge")
    assert text.startswith("cosamt matches FFM")
    assert "equal within AccelForge's float32 rounding: identical action counts" in text
    assert f"{_float64_price(ACTIONS):,.4f} pJ" in text


def test_different_counts_are_judged_by_their_float64_price() -> None:
    label = cp.schedule_label(Objective.LATENCY)
    # AccelForge's own figures put cosamt lower; the float64 prices, which decide, do not
    r = _span(
        {
            f"{label}|accelforge": _entry(100, 1.0, MORE_BUFFER),
            "ffm|accelforge": _entry(100, 2.0, ACTIONS),
        }
    )
    text = cp.verdict(r, label, "accelforge")
    assert text.startswith("cosamt LOSES to FFM")
    diff = _float64_price(MORE_BUFFER) - _float64_price(ACTIONS)
    assert f"({diff:+,.4f} pJ)" in text


def test_latency_decides_before_energy() -> None:
    label = cp.schedule_label(Objective.LATENCY)
    fast = _entry(90, 5e8, ACTIONS)
    slow = _entry(100, 4e8, ACTIONS)
    r = _span({f"{label}|cosamt": fast, "ffm|cosamt": slow})
    assert cp.verdict(r, label, "cosamt").startswith("cosamt beats FFM")
    r = _span({f"{label}|cosamt": slow, "ffm|cosamt": fast})
    text = cp.verdict(r, label, "cosamt")
    assert text.startswith("cosamt LOSES to FFM")
    assert f"cycles, {100 / 90:.4f}x)" in text


def test_cosamt_model_equal_and_not_comparable() -> None:
    label = cp.schedule_label(Objective.ENERGY)
    e = _entry(100, 801164171.6736, ACTIONS)
    r = _span({f"{label}|cosamt": e, "ffm|cosamt": dict(e)})
    assert cp.verdict(r, label, "cosamt").startswith("cosamt matches FFM")
    r = _span({f"{label}|cosamt": e, "ffm|cosamt": {"status": "refused by the import: x"}})
    assert cp.verdict(r, label, "cosamt") == "not comparable (refused by the import: x)"


def test_tradeoff_states_latency_energy_and_words_moved() -> None:
    fast, frugal = (cp.schedule_label(o) for o in cp.SPAN_OBJECTIVES)
    a = {**_entry(180224, 822050311.0, ACTIONS), "level_words": {"GlobalBuffer": 1500, "DRAM": 10}}
    b = {**_entry(196608, 801164171.0, ACTIONS), "level_words": {"GlobalBuffer": 100, "DRAM": 10}}
    text = cp.tradeoff(_span({f"{fast}|cosamt": a, f"{frugal}|cosamt": b}), "cosamt")
    assert f"latency {180224 / 196608 - 1:+.1%}" in text
    assert f"energy {822050311.0 - 801164171.0:+,.0f} pJ" in text
    assert "GlobalBuffer +1,400" in text and "DRAM" not in text
    same = _span({f"{fast}|cosamt": a, f"{frugal}|cosamt": b}, same_schedule=True)
    assert cp.tradeoff(same, "cosamt") == "both objectives choose the same schedule"


def test_span_markdown_cites_ffm_objective_and_lists_every_entry() -> None:
    fast, frugal = (cp.schedule_label(o) for o in cp.SPAN_OBJECTIVES)
    table = {
        f"{fast}|cosamt": _entry(90, 5e8, ACTIONS),
        f"{fast}|accelforge": _entry(100, 5e8, MORE_BUFFER),
        f"{frugal}|cosamt": _entry(95, 4e8, ACTIONS),
        f"{frugal}|accelforge": _entry(100, 4e8, ACTIONS),
        "ffm|accelforge": _entry(100, 4e8, ACTIONS),
        "ffm|cosamt": {"status": "refused by the import: y", "search_seconds": 10.0},
    }
    md = cp.span_markdown([_span(table)])
    assert "Metrics.LATENCY | Metrics.ENERGY" in md and "join_pmappings.py:364" in md
    assert "accelforge/util/_mathfuncs.py:27" in md
    rows = [line for line in md.splitlines() if line.startswith("| span-x |")]
    assert len(rows) == len(table)
    assert f"* {frugal}: a+b" in md
    assert md.count("in AccelForge's model: cosamt matches FFM") == 1  # energy-first only


def test_explore_span_costs_edges_by_the_objective(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two operators of a three-operator chain: apart (latency 10 + 10, energy 5 + 5) or fused
    (latency 15, energy 12). Latency first fuses; energy first keeps them apart."""
    import cosamt.fusion.chain as chain_mod
    import cosamt.pipeline as pipeline

    figures = {(0, 0): (10.0, 5.0), (1, 1): (10.0, 5.0), (0, 1): (15.0, 12.0)}

    def fake_candidates(_chain: Any, lo: int, hi: int) -> list[Any]:
        return [SimpleNamespace(span=(lo, hi))] if (lo, hi) in figures else []

    def fake_solve(g: Any, _arch: Any, _settings: Any) -> Any:
        lat, en = figures[g.span]
        metrics = SimpleNamespace(latency_cycles=lat, energy_pj=en)
        return SimpleNamespace(
            group=g, metrics=metrics, solve=SimpleNamespace(status=SolveStatus.OPTIMAL)
        )

    monkeypatch.setattr(chain_mod, "candidates", fake_candidates)
    monkeypatch.setattr(pipeline, "solve_group_result", fake_solve)
    resolved = SimpleNamespace(arch=None)
    chain = SimpleNamespace(ops=[1, 2, 3])
    for objective, spans in ((Objective.LATENCY, [(0, 1)]), (Objective.ENERGY, [(0, 0), (1, 1)])):
        settings = SolveSettings(objective=objective)
        chosen, exact, mips = cp.explore_span(resolved, chain, 0, 1, settings)
        assert [r.group.span for r in chosen] == spans
        assert exact and mips == 3


@pytest.mark.skipif(
    not Path(AF_PYTHON).exists(), reason="AccelForge not installed (scripts/peers/install.sh)"
)
def test_runner_maps_in_a_scratch_folder_and_its_energy_is_its_counts_priced(
    tmp_path: Path,
) -> None:
    """FFM on a small GEMM, the runner started in an empty folder: nothing is written there (FFM
    writes mapping.svg into its working directory), and AccelForge's energy is its action counts
    priced within float32 rounding."""
    arch = load_preset("edge")
    op = gemm("tiny", 64, 64, 64)
    spec = tmp_path / "spec"
    cp.write_spec(spec, op, arch, None)
    caller = tmp_path / "caller"
    caller.mkdir()
    proc = subprocess.run(
        [AF_PYTHON, str(cp.RUNNER), str(spec), "map", "1"],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
        cwd=caller,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert list(caller.iterdir()) == []
    assert sorted(p.name for p in spec.iterdir()) == ["arch.yaml", "workload.yaml"]
    arch_doc = cp.arch_spec(arch, len(op.tensors))
    priced = cp.reprice(out["actions_bits"], cp.action_energies(arch_doc))
    assert abs(priced - out["energy_pj"]) <= 2.0**-23 * priced * len(out["actions_bits"])


def test_committed_span_a_energy_first_has_ffm_counts_and_cosamt_price() -> None:
    """results/peers/spans.json (this script's committed run): on span (a), energy-first's tree in
    AccelForge has FFM's action counts exactly, and those counts priced in float64 give cosamt's
    own model's energy for its schedule."""
    spans = {
        s["case"]: s for s in json.loads((ROOT / "results/peers/spans.json").read_text())["spans"]
    }
    table = spans["span-a"]["table"]
    ours = table[f"{cp.schedule_label(Objective.ENERGY)}|accelforge"]
    ffm = table["ffm|accelforge"]
    nonzero = lambda d: {k: v for k, v in d.items() if v}  # noqa: E731
    assert nonzero(ours["actions_bits"]) == nonzero(ffm["actions_bits"])
    arch_doc = {"arch": {"nodes": _yaml_nodes(ROOT / "results/peers/spans/span-a/arch.yaml")}}
    priced = cp.reprice(ffm["actions_bits"], cp.action_energies(arch_doc))
    own = table[f"{cp.schedule_label(Objective.ENERGY)}|cosamt"]["energy_pj"]
    assert abs(priced - own) <= 1e-12 * own
    assert ours["latency_cycles"] == ffm["latency_cycles"]


def _yaml_nodes(path: Path) -> list[dict[str, Any]]:
    """The arch's nodes from the committed YAML (its ``!Memory``-style tags read as plain maps)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor(
        "!", lambda loader, _tag, node: loader.construct_mapping(node, deep=True)
    )
    return list(yaml.load(path.read_text(), Loader=Loader)["arch"]["nodes"])


def test_tradeoff_names_a_tie_between_different_schedules() -> None:
    fast, frugal = (cp.schedule_label(o) for o in cp.SPAN_OBJECTIVES)
    a = _entry(180224, 801164171.6736, ACTIONS)
    text = cp.tradeoff(_span({f"{fast}|cosamt": a, f"{frugal}|cosamt": dict(a)}), "cosamt")
    assert text.startswith("different schedules of the same latency and energy (180,224 cycles")
