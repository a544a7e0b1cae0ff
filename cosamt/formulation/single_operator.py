"""The exact single-operator MIP (formulations/single_operator.md), built with Pyomo.

``build(op, arch, sizes)`` returns a ConcreteModel whose variables ``latency`` and ``energy`` equal
the evaluator's figures at every integer-feasible point where they are minimised. Constraint names
follow the formulation document. This module never imports the evaluator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import permutations
from typing import Any

import pyomo.environ as pyo

from cosamt.arch.spec import AXES, Architecture
from cosamt.bounds import lower_bound
from cosamt.formulation.blocks import epigraph, exact_value, family
from cosamt.lattice import lattice, prime_factors
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor

MAC = -1  # the PE's operand latch, below every memory level

Expr = Any  # a Pyomo (linear) expression, a variable, or a float constant


@dataclass(frozen=True)
class Slot:
    """Where a prime factor of a dimension goes: a temporal loop at ``level`` or an array axis."""

    level: int
    axis: str | None = None

    @property
    def key(self) -> str:
        return f"T{self.level}" if self.axis is None else f"S{self.axis}"


@dataclass(frozen=True)
class Problem:
    """Everything the model is built from (sizes may be padded)."""

    op: Einsum
    arch: Architecture  # with a virtual ``Shared`` level on top when ``shared_dims`` is set
    sizes: dict[str, int]
    double_buffering: bool = False
    # A fused group's member: dims the group's shared loops may iterate over (at the Shared level),
    # tensors that never leave the chip, and tensors written in place (no capacity of their own).
    shared_dims: frozenset[str] = frozenset()
    on_chip: frozenset[str] = frozenset()
    capacity_exclude: frozenset[str] = frozenset()

    @property
    def dims(self) -> list[str]:
        return [d for d, s in self.sizes.items() if s > 1]

    @property
    def n_levels(self) -> int:
        return len(self.arch.levels)

    @property
    def spatial_level(self) -> int:
        return self.arch.spatial_level

    @property
    def dram(self) -> int:
        return self.arch.dram_index

    def top(self, t: Tensor) -> int:
        """Where t's chain of buffers ends: DRAM, or the outermost on-chip level for intermediates."""
        return self.dram - 1 if t.name in self.on_chip else self.dram

    def holdable(self, t: Tensor) -> list[int]:
        """Levels below t's top that may keep t."""
        return [i for i in range(self.top(t)) if self.arch.may_keep(i, self.op, t)]

    def spatial_slots(self, dim: str) -> list[Slot]:
        return [Slot(self.arch.axis_level(a), a) for a in self.arch.unroll_axes(self.op, dim)]

    def axes_between(self, low: int, high: int) -> list[str]:
        """Spatial axes whose loops sit at levels ``low < k <= high`` (innermost fan-out first)."""
        return [a for a in self.arch.axis_names if low < self.arch.axis_level(a) <= high]

    def temporal_levels(self, dim: str) -> list[int]:
        """Levels with a temporal loop slot for ``dim``: every storage level, plus the Shared level
        for shared dims; an intermediate may not be split between its top and DRAM."""
        split = {d for t in self.op.tensors if t.name in self.on_chip for d in t.dims}
        out = [
            k for k in range(self.dram + 1) if not (dim in split and self.dram - 1 < k <= self.dram)
        ]
        if dim in self.shared_dims and self.n_levels > self.dram + 1:
            out.append(self.dram + 1)
        return out

    def slots(self, dim: str) -> list[Slot]:
        return [Slot(k) for k in self.temporal_levels(dim)] + self.spatial_slots(dim)


# ---------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class FactorTerms:
    """From ``define_factor_variables``: ``logf(d, slot)`` = log of dimension d's factor in the slot
    (``T<k>`` temporal at level k, ``S<axis>`` spatial); ``nt(k, d)`` = 1 if d's loop at level k is
    non-trivial (0.0 where d has no loop there)."""

    logf: Callable[[str, str], Expr]
    nt: Callable[[int, str], Expr]


@dataclass(frozen=True)
class OrderTerms:
    """From ``define_order_variables``: ``outer(k, a, b)`` = 1 if a's loop is outside b's at level k."""

    outer: Callable[[int, str, str], Expr]


@dataclass(frozen=True)
class KeepTerms:
    """From ``define_keep_variables``: ``kept(t, i)`` = 1 if level i keeps tensor t (1.0 at the latch
    and at t's top level, 0.0 where i may not keep t)."""

    kept: Callable[[str, int], Expr]


