"""The exact MIP against exhaustive search over the same mapspace, both scored by the evaluator.

On small operators and small inline architectures the MIP's optimum must equal the exhaustive
optimum for latency and for energy (within NUMERIC_GAP, the slack of the optimality proof), the
MIP's objective must equal the evaluator's figure on the returned mapping (exactly: it is the
certified figure), and that mapping must be legal.
"""

from __future__ import annotations

import functools

import pytest

from cosamt.arch.spec import Architecture
from cosamt.baselines.exhaustive import (
    ExhaustiveResult,
    SearchSpaceTooLarge,
    exhaustive_search,
    exhaustive_search_many,
    space_size,
)
from cosamt.evaluate.evaluator import evaluate
from cosamt.solve.solver import NUMERIC_GAP, SolveSettings, SolveStatus, solve_operator
from cosamt.types import Objective
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor, gemm

REL = NUMERIC_GAP
EXACT = 1e-12
OBJECTIVES = (Objective.LATENCY, Objective.ENERGY)
VECTOR_UNIT = {"lanes": 4, "energy_per_op_pj": 1.0}
DRAM = {
    "name": "DRAM",
    "read_bandwidth": 3.0,
    "write_bandwidth": 1.5,
    "read_energy_pj": 100.0,
    "write_energy_pj": 120.0,
}


def _arch(name: str, pe_array: dict, levels: list[dict]) -> Architecture:
    return Architecture.model_validate(
        {
            "name": name,
            "clock_ghz": 1.0,
            "word_bytes": 2,
            "mac_energy_pj": 1.0,
            "pe_array": pe_array,
            "levels": levels,
            "vector_unit": VECTOR_UNIT,
        }
    )


# (A) GlobalBuffer + DRAM, 2x2 array (rows: any dim, cols: output dims only).
ARCH_A = _arch(
    "A",
    {"rows": {"size": 2}, "cols": {"size": 2, "unrolls": ["output"]}, "below": "GlobalBuffer"},
    [
        {
            "name": "GlobalBuffer",
            "capacity_bytes": 64,
            "read_bandwidth": 4.0,
            "write_bandwidth": 2.0,
            "read_energy_pj": 2.0,
            "write_energy_pj": 2.5,
        },
        DRAM,
    ],
)

# (A42) 4x2 array without multicast, a larger buffer and different bandwidths.
ARCH_A42 = _arch(
    "A42",
    {
        "rows": {"size": 4, "unrolls": ["output"]},
        "cols": {"size": 2},
        "below": "GlobalBuffer",
        "multicast": False,
    },
    [
        {
            "name": "GlobalBuffer",
            "capacity_bytes": 96,
            "read_bandwidth": 6.0,
            "write_bandwidth": 4.0,
            "read_energy_pj": 3.0,
            "write_energy_pj": 3.0,
        },
        {
            "name": "DRAM",
            "read_bandwidth": 4.0,
            "write_bandwidth": 4.0,
            "read_energy_pj": 80.0,
            "write_energy_pj": 80.0,
        },
    ],
)

# (B) private Registers (no bandwidth) + GlobalBuffer + DRAM.
ARCH_B = _arch(
    "B",
    {"rows": {"size": 2}, "cols": {"size": 2, "unrolls": ["output"]}, "below": "GlobalBuffer"},
    [
        {"name": "Registers", "capacity_bytes": 8, "read_energy_pj": 0.2, "write_energy_pj": 0.3},
        {
            "name": "GlobalBuffer",
            "capacity_bytes": 64,
            "read_bandwidth": 4.0,
            "write_bandwidth": 2.0,
            "read_energy_pj": 2.0,
            "write_energy_pj": 2.5,
        },
        DRAM,
    ],
)

# (C) a partitioned GlobalBuffer (operands | outputs); rows unroll reductions, cols outputs.
ARCH_C = _arch(
    "C",
    {
        "rows": {"size": 2, "unrolls": ["reduction"]},
        "cols": {"size": 2, "unrolls": ["output"]},
        "below": "GlobalBuffer",
    },
    [
        {
            "name": "GlobalBuffer",
            "partitions": [
                {"roles": ["input", "weight"], "capacity_bytes": 48},
                {"roles": ["output"], "capacity_bytes": 16},
            ],
            "read_bandwidth": 4.0,
            "write_bandwidth": 2.0,
            "read_energy_pj": 2.0,
            "write_energy_pj": 2.5,
        },
        DRAM,
    ],
)

