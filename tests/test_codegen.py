"""Generated C follows the schedule: it computes what numpy computes and moves exactly the words
the evaluator counts (the third rung of the verification ladder, beside the trace simulator).

Schedules: every shipped instance solved at seq_len 64 (a ViT at its own token count), batch 1
(tests/data/codegen, written by scripts/codegen_schedules.py), at reduced sizes here (every
non-trivial loop factor cut to a power of two <= 4, the same loops, orders, keeps and spatial
unrolling); re-solved and run at full size (the same sizes, up to 1e9 points: ViT-B/16's FFN chain
at 197 tokens) under -m slow. Random single-operator nests with PE-private levels, factor-1 loops,
spatial reductions and multicast on or off come from the trace simulator's strategy."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from support import make_arch, problems
from typer.testing import CliRunner

from cosamt.api import evaluate_schedule, load_resolved
from cosamt.cli import app
from cosamt.codegen.legality import computation_problems
from cosamt.codegen.reduce import reduce_group
from cosamt.codegen.run import GroupCheck, _compare_counts, build, check_group, generate
from cosamt.evaluate.evaluator import evaluate
from cosamt.evaluate.group import evaluate_group
from cosamt.fusion.schemes import Group, Scheme, attention, rename, single
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.workload.einsum import Einsum, gemm
from cosamt.workload.models import get_model

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "codegen"
SCHEDULES = sorted(DATA.glob("*.json"))
SEQ_LEN = 64


# DeepSeek-V2-Lite routes every token to 6 of 64 experts: its expert chain (gate, up, down) has
# 3.3e9 points at 64 tokens and 1.1e9 at 16, above the C programs' run budget (max_points, 1e9);
# at 8 tokens (48 experts touched) it is 4.2e8 and runs at full size.
FULL_SIZE_TOKENS = {"deepseek-v2-lite": 8}


def _seq_len(instance: Path) -> int:
    """64 tokens, or the count the model fixes (a ViT's patches and class token), or fewer where
    the full-size program would exceed the run budget (``FULL_SIZE_TOKENS``)."""
    name = json.loads(instance.read_text())["model"]
    return get_model(name).image_tokens or FULL_SIZE_TOKENS.get(name, SEQ_LEN)


def _entries(schedule: Path) -> tuple[object, list[tuple[str, Group, dict[str, Mapping], object]]]:
    instance = ROOT / "instances" / f"{schedule.name.split('.')[0]}.json"
    resolved = load_resolved(instance, seq_len=_seq_len(instance), batch=1)
    entries = evaluate_schedule(resolved, schedule)
    return resolved.arch, [(e.path, e.group, e.mappings, e.metrics) for e in entries]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=[s.stem for s in SCHEDULES])
def test_shipped_schedules_compute_and_count_exactly(schedule: Path, tmp_path: Path) -> None:
    arch, entries = _entries(schedule)
    for _path, group, mappings, _metrics in entries:
        r = check_group(group, arch, mappings, tmp_path / group.name, cap=4)
        assert r.values_match, (group.name, r.max_rel_error)
        assert r.counts_match, (group.name, r.mismatches)
        assert r.transfers > 0
        if group.scheme is Scheme.ONLINE:
            assert r.rescale_ops == r.expected_rescale_ops and r.rescale_ops


def test_every_fused_scheme_is_covered() -> None:
    schemes = set()
    for s in SCHEDULES:
        schemes |= {g["scheme"] for g in json.loads(s.read_text())["groups"]}
    assert schemes >= {"none", "flat", "online", "ffn_chain", "epilogue", "chain"}


@pytest.mark.parametrize("levels", [2, 3])
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=problems(3) | problems(2))
def test_random_nests_compute_and_count_exactly(levels: int, case: tuple, tmp_path: Path) -> None:
    op, arch, mapping = case
    assert evaluate(op, arch, mapping).valid
    r = check_group(single(op), arch, {op.name: mapping}, tmp_path / f"g{levels}", max_points=10**6)
    assert r.reduced is None
    assert r.values_match, r.max_rel_error
    assert r.counts_match, r.mismatches


def _flat_group(cap: int = 4) -> tuple[object, Group, dict[str, Mapping]]:
    arch, entries = _entries(DATA / "gpt2_edge.flat.json")
    group, mappings = next((g, m) for _p, g, m, _x in entries if g.scheme is Scheme.FLAT)
    small, maps = reduce_group(group, mappings, cap)
    return arch, small, maps


def _move_to_shared(mapping: Mapping, dim: str) -> Mapping:
    """Halve the first own loop over ``dim`` (temporal, else spatial) and add a shared loop over
    ``dim`` x2."""
    levels = list(mapping.levels)
    for kind in ("temporal", "spatial"):
        for i, lm in enumerate(levels[:-1]):
            loops = list(getattr(lm, kind))
            for j, lp in enumerate(loops):
                if lp.dim == dim and lp.factor % 2 == 0:
                    loops[j] = dataclasses.replace(lp, factor=lp.factor // 2)
                    levels[i] = dataclasses.replace(lm, **{kind: tuple(loops)})
                    shared = levels[-1]
                    levels[-1] = dataclasses.replace(
                        shared, temporal=(*shared.temporal, Loop(dim, 2))
                    )
                    return Mapping(tuple(levels), mapping.padding)
    raise AssertionError(f"no even loop over {dim}")


def test_split_softmax_row_is_caught_by_name(tmp_path: Path) -> None:
    """A FLAT group with a shared loop over the key dimension: every member's nest is legal for the
    per-operator cost model and moves exactly the counted words, but each shared iteration
    normalises half a row."""
    arch, group, maps = _flat_group()
    bad = {name: _move_to_shared(m, "n") for name, m in maps.items()}
    bad_group = dataclasses.replace(group, shared_dims=group.shared_dims | {"n"})
    garch = arch.with_shared_level()
    for op in bad_group.ops:
        on_chip = bad_group.on_chip & {t.name for t in op.tensors}
        assert not evaluate(op, garch, bad[op.name], on_chip=on_chip).violations
    reasons = computation_problems(bad_group, bad)
    assert [(r.name, r.operator) for r in reasons] == [("softmax-row-split", "softmax")]
    refused = check_group(bad_group, arch, bad, tmp_path / "refused")
    assert refused.reasons and not refused.ok
    forced = check_group(bad_group, arch, bad, tmp_path / "forced", force=True)
    assert forced.counts_match
    assert not forced.values_match and forced.max_rel_error > 1e-3


@pytest.mark.parametrize("o_on_chip", [False, True])
@pytest.mark.parametrize("splits", [1, 2])
def test_online_split_of_the_same_row_is_fine(o_on_chip: bool, splits: int, tmp_path: Path) -> None:
    """The same split under the online scheme computes the right thing: running max and sum per row,
    the accumulator rescaled per key tile in DRAM or, when the GlobalBuffer keeps O across key tiles,
    there; rescaling work equals the evaluator's."""
    arch, group, maps = _flat_group()
    online = dict(maps)
    for _ in range(splits):
        online = {name: _move_to_shared(m, "n") for name, m in online.items()}
    if o_on_chip:
        av = online["av"]
        gb = av.levels[0]
        online["av"] = Mapping(
            (dataclasses.replace(gb, keep=gb.keep | {"O"}), *av.levels[1:]), av.padding
        )
    og = attention(*group.ops, Scheme.ONLINE)
    assert evaluate_group(og, arch, online).valid
    assert not computation_problems(og, online)
    r = check_group(og, arch, online, tmp_path / "online")
    if o_on_chip:
        assert "where it is resident: GlobalBuffer" in (tmp_path / "online" / "main.c").read_text()
    assert r.ok, (r.max_rel_error, r.mismatches)
    assert r.rescale_ops == r.expected_rescale_ops


def test_shared_loop_over_a_reduction_is_caught_by_name(tmp_path: Path) -> None:
    """S = Q K^T handed to O = S V on chip, both under a shared loop over d: qk would hand on a
    partial sum (the evaluator says so too); the check names it and the forced run is wrong."""
    arch, flat, maps = _flat_group()
    qk, _softmax, av = flat.ops
    av_s: Einsum = rename(av, {"P": "S"})
    group = Group(
        "qk+av", Scheme.FLAT, (qk, av_s), frozenset({"b", "h", "m", "d"}), frozenset({"S"})
    )
    bad = {"qk": _move_to_shared(maps["qk"], "d"), "av": _move_to_shared(_keep_s(maps["av"]), "d")}
    reasons = computation_problems(group, bad)
    assert [(r.name, r.operator) for r in reasons] == [("shared-reduction-partial", "qk")]
    forced = check_group(group, arch, bad, tmp_path / "forced", force=True)
    assert not forced.values_match


def _keep_s(mapping: Mapping) -> Mapping:
    return Mapping(
        tuple(
            LevelMapping(
                lm.temporal, lm.spatial, frozenset("S" if t == "P" else t for t in lm.keep)
            )
            for lm in mapping.levels
        ),
        mapping.padding,
    )


def test_cli_check_json(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "codegen",
            str(ROOT / "instances" / "gpt2_edge.json"),
            str(DATA / "gpt2_edge.online.json"),
            "--out",
            str(tmp_path),
            "--check",
            "--json",
            "--reduce",
            "2",
            "--seq-len",
            "64",
            "--batch",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    groups = json.loads(res.stdout)["groups"]
    assert len(groups) == len(json.loads((DATA / "gpt2_edge.online.json").read_text())["groups"])
    for g in groups:
        assert g["counts_match"] is True and g["max_rel_error"] <= 1e-9
        assert {"name", "max_abs_error", "max_rel_error", "counts_match"} <= set(g)
    assert (tmp_path / "qk_softmax_av" / "main.c").read_text().count("parallel: PE array") > 0


def test_cli_refuses_unknown_language(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "codegen",
            str(ROOT / "instances" / "gpt2_edge.json"),
            str(DATA / "gpt2_edge.flat.json"),
            "--out",
            str(tmp_path),
            "--lang",
            "exo",
            "--seq-len",
            "64",
        ],
    )
    assert res.exit_code == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    "instance", sorted((ROOT / "instances").glob("*.json")), ids=lambda p: p.stem
)
def test_solved_instances_at_larger_sizes(instance: Path, tmp_path: Path) -> None:
    sched = tmp_path / "schedule.json"
    res = CliRunner().invoke(
        app,
        [
            "solve",
            str(instance),
            "--seq-len",
            str(_seq_len(instance)),
            "--batch",
            "1",
            "--threads",
            "1",
            "--time-limit",
            "20",
            "--fusion",
            "all",
            "--out",
            str(sched),
        ],
    )
    assert res.exit_code == 0, res.output
    resolved = load_resolved(instance, seq_len=_seq_len(instance), batch=1)
    for entry in evaluate_schedule(resolved, sched):
        group, mappings, arch = entry.group, entry.mappings, resolved.arch
        r = check_group(group, arch, mappings, tmp_path / group.name, max_points=1_000_000_000)
        assert r.reduced is None, group.name
        assert r.ok, (group.name, r.max_rel_error, r.mismatches)