@dataclass(frozen=True)
class FillTerms:
    """From ``define_fill_expressions``: ``log_fills(t, c)`` = log F of the reuse rule for t's tile at
    child level c; ``log_tile(t, c)`` = log of that tile's words per instance; ``counted_index`` the
    (t, c, level, irrelevant dim) keys of ``counted`` / ``counted_log``."""

    log_fills: Callable[[Tensor, int], Expr]
    log_tile: Callable[[Tensor, int], Expr]
    counted_index: list[tuple[str, int, int, str]]


@dataclass(frozen=True)
class ChainTerms:
    """From ``define_chains``: ``adjacent[t, c, p]`` = 1 if c and p are consecutive levels keeping t."""

    adjacent: pyo.Var


@dataclass(frozen=True)
class UpdatePair:
    """An adjacent (child, parent) pair of an output's chain and its update words z (the pair
    epigraph): what ``define_readback`` bounds the read-backs with."""

    tensor: Tensor
    child: int
    parent: int
    words: Expr


@dataclass(frozen=True)
class TrafficTerms:
    """From ``define_traffic``: words read from and written into every level (all instances), and
    per (tensor, level) the pair epigraphs of what arrives there (for compulsory_traffic)."""

    reads: dict[int, Expr]
    writes: dict[int, Expr]
    incoming: dict[tuple[str, int], list[Expr]]
    updates: list[UpdatePair]  # the output pairs, for define_readback
    # pJ-weighted words crossing fan-outs with a hop energy (energy only; empty without one)
    network: tuple[tuple[float, Expr], ...] = ()


@dataclass(frozen=True)
class CostTerms:
    """From ``define_latency_and_energy``: the cycles of every resource (``compute``, ``vector``,
    ``<level>.read``, ``<level>.write``) and the scaled latency and energy variables."""

    resource_cycles: dict[str, Expr]
    latency_scale: float
    energy_scale: float
    latency_scaled: pyo.Var
    energy_scaled: pyo.Var


@dataclass(frozen=True)
class OperatorModel:
    """One operator's MIP as a typed object: the Pyomo block that owns every variable and row (under
    the family names of formulations/single_operator.md), the problem, and what each ``define_*``
    builder hands on to the next. The builders' signatures state their order: each takes the terms
    of the builders it needs and returns its own.

    Architecture figures (array size, capacities, bandwidths, energies) enter as constants read from
    ``problem.arch`` in ``array_fanout``, ``define_capacity`` and ``define_latency_and_energy``; a
    co-design formulation passes hardware variables to those builders in their place."""

    block: pyo.Block
    problem: Problem
    factors: FactorTerms
    order: OrderTerms
    keeps: KeepTerms
    fills: FillTerms
    chains: ChainTerms
    traffic: TrafficTerms
    tiles: dict[tuple[str, int], Expr]  # (tensor, level) -> tile words, for group capacity rows
    costs: CostTerms


@dataclass(frozen=True)
class BuiltModel:
    """A whole MIP ready to solve: the Pyomo model, the operators formulated in it (one, or a fused
    group's members, in the group's order) and its scaled objective terms, all the solver reads."""

    model: pyo.ConcreteModel
    members: tuple[OperatorModel, ...]
    costs: CostTerms


def build(problem: Problem) -> BuiltModel:
    m = pyo.ConcreteModel(name=f"single_operator[{problem.op.name}]")
    om = populate(m, problem)
    return BuiltModel(m, (om,), om.costs)


def populate(m: pyo.Block, problem: Problem) -> OperatorModel:
    """Add one operator's variables and constraints to ``m`` (a model, or a fused group's block)."""
    factors = define_factor_variables(m, problem)
    order = define_order_variables(m, problem, factors)
    keeps = define_keep_variables(m, problem)
    fills = define_fill_expressions(m, problem, factors, order)
    define_stationarity(m, problem, factors, fills)
    chains = define_chains(m, problem, keeps)
    traffic = define_traffic(m, problem, factors, fills, chains)
    traffic = define_readback(m, problem, factors, traffic)
    define_compulsory_traffic(m, problem, keeps, traffic)
    tiles = define_capacity(m, problem, fills)
    costs = define_latency_and_energy(m, problem, factors, traffic)
    return OperatorModel(m, problem, factors, order, keeps, fills, chains, traffic, tiles, costs)