# (D) 3 levels with restricted holds, no spatial reduction.
ARCH_D = _arch(
    "D",
    {"rows": {"size": 2}, "cols": {"size": 2}, "below": "GlobalBuffer", "spatial_reduction": False},
    [
        {
            "name": "Registers",
            "capacity_bytes": 6,
            "holds": ["weight", "output"],
            "read_energy_pj": 0.2,
            "write_energy_pj": 0.3,
        },
        {
            "name": "GlobalBuffer",
            "capacity_bytes": 48,
            "holds": ["input", "weight"],
            "read_bandwidth": 4.0,
            "write_bandwidth": 2.0,
            "read_energy_pj": 2.0,
            "write_energy_pj": 2.5,
        },
        DRAM,
    ],
)

# (E) Q and K (both inputs) in separate partitions: Q named, K (and X, W) by role.
ARCH_E = _arch(
    "E",
    {"rows": {"size": 2}, "cols": {"size": 2, "unrolls": ["output"]}, "below": "GlobalBuffer"},
    [
        {
            "name": "GlobalBuffer",
            "partitions": [
                {"tensors": ["Q"], "capacity_bytes": 8},
                {"roles": ["input", "weight"], "capacity_bytes": 16},
                {"roles": ["output"], "capacity_bytes": 16},
            ],
            "read_bandwidth": 4.0,
            "write_bandwidth": 2.0,
            "read_energy_pj": 2.0,
            "write_energy_pj": 2.5,
        },
        DRAM,
    ],
)

ARCHS = {a.name: a for a in (ARCH_A, ARCH_A42, ARCH_B, ARCH_C, ARCH_D, ARCH_E)}


def bmm(b: int, m: int, n: int, k: int) -> Einsum:
    """``S[b,m,n] += Q[b,m,k] * K[b,k,n]``: attention scores, a 4-dim batched einsum."""
    return Einsum(
        "bmm",
        {"b": b, "m": m, "n": n, "k": k},
        (
            Tensor("Q", ("b", "m", "k"), Role.INPUT),
            Tensor("K", ("b", "k", "n"), Role.INPUT),
            Tensor("S", ("b", "m", "n"), Role.OUTPUT),
        ),
    )


def softmax(m: int, n: int) -> Einsum:
    return Einsum(
        "softmax",
        {"m": m, "n": n},
        (Tensor("X", ("m", "n"), Role.INPUT), Tensor("Y", ("m", "n"), Role.OUTPUT)),
        kind=OpKind.VECTOR,
        ops_per_point=3,
        op="softmax",
    )


def _op(spec: tuple) -> Einsum:
    kind, *dims = spec
    return {
        "gemm": lambda: gemm("g", *dims),
        "bmm": lambda: bmm(*dims),
        "softmax": lambda: softmax(*dims),
    }[kind]()


# (arch, operator): each exhaustive enumeration takes 0.1-3 s at ~150 us per evaluated mapping.
CASES = [
    ("A", ("gemm", 4, 6, 8)),
    ("A", ("gemm", 6, 9, 4)),
    ("A", ("bmm", 2, 2, 4, 2)),
    ("A42", ("gemm", 4, 6, 8)),
    ("A42", ("gemm", 6, 9, 4)),
    ("B", ("gemm", 2, 3, 4)),
    ("B", ("softmax", 4, 6)),
    ("C", ("gemm", 4, 6, 8)),
    ("C", ("gemm", 12, 4, 6)),
    ("C", ("gemm", 6, 9, 4)),
    ("C", ("bmm", 2, 2, 4, 2)),
    ("D", ("gemm", 4, 3, 4)),
    ("D", ("bmm", 3, 2, 2, 2)),
    ("A", ("gemm", 8, 8, 4)),
    ("B", ("bmm", 3, 2, 2, 2)),
    ("E", ("bmm", 2, 2, 4, 2)),
    ("E", ("bmm", 1, 4, 2, 4)),
]


def _case_id(case: tuple) -> str:
    arch, (kind, *dims) = case
    return f"{arch}-{kind}{'x'.join(map(str, dims))}"


@functools.cache
def _exhaustive(arch: str, spec: tuple) -> dict[Objective, ExhaustiveResult]:
    return exhaustive_search_many(_op(spec), ARCHS[arch], OBJECTIVES)


