"""The exact partition of a chain into groups: a shortest path over its cut points.

Cut points 0..n of a chain of n operators are the nodes; a candidate group covering operators
lo..hi is an edge lo -> hi+1 whose cost is its solved objective (a pair: the objective, then the
tie-break, compared lexicographically; pairs add). The cheapest path from 0 to n is the cheapest
partition. Nodes are visited in order, so when the edges into node j are considered every node
before j has its final cost; an edge is skipped (pruned) only when the cost of reaching its start,
plus a proven lower bound of its group, plus the least summed bound of any way to finish the
chain after it, already exceeds a known complete partition (the incumbent): no partition through
it can be better. Every other edge is offered to the solver with its budget (the most its group
may cost for the edge to be on a partition no worse than the incumbent); a solver that proves the
group costs more than that prunes the edge too (``Beyond``), without solving it to the end. The
result is exact when every edge that was not pruned was solved to proven optimality (or proven to
have no schedule).

Solver-free: the caller passes the candidate groups, their bounds and a solve function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

G = TypeVar("G")
Cost = tuple[float, float]
ZERO: Cost = (0.0, 0.0)
SLACK = 1e-9  # relative: a bound equal to the incumbent within rounding is not pruned


def add(a: Cost, b: Cost) -> Cost:
    return (a[0] + b[0], a[1] + b[1])


@dataclass(frozen=True)
class Beyond:
    """The solver's proof that the group costs more than ``budget`` in the objective (the edge's
    budget): no partition through the edge beats the incumbent."""

    budget: float


Outcome = Cost | Beyond | None  # None: no schedule


@dataclass(frozen=True)
class Step(Generic[G]):
    lo: int
    hi: int  # inclusive
    group: G
    cost: Cost | None  # None: pruned or no schedule
    status: str  # "solved", "pruned" (by its bound), "over budget" (by the solver), "no schedule"
    bound: float = 0.0  # a proven lower bound of the group's objective


@dataclass(frozen=True)
class Partition(Generic[G]):
    n: int
    steps: tuple[Step[G], ...]  # every edge considered
    path: tuple[Step[G], ...]  # the cheapest partition (empty: none reaches the end)
    cost: Cost | None

    def alternative(self, cut: int) -> tuple[Cost, Step[G]] | None:
        """The cheapest solved partition that does not cut at ``cut`` and the group crossing it."""
        fwd = _forward(self.n, self.steps)
        bwd = _backward(self.n, self.steps)
        best: tuple[Cost, Step[G]] | None = None
        for s in self.steps:
            if s.cost is None or not (s.lo < cut <= s.hi):
                continue
            a, b = fwd[s.lo], bwd[s.hi + 1]
            if a is None or b is None:
                continue
            total = add(add(a, s.cost), b)
            if best is None or total < best[0]:
                best = (total, s)
        return best


def _forward(n: int, steps: Sequence[Step[G]]) -> list[Cost | None]:
    fwd: list[Cost | None] = [ZERO] + [None] * n
    for s in sorted((s for s in steps if s.cost is not None), key=lambda s: s.hi):
        start = fwd[s.lo]
        if start is not None and s.cost is not None:
            total = add(start, s.cost)
            end = fwd[s.hi + 1]
            if end is None or total < end:
                fwd[s.hi + 1] = total
    return fwd


def _backward(n: int, steps: Sequence[Step[G]]) -> list[Cost | None]:
    bwd: list[Cost | None] = [None] * n + [ZERO]
    for s in sorted((s for s in steps if s.cost is not None), key=lambda s: -s.lo):
        end = bwd[s.hi + 1]
        if end is not None and s.cost is not None:
            total = add(s.cost, end)
            start = bwd[s.lo]
            if start is None or total < start:
                bwd[s.lo] = total
    return bwd


def shortest_partition(
    n: int,
    runs: Callable[[int, int], Sequence[G]],
    bound: Callable[[G], float],
    solve: Callable[[Sequence[tuple[G, float | None]]], Sequence[Outcome]],
    incumbent: float | None = None,
    max_group: int | None = None,
    known: Callable[[G], Cost | None] | None = None,
) -> Partition[G]:
    """The cheapest partition of operators 0..n-1 into candidate groups (module docstring).
    ``runs(lo, hi)`` gives the candidate groups of operators lo..hi (none: not a candidate);
    ``solve`` the outcomes of a batch of (group, budget) pairs, all the unpruned edges into one
    node at once, so a caller may solve them side by side; ``incumbent`` the objective of a known
    partition (none: no budgets, every edge solved).

    An edge i -> j is pruned when the cheapest way to reach i, plus its group's bound, plus the
    least summed bound of any partition of j..n-1 exceeds the incumbent: every complete partition
    through the edge costs at least that much. Its budget is what is left of the incumbent after
    the first and the last of these.

    ``known`` gives the cost of a group already solved (none: not yet), without solving it: a
    cheapest path to a final node i plus a cheapest way to finish from i over such groups is a
    complete partition, so its objective tightens the incumbent as the path proceeds."""
    edges = _edges(n, runs, bound, max_group)
    rest = _rest_bounds(n, edges)
    best: list[Cost | None] = [ZERO] + [None] * n
    back: list[Step[G] | None] = [None] * (n + 1)
    steps: list[Step[G]] = []
    costs: dict[tuple[int, int], Cost] = {}  # (end node, index in edges[end]): known costs
    for j in range(1, n + 1):
        if known is not None:
            incumbent = _tighter(incumbent, best, _finishes(n, edges, known, costs))
        todo: list[tuple[int, G, float, float | None]] = []
        for i, g, lb in edges[j]:
            start = best[i]
            if start is None:
                continue
            budget = None if incumbent is None else incumbent * (1 + SLACK) - start[0] - rest[j]
            if budget is not None and lb > budget:
                steps.append(Step(i, j - 1, g, None, "pruned", lb))
                continue
            todo.append((i, g, lb, budget))
        # every start node before j is final: the edges into j are solved as one batch
        outcomes = solve([(g, budget) for _i, g, _lb, budget in todo]) if todo else []
        for (i, g, lb, _budget), cost in zip(todo, outcomes, strict=True):
            start = best[i]
            assert start is not None
            if isinstance(cost, Beyond):
                steps.append(Step(i, j - 1, g, None, "over budget", max(lb, cost.budget)))
                continue
            steps.append(Step(i, j - 1, g, cost, "solved" if cost else "no schedule", lb))
            if cost is None:
                continue
            total = add(start, cost)
            end = best[j]
            if end is None or total < end:
                best[j], back[j] = total, steps[-1]
    path: list[Step[G]] = []
    j = n
    while j > 0 and (step := back[j]) is not None:
        path.append(step)
        j = step.lo
    if j > 0:
        return Partition(n, tuple(steps), (), None)
    return Partition(n, tuple(steps), tuple(reversed(path)), best[n])


def _finishes(
    n: int,
    edges: Sequence[Sequence[tuple[int, G, float]]],
    known: Callable[[G], Cost | None],
    costs: dict[tuple[int, int], Cost],
) -> list[float]:
    """Per node i, the least objective of a partition of i..n-1 into groups whose cost is known
    (inf: none). ``costs`` keeps the costs found so far (a known cost does not change)."""
    finish = [math.inf] * n + [0.0]
    for j in range(n, 0, -1):  # every edge into j is relaxed once finish[j] is final
        if math.isinf(finish[j]):
            continue
        for k, (i, g, _lb) in enumerate(edges[j]):
            if (j, k) not in costs and (cost := known(g)) is not None:
                costs[(j, k)] = cost
            if (j, k) in costs:
                finish[i] = min(finish[i], costs[(j, k)][0] + finish[j])
    return finish


def _tighter(
    incumbent: float | None, best: Sequence[Cost | None], finish: Sequence[float]
) -> float | None:
    """The incumbent, or a cheaper complete partition: a cheapest path to a final node, then a
    finish of known groups."""
    found = [b[0] + f for b, f in zip(best, finish, strict=True) if b is not None]
    least = min(found, default=math.inf)
    if math.isinf(least):
        return incumbent
    return least if incumbent is None else min(incumbent, least)


def settle(
    parts: dict[str, Partition[G]],
    incumbent: float,
    exact: Callable[[Sequence[G]], Sequence[Cost | None]],
) -> dict[str, Partition[G]]:
    """The partitions again with exact tie-breaks where they decide. The edges were costed with
    their primary objective proven and a provisional tie-break (that of the first schedule found
    at the primary optimum, at or above the least). Only an edge on a partition of the least
    primary (within SLACK) can be on the lexicographic optimum: any other partition through it
    costs more in the objective than one known (a view's, or the menu's ``incumbent``). So those
    edges get their exact costs from ``exact`` (a batch of groups: their cost with the tie-break
    solved), and this repeats until the set holds; the path is then the cheapest over the exact
    costs, the other edges keeping their provisional ones (never on it)."""
    fixed: set[tuple[str, int]] = set()
    parts = dict(parts)
    while True:
        least = min([incumbent] + [_primary_paths(p)[0][p.n] for p in parts.values()])
        todo = [
            (view, k)
            for view, p in parts.items()
            for k in _on_least(p, least)
            if (view, k) not in fixed
        ]
        if not todo:
            return {view: _cheapest(p) for view, p in parts.items()}
        costs = exact([parts[view].steps[k].group for view, k in todo])
        for (view, k), cost in zip(todo, costs, strict=True):
            fixed.add((view, k))
            p = parts[view]
            steps = list(p.steps)
            old = steps[k]
            status = "solved" if cost is not None else "no schedule"
            steps[k] = Step(old.lo, old.hi, old.group, cost, status, old.bound)
            parts[view] = Partition(p.n, tuple(steps), p.path, p.cost)


def _primary_paths(p: Partition[G]) -> tuple[list[float], list[float]]:
    """Per node, the least objective (first component) to reach it and to finish from it."""
    fwd = [0.0] + [math.inf] * p.n
    bwd = [math.inf] * p.n + [0.0]
    solved = [s for s in p.steps if s.cost is not None]
    for s in sorted(solved, key=lambda s: s.hi):
        assert s.cost is not None
        fwd[s.hi + 1] = min(fwd[s.hi + 1], fwd[s.lo] + s.cost[0])
    for s in sorted(solved, key=lambda s: -s.lo):
        assert s.cost is not None
        bwd[s.lo] = min(bwd[s.lo], s.cost[0] + bwd[s.hi + 1])
    return fwd, bwd


def _on_least(p: Partition[G], least: float) -> list[int]:
    """Indices of the edges some partition of objective at most ``least`` (within SLACK) uses."""
    fwd, bwd = _primary_paths(p)
    limit = least * (1 + SLACK)
    return [
        k
        for k, s in enumerate(p.steps)
        if s.cost is not None and fwd[s.lo] + s.cost[0] + bwd[s.hi + 1] <= limit
    ]


def _cheapest(p: Partition[G]) -> Partition[G]:
    """``p`` with its cheapest path over its edges' (now exact) costs."""
    best: list[Cost | None] = [ZERO] + [None] * p.n
    back: list[Step[G] | None] = [None] * (p.n + 1)
    for s in sorted((s for s in p.steps if s.cost is not None), key=lambda s: s.hi):
        start = best[s.lo]
        if start is None or s.cost is None:
            continue
        total = add(start, s.cost)
        end = best[s.hi + 1]
        if end is None or total < end:
            best[s.hi + 1], back[s.hi + 1] = total, s
    path: list[Step[G]] = []
    j = p.n
    while j > 0 and (step := back[j]) is not None:
        path.append(step)
        j = step.lo
    if j > 0:
        return Partition(p.n, p.steps, (), None)
    return Partition(p.n, p.steps, tuple(reversed(path)), best[p.n])


