"""The exact partition (cosamt/fusion/explore.py) against brute force, and ``fusion: explore``
end to end on a small block: never worse than the menu, every group accepted by the evaluator."""

from __future__ import annotations

import io
import itertools
import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from support import ffn_chain_4, make_arch

from cosamt.api import evaluate_schedule
from cosamt.fusion.chain import block_chains, candidates
from cosamt.fusion.explore import Beyond, Cost, Outcome, settle, shortest_partition
from cosamt.fusion.schemes import Scheme
from cosamt.io.instance import parse_instance
from cosamt.pipeline import (
    Deadline,
    GroupResult,
    SolveReport,
    _Solver,
    group_cost,
    pareto_neighbours,
    resolve,
    settings_for,
    solve_group_result,
    solve_instance,
)
from cosamt.report.solve_table import print_explain
from cosamt.report.totals import bound_totals, model_totals
from cosamt.schedule.file import ScheduleFile, group_entry, write_schedule
from cosamt.solve.solver import SolveSettings
from cosamt.types import FusionChoice


def brute_force(n: int, costs: dict[tuple[int, int], Cost]) -> Cost | None:
    """Every composition of n into runs, summed."""
    best: Cost | None = None
    for cuts in itertools.product((False, True), repeat=n - 1):
        bounds = [0] + [i + 1 for i, c in enumerate(cuts) if c] + [n]
        runs = [(a, b - 1) for a, b in itertools.pairwise(bounds)]
        if all(r in costs for r in runs):
            total = (sum(costs[r][0] for r in runs), sum(costs[r][1] for r in runs))
            best = total if best is None or total < best else best
    return best


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("with_known", [False, True])
def test_shortest_partition_is_brute_force(seed: int, with_known: bool) -> None:
    """With ``known``, a random half of the groups (and every group solved) is known before it is
    solved: partitions of known groups tighten the incumbent, and the answer must not move."""
    rng = random.Random(seed)
    n = rng.randint(1, 7)
    costs = {
        (lo, hi): (float(rng.randint(1, 20)), float(rng.randint(0, 5)))
        for lo in range(n)
        for hi in range(lo, n)
        if lo == hi or rng.random() < 0.5
    }
    # bounds: a true lower bound (cost minus a random slack), so pruning must not change the answer
    slack = {k: rng.uniform(0, v[0]) for k, v in costs.items()}
    incumbent = sum(costs[(i, i)][0] for i in range(n))  # the unfused partition
    seen = {k for k in costs if rng.random() < 0.5}

    def solve(edges: Sequence[tuple[tuple[int, int], float | None]]) -> list[Outcome]:
        """A solver that stops at the budget (when over it) half the time."""
        out: list[Outcome] = []
        for g, b in edges:
            if b is not None and costs[g][0] > b and rng.random() < 0.5:
                out.append(Beyond(b))
            else:
                seen.add(g)
                out.append(costs[g])
        return out

    part = shortest_partition(
        n,
        lambda lo, hi: [(lo, hi)] if (lo, hi) in costs else [],
        lambda g: costs[g][0] - slack[g],
        solve,
        incumbent=incumbent,
        known=(lambda g: costs[g] if g in seen else None) if with_known else None,
    )
    assert part.cost == brute_force(n, costs)
    assert part.path[0].lo == 0 and part.path[-1].hi == n - 1
    assert all(a.hi + 1 == b.lo for a, b in itertools.pairwise(part.path))
    for s in part.steps:
        if s.status == "pruned":  # pruned only when its bound proves it cannot beat the incumbent
            assert s.bound > 0


@pytest.mark.parametrize("seed", range(40))
def test_deferred_tiebreaks_settle_to_brute_force(seed: int) -> None:
    """Edges first costed with their objective and a provisional tie-break (at or above the
    exact one, as a first schedule at the optimum is); ``settle`` asks for the exact costs of the
    edges on a partition of the least objective only, and the result is the brute-force optimum
    of the exact costs. Objectives are drawn from few values, so ties are common."""
    rng = random.Random(seed)
    n = rng.randint(1, 6)
    costs = {
        (lo, hi): (float(rng.randint(2, 6)), float(rng.randint(0, 9)))
        for lo in range(n)
        for hi in range(lo, n)
        if lo == hi or rng.random() < 0.6
    }
    first = {k: (v[0], v[1] + rng.choice((0, 0, 3, 7))) for k, v in costs.items()}
    incumbent = sum(costs[(i, i)][0] for i in range(n)) + rng.choice((0.0, 1.0))
    part = shortest_partition(
        n,
        lambda lo, hi: [(lo, hi)] if (lo, hi) in costs else [],
        lambda g: 0.0,
        lambda edges: [first[g] for g, _b in edges],
        incumbent=incumbent,
    )
    asked: list[tuple[int, int]] = []

    def exact(groups: Sequence[tuple[int, int]]) -> list[Cost | None]:
        asked.extend(groups)
        return [costs[g] for g in groups]

    settled = settle({"v": part}, incumbent, exact)["v"]
    best = brute_force(n, costs)
    assert best is not None
    if best[0] <= incumbent:
        assert settled.cost == best
    least = best[0]
    for g in asked:  # each asked for lies on a partition of the least objective
        assert g in costs and costs[g][0] <= least


