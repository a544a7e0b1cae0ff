"""Fused groups: MIP = evaluator, schedule-file round trip, the explorer's choice, hand-checked cases.

The expensive part is one ``solve_instance`` of GPT-2 (prefill, seq_len 64) on ``edge`` with every
fusion scheme (~25 s), shared by the tests below through a module fixture.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from cosamt.arch.presets import resolve_arch
from cosamt.arch.spec import Architecture, ArrayAxis, MemoryLevel, PEArray, VectorUnit
from cosamt.evaluate.group import GroupMetrics, evaluate_group, group_arch
from cosamt.fusion.schemes import Group, Scheme, attention, segments
from cosamt.io.instance import Instance
from cosamt.pipeline import SolveReport, resolve, settings_for, solve_instance
from cosamt.schedule.file import (
    ScheduleFile,
    group_entry,
    mappings_from_entry,
    schedule_to_json,
    violation_path,
)
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping
from cosamt.schedule.violations import Rule, Violation
from cosamt.solve.solver import SolveSettings, SolveStatus, solve_group
from cosamt.types import FusionChoice, Objective
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor
from cosamt.workload.models import ModelConfig, get_model
from cosamt.workload.transformer import build_block

REL = 1e-6
SETTINGS = SolveSettings(time_limit_s=300, threads=2)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-30)


def _fused_groups(ops: list[Einsum]) -> list[Group]:
    return [
        g
        for seg in segments(ops, FusionChoice.ALL)
        for cand in seg.candidates
        for g in cand
        if g.fused
    ]


def _assert_mip_equals_evaluator(
    group: Group, arch: Architecture, objective: Objective = Objective.LATENCY
) -> GroupMetrics:
    res = solve_group(group, arch, SolveSettings(objective=objective, time_limit_s=300, threads=2))
    assert res.status is SolveStatus.OPTIMAL, (group.name, res.status)
    ev = evaluate_group(group, arch, res.mappings)
    assert ev.valid, ev.violations
    value = ev.energy_pj if objective is Objective.ENERGY else ev.latency_cycles
    assert res.objective is not None
    assert _rel(res.objective, value) <= REL, (group.name, objective, res.objective, value)
    # both figures agree at the returned schedule, whichever was the objective
    assert res.latency is not None and res.energy is not None
    assert _rel(res.latency, ev.latency_cycles) <= REL
    assert _rel(res.energy, ev.energy_pj) <= REL
    return ev


# ---------------------------------------------------------------------------------------------
# GPT-2, one explorer run shared by (a)-(d)


@pytest.fixture(scope="module")
def gpt2() -> SolveReport:
    inst = Instance(
        model="gpt2",
        phase="prefill",
        seq_len=64,
        arch="edge",
        options={"time_limit_s": 300, "threads": 2, "fusion": "all"},
    )
    return solve_instance(resolve(inst), settings_for(inst))


def test_every_fused_candidate_is_optimal_and_agrees(gpt2: SolveReport) -> None:
    """(a) Every fused candidate of every segment was solved by the MIP to optimality, the evaluator
    finds no violation, and the MIP's latency equals the evaluator's."""
    expected = {g.name + "/" + g.scheme.value for g in _fused_groups(list(gpt2.resolved.operators))}
    seen = set()
    for seg in gpt2.segments:
        for alt in seg.alternatives:
            for g in alt.groups:
                assert g.source == "mip", g.name
                assert g.solve.status is SolveStatus.OPTIMAL, (g.name, g.solve.status)
                assert g.metrics.valid, g.metrics.violations
                agreement = g.agreement(Objective.LATENCY)
                assert agreement is not None and agreement <= REL, (g.name, agreement)
                if g.group.fused:
                    seen.add(g.name + "/" + g.group.scheme.value)
    assert seen == expected
    assert {"qk+softmax+av/flat", "qk+softmax+av/online", "ffn1+act+ffn2/ffn_chain"} <= seen


def test_attention_energy_objective_agrees() -> None:
    """(a) With objective energy the fused attention's MIP energy equals the evaluator's."""
    arch = resolve_arch("edge")
    ops = build_block(get_model("gpt2"), "prefill", 1, 64)
    for g in _fused_groups(ops):
        if g.scheme is Scheme.FLAT:
            _assert_mip_equals_evaluator(g, arch, Objective.ENERGY)


def test_an_operator_inside_the_attention_chain_keeps_it_unfused() -> None:
    """The menu fuses qk, softmax, av only when they follow one another: with an operator between
    qk and softmax (a position score feeding softmax), fusing the three would run it after its
    consumer. Every operator is then a segment of its own, in the block's order."""
    ops = build_block(get_model("gpt2"), "prefill", 1, 64)
    names = [o.name for o in ops]
    assert "attention" in [seg.name for seg in segments(ops, FusionChoice.ALL)]
    at = names.index("softmax")
    between = dataclasses.replace(ops[at], name="pos_score")
    ops = [*ops[:at], between, *ops[at:]]
    segs = segments(ops, FusionChoice.ALL)
    assert "attention" not in [seg.name for seg in segs]
    order = [g.ops[0].name for seg in segs for g in seg.candidates[0]]
    assert order.index("qk") < order.index("pos_score") < order.index("softmax") < order.index("av")