def define_factor_variables(m: pyo.Block, pb: Problem) -> FactorTerms:
    """count[d,p,slot]: how many copies of prime p of dimension d go to the slot (factor_assignment);
    array-axis fan-out in the log domain (array_fanout); nontrivial[level,d] (nontrivial_loop)."""
    index = [
        (d, p, s.key) for d in pb.dims for p, _k in prime_factors(pb.sizes[d]) for s in pb.slots(d)
    ]
    mult = {(d, p): k for d in pb.dims for p, k in prime_factors(pb.sizes[d])}
    m.count = pyo.Var(
        index, domain=pyo.NonNegativeIntegers, bounds=lambda _m, d, p, _s: (0, mult[(d, p)])
    )
    m.factor_assignment = family(
        list(mult),
        rule=lambda _m, d, p: sum(m.count[d, p, s.key] for s in pb.slots(d)) == mult[(d, p)],
        doc="every prime factor of every dimension is assigned to exactly one slot",
    )

    def logf(d: str, slot: str) -> pyo.Expression:
        return sum(
            math.log(p) * m.count[d, p, slot]
            for p, _k in prime_factors(pb.sizes[d])
            if (d, p, slot) in m.count
        )

    m.array_fanout = family(
        list(AXES),
        rule=lambda _m, a: (
            sum(logf(d, f"S{a}") for d in pb.dims) <= math.log(pb.arch.pe_array.axis(a).size)
        ),
        doc="product of spatial factors on an axis <= axis size",
    )
    outer_axes = [a for f in pb.arch.fanouts for a in f.axes]
    if outer_axes:
        m.fanout_axis = family(
            outer_axes,
            rule=lambda _m, a: (
                sum(logf(d, f"S{a}") for d in pb.dims) <= math.log(pb.arch.axis_size(a))
            ),
            doc="product of spatial factors on a further fan-out's axis <= its size",
        )
    m.nontrivial = pyo.Var(
        [(k, d) for d in pb.dims for k in pb.temporal_levels(d)], domain=pyo.Binary
    )

    def nt(k: int, d: str) -> pyo.Var | float:
        return m.nontrivial[k, d] if (k, d) in m.nontrivial else 0.0  # noqa: SIM401 - a Pyomo Var

    m.nontrivial_loop = family(
        [
            (k, d, p)
            for k in range(pb.n_levels)
            for d in pb.dims
            for p, _ in prime_factors(pb.sizes[d])
        ],
        rule=lambda _m, k, d, p: (
            m.nontrivial[k, d] * mult[(d, p)] >= m.count[d, p, f"T{k}"]
            if (k, d) in m.nontrivial
            else pyo.Constraint.Skip
        ),
        doc="a temporal loop with any prime factor is non-trivial",
    )
    return FactorTerms(logf, nt)


def define_order_variables(m: pyo.Block, pb: Problem, factors: FactorTerms) -> OrderTerms:
    """outer[k,a,b] = 1 if loop a is outside loop b at level k (antisymmetry, transitivity)."""
    dims = pb.dims
    pairs = [(k, a, b) for k in range(pb.n_levels) for a in dims for b in dims if a < b]
    m.order = pyo.Var(pairs, domain=pyo.Binary)

    def outer(k: int, a: str, b: str) -> pyo.Expression:
        return m.order[k, a, b] if a < b else 1 - m.order[k, b, a]

    nt = factors.nt
    # Trivial (factor-1) loops sit outermost, in name order: their position changes nothing.
    sym = [(k, a, b) for k, a, b in pairs]
    m.trivial_outermost = family(sym, rule=lambda _m, k, a, b: m.order[k, a, b] >= 1 - nt(k, a))
    m.trivial_outermost_b = family(
        sym,
        rule=lambda _m, k, a, b: m.order[k, a, b] <= nt(k, b) + 1 - nt(k, a),
    )
    triples = [(k, a, b, c) for k in range(pb.n_levels) for a, b, c in permutations(dims, 3)]
    m.order_transitive = family(
        triples,
        rule=lambda _m, k, a, b, c: outer(k, a, b) + outer(k, b, c) - 1 <= outer(k, a, c),
        doc="loop order at a level is a total order",
    )
    return OrderTerms(outer)


def define_keep_variables(m: pyo.Block, pb: Problem) -> KeepTerms:
    """keep[t,l]: level l keeps tensor t (others bypass). The MAC latch and DRAM always keep."""
    idx = [(t.name, i) for t in pb.op.tensors for i in pb.holdable(t)]
    m.keep = pyo.Var(idx, domain=pyo.Binary)

    def kept(t: str, i: int) -> pyo.Expression | float:
        if i == MAC or i == pb.top(pb.op.tensor(t)):
            return 1.0
        return m.keep[t, i] if (t, i) in m.keep else 0.0  # noqa: SIM401 - a Pyomo Var

    return KeepTerms(kept)


def chain_levels(pb: Problem, t: Tensor) -> list[int]:
    return [MAC, *pb.holdable(t), pb.top(t)]