def test_the_rest_of_the_chain_prunes_too() -> None:
    """Exact bounds, operators 3 + 3 apart against 5 fused (the incumbent): operator 0 alone
    reaches node 1 for 3 < 5, but no way on from node 1 costs under 3, so it is pruned unsolved."""
    costs = {(0, 0): (3.0, 0.0), (1, 1): (3.0, 0.0), (0, 1): (5.0, 0.0)}
    solved: list[tuple[int, int]] = []

    def solve(edges: Sequence[tuple[tuple[int, int], float | None]]) -> list[Outcome]:
        solved.extend(g for g, _budget in edges)
        return [costs[g] for g, _budget in edges]

    part = shortest_partition(
        2, lambda lo, hi: [(lo, hi)], lambda g: costs[g][0], solve, incumbent=5.0
    )
    assert part.cost == (5.0, 0.0)
    assert solved == [(0, 1)]
    assert [(s.group, s.status) for s in part.steps] == [((0, 0), "pruned"), ((0, 1), "solved")]


def test_each_edge_is_offered_what_is_left_of_the_incumbent() -> None:
    """Operators 2 + 2 apart (the incumbent, 4) or 6 fused, zero bounds: into node 1, operator 0
    may cost up to 4 (nothing reached yet, nothing bounded after); into node 2, operator 1 after
    operator 0's 2 up to 2, the pair up to 4. The pair, proven over its budget, is pruned with the
    budget as its bound."""
    costs = {(0, 0): (2.0, 0.0), (1, 1): (2.0, 0.0), (0, 1): (6.0, 0.0)}
    offered: dict[tuple[int, int], float | None] = {}

    def solve(edges: Sequence[tuple[tuple[int, int], float | None]]) -> list[Outcome]:
        offered.update(edges)
        return [Beyond(b) if b is not None and costs[g][0] > b else costs[g] for g, b in edges]

    part = shortest_partition(2, lambda lo, hi: [(lo, hi)], lambda g: 0.0, solve, incumbent=4.0)
    assert offered == pytest.approx({(0, 0): 4.0, (1, 1): 2.0, (0, 1): 4.0}, rel=1e-8)
    assert part.cost == (4.0, 0.0)
    pair = next(s for s in part.steps if s.group == (0, 1))
    assert pair.status == "over budget" and pair.bound == pytest.approx(4.0, rel=1e-8)


def test_a_known_finish_tightens_the_incumbent() -> None:
    """Menu 10; operators 1 + 1 + 1 apart, the last known (solved before, e.g. by the menu): once
    node 2 is reached for 2, 2 + 1 = 3 is a complete partition, so the pair 1..2 (bound 2.5, cost
    4) is pruned by its bound (0's 1 + 2.5 > 3) where the menu's 10 alone would have solved it."""
    costs = {(0, 0): (1.0, 0.0), (1, 1): (1.0, 0.0), (2, 2): (1.0, 0.0), (1, 2): (4.0, 0.0)}
    bounds = {(0, 0): 0.5, (1, 1): 0.5, (2, 2): 0.5, (1, 2): 2.5}
    solved: list[tuple[int, int]] = []

    def solve(edges: Sequence[tuple[tuple[int, int], float | None]]) -> list[Outcome]:
        solved.extend(g for g, _budget in edges)
        return [costs[g] for g, _budget in edges]

    def runs(lo: int, hi: int) -> list[tuple[int, int]]:
        return [(lo, hi)] if (lo, hi) in costs else []

    for known, pair in ((None, "solved"), ({(2, 2)}, "pruned")):
        solved.clear()
        part = shortest_partition(
            3,
            runs,
            bounds.__getitem__,
            solve,
            incumbent=10.0,
            known=None if known is None else (lambda g, k=known: costs[g] if g in k else None),
        )
        assert part.cost == (3.0, 0.0)
        assert next(s.status for s in part.steps if s.group == (1, 2)) == pair