def test_llama_decode_gqa_groups_agree() -> None:
    """(a) Grouped-query attention (dim r) in decode (m = 1): every fused group agrees."""
    arch = resolve_arch("edge")
    ops = build_block(get_model("llama3-8b"), "decode", 1, 64)
    groups = _fused_groups(ops)
    assert any("r" in g.shared_dims for g in groups)
    for g in groups:
        _assert_mip_equals_evaluator(g, arch)
    _assert_mip_equals_evaluator(
        next(g for g in groups if g.scheme is Scheme.ONLINE), arch, Objective.ENERGY
    )


def test_schedule_file_round_trip(gpt2: SolveReport) -> None:
    """(b) group_entry -> JSON -> mappings_from_entry gives the same mappings and metrics."""
    arch = gpt2.resolved.arch
    for seg in gpt2.segments:
        for alt in seg.alternatives:
            for g in alt.groups:
                entry = group_entry(g.group, arch, g.mappings)
                doc = schedule_to_json(ScheduleFile(arch=arch.name, groups=(entry,)))
                back = ScheduleFile.model_validate(doc).groups[0]
                mappings = mappings_from_entry(back, g.group, arch, "groups[0]")
                assert mappings == g.mappings, g.name
                assert evaluate_group(g.group, arch, mappings) == g.metrics, g.name


def test_reused_group_result_is_keyed_by_its_own_operators(gpt2: SolveReport) -> None:
    """residual2 has residual1's signature, so its result is reused (same_as = residual1); the
    reused result must name residual2's operators, or writing its schedule entry fails (a bug
    found here once: ``SolveReport.schedule()`` raised KeyError with ``--fusion none``)."""
    copies = [g for s in gpt2.segments for a in s.alternatives for g in a.groups if g.same_as]
    assert copies
    for g in copies:
        group_entry(g.group, gpt2.resolved.arch, g.mappings)
        assert set(g.mappings) == {op.name for op in g.group.ops}


def test_explorer_picks_the_cheapest_alternative(gpt2: SolveReport) -> None:
    """(c) Per segment exactly one alternative is chosen, the one with the smallest (latency,
    energy); every candidate of segments() is reported; the schedule holds the chosen groups."""
    segs = segments(list(gpt2.resolved.operators), FusionChoice.ALL)
    assert [s.name for s in gpt2.segments] == [s.name for s in segs]
    for seg, ref in zip(gpt2.segments, segs, strict=True):
        assert len(seg.alternatives) == len(ref.candidates)
        for alt, cand in zip(seg.alternatives, ref.candidates, strict=True):
            assert [g.name for g in alt.groups] == [g.name for g in cand]
            assert alt.latency_cycles == sum(g.metrics.latency_cycles for g in alt.groups)
        chosen = [a for a in seg.alternatives if a.chosen]
        assert len(chosen) == 1
        best = min((a.latency_cycles, a.energy_pj) for a in seg.alternatives)
        assert (chosen[0].latency_cycles, chosen[0].energy_pj) == best, seg.name
    assert [g.name for g in gpt2.groups] == [g.name for s in gpt2.segments for g in s.chosen.groups]