def define_fill_expressions(
    m: pyo.Block, pb: Problem, factors: FactorTerms, order: OrderTerms
) -> FillTerms:
    """log F[t,c] of the reuse rule: loops above c count unless they are in the innermost run of
    loops irrelevant to t. counted[t,c,k,d] (d irrelevant) is forced to 1 by any non-trivial relevant
    loop inside it (fill_counted_same_level, fill_counted_lower_level); log f * counted is linearised
    exactly from below (fill_product). The stationarity rows on ``counted_log`` are
    ``define_stationarity``'s."""
    idx = []
    for t in pb.op.tensors:
        for c in chain_levels(pb, t)[:-1]:
            for k in range(c + 1, pb.n_levels):
                idx += [(t.name, c, k, d) for d in pb.dims if d not in t.dims]
    m.counted = pyo.Var(idx, domain=pyo.Binary)
    m.counted_log = pyo.Var(idx, domain=pyo.NonNegativeReals)
    same, lower, prod = [], [], []
    for tn, c, k, d in idx:
        t = pb.op.tensor(tn)
        rel = [r for r in pb.dims if r in t.dims]
        same += [(tn, c, k, d, r) for r in rel]
        lower += [(tn, c, k, d, j, r) for j in range(c + 1, k) for r in rel]
        prod.append((tn, c, k, d))
    logf, nt, outer = factors.logf, factors.nt, order.outer
    m.fill_counted_same_level = family(
        same,
        rule=lambda _m, tn, c, k, d, r: m.counted[tn, c, k, d] >= nt(k, r) + outer(k, d, r) - 1,
    )
    m.fill_counted_lower_level = family(
        lower, rule=lambda _m, tn, c, k, d, j, r: m.counted[tn, c, k, d] >= nt(j, r)
    )
    m.fill_product = family(
        prod,
        rule=lambda _m, tn, c, k, d: (
            m.counted_log[tn, c, k, d]
            >= logf(d, f"T{k}") - math.log(pb.sizes[d]) * (1 - m.counted[tn, c, k, d])
        ),
    )

    def log_fills(t: Tensor, c: int) -> pyo.Expression:
        return sum(
            logf(d, f"T{k}") if d in t.dims else m.counted_log[t.name, c, k, d]
            for k in range(c + 1, pb.n_levels)
            for d in pb.dims
        )

    def log_tile(t: Tensor, c: int) -> pyo.Expression:
        if c == MAC:
            return 0.0
        temporal = sum(logf(d, f"T{k}") for d in pb.dims if d in t.dims for k in range(c + 1))
        inside = pb.axes_between(MAC, c)
        spatial = _spatial_log(factors, pb, lambda d, _a: d in t.dims, inside) if inside else 0.0
        return temporal + spatial

    return FillTerms(log_fills, log_tile, idx)


def define_stationarity(m: pyo.Block, pb: Problem, factors: FactorTerms, fills: FillTerms) -> None:
    """Only a tensor not indexed by the innermost non-trivial loop above c has a non-empty run of
    reused loops. Two tensors with disjoint irrelevant dimensions can never both have one, so an
    explicit choice stationary[t,c] bounds the runs (stationarity_run, stationarity_exclusive).
    Implied at integer points; it gives the relaxation the on-chip traffic it otherwise ignores."""
    idx = fills.counted_index
    irrelevant = {t.name: {d for d in pb.dims if d not in t.dims} for t in pb.op.tensors}
    keys = sorted({(tn, c) for tn, c, _k, _d in idx})
    m.stationary = pyo.Var(keys, domain=pyo.Binary)
    run_bound = {(tn, c): sum(math.log(pb.sizes[d]) for d in irrelevant[tn]) for tn, c in keys}
    m.stationarity_run = family(
        keys,
        rule=lambda _m, tn, c: (
            sum(
                factors.logf(d, f"T{k}") - m.counted_log[tn, c, k, d]
                for (t2, c2, k, d) in idx
                if t2 == tn and c2 == c
            )
            <= run_bound[(tn, c)] * m.stationary[tn, c]
        ),
    )
    pairs = [
        (t1, t2, c)
        for (t1, c) in keys
        for (t2, c2) in keys
        if c2 == c and t1 < t2 and not (irrelevant[t1] & irrelevant[t2])
    ]
    m.stationarity_exclusive = family(
        pairs, rule=lambda _m, t1, t2, c: m.stationary[t1, c] + m.stationary[t2, c] <= 1
    )


def _spatial_log(
    factors: FactorTerms,
    pb: Problem,
    pick: Callable[[str, str], bool],
    axes: list[str] | None = None,
) -> Expr:
    """Sum of log spatial factors of the dims ``pick(dim, axis)`` selects on ``axes`` (all axes)."""
    on = pb.arch.axis_names if axes is None else axes
    return sum(factors.logf(d, f"S{a}") for d in pb.dims for a in on if pick(d, a))