def _primary(objective: Objective, latency: float, energy: float) -> float:
    return latency if objective is Objective.LATENCY else energy


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(abs(a), abs(b), 1.0)


@pytest.mark.parametrize("objective", OBJECTIVES, ids=lambda o: o.value)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_mip_matches_exhaustive(case: tuple, objective: Objective) -> None:
    arch_name, spec = case
    arch, op = ARCHS[arch_name], _op(spec)
    ex = _exhaustive(arch_name, spec)[objective]
    assert not ex.metrics.violations

    res = solve_operator(
        op, arch, SolveSettings(objective=objective, time_limit_s=300.0, threads=2, padding=False)
    )
    assert res.status is SolveStatus.OPTIMAL, res
    assert res.mapping is not None and res.objective is not None
    got = evaluate(op, arch, res.mapping)
    assert not got.violations, got.violations

    mip_primary = _primary(objective, got.latency_cycles, got.energy_pj)
    ex_primary = _primary(objective, ex.metrics.latency_cycles, ex.metrics.energy_pj)
    # The MIP's objective is the evaluator's figure on its own mapping ...
    assert abs(res.objective - mip_primary) <= EXACT * mip_primary, (res.objective, mip_primary)
    assert res.proven, (res.tiebreak, res.note)
    # ... and the exhaustive optimum over the same mapspace.
    assert _close(mip_primary, ex_primary), (
        f"{objective.value}: MIP {mip_primary} on {res.mapping}\n"
        f"exhaustive {ex_primary} on {ex.mapping}"
    )
    # Lexicographic second stage: the other metric at the primary optimum agrees too.
    other = Objective.ENERGY if objective is Objective.LATENCY else Objective.LATENCY
    assert _close(
        _primary(other, got.latency_cycles, got.energy_pj),
        _primary(other, ex.metrics.latency_cycles, ex.metrics.energy_pj),
    )


# ---- the exhaustive search itself -----------------------------------------------------------


def test_space_size_counts_every_enumerated_mapping() -> None:
    """With unbounded buffers nothing is rejected early: every counted candidate is evaluated."""
    unbounded = ARCH_B.model_copy(
        update={
            "levels": tuple(lv.model_copy(update={"capacity_bytes": None}) for lv in ARCH_B.levels)
        }
    )
    op = gemm("g", 2, 3, 2)
    res = exhaustive_search(op, unbounded, Objective.LATENCY)
    assert res.evaluated == res.space_size == space_size(op, unbounded)


def test_space_too_large_is_refused_before_enumerating() -> None:
    op = gemm("g", 4, 6, 8)
    size = space_size(op, ARCH_A)
    with pytest.raises(SearchSpaceTooLarge, match=f"{size:,}.*limit of 100"):
        exhaustive_search(op, ARCH_A, Objective.LATENCY, limit=100)


def test_exhaustive_is_deterministic_and_legal() -> None:
    op = gemm("g", 6, 9, 4)
    first = exhaustive_search(op, ARCH_C, Objective.ENERGY)
    second = exhaustive_search(op, ARCH_C, Objective.ENERGY)
    assert first.mapping == second.mapping and first.evaluated == second.evaluated
    assert evaluate(op, ARCH_C, first.mapping) == first.metrics
    assert not first.metrics.violations


# ---- the shipped presets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "preset",
    ["edge", "gemmini", pytest.param("simba", marks=pytest.mark.slow)],
)
def test_mip_matches_exhaustive_on_shipped_presets(preset: str) -> None:
    """On the real presets (a small GEMM so the mapspace can be enumerated), the MIP's optimum
    equals the exhaustive optimum for both objectives."""
    from cosamt.arch.presets import load_preset
    from cosamt.baselines.exhaustive import exhaustive_search_many

    arch = load_preset(preset)
    op = gemm("g", 6, 4, 4)
    best = exhaustive_search_many(op, arch, [Objective.LATENCY, Objective.ENERGY])
    for objective, ex in best.items():
        res = solve_operator(
            op, arch, SolveSettings(objective=objective, time_limit_s=120, padding=False)
        )
        assert res.status is SolveStatus.OPTIMAL
        exact = (
            ex.metrics.latency_cycles if objective is Objective.LATENCY else ex.metrics.energy_pj
        )
        assert res.objective == pytest.approx(exact, rel=1e-6)
