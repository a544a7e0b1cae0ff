"""Features the README ships that had no test of their own: its hand-computed FFN1 example, padding
(ViT's 197 tokens), double buffering, the streaming fallback and every installed MIP solver.
Expected values are derived here by hand (the comments show the arithmetic), never copied from
the program's output."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from support import agrees

import cosamt.pipeline
from cosamt.arch.spec import Architecture
from cosamt.baselines.exhaustive import exhaustive_search
from cosamt.baselines.streaming import streaming_schedule
from cosamt.evaluate.evaluator import evaluate
from cosamt.fusion.schemes import single
from cosamt.io.instance import load_instance
from cosamt.lattice import padding_candidates
from cosamt.pipeline import resolve, solve_group_result
from cosamt.schedule.file import mapping_from_group, read_schedule
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping
from cosamt.schedule.violations import Rule
from cosamt.solve.names import KNOWN_MIP_SOLVERS, pyomo_solver_name, solver_available
from cosamt.solve.solver import SolveResult, SolveSettings, SolveStatus
from cosamt.types import Objective
from cosamt.workload.einsum import gemm

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = sorted((ROOT / "instances").glob("*.json"))


def _arch(rows: int, cols: int, capacity_bytes: int, *, unrolls_rows: str = "any") -> Architecture:
    """GlobalBuffer + DRAM with bandwidth to spare (so the optimum is compute-bound)."""
    rows_axis = {"size": rows} if unrolls_rows == "any" else {"size": rows, "unrolls": ["output"]}
    return Architecture.model_validate(
        {
            "name": f"t{rows}x{cols}",
            "clock_ghz": 1.0,
            "word_bytes": 2,
            "mac_energy_pj": 1.0,
            "pe_array": {"rows": rows_axis, "cols": {"size": cols}, "below": "GlobalBuffer"},
            "levels": [
                {
                    "name": "GlobalBuffer",
                    "capacity_bytes": capacity_bytes,
                    "read_bandwidth": 4096.0,
                    "write_bandwidth": 4096.0,
                    "read_energy_pj": 2.0,
                    "write_energy_pj": 2.0,
                },
                {
                    "name": "DRAM",
                    "read_bandwidth": 4096.0,
                    "write_bandwidth": 4096.0,
                    "read_energy_pj": 100.0,
                    "write_energy_pj": 100.0,
                },
            ],
            "vector_unit": {"lanes": 4, "energy_per_op_pj": 1.0},
        }
    )


def _settings(**kw: object) -> SolveSettings:
    return SolveSettings(threads=1, time_limit_s=120, **kw)  # type: ignore[arg-type]


# ---- the README's hand-computed example ----------------------------------------------------------


def test_readme_ffn1_example_matches_its_hand_derivation() -> None:
    """examples/gpt2_ffn1_edge.schedule.json on instances/gpt2_edge.json, counted as README.md
    does: loops DRAM [m4, f96], buffer [e24, m256], array e32 x f32; multicast inputs."""
    resolved = resolve(load_instance(ROOT / "instances" / "gpt2_edge.json"), ROOT / "instances")
    arch = resolved.arch
    op = next(o for o in resolved.operators if o.name == "ffn1")
    entry = read_schedule(ROOT / "examples" / "gpt2_ffn1_edge.schedule.json").groups[0]
    met = evaluate(op, arch, mapping_from_group(entry, op, arch, "groups[0]"))
    assert met.valid, met.violations

    m, e, f = 1024, 768, 3072
    pes = 32 * 32
    macs = m * e * f
    steps = 4 * 96 * 24 * 256  # temporal iterations above the MAC
    assert steps == macs // pes
    # DRAM: X fetched 4 times in 256-row tiles (once in all), W once per (m, f) tile, Y written once
    dram_reads = 4 * (256 * e) + 4 * 96 * (e * 32)
    dram_writes = m * f
    # buffer -> array: X 32 distinct rows per step, W once per (m4, f96, e24) step per PE, Y's
    # partial sums read back except on the first of the 24 e tiles; Y to DRAM once
    y_updates = steps * 32
    gb_reads = steps * 32 + 4 * 96 * 24 * pes + (y_updates - y_updates // 24) + m * f
    gb_writes = dram_reads + y_updates
    gb, dram = arch.levels[0], arch.levels[1]
    latency = max(steps, gb_reads * arch.word_bytes / gb.read_bandwidth)
    energy = (
        macs * arch.mac_energy_pj
        + gb_reads * gb.read_energy_pj
        + gb_writes * gb.write_energy_pj
        + dram_reads * dram.read_energy_pj
        + dram_writes * dram.write_energy_pj
    )
    assert met.latency_cycles == latency == 2_506_752  # the README's figure
    assert met.bound_by == "GlobalBuffer"
    assert met.dram_bytes == (dram_reads + dram_writes) * arch.word_bytes == 26_738_688
    assert met.energy_pj == pytest.approx(energy, rel=1e-12)
    assert energy == pytest.approx(1.10455e10, rel=5e-6)  # the README's rounded figure


# ---- padding -------------------------------------------------------------------------------------


def test_vit_tokens_get_a_smooth_padding_candidate() -> None:
    """ViT-B/16 has 197 tokens (196 patches + class token); 197 is prime, 198 = 2·3²·11 and 199 is
    prime, so the first size whose primes are all <= 7 is 200 = 2³·5²."""
    resolved = resolve(load_instance(ROOT / "instances" / "vit_b16_edge.json"), ROOT / "instances")
    assert resolved.operators[0].dims["m"] == 197
    assert resolved.instance.options.padding
    assert padding_candidates(197, count=1) == [197, 200]


def test_padding_197_rows_to_200_fills_the_array() -> None:
    """An 8-row array that unrolls only output dims, 1 column; Y[m,n] += X[m,k]·W[k,n] with m=197,
    n=1, k=4. Unpadded, 197 (prime) cannot be unrolled on 8 rows: 197·4 = 788 cycles. Padded to
    200 = 8·25: 200·4/8 = 100 cycles, the padded work counted as real work."""
    op = gemm("g", 197, 1, 4)
    arch = _arch(8, 1, 1 << 20, unrolls_rows="output")
    padded = solve_group_result(single(op), arch, _settings(padding=True))
    plain = solve_group_result(single(op), arch, _settings(padding=False))
    assert padded.solve.status is SolveStatus.OPTIMAL and plain.solve.status is SolveStatus.OPTIMAL
    assert plain.metrics.latency_cycles == 197 * 4
    assert padded.metrics.latency_cycles == 200 * 4 / 8
    (mapping,) = padded.mappings.values()
    assert mapping.padding == {"m": 200}
    (member,) = padded.metrics.members
    assert (member.macs, member.useful_macs) == (200 * 4, 197 * 4)
    assert agrees(padded.agreement(Objective.LATENCY)) and agrees(
        plain.agreement(Objective.LATENCY)
    )


# ---- double buffering ----------------------------------------------------------------------------


def test_double_buffering_doubles_the_buffer_need_by_hand() -> None:
    """2x2x2 GEMM, the buffer keeps all three whole: X 4 + W 4 + Y 4 = 12 words, 24 when double
    buffered. A 24-byte (12-word) buffer holds them only single-buffered."""
    op = gemm("g", 2, 2, 2)
    mapping = Mapping(
        levels=(
            LevelMapping(
                temporal=(Loop("m", 2), Loop("n", 2), Loop("k", 2)), keep=frozenset("XWY")
            ),
            LevelMapping(keep=frozenset("XWY")),
        )
    )
    arch = _arch(1, 1, 24)
    assert evaluate(op, arch, mapping).valid
    met = evaluate(op, arch, mapping, double_buffering=True)
    assert met.levels[0].occupancy_words == 2 * (4 + 4 + 4)
    (v,) = met.violations
    assert (v.rule, v.level, v.found, v.expected) == (
        Rule.CAPACITY,
        "GlobalBuffer",
        "24 words",
        "at most 12 words",
    )
    assert "(double-buffered)" in str(v)
    assert evaluate(op, _arch(1, 1, 48), mapping, double_buffering=True).valid


def test_double_buffered_solve_is_legal_and_never_faster() -> None:
    """Halving the usable buffer can only remove schedules: the double-buffered optimum is legal
    when evaluated double-buffered, agrees with the evaluator, and is no faster than the single one.
    With a 16-word buffer and 4 PEs, an 8x8x8 GEMM cannot keep whole tiles either way."""
    op = gemm("g", 8, 8, 8)
    arch = _arch(2, 2, 32)
    single_buf = solve_group_result(single(op), arch, _settings())
    double_buf = solve_group_result(single(op), arch, _settings(double_buffering=True))
    assert double_buf.solve.status is SolveStatus.OPTIMAL
    assert double_buf.metrics.valid, double_buf.metrics.violations
    assert agrees(double_buf.agreement(Objective.LATENCY))
    assert double_buf.metrics.latency_cycles >= single_buf.metrics.latency_cycles
    (mapping,) = double_buf.mappings.values()
    db = evaluate(op, arch, mapping, double_buffering=True)
    assert db.levels[0].occupancy_words <= 16  # doubled tiles within 32 bytes


# ---- the streaming fallback ----------------------------------------------------------------------


def test_streaming_fallback_when_the_solver_returns_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A solver that stops with no incumbent leaves an unfused operator with the streaming
    schedule: nothing on chip, every operand straight from DRAM. 4x4x4 GEMM on a 2x2 array: rows
    take m2, cols n2, DRAM loops [m2, n2, k4] = 16 steps. X[m,k]: every step fetches a new word
    (k, innermost, indexes X) for each of the 2 rows (multicast along cols): 16·2 = 32 reads; W
    likewise 32. Y[m,n]: the innermost k4 does not index Y, so each PE's latch accumulates over it
    and Y is written once per (m2, n2) step per PE, 4·4 = 16 words, never read back."""
    op = gemm("g", 4, 4, 4)
    arch = _arch(2, 2, 1 << 10)

    def no_solution(*_args: object, **_kw: object) -> SolveResult:
        return SolveResult(SolveStatus.NO_SOLUTION, None, None, 0.0)

    monkeypatch.setattr(cosamt.pipeline, "solve_group", no_solution)
    res = solve_group_result(single(op), arch, _settings())
    assert res.source == "streaming fallback"
    assert res.agreement(Objective.LATENCY) is None
    assert res.metrics.valid, res.metrics.violations
    (mapping,) = res.mappings.values()
    assert not mapping.levels[0].keep
    dram = {
        t.tensor: (t.reads, t.writes) for t in res.metrics.members[0].tensors if t.level == "DRAM"
    }
    assert dram == {"X": (32, 0), "W": (32, 0), "Y": (0, 16)}
    assert res.metrics.latency_cycles == 16


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem)
def test_streaming_schedule_is_legal_for_every_shipped_operator(path: Path) -> None:
    resolved = resolve(load_instance(path), path.parent)
    for op in resolved.operators:
        met = evaluate(op, resolved.arch, streaming_schedule(op, resolved.arch))
        assert met.valid, (path.stem, op.name, [str(v) for v in met.violations])
        assert met.macs == op.macs


# ---- every installed Pyomo MIP solver ------------------------------------------------------------


def test_highs_is_driven_through_appsi() -> None:
    assert pyomo_solver_name("highs") == "appsi_highs"
    assert pyomo_solver_name("glpk") == "glpk"


@pytest.mark.parametrize("solver", KNOWN_MIP_SOLVERS)
def test_every_installed_solver_finds_the_proven_optimum(solver: str) -> None:
    """A 4x4x4 GEMM on a 2x2 array with bandwidth to spare: 64 MACs / 4 PEs = 16 cycles, which the
    exhaustive search (no solver) also finds."""
    if not solver_available(solver):
        pytest.skip(f"{solver} is not installed")
    op = gemm("g", 4, 4, 4)
    arch = _arch(2, 2, 1 << 10)
    res = solve_group_result(single(op), arch, _settings(solver=solver))
    assert res.solve.status is SolveStatus.OPTIMAL
    assert res.metrics.latency_cycles == math.prod(op.dims.values()) / 4 == 16
    assert exhaustive_search(op, arch, Objective.LATENCY).metrics.latency_cycles == 16
    assert agrees(res.agreement(Objective.LATENCY))