def _with_private_level(mapping: Mapping, op: Einsum, move: bool, keep_output: bool) -> Mapping:
    """The same nest with a PE-private level below the GlobalBuffer: it takes the GlobalBuffer's
    innermost temporal loop (if ``move``) and keeps the operands (and the output)."""
    gb, *rest = mapping.levels
    temporal = gb.temporal
    low: tuple[Loop, ...] = ()
    if move and temporal:
        temporal, low = temporal[:-1], temporal[-1:]
    keep = (
        frozenset(t.name for t in op.tensors if t.name != op.output.name or keep_output)
        if op.kind.value == "mac"
        else frozenset()
    )
    return Mapping(
        (LevelMapping(low, (), keep), LevelMapping(temporal, gb.spatial, gb.keep), *rest),
        mapping.padding,
    )


@pytest.mark.parametrize("multicast", [True, False])
@pytest.mark.parametrize("move", [True, False])
@pytest.mark.parametrize("keep_output", [True, False])
def test_fused_group_with_pe_private_level(
    multicast: bool, move: bool, keep_output: bool, tmp_path: Path
) -> None:
    """FLAT attention on Registers / GlobalBuffer / DRAM: private tiles per PE, fills outside and
    inside the spatial loops, read-backs to the first PE of a reduction group."""
    _arch, group, maps = _flat_group()
    arch = make_arch(3, 8, 8, multicast)
    private = {
        op.name: _with_private_level(maps[op.name], op, move, keep_output) for op in group.ops
    }
    assert evaluate_group(group, arch, private).valid
    r = check_group(group, arch, private, tmp_path / "g")
    assert r.values_match, r.max_rel_error
    assert r.counts_match, r.mismatches


