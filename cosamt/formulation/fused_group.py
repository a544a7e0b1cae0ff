"""The fused-group MIP (formulations/fused_group.md): one single-operator block per member, linked.

Every member is the single-operator formulation on the architecture plus a virtual ``Shared`` level
above DRAM. The members' Shared-level loops are one set of loops (shared_factors, shared_order);
intermediates end their buffer chain on chip; every on-chip level holds the largest tile of every
tensor any member keeps there (group_capacity); online softmax pays rescaling work per key tile
(rescale_work). Latency is the max over resources of the members' summed cycles; energy the sum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyomo.environ as pyo

from cosamt.arch.spec import Architecture
from cosamt.formulation.blocks import epigraph
from cosamt.formulation.single_operator import (
    BuiltModel,
    CostTerms,
    Expr,
    OperatorModel,
    Problem,
    populate,
    wide,
)
from cosamt.fusion.schemes import Group
from cosamt.lattice import divisors, prime_factors


def member_problems(group: Group, arch: Architecture, double_buffering: bool) -> list[Problem]:
    garch = arch.with_shared_level()
    return [
        Problem(
            op,
            garch,
            dict(op.dims),
            double_buffering,
            shared_dims=frozenset(d for d in group.shared_dims if d in op.dims),
            on_chip=frozenset(t.name for t in op.tensors if t.name in group.on_chip),
            capacity_exclude=group.in_place.get(op.name, frozenset()),
        )
        for op in group.ops
    ]


def build_group(
    group: Group,
    arch: Architecture,
    double_buffering: bool = False,
    shared_factors: Mapping[str, int] | None = None,
) -> BuiltModel:
    m = pyo.ConcreteModel(name=f"fused_group[{group.name}]")
    problems = member_problems(group, arch, double_buffering)
    m.member = pyo.Block(range(len(problems)))
    members = tuple(populate(m.member[i], pb) for i, pb in enumerate(problems))
    shared_level = problems[0].dram + 1
    link_shared_loops(m, group, problems, shared_level)
    if shared_factors is not None:
        fix_shared_factors(m, group, problems, shared_level, shared_factors)
    group_capacity(m, group, members)
    extra_vector = rescale_work(m, group, members, shared_level)
    costs = group_objective(m, members, extra_vector, arch)
    return BuiltModel(m, members, costs)


def link_shared_loops(m: pyo.ConcreteModel, group: Group, problems: list[Problem], k: int) -> None:
    """shared_links[i, "count", d, p], [i, "nontrivial", d, ""], [i, "order", a, b]: member i's
    count, nontrivial and order variables at the shared level k equal member 0's, so every member
    iterates the same shared loops."""
    ref = m.member[0]
    m.shared_links = pyo.Constraint(pyo.Any)
    links = m.shared_links
    dims = sorted(d for d in group.shared_dims if d in problems[0].dims)
    for i in range(1, len(problems)):
        blk = m.member[i]
        for d in dims:
            if d not in problems[i].dims:
                continue
            for p, _mult in prime_factors(problems[0].sizes[d]):
                links[i, "count", d, p] = blk.count[d, p, f"T{k}"] == ref.count[d, p, f"T{k}"]
            links[i, "nontrivial", d, ""] = blk.nontrivial[k, d] == ref.nontrivial[k, d]
        for a in dims:
            for b in dims:
                if a < b and a in problems[i].dims and b in problems[i].dims:
                    links[i, "order", a, b] = blk.order[k, a, b] == ref.order[k, a, b]


def fix_shared_factors(
    m: pyo.ConcreteModel,
    group: Group,
    problems: list[Problem],
    k: int,
    factors: Mapping[str, int],
) -> None:
    """fixed_shared: the shared loop factors are given (FLAT's granularity rule picks them); shared
    dims not named get factor 1. The members follow through shared_links."""
    pb = problems[0]
    for d in sorted(group.shared_dims & set(pb.dims)):
        f = factors.get(d, 1)
        if pb.sizes[d] % f:
            raise ValueError(f"shared factor {f} of {d} does not divide its size {pb.sizes[d]}")
        for p, _mult in prime_factors(pb.sizes[d]):
            power = 0
            while f % p == 0:
                f //= p
                power += 1
            m.member[0].count[d, p, f"T{k}"].fix(power)


def group_capacity(m: pyo.ConcreteModel, group: Group, members: Sequence[OperatorModel]) -> None:
    """group_capacity: every on-chip level holds, for every tensor any member keeps there, its
    largest tile (group_tile >= each member's tile), all at once: a tile reused across shared
    iterations must survive the other members' turns. In-place outputs share their input's space."""
    # group_capacity[level, g]: mult · sum of group_tile over the tensors of capacity group g <= cap
    # group_tile_bound[t, level, i]: group_tile[t, level] >= member i's tile of t at level
    m.group_capacity = pyo.Constraint(pyo.Any)
    m.group_tile_bound = pyo.Constraint(pyo.Any)
    problems = [mm.problem for mm in members]
    arch = problems[0].arch
    in_place = {t for ts in group.in_place.values() for t in ts}
    mult = 2 if problems[0].double_buffering else 1
    tiles: dict[tuple[str, int], list[tuple[int, pyo.Expression]]] = {}
    for i, member in enumerate(members):
        for (t, lvl), z in member.tiles.items():
            if t not in in_place:
                tiles.setdefault((t, lvl), []).append((i, z))
    m.group_tile = pyo.Var(sorted(tiles), domain=pyo.NonNegativeReals)
    for (t, lvl), zs in tiles.items():
        for i, z in zs:
            m.group_tile_bound[t, lvl, i] = m.group_tile[t, lvl] >= z
    for lvl in range(problems[0].dram):
        level = arch.levels[lvl]
        for g, buf in enumerate(level.capacity_groups(arch.word_bytes)):
            held = {key: group.roles_in(buf, key[0]) for key in tiles if key[1] == lvl}
            words = [
                wide(m.group_tile[key], group.width(arch, lvl, key[0], roles))
                for key, roles in held.items()
                if roles
            ]
            if words:
                m.group_capacity[level.name, g] = mult * sum(words) / buf.words <= 1


def rescale_work(
    m: pyo.ConcreteModel, group: Group, members: Sequence[OperatorModel], k: int
) -> pyo.Expression | float:
    """Online softmax: key_tiles x (|O| + 2 x rows) vector ops, key_tiles = the shared factor of the
    key dimension (an exact epigraph over its divisors)."""
    r = group.rescale
    if r is None:
        return 0.0
    softmax = next(mm for mm in members if mm.problem.op.name == r.operator)
    log_tiles = softmax.factors.logf(r.dim, f"T{k}")
    tiles = epigraph(m, "rescale_key_tiles", log_tiles, divisors(softmax.problem.sizes[r.dim]))
    return tiles * (r.output_size + 2 * r.rows)


def group_objective(
    m: pyo.ConcreteModel,
    members: Sequence[OperatorModel],
    extra_vector: pyo.Expression | float,
    arch: Architecture,
) -> CostTerms:
    """group_latency: the shared iterations are pipelined across the PE array, the vector unit and
    every memory port (FLAT's interleaved execution; fill and drain ignored), so latency is the max
    over resources of the members' summed cycles. group_energy: the members' sum + rescaling work."""
    blocks = [mm.costs for mm in members]
    latency_scale = max(b.latency_scale for b in blocks)
    energy_scale = max(b.energy_scale for b in blocks)
    m.latency_scaled = pyo.Var(domain=pyo.NonNegativeReals)
    m.energy_scaled = pyo.Var(domain=pyo.NonNegativeReals)
    resources = sorted({r for b in blocks for r in b.resource_cycles} | {"vector"})
    # group_latency[resource]: latency >= the members' summed cycles of the resource
    m.group_latency = pyo.Constraint(pyo.Any)
    cycles: dict[str, Expr] = {}
    for r in resources:
        total = sum(b.resource_cycles.get(r, 0.0) for b in blocks)
        if r == "vector":
            total = total + extra_vector / arch.vector_unit.lanes
        if isinstance(total, float) and total == 0.0:
            continue
        cycles[r] = total
        m.group_latency[r] = m.latency_scaled >= total / latency_scale
    m.group_energy = pyo.Constraint(
        expr=m.energy_scaled
        >= (
            sum(b.energy_scale * b.energy_scaled for b in blocks)
            + extra_vector * arch.vector_unit.energy_per_op_pj
        )
        / energy_scale
    )
    # An Expression component: with a scale of exactly 1.0, Pyomo simplifies the product to the
    # variable itself, which then cannot be attached under a second name (found by the fuzzer).
    m.latency = pyo.Expression(expr=latency_scale * m.latency_scaled)
    m.energy = pyo.Expression(expr=energy_scale * m.energy_scaled)
    return CostTerms(cycles, latency_scale, energy_scale, m.latency_scaled, m.energy_scaled)