def test_explorer_energy_objective_on_a_tiny_model() -> None:
    """(c) With objective energy the explorer ranks alternatives by energy first."""
    model = ModelConfig(name="tiny", n_layers=1, d_model=16, n_heads=2, d_ff=32)
    inst = Instance(
        model=model,
        phase="prefill",
        seq_len=8,
        arch="edge",
        options={"objective": "energy", "time_limit_s": 300, "threads": 2},
    )
    rep = solve_instance(resolve(inst), settings_for(inst))
    for seg in rep.segments:
        best = min((a.energy_pj, a.latency_cycles) for a in seg.alternatives)
        assert (seg.chosen.energy_pj, seg.chosen.latency_cycles) == best, seg.name
        for alt in seg.alternatives:
            for g in alt.groups:
                assert g.solve.status is SolveStatus.OPTIMAL
                a = g.agreement(Objective.ENERGY)
                assert a is not None and a <= REL, (g.name, a)


def test_fused_attention_keeps_scores_off_dram(gpt2: SolveReport) -> None:
    """(d) Unfused, S and P each go to DRAM and back: at least 4·|S| words (qk writes S, softmax
    reads S and writes P, av reads P, each whole at least once). Fused, neither appears at DRAM,
    so the fused DRAM bytes are exactly the Q, K, V, O traffic, and with heads as the shared loop
    that is compulsory: fused <= unfused - 4·|S|·word_bytes."""
    seg = next(s for s in gpt2.segments if s.name == "attention")
    unfused = next(a for a in seg.alternatives if a.label == "unfused")
    wb = gpt2.resolved.arch.word_bytes
    qk = next(op for op in gpt2.resolved.operators if op.name == "qk")
    size_s = qk.size("S")

    def dram_words(metrics: list[GroupMetrics], names: set[str]) -> int:
        return sum(
            ts.reads + ts.writes
            for gm in metrics
            for m in gm.members
            for ts in m.tensors
            if ts.level == "DRAM" and ts.tensor in names
        )

    un = [g.metrics for g in unfused.groups]
    assert dram_words(un, {"S", "P"}) >= 4 * size_s
    for label in ("flat", "online"):
        fused = next(a for a in seg.alternatives if a.label == label).groups[0].metrics
        assert dram_words([fused], {"S", "P"}) == 0
        qkvo = dram_words([fused], {"Q", "K", "V", "O"})
        assert fused.dram_bytes == qkvo * wb
        compulsory = 2 * qk.size("Q") + 2 * qk.size("K")  # |Q| + |K| + |V| + |O|
        assert qkvo >= compulsory
        un_bytes = sum(g.dram_bytes for g in un)
        assert fused.dram_bytes <= un_bytes - 4 * size_s * wb, (label, fused.dram_bytes, un_bytes)


# ---------------------------------------------------------------------------------------------
# Hand-written tiny attention (b = h = 1, m = 4, n = 4, d = 2)


def tiny_arch(capacity_bytes: int = 1 << 16) -> Architecture:
    """GlobalBuffer + DRAM, a 1x1 array (no spatial loops), 2 vector lanes."""
    return Architecture(
        name="tiny",
        clock_ghz=1,
        word_bytes=2,
        mac_energy_pj=1,
        pe_array=PEArray(rows=ArrayAxis(size=1), cols=ArrayAxis(size=1), below="GlobalBuffer"),
        levels=(
            MemoryLevel(
                name="GlobalBuffer",
                capacity_bytes=capacity_bytes,
                read_bandwidth=8,
                write_bandwidth=8,
                read_energy_pj=6,
                write_energy_pj=6,
            ),
            MemoryLevel(
                name="DRAM",
                read_bandwidth=2,
                write_bandwidth=2,
                read_energy_pj=200,
                write_energy_pj=200,
            ),
        ),
        vector_unit=VectorUnit(lanes=2, energy_per_op_pj=1),
    )