def _above_log(factors: FactorTerms, pb: Problem, level: int) -> Expr:
    """Log of the instances of ``level``: every spatial factor at a level above it (0.0: none)."""
    axes = pb.axes_between(level, pb.n_levels)
    return _spatial_log(factors, pb, lambda _d, _a: True, axes) if axes else 0.0


def define_chains(m: pyo.Block, pb: Problem, keeps: KeepTerms) -> ChainTerms:
    """adjacent[t,c,p] >= kept[t,c] + kept[t,p] - 1 - sum of kept[t,j] for c<j<p (chain_adjacent);
    every kept level has one child and one parent (chain_one_child, chain_one_parent), so the chain
    of t is a path from the latch to t's top level and ``adjacent`` is exact."""
    kept = keeps.kept
    m.adjacent = pyo.Var(
        [(t.name, c, p) for t in pb.op.tensors for c, p in _pairs(pb, t)], domain=pyo.Binary
    )
    adj_rule = []
    for t in pb.op.tensors:
        for c, p in _pairs(pb, t):
            adj_rule.append((t.name, c, p))
    m.chain_adjacent = family(
        adj_rule,
        rule=lambda _m, tn, c, p: (
            m.adjacent[tn, c, p]
            >= kept(tn, c) + kept(tn, p) - 1 - sum(kept(tn, j) for j in range(c + 1, p))
        ),
        doc="c and p are consecutive levels keeping t",
    )
    # The chain is a path: every kept level has exactly one child and one parent. These equalities
    # are implied at integer points but make the relaxation see that one pair is active.
    m.chain_one_child = family(
        [(t.name, p) for t in pb.op.tensors for p in chain_levels(pb, t)[1:]],
        rule=lambda _m, tn, p: (
            sum(m.adjacent[tn, c, q] for c, q in _pairs(pb, pb.op.tensor(tn)) if q == p)
            == kept(tn, p)
        ),
    )
    m.chain_one_parent = family(
        [(t.name, c) for t in pb.op.tensors for c in chain_levels(pb, t)[:-1]],
        rule=lambda _m, tn, c: (
            sum(m.adjacent[tn, q, p] for q, p in _pairs(pb, pb.op.tensor(tn)) if q == c)
            == kept(tn, c)
        ),
    )
    return ChainTerms(m.adjacent)


def define_traffic(
    m: pyo.Block, pb: Problem, factors: FactorTerms, fills: FillTerms, chains: ChainTerms
) -> TrafficTerms:
    """Reads and writes per level as sums of epigraph variables (the ``child_*_epigraph`` and
    ``pair_*_epigraph`` families); the outputs' read-backs follow in ``define_readback``."""
    n = pb.n_levels
    multicast = {a: pb.arch.fanout_of(a).multicast for a in pb.arch.axis_names}
    reads: dict[int, Expr] = {i: 0.0 for i in range(n)}
    writes: dict[int, Expr] = {i: 0.0 for i in range(n)}
    adjacent = chains.adjacent
    incoming: dict[tuple[str, int], list[Expr]] = {}
    updates: list[UpdatePair] = []
    network: list[tuple[float, Expr]] = []
    for t in pb.op.tensors:
        tdims = [d for d in pb.dims if d in t.dims]
        out = t.role is Role.OUTPUT
        space = lattice([pb.sizes[d] for d in pb.dims]) if pb.dims else [1]
        size_t = math.prod(pb.sizes[d] for d in tdims)
        for c in chain_levels(pb, t)[:-1]:
            base = fills.log_tile(t, c) + fills.log_fills(t, c)
            # child side: fills written into c (inputs) or updates read out of c (outputs)
            if c != MAC:
                inst = _above_log(factors, pb, c)
                z = epigraph(
                    m, f"child_{t.name}_{c}", base + inst, space, m.keep[t.name, c], lower=size_t
                )
                (reads if out else writes)[c] += wide(z, pb.arch.width(c, t.role))
            for p in [q for q in chain_levels(pb, t) if q > c]:

                def keep_spatial(d: str, a: str, t: Tensor = t, out: bool = out) -> bool:
                    return d in t.dims or (not out and not multicast[a])

                inside = pb.axes_between(c, p)
                between = _spatial_log(factors, pb, keep_spatial, inside) if inside else 0.0
                above = _above_log(factors, pb, p)
                z = epigraph(
                    m,
                    f"pair_{t.name}_{c}_{p}",
                    base + between + above,
                    space,
                    adjacent[t.name, c, p],
                    lower=size_t,  # every word of t passes every pair of its chain at least once
                )
                incoming.setdefault((t.name, p), []).append(z)
                hop = pb.arch.hop_energy(c, p) * pb.arch.width(p, t.role)
                if hop:
                    # words crossing the fan-outs between c and p: every instance of c receives
                    # its fills or sends its updates (hop_<t>_<c>_<p>)
                    crossing = epigraph(
                        m,
                        f"hop_{t.name}_{c}_{p}",
                        base + _above_log(factors, pb, c),
                        space,
                        adjacent[t.name, c, p],
                        lower=size_t,
                    )
                    network.append((hop, crossing))
                if not out:
                    reads[p] += wide(z, pb.arch.width(p, t.role))
                    continue
                writes[p] += wide(z, pb.arch.width(p, t.role))
                updates.append(UpdatePair(t, c, p, z))
    return TrafficTerms(reads, writes, incoming, updates, tuple(network))


