"""The independent analytical evaluator: ``evaluate(op, arch, mapping) -> Metrics``.

Written from loop-nest semantics only (no Pyomo, nothing from the formulations). The rules, stated
once in docs/semantics.md and checked element by element by the trace simulator in tests/:

* Tile of tensor t at level l: product over the dims of t of every loop factor (temporal and spatial)
  at levels <= l. At the MAC ("level -1") every tile is one word, held in the PE's operand latch.
* Fills of t at l (per instance): take the temporal loops of all levels above l, outermost first,
  drop factor-1 loops, drop the innermost run of loops whose dim does not index t; F is the product
  of what remains. R is the product of the remaining loops that index t (distinct tiles visited).
* Between t's child level c and the next level p above c that keeps t, every fill moves tile(c)
  words per distinct destination: D = product of spatial loops in (c, p] that index t (all of them
  at a fan-out without multicast) times the spatial loops above p (instances of p). Instances of a
  level: the product of the spatial loops (of every fan-out) above it.
* Inputs: p reads tile*F*D, c writes tile*F*instances(c).
  Outputs: p is written tile*F*D updates and reads back tile*(F-R)*D partial sums; c reads
  tile*F*instances(c) to send updates and is written tile*(F-R)*D read-backs. The latch (c = -1)
  costs nothing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

from cosamt.arch.spec import Architecture, DimClass, FanOut, dim_class
from cosamt.evaluate.metrics import LevelStats, Metrics, Stationarity, TensorLevelStats, words_text
from cosamt.schedule.mapping import Loop, Mapping
from cosamt.schedule.violations import Rule, Violation
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor

MAC_LEVEL = -1


def fills(loops: Iterable[Loop], dims: tuple[str, ...]) -> tuple[int, int]:
    """(F, R) of the reuse rule for a tensor indexed by ``dims`` under ``loops`` (outermost first)."""
    seq = [lp for lp in loops if lp.factor > 1]
    while seq and seq[-1].dim not in dims:
        seq.pop()
    return math.prod(lp.factor for lp in seq), math.prod(lp.factor for lp in seq if lp.dim in dims)


def stationarity(op: Einsum, loops: Iterable[Loop]) -> Stationarity:
    """Which tensor stays put while the innermost (non-trivial) loop above a level iterates."""
    seq = [lp for lp in loops if lp.factor > 1]
    if not seq:
        return Stationarity.NONE
    still = {t.role for t in op.tensors if seq[-1].dim not in t.dims}
    for role, st in (
        (Role.WEIGHT, Stationarity.WEIGHT),
        (Role.OUTPUT, Stationarity.OUTPUT),
        (Role.INPUT, Stationarity.INPUT),
    ):
        if role in still:
            return st
    return Stationarity.NONE


def padded_dims(op: Einsum, mapping: Mapping) -> dict[str, int]:
    return {d: mapping.padding.get(d, s) for d, s in op.dims.items()}


def check(
    op: Einsum, arch: Architecture, mapping: Mapping, on_chip: frozenset[str] = frozenset()
) -> list[Violation]:
    """Every way the mapping is not a legal schedule of ``op`` on ``arch``.

    ``on_chip`` names a fused group's intermediates: they never go to DRAM, live in the outermost
    on-chip level, and that level holds the whole of them for one iteration of the shared loops."""
    names = arch.level_names
    if len(mapping.levels) != len(names):
        return [
            Violation(
                Rule.LEVEL_COUNT,
                f"mapping has {len(mapping.levels)} levels, architecture {arch.name} has {len(names)}",
                found=str(len(mapping.levels)),
                expected=str(len(names)),
                operator=op.name,
            )
        ]
    v = _check_padding_and_factors(op, mapping)
    roles = {t.name: t.role for t in op.tensors}
    for i, lm in enumerate(mapping.levels):
        lv = arch.levels[i]
        for field, loops in (("temporal", lm.temporal), ("spatial", lm.spatial)):
            for loop in loops:
                if loop.dim not in op.dims:
                    v.append(
                        Violation(
                            Rule.UNKNOWN_DIMENSION,
                            f"unknown dimension {loop.dim!r}",
                            where=lv.name,
                            expected=f"one of {list(op.dims)}",
                            found=loop.dim,
                            level=lv.name,
                            field=field,
                            dimension=loop.dim,
                        )
                    )
        for t in sorted(lm.keep):
            keep = {"where": f"{lv.name}.keep", "level": lv.name, "field": "keep", "tensor": t}
            if t not in roles:
                v.append(Violation(Rule.UNKNOWN_TENSOR, f"unknown tensor {t!r}", **keep))
            elif not lv.may_hold(op.tensor(t)):
                held = [r.value for r in lv.holds]
                named = f" or tensor {', '.join(lv.holds_tensors)}" if lv.holds_tensors else ""
                v.append(
                    Violation(
                        Rule.LEVEL_CANNOT_HOLD,
                        f"{t} is a {roles[t].value} tensor, which {lv.name} cannot hold",
                        expected=f"a tensor of role {', '.join(held)}{named}",
                        found=roles[t].value,
                        **keep,
                    )
                )
            elif op.kind is OpKind.VECTOR and arch.is_private(i):
                v.append(
                    Violation(
                        Rule.VECTOR_IN_PRIVATE_LEVEL,
                        f"{t}: vector operators run on the vector unit, not in PE-private levels",
                        **keep,
                    )
                )
        fanout = arch.fanout_at(i)
        stray = [sp.axis for sp in lm.spatial if fanout is None or sp.axis not in fanout.axes]
        if stray:
            at = ", ".join(f"{f.below} (axes {', '.join(f.axes)})" for f in arch.all_fanouts)
            v.append(
                Violation(
                    Rule.SPATIAL_LEVEL,
                    f"spatial loop on axis {stray[0]!r} at {lv.name}: spatial loops are only "
                    f"allowed at {at}",
                    where=lv.name,
                    expected=at,
                    found=stray[0],
                    level=lv.name,
                    field="spatial",
                )
            )
    v += _check_chain_ends(op, arch, mapping, on_chip)
    v += _check_spatial(op, arch, mapping)
    return [replace(x, operator=op.name) for x in v]


def _check_padding_and_factors(op: Einsum, mapping: Mapping) -> list[Violation]:
    v: list[Violation] = []
    for d, size in mapping.padding.items():
        pad = {"where": f"padding.{d}", "field": "padding", "dimension": d}
        if d not in op.dims:
            v.append(Violation(Rule.UNKNOWN_DIMENSION, "unknown dimension", **pad))
        elif size < op.dims[d]:
            v.append(
                Violation(
                    Rule.PADDING_TOO_SMALL,
                    f"padded size {size} is smaller than the dimension ({op.dims[d]})",
                    found=str(size),
                    expected=f"at least {op.dims[d]}",
                    **pad,
                )
            )
    for d, size in padded_dims(op, mapping).items():
        got = mapping.factor_product(d)
        if got != size:
            v.append(
                Violation(
                    Rule.FACTOR_PRODUCT,
                    f"loop factors multiply to {got}, expected {size}",
                    where=f"dimension {d}",
                    found=str(got),
                    expected=str(size),
                    dimension=d,
                )
            )
    return v


def _check_chain_ends(
    op: Einsum, arch: Architecture, mapping: Mapping, on_chip: frozenset[str]
) -> list[Violation]:
    v: list[Violation] = []
    dram = arch.dram_index
    dram_name = arch.levels[dram].name
    top = dram - 1
    for i in range(dram + 1, len(arch.levels)):
        if mapping.levels[i].keep or mapping.levels[i].spatial:
            name = arch.levels[i].name
            v.append(
                Violation(
                    Rule.SHARED_LEVEL,
                    "the shared-loop level keeps nothing and has no spatial loops",
                    where=name,
                    level=name,
                )
            )
    for t in op.tensors:
        keep = {"where": f"{dram_name}.keep", "level": dram_name, "field": "keep", "tensor": t.name}
        if t.name not in on_chip:
            if not mapping.keeps(dram, t.name):
                v.append(Violation(Rule.DRAM_KEEP, f"{t.name} must be kept in {dram_name}", **keep))
            continue
        if mapping.keeps(dram, t.name):
            v.append(
                Violation(
                    Rule.INTERMEDIATE_IN_DRAM,
                    f"intermediate {t.name} must not go to {dram_name}",
                    **keep,
                )
            )
        if top < 0 or not mapping.keeps(top, t.name):
            v.append(
                Violation(
                    Rule.INTERMEDIATE_OFF_CHIP,
                    f"intermediate {t.name} must be kept in the outermost on-chip level",
                    level=arch.levels[top].name if top >= 0 else None,
                    field="keep",
                    tensor=t.name,
                )
            )
            continue
        if t.role is Role.OUTPUT:
            partial = [
                lp.dim
                for k in range(dram + 1, len(arch.levels))
                for lp in mapping.levels[k].temporal
                if lp.dim not in t.dims and lp.factor > 1
            ]
            if partial:
                v.append(
                    Violation(
                        Rule.PARTIAL_INTERMEDIATE,
                        f"shared loop over {partial[0]} would hand on a partial sum of intermediate "
                        f"{t.name} (it must be complete within one shared iteration)",
                        dimension=partial[0],
                        tensor=t.name,
                    )
                )
        for k in range(top + 1, dram + 1):
            loops = [lp for lp in mapping.levels[k].temporal if lp.dim in t.dims and lp.factor > 1]
            if loops:
                name = arch.levels[k].name
                v.append(
                    Violation(
                        Rule.SPLIT_INTERMEDIATE,
                        f"loop over {loops[0].dim} splits intermediate {t.name}, "
                        f"which must be whole on chip for each iteration of the shared loops",
                        where=name,
                        level=name,
                        field="temporal",
                        dimension=loops[0].dim,
                        tensor=t.name,
                    )
                )
    return v


def _check_spatial(op: Einsum, arch: Architecture, mapping: Mapping) -> list[Violation]:
    v: list[Violation] = []
    for fanout in arch.all_fanouts:
        v += _check_fanout(op, arch, mapping, fanout)
    return v


def _check_fanout(
    op: Einsum, arch: Architecture, mapping: Mapping, fanout: FanOut
) -> list[Violation]:
    v: list[Violation] = []
    below = fanout.below
    lm = mapping.levels[arch.level_index(below)]
    if op.kind is OpKind.VECTOR and lm.spatial:
        return [
            Violation(
                Rule.VECTOR_UNROLLED,
                "vector operators cannot be unrolled on the PE array",
                where=below,
                level=below,
                field="spatial",
            )
        ]
    inner = below == arch.pe_array.below
    for axis_name, axis in fanout.axes.items():
        where = f"PE array {axis_name}" if inner else f"fan-out {axis_name}"
        at = {"where": where, "level": below, "field": "spatial"}
        loops = [sp for sp in lm.spatial if sp.axis == axis_name]
        used = math.prod(sp.factor for sp in loops)
        if used > axis.size:
            v.append(
                Violation(
                    Rule.AXIS_SIZE,
                    f"spatial factors multiply to {used}, the axis has {axis.size} "
                    + ("PEs" if inner else "instances"),
                    found=str(used),
                    expected=f"at most {axis.size}",
                    axis=axis_name,
                    **at,
                )
            )
        for sp in loops:
            cls = dim_class(op, sp.dim)
            if cls not in axis.unrolls:
                v.append(
                    Violation(
                        Rule.AXIS_UNROLLS,
                        f"cannot unroll {cls.value} dimension {sp.dim}",
                        found=cls.value,
                        expected=f"one of {[c.value for c in axis.unrolls]}",
                        dimension=sp.dim,
                        axis=axis_name,
                        **at,
                    )
                )
            if cls is DimClass.REDUCTION and not fanout.spatial_reduction and sp.factor > 1:
                v.append(
                    Violation(
                        Rule.SPATIAL_REDUCTION,
                        f"unrolling reduction dimension {sp.dim} needs spatial reduction",
                        dimension=sp.dim,
                        axis=axis_name,
                        **at,
                    )
                )
    return v


def _weighted(
    arch: Architecture, level: int, tensors: Sequence[Tensor], words: dict[str, int]
) -> float:
    """Words of ``word_bytes`` that these tensors' words make at ``level``: the plain (exact,
    integer) sum unless some role has its own width there."""
    if not any(arch.width(level, t.role) != 1.0 for t in tensors):
        return sum(words[t.name] for t in tensors)
    return sum(words[t.name] * arch.width(level, t.role) for t in tensors)


def evaluate(
    op: Einsum,
    arch: Architecture,
    mapping: Mapping,
    *,
    double_buffering: bool = False,
    on_chip: frozenset[str] = frozenset(),
    capacity_exclude: frozenset[str] = frozenset(),
) -> Metrics:
    """Cost of running ``op`` once under ``mapping``; violations are listed, numbers still computed.

    ``on_chip`` names a fused group's intermediates (see ``check``); ``capacity_exclude`` names
    tensors written in place over another (a fused softmax's output): they take no capacity."""
    violations = check(op, arch, mapping, on_chip)
    if any(v.rule is Rule.LEVEL_COUNT for v in violations):
        raise ValueError(str(violations[0]))
    n = len(arch.levels)
    dims = padded_dims(op, mapping)
    multicast = {a: arch.fanout_of(a).multicast for a in arch.axis_names}

    def instances(level: int) -> int:
        return math.prod(sp.factor for sp in mapping.spatial_between(level, n - 1))

    def tile(t: Tensor, level: int) -> int:
        if level == MAC_LEVEL:
            return 1
        return math.prod(mapping.tile_extent(d, level) for d in t.dims)

    reads = [dict.fromkeys((t.name for t in op.tensors), 0) for _ in range(n)]
    writes = [dict.fromkeys((t.name for t in op.tensors), 0) for _ in range(n)]
    fill_counts: dict[tuple[str, int], int] = {}
    network = 0.0  # pJ of words crossing fan-outs, once per destination (hop_energy_pj)
    for t in op.tensors:
        chain = [MAC_LEVEL] + [i for i in range(n) if mapping.keeps(i, t.name)]
        for child, parent in itertools.pairwise(chain):
            f, r = fills(mapping.temporal_above(child), t.dims)
            fill_counts[(t.name, child)] = f
            # Inputs are multicast along dims that do not index them (or copied at a fan-out
            # without multicast); outputs are reduced in the network along the dims that do not
            # index them.
            dest = math.prod(
                sp.factor
                for sp in mapping.spatial_between(child, parent)
                if sp.dim in t.dims or not (t.role is Role.OUTPUT or multicast.get(sp.axis, True))
            ) * instances(parent)
            words = tile(t, child)
            hop = arch.hop_energy(child, parent)
            if hop:
                # every instance of the child receives its fills (or sends its updates) across the
                # fan-outs in between; a read-back reaches one of the instances that share it
                crossing = words * f * instances(child)
                if t.role is Role.OUTPUT:
                    crossing += words * (f - r) * dest
                network += hop * crossing * arch.width(parent, t.role)
            if t.role is Role.OUTPUT:
                writes[parent][t.name] += words * f * dest
                reads[parent][t.name] += words * (f - r) * dest
                if child != MAC_LEVEL:
                    reads[child][t.name] += words * f * instances(child)
                    writes[child][t.name] += words * (f - r) * dest
            else:
                reads[parent][t.name] += words * f * dest
                if child != MAC_LEVEL:
                    writes[child][t.name] += words * f * instances(child)

    wb = arch.word_bytes
    level_stats: list[LevelStats] = []
    tensor_stats: list[TensorLevelStats] = []
    dram_bytes = 0
    for i, lv in enumerate(arch.levels):
        kept = [t for t in op.tensors if mapping.keeps(i, t.name)]
        mult = 2 if double_buffering and i < arch.dram_index else 1
        held = [t for t in kept if t.name not in capacity_exclude]
        # in words of word_bytes: a role with its own width here weighs bytes / word_bytes
        tiles = {t.name: tile(t, i) for t in held}
        occupancy = _weighted(arch, i, held, tiles) * mult
        for buf in lv.capacity_groups(wb):
            cap = buf.words
            used = _weighted(arch, i, [t for t in held if buf.takes(t)], tiles) * mult
            if used > cap:
                what = buf.label
                buffered = " (double-buffered)" if mult == 2 else ""
                violations.append(
                    Violation(
                        Rule.CAPACITY,
                        f"{what} tiles need {words_text(used)} words{buffered}, capacity is {cap} words",
                        where=lv.name,
                        found=f"{words_text(used)} words",
                        expected=f"at most {cap} words",
                        level=lv.name,
                        operator=op.name,
                    )
                )
        r_total = sum(reads[i].values())
        w_total = sum(writes[i].values())
        # accesses in words of word_bytes, for energy and bandwidth
        r_ref = _weighted(arch, i, op.tensors, reads[i])
        w_ref = _weighted(arch, i, op.tensors, writes[i])
        moved = sum(
            (reads[i][t.name] + writes[i][t.name]) * arch.bytes_of(i, t.role) for t in op.tensors
        )
        if i == arch.dram_index:
            dram_bytes = moved
        inst = instances(i)
        rc = r_ref * wb / (lv.read_bandwidth * inst) if lv.read_bandwidth else 0.0
        wc = w_ref * wb / (lv.write_bandwidth * inst) if lv.write_bandwidth else 0.0
        caps = lv.capacity_groups(wb)
        level_stats.append(
            LevelStats(
                level=lv.name,
                instances=inst,
                occupancy_words=occupancy,
                capacity_words=sum(b.words for b in caps) if caps else None,
                reads=r_total,
                writes=w_total,
                read_cycles=rc,
                write_cycles=wc,
                energy_pj=r_ref * lv.read_energy_pj + w_ref * lv.write_energy_pj,
                stationarity=stationarity(op, mapping.temporal_above(i)),
                bytes_moved=moved,
            )
        )
        for t in kept:
            tensor_stats.append(
                TensorLevelStats(
                    t.name,
                    lv.name,
                    tile(t, i),
                    fill_counts.get((t.name, i), 1),
                    reads[i][t.name],
                    writes[i][t.name],
                )
            )

    points = math.prod(dims.values())
    macs = points if op.kind is OpKind.MAC else 0
    vops = points * op.ops_per_point if op.kind is OpKind.VECTOR else 0
    compute = (
        float(math.prod(lp.factor for lm in mapping.levels for lp in lm.temporal)) if macs else 0.0
    )
    vcycles = float(math.ceil(vops / arch.vector_unit.lanes)) if vops else 0.0
    latency = max([compute, vcycles] + [ls.cycles for ls in level_stats])
    mac_e = macs * arch.mac_energy_pj
    vec_e = vops * arch.vector_unit.energy_per_op_pj
    energy = mac_e + vec_e + network + sum(ls.energy_pj for ls in level_stats)
    return Metrics(
        operator=op.name,
        macs=macs,
        useful_macs=op.macs,
        vector_ops=vops,
        compute_cycles=compute,
        vector_cycles=vcycles,
        latency_cycles=latency,
        energy_pj=energy,
        mac_energy_pj=mac_e,
        vector_energy_pj=vec_e,
        dram_bytes=dram_bytes,
        utilisation=op.macs / (latency * arch.units) if latency and op.macs else 0.0,
        levels=tuple(level_stats),
        tensors=tuple(tensor_stats),
        violations=tuple(violations),
        pe_stationarity=stationarity(op, mapping.temporal_above(MAC_LEVEL)),
        network_energy_pj=network,
    )