def tiny_attention(scheme: Scheme, m: int = 4, n: int = 4, d: int = 2) -> Group:
    """The block's qk / softmax / av with b = h = 1 (same tensor and dim names)."""
    dims = {"b": 1, "h": 1, "m": m, "n": n, "d": d}
    q, kv, s = ("b", "h", "m", "d"), ("b", "h", "n", "d"), ("b", "h", "m", "n")
    qk = Einsum(
        "qk",
        dims,
        (Tensor("Q", q, Role.INPUT), Tensor("K", kv, Role.INPUT), Tensor("S", s, Role.OUTPUT)),
    )
    sm = Einsum(
        "softmax",
        {k: v for k, v in dims.items() if k != "d"},
        (Tensor("S", s, Role.INPUT), Tensor("P", s, Role.OUTPUT)),
        kind=OpKind.VECTOR,
        ops_per_point=5,
        op="softmax",
    )
    av = Einsum(
        "av",
        dims,
        (Tensor("P", s, Role.INPUT), Tensor("V", kv, Role.INPUT), Tensor("O", q, Role.OUTPUT)),
    )
    return attention(qk, sm, av, scheme)


def nest(
    shared: tuple[Loop, ...],
    gb: tuple[Loop, ...],
    gb_keep: str,
    dram_keep: str,
    dram: tuple[Loop, ...] = (),
) -> Mapping:
    return Mapping(
        levels=(
            LevelMapping(temporal=gb, keep=frozenset(gb_keep)),
            LevelMapping(temporal=dram, keep=frozenset(dram_keep)),
            LevelMapping(temporal=shared),
        )
    )


def flat_mappings(
    shared: tuple[Loop, ...] = (Loop("m", 2),), qk_dram: tuple[Loop, ...] = ()
) -> dict[str, Mapping]:
    """Shared [m 2]; per member the GlobalBuffer iterates its half of the rows."""
    return {
        "qk": nest(shared, (Loop("m", 2), Loop("n", 4), Loop("d", 2)), "QKS", "QK", qk_dram),
        "softmax": nest(shared, (Loop("m", 2), Loop("n", 4)), "SP", ""),
        "av": nest(shared, (Loop("m", 2), Loop("n", 4), Loop("d", 2)), "PVO", "VO"),
    }


def _stat(gm: GroupMetrics, op: str, level: str, tensor: str) -> tuple[int, int] | None:
    member = gm.members[[m.operator for m in gm.members].index(op)]
    for ts in member.tensors:
        if ts.level == level and ts.tensor == tensor:
            return ts.reads, ts.writes
    return None


def test_flat_by_hand() -> None:
    """(e) FLAT, row granularity 2 (shared [m 2]), everything kept in the GlobalBuffer.

    qk, per shared iteration: Q tile 2x2 (m, d), K 4x2 (n, d) — all of K —, S 2x4.
    * Q: the shared m indexes Q: fills 2 -> DRAM reads 2·4 = 8 = |Q|.
    * K: nothing above the GlobalBuffer indexes K; the shared m is K's innermost irrelevant run, so
      the evaluator keeps K in the buffer across the two shared iterations: DRAM reads 8 = |K| (read
      once, although softmax and av run in between; see test_flat_k_reread_with_a_dram_loop for
      a nest that re-reads it, and the report on residency).
    * S and P: no DRAM traffic at all. d is innermost and does not index S, so the latch
      accumulates each S word over d and sends it once: 16 writes (one per S word), no read-backs.
    * Capacity: qk holds Q 4 + K 8 + S 8 = 20 words; softmax holds S 8 (P written in place over
      it, no capacity); av holds P 8 + V 8 + O 4 = 20.
    """
    group = tiny_attention(Scheme.FLAT)
    assert group.shared_dims == {"b", "h", "m"}
    gm = evaluate_group(group, tiny_arch(), flat_mappings())
    assert gm.valid, gm.violations
    assert _stat(gm, "qk", "DRAM", "Q") == (8, 0)
    assert _stat(gm, "qk", "DRAM", "K") == (8, 0)
    assert _stat(gm, "av", "DRAM", "V") == (8, 0)
    assert _stat(gm, "av", "DRAM", "O") == (0, 8)
    for op, t in (("qk", "S"), ("softmax", "S"), ("softmax", "P"), ("av", "P")):
        assert _stat(gm, op, "DRAM", t) is None
    assert _stat(gm, "qk", "GlobalBuffer", "S") == (0, 16)
    assert gm.dram_bytes == (8 + 8 + 8 + 8) * 2
    occupancy = [m.levels[0].occupancy_words for m in gm.members]
    assert occupancy == [20, 8, 20]
    # the group keeps the largest tile of every tensor at once: Q 4 + K 8 + S 8 + V 8 + O 4 = 32
    # words (P is written in place over S) fit in 64 bytes, not in 62
    assert evaluate_group(group, tiny_arch(64), flat_mappings()).valid
    tight = evaluate_group(group, tiny_arch(62), flat_mappings())
    (v,) = tight.violations
    assert (v.rule, v.level, v.found, v.expected) == (
        Rule.GROUP_CAPACITY,
        "GlobalBuffer",
        "32 words",
        "at most 31 words",
    )