def define_readback(
    m: pyo.Block, pb: Problem, factors: FactorTerms, traffic: TrafficTerms
) -> TrafficTerms:
    """readback_def[t, c, p]: N·readback[t, c, p] >= z[t, c, p] - distinct for every output pair (the
    partial sums read back from p, and written again into c unless c is the MAC). distinct = |o|,
    times the reduction fan-out above p (the spatial factors of dims not indexing o at levels above
    p: one partial sum per instance of p). z = 0 when the pair is not adjacent, so no big-M is
    needed. Returns the traffic with N·readback added to the reads of p
    and the writes of c."""
    points = math.prod(pb.sizes[d] for d in pb.dims)  # N, the readback variables' scale
    keys = [(u.tensor.name, u.child, u.parent) for u in traffic.updates]
    m.readback = pyo.Var(keys, domain=pyo.NonNegativeReals)  # stored divided by N
    distinct: dict[tuple[str, int, int], Expr] = {}
    fanout: dict[tuple[str, int], Expr] = {}  # per output and innermost fan-out above the parent
    for u, key in zip(traffic.updates, keys, strict=True):
        size = float(math.prod(pb.sizes[d] for d in pb.dims if d in u.tensor.dims))
        above = [k for k in pb.arch.fanout_levels if k > u.parent]
        if above:
            fk = (u.tensor.name, above[0])
            if fk not in fanout:
                fanout[fk] = _reduction_fanout(m, pb, factors, u.tensor, above[0])
            distinct[key] = size * fanout[fk]
        else:
            distinct[key] = size
    z = {key: u.words for u, key in zip(traffic.updates, keys, strict=True)}
    m.readback_def = pyo.Constraint(
        keys,
        rule=lambda _m, tn, c, p: (
            m.readback[tn, c, p] >= (z[tn, c, p] - distinct[tn, c, p]) / points
        ),
    )
    reads, writes = dict(traffic.reads), dict(traffic.writes)
    role = {t.name: t.role for t in pb.op.tensors}
    network = list(traffic.network)
    for tn, c, p in keys:
        hop = pb.arch.hop_energy(c, p) * pb.arch.width(p, role[tn])
        if hop:  # a read-back crosses the fan-outs once, to one of the instances sharing it
            network.append((hop, points * m.readback[tn, c, p]))
        reads[p] += wide(points * m.readback[tn, c, p], pb.arch.width(p, role[tn]))
        if c != MAC:
            writes[c] += wide(points * m.readback[tn, c, p], pb.arch.width(c, role[tn]))
    return replace(traffic, reads=reads, writes=writes, network=tuple(network))


def wide(words: Expr, width: float) -> Expr:
    """Accesses in words of word_bytes: a role with its own width at the level weighs bytes /
    word_bytes (the expression is left as it is at width 1, the common case)."""
    return words if width == 1.0 else width * words


def define_compulsory_traffic(
    m: pyo.Block, pb: Problem, keeps: KeepTerms, traffic: TrafficTerms
) -> None:
    """compulsory_traffic[t, p]: every shared level p that keeps t receives (or, for outputs, is
    written) all of t at least once, sum of the pairs into p >= |t| · kept[t, p]. Valid at every
    integer point; it lifts the relaxation's bound to compulsory traffic."""
    incoming = traffic.incoming
    # Divided by the iteration count, the traffic terms' scale: unscaled, their coefficients reach
    # 1e15 at 2^50 points, where HiGHS treats them as infinite and drops the rows.
    points = math.prod(pb.sizes[d] for d in pb.dims)
    keys = [(tn, p) for tn, p in incoming if p >= pb.spatial_level]

    def rule(_m: pyo.Block, tn: str, p: int) -> object:
        t = pb.op.tensor(tn)
        size = math.prod(pb.sizes[d] for d in pb.dims if d in t.dims)
        return sum(incoming[tn, p]) / points >= (size / points) * keeps.kept(tn, p)

    m.compulsory_traffic = pyo.Constraint(keys, rule=rule)