def least_bound(
    n: int,
    runs: Callable[[int, int], Sequence[G]],
    bound: Callable[[G], float],
    max_group: int | None = None,
) -> float:
    """The least summed bound of any partition of the chain (inf: none): a view whose partitions
    may cost less is explored first, so its result tightens the incumbent of the others."""
    return _rest_bounds(n, _edges(n, runs, bound, max_group))[0]


def _edges(
    n: int,
    runs: Callable[[int, int], Sequence[G]],
    bound: Callable[[G], float],
    max_group: int | None,
) -> list[list[tuple[int, G, float]]]:
    """Per end node j, the candidate groups ending there: (start node, group, its bound)."""
    edges: list[list[tuple[int, G, float]]] = [[] for _ in range(n + 1)]
    for j in range(1, n + 1):
        first = 0 if max_group is None else max(0, j - max_group)
        edges[j] = [(i, g, bound(g)) for i in range(first, j) for g in runs(i, j - 1)]
    return edges


def _rest_bounds(n: int, edges: Sequence[Sequence[tuple[int, G, float]]]) -> list[float]:
    """Per node j, the least summed bound over the partitions of j..n-1 (inf: none exists)."""
    rest = [math.inf] * n + [0.0]
    for j in range(n, 0, -1):  # every edge into j is relaxed once rest[j] is final
        for i, _g, lb in edges[j]:
            rest[i] = min(rest[i], lb + rest[j])
    return rest


def min_sum(n: int, steps: Sequence[Step[G]], value: Callable[[Step[G]], float]) -> float | None:
    """The smallest sum of ``value`` over the partitions made of ``steps`` (pruned ones included):
    with a lower bound as value, a lower bound on every partition considered."""
    best: list[float | None] = [0.0] + [None] * n
    for s in sorted(steps, key=lambda s: s.hi):
        start = best[s.lo]
        if start is None:
            continue
        total = start + value(s)
        end = best[s.hi + 1]
        if end is None or total < end:
            best[s.hi + 1] = total
    return best[n]