def test_flat_k_reread_with_a_dram_loop() -> None:
    """(e) qk with a DRAM loop over d (allowed: d does not index S). K's buffer tile is 4x1 and d
    moves it inside every shared iteration: K fills = m2 (shared, now outside a relevant loop) x d2
    = 4, K read from DRAM twice (16 = 2·|K|). S: the latch's updates are still one per MAC (32) and
    d now sits above the buffer, outside the S loops: F = 2·2·2·4 = 32, R = 16, so 16 read-backs."""
    group = tiny_attention(Scheme.FLAT)
    mp = flat_mappings()
    mp["qk"] = nest((Loop("m", 2),), (Loop("m", 2), Loop("n", 4)), "QKS", "QK", (Loop("d", 2),))
    gm = evaluate_group(group, tiny_arch(), mp)
    assert gm.valid, gm.violations
    assert _stat(gm, "qk", "DRAM", "K") == (16, 0)
    assert _stat(gm, "qk", "GlobalBuffer", "S") == (16, 32)
    assert _stat(gm, "qk", "DRAM", "S") is None


def test_flat_rejects_dram_loops_over_intermediates_and_unshared_dims() -> None:
    """(e) A DRAM loop over n would split S between the buffer and DRAM; a shared loop over d is not
    a shared dim; a member with different shared loops breaks the group."""
    group = tiny_attention(Scheme.FLAT)
    mp = flat_mappings()
    mp["qk"] = nest(
        (Loop("m", 2),), (Loop("m", 2), Loop("n", 2), Loop("d", 2)), "QKS", "QK", (Loop("n", 2),)
    )
    split = [
        v
        for v in evaluate_group(group, tiny_arch(), mp).violations
        if v.rule is Rule.SPLIT_INTERMEDIATE
    ]
    assert [(v.operator, v.level, v.dimension, v.tensor) for v in split] == [
        ("qk", "DRAM", "n", "S")
    ]
    assert str(split[0]).startswith("qk: DRAM: loop over n splits intermediate S")
    mp = flat_mappings()
    mp["softmax"] = nest((Loop("m", 4),), (Loop("n", 4),), "SP", "")
    differ = [
        v
        for v in evaluate_group(group, tiny_arch(), mp).violations
        if v.rule is Rule.SHARED_LOOPS_DIFFER
    ]
    assert [(v.operator, v.group) for v in differ] == [("softmax", group.name)]


def test_online_rescale_by_hand() -> None:
    """(f) Online softmax, shared [m 2, n 2]: key_tiles = 2, |O| = m4·d2 = 8, rows = 4, so the
    rescale work is 2 · (8 + 2·4) = 32 vector ops: 32 pJ more energy and 32/2 = 16 more vector
    cycles than the same nests without it (softmax alone: 16 points x 5 ops / 2 lanes = 40)."""
    group = tiny_attention(Scheme.ONLINE)
    assert group.rescale is not None and group.shared_dims == {"b", "h", "m", "n"}
    shared = (Loop("m", 2), Loop("n", 2))
    mp = {
        "qk": nest(shared, (Loop("m", 2), Loop("n", 2), Loop("d", 2)), "QKS", "QK"),
        "softmax": nest(shared, (Loop("m", 2), Loop("n", 2)), "SP", ""),
        "av": nest(shared, (Loop("m", 2), Loop("d", 2), Loop("n", 2)), "PVO", "VO"),
    }
    gm = evaluate_group(group, tiny_arch(), mp)
    assert gm.valid, gm.violations
    assert gm.extra_vector_ops == 2 * (8 + 2 * 4) == group.rescale.ops(2) == 32
    assert gm.energy_pj == sum(m.energy_pj for m in gm.members) + 32 * 1.0
    vector = sum(m.vector_cycles for m in gm.members) + 32 / 2
    assert vector == 40 + 16
    assert gm.latency_cycles >= vector
    # per member by hand: qk Q (m2·d2) + K (n2·d2) + S (m2·n2) = 12; softmax S 4 (P is written in
    # place over it); av P 4 + V (n2·d2) 4 + O (m2·d2) 4 = 12. O accumulates across key tiles, so
    # the group holds the union Q, K, S, V, O = 20 words at once (40 bytes fit, 38 do not).
    assert [m.levels[0].occupancy_words for m in gm.members] == [4 + 4 + 4, 4, 4 + 4 + 4]
    cap_bytes = 40  # the group's union of largest tiles: 20 words
    assert evaluate_group(group, tiny_arch(cap_bytes), mp).valid
    assert not evaluate_group(group, tiny_arch(cap_bytes - 2), mp).valid