def _reduction_fanout(
    m: pyo.Block, pb: Problem, factors: FactorTerms, t: Tensor, level: int
) -> Expr:
    """Exact product of the spatial factors of dims not indexing t at fan-outs from ``level`` up
    (one-hot over attainable values)."""
    axes = pb.axes_between(level - 1, pb.n_levels)
    red = [
        d for d in pb.dims if d not in t.dims and any(s.axis in axes for s in pb.spatial_slots(d))
    ]
    if not red:
        return 1.0
    limit = math.prod(pb.arch.axis_size(a) for a in axes)
    values = lattice([pb.sizes[d] for d in red], limit=limit)
    # The PE array's keeps its historical name; a further fan-out's names its level.
    suffix = "" if level == pb.spatial_level else f"_{level}"
    name = f"reduction_fanout_{t.name}{suffix}"
    return exact_value(m, name, _spatial_log(factors, pb, lambda d, _a: d in red, axes), values)


def _pairs(pb: Problem, t: Tensor) -> list[tuple[int, int]]:
    ch = chain_levels(pb, t)
    return [(c, p) for i, c in enumerate(ch) for p in ch[i + 1 :]]


def define_capacity(m: pyo.Block, pb: Problem, fills: FillTerms) -> dict[tuple[str, int], Expr]:
    """Shared buffers hold the true sum of kept tiles (capacity_*), doubled with double buffering.
    A fused group's on-chip intermediates always occupy their top level; in-place outputs take no
    capacity of their own. Returns the tile expressions by (tensor, level) for group rows."""
    mult = 2 if pb.double_buffering else 1
    tiles: dict[tuple[str, int], Expr] = {}
    for i, lv in enumerate(pb.arch.levels[: pb.dram]):
        groups = lv.capacity_groups(pb.arch.word_bytes)
        for g, buf in enumerate(groups):
            cap = buf.words
            terms = []
            for t in pb.op.tensors:
                held = i in pb.holdable(t) or (i == pb.top(t) and t.name in pb.on_chip)
                if not buf.takes(t) or not held or t.name in pb.capacity_exclude:
                    continue
                tdims = [d for d in pb.dims if d in t.dims]
                values = lattice([pb.sizes[d] for d in tdims]) if tdims else [1]
                gate = m.keep[t.name, i] if i in pb.holdable(t) else 1.0
                width = pb.arch.width(i, t.role)
                tiles[(t.name, i)] = epigraph(
                    m,
                    f"tile_{t.name}_{i}",
                    fills.log_tile(t, i),
                    values,
                    gate,
                    upper=cap / (mult * width),
                )
                terms.append(wide(tiles[(t.name, i)], width))
            if terms:
                m.add_component(
                    f"capacity_{lv.name}_{g}", pyo.Constraint(expr=mult * sum(terms) / cap <= 1)
                )
    return tiles