def test_max_group_bounds_the_runs() -> None:
    costs = {(0, 0): (5.0, 0.0), (1, 1): (5.0, 0.0), (0, 1): (1.0, 0.0)}
    part = shortest_partition(
        2,
        lambda lo, hi: [(lo, hi)],
        lambda g: 0.0,
        lambda edges: [costs[g] for g, _b in edges],
        max_group=1,
    )
    assert part.cost == (10.0, 0.0)
    assert part.alternative(1) is None  # no group of two was considered
    part = shortest_partition(
        2, lambda lo, hi: [(lo, hi)], lambda g: 0.0, lambda edges: [costs[g] for g, _b in edges]
    )
    assert part.cost == (1.0, 0.0)
    alt = part.alternative(1)  # the cheapest partition not cutting between 0 and 1: the pair
    assert alt is not None and alt[0] == (1.0, 0.0) and (alt[1].lo, alt[1].hi) == (0, 1)


@pytest.fixture(scope="module")
def small_gpt2() -> tuple[object, SolveReport, SolveReport]:
    """GPT-2 (pre-norm) at 32 tokens on edge: the menu's solve and explore's."""
    inst = parse_instance({"model": "gpt2", "seq_len": 32, "arch": "edge"})
    resolved = resolve(inst)
    settings = settings_for(inst)
    menu = solve_instance(resolved, settings, fusion=FusionChoice.ALL)
    explore = solve_instance(resolved, settings, fusion=FusionChoice.EXPLORE)
    return resolved, menu, explore


def test_explore_never_worse_than_the_menu(
    small_gpt2: tuple[object, SolveReport, SolveReport],
) -> None:
    """Explore's block latency <= the menu's, every chosen group valid in the evaluator and in
    agreement with its MIP, every operator (or its split view) once, the status exact."""
    _resolved, menu, explore = small_gpt2
    objective = explore.settings.objective
    lat = [sum(g.metrics.latency_cycles for g in r.groups) for r in (menu, explore)]
    assert lat[1] <= lat[0] * (1 + 1e-9)
    covered = [op for g in explore.groups for op in g.group.source_ops]
    assert len(covered) == len(set(covered))
    assert not ({"qkv_proj", "q_proj"} <= set(covered) or {"qkv_proj", "kv_proj"} <= set(covered))
    for g in explore.groups:
        assert g.metrics.valid, g.metrics.violations
        a = g.agreement(objective)
        assert a is not None and a <= 1e-6, g.name
    (e,) = explore.explorations
    assert e.exact
    assert e.cost is not None and e.menu_cost is not None and e.cost <= e.menu_cost
    # the report's groups are the path's: their evaluated latencies sum to the path's cost
    assert lat[1] == pytest.approx(e.cost[0], rel=1e-12)
    # and their energies to its tie-break: the path was chosen on the full solves' figures (the
    # first pass's provisional tie-breaks were settled), and every chosen group is proven below
    energy = sum(g.metrics.energy_pj for g in explore.groups)
    assert energy == pytest.approx(e.cost[1], rel=1e-12)
    # the bound covers every partition considered: no more than the menu's, nor than the result
    bounds = [bound_totals(r, model_totals(r)) for r in (menu, explore)]
    assert bounds[1].latency_cycles <= bounds[0].latency_cycles
    assert bounds[1].energy_pj <= bounds[0].energy_pj
    assert bounds[1].latency_cycles <= lat[1] * menu.resolved.model.n_layers
    assert model_totals(explore).all_optimal


def test_explored_schedule_round_trip(
    small_gpt2: tuple[object, SolveReport, SolveReport], tmp_path: Path
) -> None:
    """The explored schedule, written and read back (chain groups, split-view operators), is
    evaluated to the same figures."""
    resolved, _menu, explore = small_gpt2
    path = tmp_path / "schedule.json"
    write_schedule(path, explore.schedule())
    groups = evaluate_schedule(resolved, path)  # type: ignore[arg-type]
    assert [g.group.name for g in groups] == [g.name for g in explore.groups]
    for back, g in zip(groups, explore.groups, strict=True):
        assert back.metrics.latency_cycles == g.metrics.latency_cycles
        assert back.metrics.energy_pj == pytest.approx(g.metrics.energy_pj, rel=1e-12)