@pytest.mark.parametrize("capacity_bytes", [16, 8])
def test_online_key_tiles_mip_matches_evaluator(capacity_bytes: int) -> None:
    """(f) A buffer too small for a whole score row forces the MIP to tile keys (FLAT is infeasible):
    the rescale epigraph (rescale_key_tiles) then equals key_tiles x (|O| + 2·rows) exactly."""
    group = tiny_attention(Scheme.ONLINE, m=4, n=8, d=2)
    arch = tiny_arch(capacity_bytes)
    ev = _assert_mip_equals_evaluator(group, arch)
    res = solve_group(group, arch, SETTINGS)
    shared = res.mappings["softmax"].levels[-1].temporal
    key_tiles = math.prod(lp.factor for lp in shared if lp.dim == "n")
    assert key_tiles > 1
    assert ev.extra_vector_ops == key_tiles * (8 + 2 * 4)
    if capacity_bytes == 8:
        flat = solve_group(tiny_attention(Scheme.FLAT, m=4, n=8, d=2), arch, SETTINGS)
        assert flat.status is SolveStatus.INFEASIBLE


def test_group_arch_has_the_shared_level() -> None:
    garch = group_arch(tiny_attention(Scheme.FLAT), tiny_arch())
    assert garch.level_names == ("GlobalBuffer", "DRAM", "Shared")
    assert garch.dram_index == 1


def test_tile_reused_across_shared_iterations_is_charged_while_others_run() -> None:
    """Flat, shared [m 2], buffer of exactly 20 words (each member alone needs 20). The evaluator
    reads K from DRAM once (8 words): K stays in the buffer through the second shared iteration, so
    it is there while softmax and av run, and the group check reports the overflow: the union of
    the largest tiles is Q (m2·d2) 4 + K (n4·d2) 8 + S (m2·n4) 8 + V (n4·d2) 8 + O (m2·d2) 4 = 32
    words (P is in place over S)."""
    group = tiny_attention(Scheme.FLAT)
    gm = evaluate_group(group, tiny_arch(40), flat_mappings())
    assert _stat(gm, "qk", "DRAM", "K") == (8, 0)
    (v,) = gm.violations
    assert (v.rule, v.level, v.found, v.expected) == (
        Rule.GROUP_CAPACITY,
        "GlobalBuffer",
        "32 words",
        "at most 20 words",
    )


def test_violation_paths_point_into_a_fused_entry() -> None:
    """A member's violation lands on that member's nest entry (and the field), a shared-loop
    violation on the group's ``shared`` list, a group-wide one on the group."""
    group = tiny_attention(Scheme.FLAT)
    entry = group_entry(group, tiny_arch(), flat_mappings())
    split = Violation(
        Rule.SPLIT_INTERMEDIATE, "x", level="DRAM", field="temporal", operator="qk", group="g"
    )
    differ = Violation(Rule.SHARED_LOOPS_DIFFER, "x", level="Shared", operator="av", group="g")
    whole = Violation(Rule.GROUP_CAPACITY, "x", level="GlobalBuffer", group="g")
    dram_index = [e.level for e in entry.nests["qk"].levels].index("DRAM")
    assert violation_path(entry, "groups[3]", split) == (
        f"groups[3].nests.qk.levels[{dram_index}].temporal"
    )
    assert violation_path(entry, "groups[3]", differ) == "groups[3].shared"
    assert violation_path(entry, "groups[3]", whole) == "groups[3]"
    assert str(split) == "qk: x"
