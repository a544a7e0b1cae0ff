"""Word widths per role and level (``MemoryLevel.role_bytes``): int8 operands with int32 partial
sums. A word of b bytes takes b / word_bytes words of capacity and costs b / word_bytes words of
energy and bandwidth; DRAM bytes count each word at its width. Checked by hand, against the trace
simulator's literal counts priced by the same rule, and the MIP against exhaustive search."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import make_arch, problems
from tracesim import simulate

from cosamt.arch.spec import Architecture, RoleBytes
from cosamt.baselines.exhaustive import exhaustive_search_many
from cosamt.bounds import lower_bound
from cosamt.evaluate.evaluator import evaluate
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping
from cosamt.schedule.violations import Rule
from cosamt.solve.solver import NUMERIC_GAP, SolveSettings, solve_operator
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum, Role, gemm

INT8_INT32 = RoleBytes(output=4)  # at the buffer: 4-byte partial sums beside 1-byte operands


def _widen(arch: Architecture, level_roles: dict[str, RoleBytes], word_bytes: int) -> Architecture:
    levels = tuple(
        lv.model_copy(update={"role_bytes": level_roles.get(lv.name, RoleBytes())})
        for lv in arch.levels
    )
    return Architecture.model_validate(
        {
            **arch.model_dump(),
            "word_bytes": word_bytes,
            "levels": [lv.model_dump() for lv in levels],
        }
    )


def _hand_arch(gb_bytes: int) -> Architecture:
    """Two levels, word_bytes 1; the buffer keeps outputs as 4-byte partial sums."""
    return _widen(make_arch(2, 1, 1, True, gb_bytes), {"GlobalBuffer": INT8_INT32}, 1)


# g[m, n] += X[m, k] W[k, n], 2 x 2 x 4: the buffer keeps everything, DRAM loops [m 2, n 2], the
# buffer's loop [k 4]; tiles at the buffer: X 1x4, W 4x1, Y 1x1.
MAPPING = Mapping(
    levels=(
        LevelMapping(temporal=(Loop("k", 4),), keep=frozenset("XWY")),
        LevelMapping(temporal=(Loop("m", 2), Loop("n", 2)), keep=frozenset("XWY")),
    )
)


def test_capacity_counts_a_wide_word_as_several() -> None:
    """Tiles 4 + 4 + 1 words; Y's word is 4 bytes: 4 + 4 + 4 = 12 one-byte words."""
    op = gemm("g", 2, 2, 4)
    assert evaluate(op, _hand_arch(12), MAPPING).valid
    met = evaluate(op, _hand_arch(11), MAPPING)
    (v,) = met.violations
    assert (v.rule, v.found, v.expected) == (Rule.CAPACITY, "12 words", "at most 11 words")


def test_energy_bandwidth_and_dram_bytes_by_hand() -> None:
    """Loops above the latch: m 2, n 2 (DRAM), k 4 (buffer). X and W are read by the latch at
    every one of the 16 iterations; Y's latch tile stays over k (the innermost loops not indexing
    it), so 4 words go up. Above the buffer: X's 4-word tile is refilled per m (n does not index
    it): 2 x 4 = 8 words; W's per (m, n): 16; Y's 1-word tile goes to DRAM 4 times. At the buffer
    Y's words are 4 bytes, everything else 1 byte."""
    op = gemm("g", 2, 2, 4)
    arch = _hand_arch(1 << 10)
    met = evaluate(op, arch, MAPPING)
    assert met.valid
    gb = {t.tensor: (t.reads, t.writes) for t in met.tensors if t.level == "GlobalBuffer"}
    dram = {t.tensor: (t.reads, t.writes) for t in met.tensors if t.level == "DRAM"}
    assert gb == {"X": (16, 8), "W": (16, 16), "Y": (4, 4)}
    assert dram == {"X": (8, 0), "W": (16, 0), "Y": (0, 4)}
    gb_words = (16 + 16 + 4 * 4) + (8 + 16 + 4 * 4)  # reads + writes, Y as 4 one-byte words
    level = {lv.level: lv for lv in met.levels}
    assert level["GlobalBuffer"].energy_pj == gb_words * 6.0
    assert level["GlobalBuffer"].bytes_moved == gb_words == 88
    # DRAM: 24 one-byte words read and 4 written, at 8 bytes/cycle each way
    assert met.dram_bytes == 28
    assert level["DRAM"].read_cycles == 24 / 8 and level["DRAM"].write_cycles == 4 / 8
    assert level["DRAM"].energy_pj == 28 * 200.0