def define_latency_and_energy(
    m: pyo.Block, pb: Problem, factors: FactorTerms, traffic: TrafficTerms
) -> CostTerms:
    """latency >= compute, vector and per-level bandwidth cycles (latency_bounds); energy = accesses
    x energy per access + MACs and vector ops (energy_definition). Both are stored scaled by a
    reference magnitude (``latency_scale``, ``energy_scale``) to keep the rows well conditioned."""
    op, arch = pb.op, pb.arch
    points = math.prod(pb.sizes[d] for d in pb.dims)
    wb = arch.word_bytes
    # The operator's latency lower bound: the optimum is at or above it, usually within a small
    # factor, so the solver's feasibility tolerance on the scaled latency rows is ~1e-7 of the
    # optimum. (A scale of every point read through the slowest port, 1e3-1e5 x the optimum on big
    # operators, let HiGHS's tolerance put its latency 4.4e-5 below the schedule's true one.)
    bound = lower_bound(op, arch)
    latency_scale = max(1.0, bound.latency_cycles)
    m.latency_scaled = pyo.Var(domain=pyo.NonNegativeReals)
    # An Expression component: with a scale of exactly 1.0, Pyomo simplifies the product to the
    # variable itself, which then cannot be attached under a second name (found by the fuzzer).
    m.latency = pyo.Expression(expr=latency_scale * m.latency_scaled)
    # latency_bounds[resource]: latency >= the cycles of each resource ("compute", "vector",
    # "<level>.read", "<level>.write"); declared here, filled below, so the rows keep their place.
    m.latency_bounds = pyo.Constraint(pyo.Any)
    # Cycles each resource needs (natural units); latency is their max. A fused group sums them per
    # resource across its members instead (formulations/fused_group.md).
    resource_cycles: dict[str, Expr] = {}
    if op.kind is OpKind.MAC:
        log_s_all = _spatial_log(factors, pb, lambda _d, _a: True)
        resource_cycles["compute"] = epigraph(
            m,
            "compute_cycles",
            math.log(points) - log_s_all,
            lattice([pb.sizes[d] for d in pb.dims]) if pb.dims else [1],
            lower=points / pb.arch.units,
        )
        macs, vops = points, 0
    else:
        macs, vops = 0, points * op.ops_per_point
        resource_cycles["vector"] = float(math.ceil(vops / arch.vector_unit.lanes))
    for i, lv in enumerate(arch.levels):
        ports = [
            (port, words, bw)
            for port, words, bw in (
                ("read", traffic.reads[i], lv.read_bandwidth),
                ("write", traffic.writes[i], lv.write_bandwidth),
            )
            if bw
        ]
        if ports and arch.max_instances(i) > 1:
            # a private or replicated level: each instance moves its share (bandwidth per instance)
            share = _per_instance(m, pb, factors, i, [(p, w) for p, w, _bw in ports])
            for port, _words, bw in ports:
                resource_cycles[f"{lv.name}.{port}"] = share[port] * (wb / bw)
            continue
        for port, words, bw in ports:
            resource_cycles[f"{lv.name}.{port}"] = words * (wb / bw)
    for resource, cycles in resource_cycles.items():
        m.latency_bounds[resource] = m.latency_scaled >= cycles / latency_scale
    fixed = macs * arch.mac_energy_pj + vops * arch.vector_unit.energy_per_op_pj
    energy_scale = max(1.0, bound.energy_pj)  # likewise
    m.energy_scaled = pyo.Var(domain=pyo.NonNegativeReals)
    m.energy = pyo.Expression(expr=energy_scale * m.energy_scaled)
    accesses = fixed + sum(
        lv.read_energy_pj * traffic.reads[i] + lv.write_energy_pj * traffic.writes[i]
        for i, lv in enumerate(arch.levels)
    )
    if traffic.network:  # words crossing fan-outs with a hop energy
        accesses = accesses + sum(hop * words for hop, words in traffic.network)
    m.energy_definition = pyo.Constraint(expr=m.energy_scaled >= accesses / energy_scale)
    return CostTerms(
        resource_cycles, latency_scale, energy_scale, m.latency_scaled, m.energy_scaled
    )


def _per_instance(
    m: pyo.Block,
    pb: Problem,
    factors: FactorTerms,
    level: int,
    ports: list[tuple[str, Expr]],
) -> dict[str, Expr]:
    """Words one instance of ``level`` moves through each port: the total divided by the instances
    in use (the product of the spatial factors above the level, chosen exactly by one-hot,
    ``instances_<level>``). share_<level>_<port>[j] >= total / N - M (1 - onehot[j])
    (``instance_share_<level>_<port>``) is exact where it binds: the one-hot selects one j, the
    other shares are free to be 0. M bounds total / N: no pair moves more than N words (each
    instance of the child takes at most its N / instances MAC steps' words), read-backs neither."""
    arch, name = pb.arch, pb.arch.levels[level].name
    points = math.prod(pb.sizes[d] for d in pb.dims)
    axes = pb.axes_between(level, pb.n_levels)
    dims = [d for d in pb.dims if any(s.axis in axes for s in pb.spatial_slots(d))]
    values = lattice([pb.sizes[d] for d in dims], limit=arch.max_instances(level)) if dims else [1]
    if len(values) == 1:
        return {port: words for port, words in ports}
    exact_value(m, f"instances_{name}", _above_log(factors, pb, level), values)
    onehot = getattr(m, f"instances_{name}_onehot")
    widest = max(arch.width(level, r) for r in Role)
    big = 2.0 * widest * sum(1 for t in pb.op.tensors for _ in _pairs(pb, t))
    out: dict[str, Expr] = {}
    for port, words in ports:
        share = pyo.Var(range(len(values)), domain=pyo.NonNegativeReals)
        m.add_component(f"share_{name}_{port}", share)
        m.add_component(
            f"instance_share_{name}_{port}",
            pyo.Constraint(
                range(len(values)),
                rule=lambda _m, j, share=share, words=words: (
                    share[j] >= words / points - big * (1 - onehot[j])
                ),
            ),
        )
        out[port] = sum(points * share[j] / v for j, v in enumerate(values))
    return out