def test_explain_shows_the_partition(small_gpt2: tuple[object, SolveReport, SolveReport]) -> None:
    """``--explain``: the chosen view, each group of the partition, each cut with the cheapest
    partition not cutting there (or that no candidate crosses), exactness."""
    _resolved, _menu, explore = small_gpt2
    buf = io.StringIO()
    print_explain(explore, Console(file=buf, width=200, force_terminal=False, color_system=None))
    text = buf.getvalue()
    (e,) = explore.explorations
    assert f"chosen {e.chosen}" in text
    assert "partition choice exact" in text
    for g in explore.groups:
        assert g.name in text
    chosen = e.partitions[e.chosen] if e.chosen != "menu" else None
    if chosen is not None:
        assert text.count("| cut ") >= len(chosen.path) - 1


@pytest.mark.parametrize("slack", [0.0, 0.5])
def test_pareto_neighbour_within_the_slack(
    small_gpt2: tuple[object, SolveReport, SolveReport], slack: float
) -> None:
    """Per chosen group: a valid schedule with latency <= (1 + slack) x the chosen one's and
    energy <= the chosen one's; at slack 0 it is the lexicographic optimum again (same energy)."""
    _resolved, menu, _explore = small_gpt2
    report = pareto_neighbours(menu, slack)
    by = {g.name: g for g in menu.groups}
    assert [n.group for n in report.neighbours] == [
        g.name for g in menu.groups if g.same_as is None
    ]
    for n in report.neighbours:
        chosen = by[n.group].metrics
        assert n.valid and n.metrics is not None, n.note
        assert n.metrics.latency_cycles <= chosen.latency_cycles * (1 + slack) * (1 + 1e-9)
        assert n.metrics.energy_pj <= chosen.energy_pj * (1 + 1e-9)
        if slack == 0.0:
            assert n.metrics.energy_pj == pytest.approx(chosen.energy_pj, rel=1e-6)


def test_rule_group_with_a_menu_label_reads_back(
    small_gpt2: tuple[object, SolveReport, SolveReport], tmp_path: Path
) -> None:
    """The rule's FLAT group names its tensors differently from the menu's; a schedule written from
    it reads back to the rule's group (the one its tensor names fit), with the same figures."""
    resolved, _menu, _explore = small_gpt2
    ops = resolved.operators  # type: ignore[attr-defined]
    arch = resolved.arch  # type: ignore[attr-defined]
    chain = block_chains(ops)[0]
    i = [o.name for o in chain.ops].index("qk")
    flat = candidates(chain, i, i + 2)[0]
    assert flat.scheme is Scheme.FLAT
    result = solve_group_result(flat, arch, SolveSettings(time_limit_s=120, threads=2))
    path = tmp_path / "flat.json"
    write_schedule(
        path, ScheduleFile(arch=arch.name, groups=(group_entry(flat, arch, result.mappings),))
    )
    (back,) = evaluate_schedule(resolved, path)  # type: ignore[arg-type]
    assert back.group.on_chip == flat.on_chip
    assert back.metrics.latency_cycles == result.metrics.latency_cycles


@pytest.mark.parametrize("expired", [False, True], ids=["in time", "out of time"])
def test_completing_a_provisional_candidate(expired: bool) -> None:
    """The explorer's first solve of a candidate skips its tie-break; completing it runs stage 2
    alone at the proven primary. In time, the result is the full lexicographic solve's figures;
    once the whole-solve time limit has passed, the first schedule stays, its note says why
    and it claims no proven tie-break."""
    group = ffn_chain_4()
    arch = make_arch(3, 2, 2, True, gb_bytes=64)
    settings = SolveSettings(time_limit_s=60, threads=1)
    full = solve_group_result(group, arch, settings)
    clock = Deadline.after(0.0 if expired else None)
    solver = _Solver(arch, settings, solve_group_result, clock, {})
    key = solver._key(group)
    first = solve_group_result(group, arch, replace(settings, tiebreak=False))
    solver.done[key] = first
    solver.provisional.add(key)
    [cost] = solver.exact([group])
    kept = solver.done[key]
    assert isinstance(kept, GroupResult)
    if expired:
        assert key in solver.provisional and not kept.solve.proven
        assert kept.solve.note == "tie-break not solved: the whole-solve time limit was reached"
        assert cost == group_cost(first, settings.objective)
    else:
        assert key not in solver.provisional and kept.solve.proven
        assert kept.solve.solves == 1  # stage 2 alone
        assert (kept.metrics.latency_cycles, kept.metrics.energy_pj) == pytest.approx(
            (full.metrics.latency_cycles, full.metrics.energy_pj), rel=1e-9
        )
        assert cost == group_cost(kept, settings.objective)