def test_counts_comparison_sees_a_moved_loop(tmp_path: Path) -> None:
    """The program of one loop order against the evaluator's counts for another: the comparison
    names the tensors whose traffic moved (the check is not vacuous)."""
    op = gemm("g", 4, 4, 4)
    arch = make_arch(2, 2, 2, True)

    def nest(order: tuple[str, ...]) -> Mapping:
        gb = LevelMapping(
            (Loop("k", 2),), (SpatialLoop("m", 2, "rows"),), frozenset({"X", "W", "Y"})
        )
        dram = LevelMapping(
            tuple(Loop(d, {"m": 2, "n": 4, "k": 2}[d]) for d in order),
            (),
            frozenset({"X", "W", "Y"}),
        )
        return Mapping((gb, dram))

    ran, other = nest(("m", "n", "k")), nest(("k", "m", "n"))
    group = single(op)
    program = generate(group, arch, {op.name: ran})
    exe = build(program, tmp_path)
    for t in program.inputs:
        np.zeros(4 * 4).tofile(tmp_path / f"{t.name}.bin")
    stdout = subprocess.run(
        [str(exe), str(tmp_path)], capture_output=True, text=True, check=True
    ).stdout
    same = GroupCheck(op.name, "none", dict(op.dims), None)
    _compare_counts(same, program, stdout, group, arch, {op.name: ran}, False)
    assert same.counts_match
    moved = GroupCheck(op.name, "none", dict(op.dims), None)
    _compare_counts(moved, program, stdout, group, arch, {op.name: other}, False)
    assert not moved.counts_match
    assert any(" Y:" in m for m in moved.mismatches), moved.mismatches