def _priced(op: Einsum, arch: Architecture, m: Mapping) -> tuple[float, int]:
    """Access energy and DRAM bytes from the trace simulator's literal counts, each word priced
    at its role's width at the level (the rule written independently of the evaluator)."""
    sim = simulate(op, arch, m)
    role = {t.name: t.role for t in op.tensors}
    energy, dram_bytes = 0.0, 0
    for (level, tensor), (r, w) in sim.counts.items():
        lv = arch.levels[level]
        nbytes = getattr(lv.role_bytes, role[tensor].value) or arch.word_bytes
        energy += (r * lv.read_energy_pj + w * lv.write_energy_pj) * nbytes / arch.word_bytes
        if level == arch.dram_index:
            dram_bytes += (r + w) * nbytes
    return energy, dram_bytes


@st.composite
def widened(draw: Any) -> tuple[Einsum, Architecture, Mapping]:
    op, arch, m = draw(problems(3))
    width = st.sampled_from([None, 1, 2, 4])
    roles = {
        lv.name: RoleBytes(input=draw(width), weight=draw(width), output=draw(width))
        for lv in arch.levels
    }
    return op, _widen(arch, roles, draw(st.sampled_from([1, 2]))), m


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(widened())
def test_evaluator_prices_the_trace_by_width(case: tuple[Einsum, Architecture, Mapping]) -> None:
    op, arch, m = case
    met = evaluate(op, arch, m)
    assert met.valid, met.violations
    energy, dram_bytes = _priced(op, arch, m)
    access = met.energy_pj - met.mac_energy_pj - met.vector_energy_pj
    assert access == pytest.approx(energy, rel=1e-12)
    assert met.dram_bytes == dram_bytes


def _exhaustive_arch() -> Architecture:
    """A bounded 2x2-PE machine, word_bytes 1: 64 bytes of buffer with 4-byte partial sums and
    2-byte weights, so the widths decide which tiles fit."""
    base = make_arch(2, 2, 2, True, 64)
    return _widen(
        base, {"GlobalBuffer": RoleBytes(weight=2, output=4), "DRAM": RoleBytes(output=2)}, 1
    )


@pytest.mark.parametrize("objective", [Objective.LATENCY, Objective.ENERGY], ids=str)
@pytest.mark.parametrize("dims", [(4, 6, 8), (6, 4, 6)], ids=str)
def test_mip_optimum_equals_exhaustive_with_mixed_widths(
    dims: tuple[int, int, int], objective: Objective
) -> None:
    arch = _exhaustive_arch()
    op = gemm("g", *dims)
    ex = exhaustive_search_many(op, arch, [objective])[objective].metrics
    settings_ = SolveSettings(time_limit_s=120, threads=1, padding=False, objective=objective)
    res = solve_operator(op, arch, settings_)
    assert res.proven, (res.status, res.note)
    got = evaluate(op, arch, res.mapping)
    assert got.valid
    pick = (
        (lambda m: m.latency_cycles) if objective is Objective.LATENCY else (lambda m: m.energy_pj)
    )
    mine, best = pick(got), pick(ex)
    assert abs(mine - best) <= NUMERIC_GAP * best, (dims, objective, got, ex)
    # and the widths matter here: the same machine at uniform width has another optimum or fits
    # other tiles (a wrong program that ignored role_bytes would pass only by accident)
    uniform = _widen(make_arch(2, 2, 2, True, 64), {}, 1)
    plain = exhaustive_search_many(op, uniform, [objective])[objective].metrics
    assert (plain.latency_cycles, plain.energy_pj) != (ex.latency_cycles, ex.energy_pj)


def test_lower_bounds_stay_below_the_optimum_with_narrow_words() -> None:
    """word_bytes 4 with 1-byte operands at DRAM: DRAM traffic and energy bounds must shrink to the
    narrow words, or they would exceed a real schedule's figures."""
    base = make_arch(2, 2, 2, True, 256)
    arch = _widen(
        base,
        {"DRAM": RoleBytes(input=1, weight=1), "GlobalBuffer": RoleBytes(input=1, weight=1)},
        4,
    )
    op = gemm("g", 4, 4, 8)
    best = exhaustive_search_many(op, arch, [Objective.ENERGY])[Objective.ENERGY].metrics
    fastest = exhaustive_search_many(op, arch, [Objective.LATENCY])[Objective.LATENCY].metrics
    lb = lower_bound(op, arch)
    assert lb.energy_pj <= best.energy_pj
    assert lb.latency_cycles <= fastest.latency_cycles
    assert math.isfinite(lb.energy_pj)


def test_presets_and_old_files_keep_their_meaning() -> None:
    """No role_bytes: every width is word_bytes, and the schema says so."""
    arch = make_arch(2, 2, 2, True, 64)
    assert not arch.mixed_widths
    assert all(arch.width(i, r) == 1.0 for i in range(len(arch.levels)) for r in Role)
    with pytest.raises(ValueError, match="psum"):
        RoleBytes.model_validate({"psum": 4})
