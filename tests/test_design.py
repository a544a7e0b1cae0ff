"""`cosamt design`: derived architectures, area and energy rules, bounds, the exact search, caches,
baselines and the CLI. Real solves use GPT-2 decode at seq_len 64 with threads=1."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cosamt.arch.presets import load_preset
from cosamt.design import baselines
from cosamt.design import search as search_mod
from cosamt.design.baselines import Budget, genetic_search, random_search
from cosamt.design.compare import preset_point
from cosamt.design.derive import arch_area, derive_arch, design_area, enumerate_space
from cosamt.design.evaluate import (
    DesignCache,
    DesignResult,
    WorkloadResult,
    arch_content,
    design_lower_bound,
    evaluate_point,
)
from cosamt.design.search import search
from cosamt.design.spec import DesignSpec, Pruning, parse_design
from cosamt.design.tech import load_tech
from cosamt.errors import InputError
from cosamt.fusion.schemes import segments
from cosamt.io.instance import parse_instance
from cosamt.pipeline import resolve
from cosamt.solve.solver import SolveSettings
from cosamt.types import FusionChoice

ROOT = Path(__file__).resolve().parent.parent
LPDDR = {"name": "lpddr", "bandwidth_gb_s": 25.0, "energy_pj_per_bit": 18.75}


def spec_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "workloads": [{"model": "gpt2", "phase": "decode", "seq_len": 64}],
        "space": {
            "pe_array": {"rows": [8], "cols": [8, 16]},
            "global_buffer_kib": [64],
            "dram": [LPDDR],
            "clock_ghz": [1.0],
        },
        "budget": {"area_mm2": 10.0},
        "objective": "latency",
        "options": {"threads": 1, "time_limit_s": 30},
    }
    data.update(overrides)
    return data


def flat_space(word_bits: int = 16) -> dict[str, Any]:
    return {
        "pe_array": {"rows": [32], "cols": [32]},
        "global_buffer_kib": [512],
        "dram": [LPDDR],
        "clock_ghz": [0.94],
        "word_bits": word_bits,
    }


# ---- the rules: presets are points of the space -------------------------------------------------
@pytest.mark.parametrize("name", ["edge", "mobile", "cloud"])
def test_presets_are_points_that_reproduce_their_own_files(name: str) -> None:
    spec = parse_design(spec_data(space=flat_space()))
    point = preset_point(name, spec)
    assert point is not None
    preset = load_preset(name)
    derived = derive_arch(point, spec.space)
    assert derived.model_dump(exclude={"name", "description"}) == preset.model_dump(
        exclude={"name", "description"}
    )


def test_gemmini_is_not_a_point_of_the_flat_rules() -> None:
    # 8-bit words under 16-bit rules, and a partitioned buffer: not derivable, so reported as such
    assert preset_point("gemmini", parse_design(spec_data(space=flat_space()))) is None


def test_area_of_edge_by_hand() -> None:
    # 1024 FP16 MACs and 32 FP16 lanes of (1640 + 1360) um^2; 512 KiB of 0.346 um^2 cells at 0.7
    by_hand = (1024 * 3000 + 32 * 3000 + 512 * 1024 * 8 * 0.346 / 0.7) * 1e-6
    spec = parse_design(spec_data(space=flat_space()))
    (point,) = enumerate_space(spec.space)
    assert design_area(point, spec.space).total_mm2 == pytest.approx(by_hand, rel=1e-12)
    assert arch_area(load_preset("edge")) == pytest.approx(by_hand, rel=1e-12)


def test_sram_energy_follows_the_bank_rule() -> None:
    tech = load_tech()
    # 6 x 1.5 pJ x sqrt(bank / 108 KiB), bank <= 256 KiB, per 16-bit word; half for 8-bit words
    assert tech.sram_energy_pj(64 * 1024, 16) == round(9 * math.sqrt(64 / 108), 4)
    assert tech.sram_energy_pj(4 * 1024 * 1024, 16) == round(9 * math.sqrt(256 / 108), 4)
    assert tech.sram_energy_pj(64 * 1024, 8) == round(4.5 * math.sqrt(64 / 108), 4)


def test_derived_bandwidths_follow_the_rules() -> None:
    spec = parse_design(spec_data())
    p = next(p for p in enumerate_space(spec.space) if p.cols == 16)
    arch = derive_arch(p, spec.space)
    assert arch.levels[0].read_bandwidth == (8 + 16) * 2  # (rows + cols) 16-bit words per cycle
    assert arch.levels[1].read_bandwidth == 25.0 / 1.0  # GB/s over GHz
    assert arch.levels[1].read_energy_pj == 18.75 * 16
    assert arch.vector_unit.lanes == 16  # one lane per column by default


# ---- validation ---------------------------------------------------------------------------------
def test_bad_specs_name_every_field() -> None:
    data = spec_data(
        workloads=[
            {"model": "nope", "seq_len": 64},
            {"model": "bert-base", "phase": "decode", "seq_len": 8},
        ]
    )
    with pytest.raises(InputError) as exc:
        parse_design(data)
    paths = [p.path for p in exc.value.problems]
    assert paths == ["workloads[0].model", "workloads[1].phase"]
    bad = spec_data()
    bad["space"] = {
        **bad["space"],
        "pe_array": {"pes": [8], "aspect_ratios": [1]},
        "clock_ghz": [0],
    }
    with pytest.raises(InputError) as exc:
        parse_design(bad)
    paths = [p.path for p in exc.value.problems]
    assert "space.pe_array" in paths and "space.clock_ghz[0]" in paths


def test_aspect_ratios_give_whole_arrays() -> None:
    data = spec_data()
    data["space"] = {**data["space"], "pe_array": {"pes": [64, 256], "aspect_ratios": [1, 4]}}
    shapes = [(p.rows, p.cols) for p in enumerate_space(parse_design(data).space)]
    assert shapes == [(8, 8), (16, 4), (16, 16), (32, 8)]


def test_cli_bad_spec_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec_data(objective="speed")))
    proc = subprocess.run(
        [sys.executable, "-m", "cosamt.cli", "design", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "objective" in proc.stderr


# ---- bounds and the exact search with a stand-in evaluator (no solves) ---------------------------
def _fake_value(spec: DesignSpec, point: Any) -> float:
    # any value above the point's bound: bound x (1 + a fraction fixed by the point's knobs)
    _lat, _en, bound = design_lower_bound(spec, point)
    return bound * (1 + (point.rows * 7 + point.cols * 3 + point.buffer_kib) % 11 / 40)


def _fake_evaluate(spec: DesignSpec, point: Any, cache_dir: Path | None = None) -> DesignResult:
    value = _fake_value(spec, point)
    # per workload, the cycles whose weighted total is ``value`` seconds
    cycles = value * point.clock_ghz * 1e9 / sum(w.weight for w in spec.workloads)
    return DesignResult(
        key=point.key(),
        label=point.label,
        knobs=point.knobs(),
        area_mm2=design_area(point, spec.space).total_mm2,
        clock_ghz=point.clock_ghz,
        objective=spec.objective.value,
        latency_s=value,
        energy_pj=1.0,
        value=value,
        bound=value,
        all_optimal=True,
        workloads=tuple(
            WorkloadResult(
                w.label, w.weight, "latency", cycles, 1.0, cycles, True, {"compute": cycles}, 0.0
            )
            for w in spec.workloads
        ),
        seconds=0.0,
    )


def _wide_spec(area: float = 3.0, objective: str = "latency") -> DesignSpec:
    data = spec_data(objective=objective, budget={"area_mm2": area})
    data["workloads"] = [{"model": "gpt2", "phase": "prefill", "seq_len": 64}]  # compute-bound
    data["space"] = {
        **data["space"],
        "pe_array": {"rows": [4, 8, 16], "cols": [8, 16]},
        "global_buffer_kib": [32, 64, 128],
    }
    return parse_design(data)


@pytest.mark.parametrize("pruning", ["best", "front"])
def test_search_finds_the_brute_force_best(monkeypatch: pytest.MonkeyPatch, pruning: str) -> None:
    monkeypatch.setattr(search_mod, "evaluate_point", _fake_evaluate)
    spec = _wide_spec()
    spec = spec.model_copy(
        update={"options": spec.options.model_copy(update={"pruning": Pruning(pruning)})}
    )
    result = search(spec)
    within = [p for p in enumerate_space(spec.space) if design_area(p, spec.space).total_mm2 <= 3.0]
    brute = min(_fake_value(spec, p) for p in within)
    assert result.best is not None and result.best.value == brute
    assert result.status == "optimal"
    fates = [o.fate for o in result.outcomes]
    assert fates.count("over_area") == len(enumerate_space(spec.space)) - len(within)
    assert fates.count("pruned") > 0  # the bounds did some work
    if pruning == "front":  # every design on the latency-area front was solved
        solved = {o.candidate.point.key() for o in result.outcomes if o.fate == "solved"}
        for p in within:
            v, a = _fake_value(spec, p), design_area(p, spec.space).total_mm2
            dominated = any(
                _fake_value(spec, q) <= v and design_area(q, spec.space).total_mm2 <= a
                for q in within
                if q != p
            )
            assert dominated or p.key() in solved


@pytest.mark.parametrize("pruning", ["best", "front"])
def test_front_status_is_exact_only_when_it_is_the_true_front(
    monkeypatch: pytest.MonkeyPatch, pruning: str
) -> None:
    from cosamt.design.report import search_json

    monkeypatch.setattr(search_mod, "evaluate_point", _fake_evaluate)
    spec = _wide_spec()
    spec = spec.model_copy(
        update={"options": spec.options.model_copy(update={"pruning": Pruning(pruning)})}
    )
    data = search_json(search(spec))
    within = [p for p in enumerate_space(spec.space) if design_area(p, spec.space).total_mm2 <= 3.0]
    true_front = set()  # by brute force over the stand-in's values
    for p in within:
        v, a = _fake_value(spec, p), design_area(p, spec.space).total_mm2
        if not any(
            _fake_value(spec, q) <= v
            and design_area(q, spec.space).total_mm2 <= a
            and (_fake_value(spec, q), design_area(q, spec.space).total_mm2) != (v, a)
            for q in within
        ):
            true_front.add(p.label)
    reported = {p["label"] for p in data["pareto_latency_area"]}
    status = data["pareto_status"]["pareto_latency_area"]
    if pruning == "front":
        assert status["status"] == "exact"
    if status["status"] == "exact":
        assert reported == true_front
    else:
        assert status["undecided_designs"] > 0
    if reported != true_front:
        assert status["status"] == "among_evaluated"
    # a latency search proves no design's energy: that front is never called exact
    energy = data["pareto_status"]["pareto_energy_area"]
    assert energy["status"] == "among_evaluated" and energy["unproven_points"] > 0


def test_static_bound_is_below_every_solved_schedule() -> None:
    spec = parse_design(spec_data())
    point = next(p for p in enumerate_space(spec.space) if p.cols == 16)
    lat_s, energy, _obj = design_lower_bound(spec, point)
    result = evaluate_point(spec, point)
    assert lat_s <= result.latency_s and energy <= result.energy_pj
    assert result.bound <= result.value and result.all_optimal and result.gap <= 1e-9


def _compulsory_energy_bound(spec: DesignSpec, point: Any) -> float:
    """The energy bound before on-chip accesses were counted: per group, MACs, vector ops and each
    word entering or leaving the group once at DRAM; per segment the cheapest grouping."""
    arch = derive_arch(point, spec.space)
    total = 0.0
    for w in spec.workloads:
        inst = parse_instance(
            {"model": w.model, "phase": w.phase.value, "seq_len": w.seq_len, "arch": "edge"}
        )
        for seg in segments(resolve(inst).operators, spec.options.fusion):
            costs = []
            for cand in seg.candidates:
                cost = 0.0
                for g in cand:
                    words = {
                        t.name: op.size(t)
                        for op in g.ops
                        for t in op.tensors
                        if t.name not in g.on_chip
                    }
                    cost += g.count * (
                        sum(op.macs for op in g.ops) * arch.mac_energy_pj
                        + sum(op.vector_ops for op in g.ops) * arch.vector_unit.energy_per_op_pj
                        + sum(words.values()) * arch.dram.read_energy_pj
                    )
                costs.append(cost)
            total += w.weight * min(costs)
    return total


@pytest.mark.slow  # 4 design points solved for energy (~30 s on an idle machine)
def test_energy_bound_counts_on_chip_accesses_and_stays_below_the_energy_optimum() -> None:
    data = spec_data(objective="energy", options={"threads": 1, "time_limit_s": 300})
    data["workloads"] = [{"model": "gpt2", "phase": "prefill", "seq_len": 64}]
    data["space"] = {**data["space"], "global_buffer_kib": [16, 64]}
    spec = parse_design(data)
    tighter = 0
    for point in enumerate_space(spec.space):  # 8x8, 8x16 PEs; 16 and 64 KiB
        _lat, energy, _obj = design_lower_bound(spec, point)
        result = evaluate_point(spec, point)
        assert result.all_optimal
        assert energy <= result.energy_pj * (1 + 1e-9)  # the proven energy optimum
        old = _compulsory_energy_bound(spec, point)
        assert energy >= old * (1 - 1e-9)
        tighter += energy > old * (1 + 1e-6)
    assert tighter >= 1


def test_design_cache_ignores_names_and_the_vector_unit_for_mac_groups() -> None:
    spec = parse_design(spec_data(space={**spec_data()["space"], "vector_lanes": [4, 8]}))
    a, b = (derive_arch(p, spec.space) for p in enumerate_space(spec.space) if p.cols == 8)
    inst = parse_instance({"model": "gpt2", "phase": "decode", "seq_len": 64, "arch": "edge"})
    groups = [
        g
        for seg in segments(resolve(inst).operators, FusionChoice.ALL)
        for c in seg.candidates
        for g in c
    ]
    mac = next(g for g in groups if all(op.vector_ops == 0 for op in g.ops))
    vec = next(g for g in groups if any(op.vector_ops > 0 for op in g.ops))
    cache, settings = DesignCache(Path("unused")), SolveSettings(threads=1)
    assert a.name != b.name and a.vector_unit != b.vector_unit
    assert cache.key(mac, a, settings) == cache.key(mac, b, settings)
    assert cache.key(vec, a, settings) != cache.key(vec, b, settings)
    assert "vector_unit" in arch_content(a)


# ---- baselines (stand-in evaluator) ------------------------------------------------------------
def test_random_and_genetic_respect_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(baselines, "evaluate_point", _fake_evaluate)
    spec = _wide_spec()
    for run in (random_search, genetic_search):
        trace = run(spec, Budget(designs=5), 1)
        assert len(trace.results) == 5
        assert len({r.key for r in trace.results}) == 5
        assert all(r.area_mm2 <= 3.0 for r in trace.results)
        best = trace.best_within(spec, 5, None)
        assert best is not None and best.value == min(r.value for r in trace.results)


def test_random_search_stops_when_the_space_is_exhausted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(baselines, "evaluate_point", _fake_evaluate)
    spec = _wide_spec()
    trace = random_search(spec, Budget(designs=1000), 0)
    assert len(trace.results) == baselines.feasible_count(spec)


# ---- real solves --------------------------------------------------------------------------------
def test_point_cache_resumes(tmp_path: Path) -> None:
    spec = parse_design(spec_data())
    point = enumerate_space(spec.space)[0]
    first = evaluate_point(spec, point, tmp_path)
    again = evaluate_point(spec, point, tmp_path)
    assert not first.from_cache and again.from_cache
    assert (again.latency_s, again.energy_pj) == (first.latency_s, first.energy_pj)


@pytest.mark.slow
def test_exact_search_equals_brute_force_and_round_trips(tmp_path: Path) -> None:
    data = spec_data(objective="energy")
    data["space"] = {
        **data["space"],
        "pe_array": {"rows": [4, 8], "cols": [8]},
        "global_buffer_kib": [32, 128],
    }
    spec = parse_design(data)
    brute = {
        p.key(): evaluate_point(spec, p, tmp_path / "brute").value
        for p in enumerate_space(spec.space)
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(data))
    arch_file = tmp_path / "arch.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cosamt.cli",
            "design",
            str(spec_file),
            "--json",
            "--out-arch",
            str(arch_file),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out["status"] == "optimal"
    assert out["best"]["energy_pj"] == pytest.approx(min(brute.values()), rel=1e-12)
    for w in out["best"]["workloads"]:
        inst = tmp_path / "inst.json"
        inst.write_text(json.dumps({**w["instance"], "arch": json.loads(arch_file.read_text())}))
        solved = subprocess.run(
            [sys.executable, "-m", "cosamt.cli", "solve", str(inst), "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        total = json.loads(solved.stdout)["total"]
        assert total["latency_cycles"] == pytest.approx(w["latency_cycles"], rel=1e-12)
        assert total["energy_pj"] == pytest.approx(w["energy_pj"], rel=1e-12)


@pytest.mark.slow
def test_edp_bound_and_parallel_search(tmp_path: Path) -> None:
    data = spec_data(objective="edp", options={"threads": 1, "jobs": 2})
    spec = parse_design(data)
    result = search(spec, tmp_path)
    best = result.best
    assert best is not None
    # the EDP bound is L* x E*: the latency optimum times the energy optimum
    lat_opt = min(w.latency_cycles for w in (*best.workloads, *best.others)) / 1e9
    en_opt = min(w.energy_pj for w in (*best.workloads, *best.others))
    assert best.bound == pytest.approx(lat_opt * en_opt, rel=1e-9)
    assert best.value >= best.bound
    assert len(result.outcomes) == result.space_points == 2
    assert result.lower_bound <= best.value


def test_plot_draws_the_fronts_of_a_design_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cosamt.design.report import search_json
    from cosamt.report.plots import line_data, save_figures

    monkeypatch.setattr(search_mod, "evaluate_point", _fake_evaluate)
    spec = _wide_spec()
    spec = spec.model_copy(
        update={"options": spec.options.model_copy(update={"pruning": Pruning.FRONT})}
    )
    data = search_json(search(spec))
    path = tmp_path / "design.json"
    path.write_text(json.dumps(data))
    (png,) = save_figures(path, tmp_path / "plots")
    assert png.name == "design_fronts.png" and png.stat().st_size > 0
    from cosamt.design.plots import fronts_figure

    lines = line_data(fronts_figure(data))
    front = next(v for k, v in lines.items() if k.startswith("latency") and "front" in k)
    assert front[0] == [p["area_mm2"] for p in data["pareto_latency_area"]]
    # a front: area up, latency strictly down
    assert all(b < a for a, b in zip(front[1], front[1][1:], strict=False))


def test_array_neighbours_change_one_axis() -> None:
    from cosamt.design.derive import knob_values
    from cosamt.design.report import _neighbours

    values = knob_values(_wide_spec().space)  # rows 4, 8, 16 x cols 8, 16
    shapes = values["pe_array"]
    base = [shapes.index((8, 16)), 0, 0, 0, 0]
    got = sorted(shapes[idx[0]] for idx in _neighbours(values, base, 0))
    assert got == [(4, 16), (8, 8), (16, 16)]
    assert [idx[1] for idx in _neighbours(values, base, 1)] == [1]  # 32 KiB: only the next up


def test_search_reports_what_binds(monkeypatch: pytest.MonkeyPatch) -> None:
    from cosamt.design.report import binds

    monkeypatch.setattr(search_mod, "evaluate_point", _fake_evaluate)
    result = search(_wide_spec(area=1.0))
    notes = binds(result)
    assert set(notes) == {
        *("pe_array", "global_buffer_kib", "vector_lanes", "dram", "clock_ghz"),
        "latency set by",
    }
    assert notes["dram"] == ["the only value"]
    assert any(
        "over the area budget" in n or "pruned" in n or "solved" in n for n in notes["pe_array"]
    )


def test_no_design_within_the_area_budget_is_infeasible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_mod, "evaluate_point", _fake_evaluate)
    result = search(_wide_spec(area=0.01))
    assert result.best is None and result.status == "infeasible"
    assert {o.fate for o in result.outcomes} == {"over_area"}


def test_power_budget_excludes_designs_and_never_prunes_with_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search_mod, "evaluate_point", _fake_evaluate)
    free = _wide_spec()
    within = [p for p in enumerate_space(free.space) if design_area(p, free.space).total_mm2 <= 3.0]
    values = sorted(_fake_value(free, p) for p in within)
    # the stand-in's power is 1 pJ / latency: the fastest designs draw the most
    limit = 1e-12 / values[2] * (1 + 1e-6)
    spec = free.model_copy(update={"budget": free.budget.model_copy(update={"power_w": limit})})
    result = search(spec)
    assert result.best is not None and result.best.value == values[2]
    assert sum(o.fate == "over_power" for o in result.outcomes) >= 2


@pytest.mark.slow
def test_cli_compare_exact_best_is_no_worse_than_any_baseline(tmp_path: Path) -> None:
    # two design points (8x8 and 8x16 PEs), EDP
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec_data(objective="edp")))
    args = ["design", str(spec_path), "--compare", "--json", "--seeds", "1", "--jobs", "1"]
    proc = subprocess.run(
        [sys.executable, "-m", "cosamt.cli", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(proc.stdout)
    ex = data["exact"]
    assert ex["objective"] == "edp" and ex["status"] in ("optimal", "feasible")
    assert ex["best_design_proven"] is True
    for key in ("arch", "area_mm2", "latency_cycles", "energy_pj", "objective_value"):
        assert key in ex["best"]
    assert {"pareto", "pareto_latency_area", "pareto_energy_area", "pareto_status"} <= set(ex)
    assert data["budget"] == {"designs": ex["evaluated_designs"], "seconds": ex["seconds"]}
    best = ex["best"]["objective_value"]
    assert best == pytest.approx(ex["best"]["latency_s"] * ex["best"]["energy_pj"], rel=1e-12)
    # the baselines stop once they have used both the exact search's design count and its wall
    # time, or have seen the whole space (two designs); how many that is depends on the machine
    designs = {d["label"]: d for d in ex["designs"]}
    assert len(designs) == 2
    for method in ("random", "genetic"):
        (run,) = data["methods"][method]
        assert run["seed"] == 0 and run["evaluated"] == len(run["trace"])
        assert run["evaluated"] >= ex["evaluated_designs"]
        assert run["evaluated"] == 2 or run["seconds"] >= ex["seconds"]
        for budget in ("equal_designs", "equal_time"):
            s = run[budget]
            if s["value"] is not None:
                assert s["value"] >= best * (1 - 1e-9)
                assert s["ratio_to_exact"] == pytest.approx(s["value"] / best, rel=1e-12)
        for t in run["trace"]:
            d = designs[t["label"]]
            assert t["value"] >= best * (1 - 1e-9)
            # a design the exact search solved costs the same when a baseline solves it afresh;
            # one it pruned costs at least the bound it was pruned by
            if d["fate"] == "solved":
                assert t["value"] == pytest.approx(d["value"], rel=1e-9)
            else:
                assert d["fate"] == "pruned" and t["value"] >= d["bound"] * (1 - 1e-9)
    # the presets are not points of this space (edge's 32x32 array beats it within 10 mm^2):
    # they are reported beside it, not bounded by it
    assert [p["preset"] for p in data["traditional"]] == ["edge", "mobile", "cloud"]
    for p in data["traditional"]:
        assert p["within_budget"] == (p["area_mm2"] <= 10.0 and p["value"] is not None)


def test_shipped_design_examples_load_and_the_benchmark_is_the_issues_setting() -> None:
    from cosamt.design.spec import load_design

    paths = sorted((ROOT / "examples").glob("design_*.json"))
    assert {p.stem for p in paths} >= {"design_edge", "design_llm", "design_llm_edp"}
    for path in paths:
        spec = load_design(path)
        points = enumerate_space(spec.space)
        assert any(design_area(p, spec.space).total_mm2 <= spec.budget.area_mm2 for p in points)
    bench = load_design(ROOT / "examples" / "design_llm_edp.json")
    assert bench.objective.value == "edp"
    assert {(w.model, w.phase.value, w.seq_len) for w in bench.workloads} == {
        ("gpt2", "prefill", 1024),
        ("gpt2", "decode", 4096),
        ("llama3-8b", "prefill", 1024),
        ("llama3-8b", "decode", 4096),
    }
    points = enumerate_space(bench.space)
    within = [p for p in points if design_area(p, bench.space).total_mm2 <= bench.budget.area_mm2]
    assert len(points) == 4 * 4 * 5 * 3 and len(within) >= 200
