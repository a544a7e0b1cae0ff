"""cosamt architectures, operators and mappings as AccelForge specs, and AccelForge mappings back.

AccelForge (Timeloop's Python successor) describes a mapping as one loop tree: storage nodes say
where a tensor lives, and a tensor's storage node sits below exactly the loops that refill it. cosamt
lists loops per level and derives refills by the reuse rule (docs/semantics.md): the innermost run
of loops that do not index a tensor is dropped. The export therefore lifts each tensor's storage node
above that run, within its level's loops; both tools then count the same refills (checked word for
word on GPT-2's operators and groups by ``scripts/compare_peers.py`` and the tests).

Correspondence (no peer package is imported here):

* levels: DRAM -> ``MainMemory``; every other level -> a ``Memory`` of the same name (private levels
  below the PE array); the MAC's operand latch -> ``Register`` (one word of every tensor, free);
  the array -> a ``PEArray`` container with spatial dimensions ``rows`` and ``cols``; the vector
  unit -> compute units in a ``Fork`` above the array (``sequence_specs``).
* groups: operators run one after another, or fused below shared loops, -> a ``Sequential`` with
  one ``Nested`` branch per operator (``sequence_mapping_spec``); Einsums are named by their output.
* units: AccelForge counts bits, so energies are pJ per bit (pJ per word / bits per word) and
  throughputs bits per cycle (bytes per cycle x 8); capacities are bits; the MAC does one compute per
  cycle, so latency is in cycles. Read and write ports are separate (``total_latency`` is the max over
  actions), as in cosamt.

The export is exact where AccelForge can express the reuse rule: a tensor's storage node is lifted
only within its own level's loops; if the run of loops to drop reaches into an outer level, the node
stays at the top of its level and ``mapping_spec`` reports it in ``ExportedMapping.approximations``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cosamt.arch.spec import Architecture, DimClass, Partition
from cosamt.fusion.schemes import Group
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor

MAIN_MEMORY = "MainMemory"
REGISTER = "Register"
PE_ARRAY = "PEArray"
MAC = "MAC"
VECTOR_UNIT = "VectorUnit"
VECTOR_REGISTER = "VectorRegister"
LATCH = -1


class ExportError(ValueError):
    """The operator, architecture or mapping has no AccelForge counterpart here (message says why)."""


def vector_unit(ops_per_point: int) -> str:
    """The AccelForge compute unit of vector operators doing this many operations per point."""
    return f"{VECTOR_UNIT}{ops_per_point}"


def _computes(ops: list[Einsum]) -> str:
    """An ``enabled`` expression true exactly for these operators' Einsums (by output tensor)."""
    if not ops:
        return "False"
    return f"len(Outputs & ({' | '.join(op.output.name for op in ops)})) > 0"


def partition_name(level: str, part: Partition) -> str:
    """The AccelForge memory of one partition of a level: ``GlobalBuffer_input_weight``, a
    partition naming tensors ``GlobalBuffer_K_V``."""
    return "_".join([level, *(r.value for r in part.roles), *part.tensors])


def component(arch: Architecture, level: int, tensor: Tensor | None = None) -> str:
    """AccelForge component of a cosamt level (``LATCH`` is the MAC's operand latch); of a
    partitioned level, the memory of the partition that takes ``tensor``."""
    if level == LATCH:
        return REGISTER
    if level == arch.dram_index:
        return MAIN_MEMORY
    lv = arch.levels[level]
    at = None if tensor is None else lv.partition_of(tensor)
    if lv.partitions is None:
        return lv.name
    if at is None:
        raise ExportError(f"{lv.name}: a partitioned level has one memory per partition")
    return partition_name(lv.name, lv.partitions[at])


def level_of(arch: Architecture, name: str) -> int:
    if name in (REGISTER, VECTOR_REGISTER):
        return LATCH
    if name == MAIN_MEMORY:
        return arch.dram_index
    for i, lv in enumerate(arch.levels):
        parts = [partition_name(lv.name, p) for p in lv.partitions or ()]
        if name == lv.name or name in parts:
            return i
    raise ExportError(f"component {name!r} is not a level of architecture {arch.name!r}")


# ---------------------------------------------------------------------------------------------
# Architecture and workload


def _bits(arch: Architecture) -> int:
    if arch.mixed_widths:
        # AccelForge's bits_per_value is per tensor, not per tensor and memory
        raise ExportError(
            f"{arch.name}: role_bytes (a role's own width at a level) is not exported"
        )
    if arch.pe_array.hop_energy_pj:
        # the export prices buffers and MACs only: the array's network energy would be dropped
        raise ExportError(
            f"{arch.name}: pe_array.hop_energy_pj (network energy per word) is not exported"
        )
    return 8 * arch.word_bytes


def _memories(
    arch: Architecture, level: int, tensors: Sequence[Tensor] = ()
) -> list[dict[str, Any]]:
    """The AccelForge memories of a level: one, or one per partition (each keeping only its roles
    and named tensors; a tensor passes through the one memory that takes it, so each has the
    partition's capacity). Named tensors are written by their names in ``tensors`` (the exported
    operators': a fused group's renamed ``K_qk`` for the block's ``K``)."""
    lv = arch.levels[level]
    if lv.partitions is None:
        keeps = _keeps(lv.name, lv.holds, lv.holds_tensors, tensors)
        return [_memory(arch, level, lv.name, keeps, lv.capacity_bytes)]
    claimed = tuple(n for p in lv.partitions for n in p.tensors)
    out = []
    for p in lv.partitions:
        name = partition_name(lv.name, p)
        # a tensor another partition names is not this one's by role
        others = tuple(n for n in claimed if n not in p.tensors)
        keeps = _keeps(name, p.roles, p.tensors, tensors, others)
        out.append(_memory(arch, level, name, keeps, p.capacity_bytes))
    return out


def _exported(named: Sequence[str], tensors: Sequence[Tensor]) -> list[str]:
    """The exported operators' names of the tensors with these block names."""
    return sorted({t.name for t in tensors if t.names & set(named)})


def _keeps(
    where: str,
    roles: tuple[Role, ...],
    named: tuple[str, ...],
    tensors: Sequence[Tensor],
    others: tuple[str, ...] = (),
) -> str:
    """An AccelForge set expression: ``All``, roles (the workload's renames) and tensor names
    joined by ``|``, less the tensors another partition names. A name no exported tensor has is
    left out (its operator is not exported)."""
    if (named or others) and not tensors:
        raise ExportError(f"{where}: tensors named in the architecture need the exported operators")
    terms = [r.value for r in roles] if set(roles) != set(Role) else ["All"]
    terms += [n for n in _exported(named, tensors) if n not in terms]
    if named and not terms:
        raise ExportError(
            f"{where} keeps none of the exported operators' tensors (it names "
            f"{', '.join(named)}); an AccelForge memory that may keep nothing is not exported"
        )
    expr = " | ".join(terms)
    # only what the roles would take: a tensor of another role is not here anyway
    taken = sorted({t.name for t in tensors if t.names & set(others) and t.role in roles})
    if taken:
        expr = f"({expr}) - ({' | '.join(taken)})"
    return expr


def _memory(
    arch: Architecture, level: int, name: str, roles: str, capacity: int | None
) -> dict[str, Any]:
    lv = arch.levels[level]
    bits = _bits(arch)
    read = "inf" if lv.read_bandwidth is None else lv.read_bandwidth * 8
    write = "inf" if lv.write_bandwidth is None else lv.write_bandwidth * 8
    top = level == arch.dram_index
    return {
        "!Memory": True,
        "name": MAIN_MEMORY if top else name,
        "size": "inf" if capacity is None else capacity * 8,
        "leak_power": 0,
        "area": 0,
        "total_latency": "max(a.n_calls / a.throughput for a in actions)",
        "actions": [
            {"name": "read", "energy": lv.read_energy_pj / bits, "throughput": read},
            {"name": "write", "energy": lv.write_energy_pj / bits, "throughput": write},
        ],
        "tensors": {"keep": "All"} if top else {"may_keep": roles},
    }


# AccelForge set expressions, evaluated per Einsum: the rank variables that index its output, and
# the rest (reduction dimensions)
OUTPUT_DIMS = "Outputs.rank_variables"
REDUCTION_DIMS = "(All.rank_variables - Outputs.rank_variables)"


def axis_spec(arch: Architecture, axis: str) -> dict[str, Any]:
    """One array axis; the dimension classes cosamt forbids on it (``unrolls`` of the axis, and
    reduction everywhere without spatial reduction) are bound to one iteration, per Einsum."""
    spec: dict[str, Any] = {"name": axis, "fanout": arch.pe_array.axis(axis).size}
    allowed = arch.pe_array.axis(axis).unrolls
    forbidden = []
    if DimClass.REDUCTION not in allowed or not arch.pe_array.spatial_reduction:
        forbidden.append(REDUCTION_DIMS)
    if DimClass.OUTPUT not in allowed:
        forbidden.append(OUTPUT_DIMS)
    if forbidden:
        spec["loop_bounds"] = [{"expression": " | ".join(forbidden), "operator": "==", "value": 1}]
    return spec


def arch_spec(
    arch: Architecture, n_tensors: int = 3, tensors: Sequence[Tensor] = ()
) -> dict[str, Any]:
    """The ``arch`` section: memories outermost first, the PE array (its axes carrying cosamt's
    unrolling rules, so a mapper searches the same spatial choices), the latch and the MAC.
    ``tensors``: the exported operators' (needed when the architecture names tensors)."""
    arch.require_one_fanout("the AccelForge export")
    nodes: list[dict[str, Any]] = []
    for level in range(arch.dram_index, -1, -1):
        nodes += _memories(arch, level, tensors)
        if level == arch.spatial_level:
            nodes.append(
                {
                    "!Container": True,
                    "name": PE_ARRAY,
                    "spatial": [axis_spec(arch, axis) for axis in ("rows", "cols")],
                }
            )
    nodes.append(
        {
            "!Memory": True,
            "name": REGISTER,
            "size": n_tensors * _bits(arch),
            "leak_power": 0,
            "area": 0,
            "actions": [
                {"name": "read", "energy": 0, "throughput": "inf"},
                {"name": "write", "energy": 0, "throughput": "inf"},
            ],
            "tensors": {"keep": "All"},
        }
    )
    nodes.append(
        {
            "!Compute": True,
            "name": MAC,
            "leak_power": 0,
            "area": 0,
            "actions": [{"name": "compute", "energy": arch.mac_energy_pj, "throughput": 1}],
        }
    )
    return {"arch": {"nodes": nodes}}


def workload_spec(op: Einsum, word_bits: int) -> dict[str, Any]:
    """The ``workload`` section: one Einsum with its iteration space and tensor projections."""
    if op.kind is not OpKind.MAC:
        raise ExportError(
            f"{op.name}: only MAC operators are exported (vector operators have no "
            "AccelForge compute unit in this export)"
        )
    # AccelForge's role names: the first operand is the input, the second the weight (K in QKᵀ, V
    # in A·V), as cosamt's holds roles read them
    first, second = op.operands[0], op.operands[-1]
    renames = {"input": first.name, "weight": second.name, "output": op.output.name}
    return {
        "workload": {
            "iteration_space_shape": {d: f"0 <= {d} < {n}" for d, n in op.dims.items()},
            "bits_per_value": {"All": word_bits},
            "einsums": [
                {
                    "name": op.output.name,  # as AccelForge names an Einsum written as an equation
                    "tensor_accesses": [
                        {
                            "name": t.name,
                            "projection": list(t.dims),
                            **({"output": True} if t.role is Role.OUTPUT else {}),
                        }
                        for t in op.tensors
                    ],
                    "renames": renames,
                }
            ],
        }
    }


def sequence_specs(ops: list[Einsum], arch: Architecture) -> tuple[dict[str, Any], dict[str, Any]]:
    """Arch and workload for operators that run in sequence or fused (e.g. QKᵀ, softmax, A·V): DRAM
    need not keep intermediates. Vector operators (softmax, norms, residual adds) are Einsums on a
    vector unit that forks off above the PE array, as in cosamt: ``lanes`` operations per cycle,
    ``ops_per_point`` per point, no spatial loops, so the same mapping costs the same time in both
    models. One compute unit per distinct ``ops_per_point`` (``vector_unit``), each enabled for the
    Einsums it computes, named by their outputs."""
    spec = arch_spec(arch, 3, [t for op in ops for t in op.tensors])
    nodes = spec["arch"]["nodes"]
    nodes[0]["tensors"] = {"keep": "~Intermediates", "may_keep": "All"}
    nodes[-1]["enabled"] = _computes([op for op in ops if op.kind is OpKind.MAC])
    vector = [op for op in ops if op.kind is not OpKind.MAC]
    if vector:
        units = []
        for per_point in sorted({op.ops_per_point for op in vector}):
            units.append(
                {
                    "!Compute": True,
                    "name": vector_unit(per_point),
                    "leak_power": 0,
                    "area": 0,
                    "enabled": _computes([op for op in vector if op.ops_per_point == per_point]),
                    "actions": [
                        {
                            "name": "compute",
                            "energy": per_point * arch.vector_unit.energy_per_op_pj,
                            "throughput": arch.vector_unit.lanes / per_point,
                        }
                    ],
                }
            )
        width = max(len(op.tensors) for op in vector)
        array_at = next(i for i, n in enumerate(nodes) if n.get("name") == PE_ARRAY)
        # a Fork: the main path (PE array, latch, MAC) continues after it; the units' operands pass
        # a free one-word-per-tensor register, like the MAC's latch (the mapper wants a keeper per
        # tensor next to each compute)
        nodes.insert(
            array_at,
            {
                "!Fork": True,
                "nodes": [
                    {**nodes[-2], "name": VECTOR_REGISTER, "size": width * _bits(arch)},
                    *units,
                ],
            },
        )
    ranks: dict[str, int] = {}
    einsums = []
    for op in ops:
        for d, n in op.dims.items():
            if ranks.setdefault(d.upper(), n) != n:
                # AccelForge sizes a rank once per workload (MLA: QK's head dim 192, V's 128)
                raise ExportError(
                    f"dimension {d} is {ranks[d.upper()]} in one operator and {n} in {op.name}: "
                    "AccelForge gives a rank one size across a workload's Einsums"
                )
        out = op.output
        operands = " * ".join(f"{t.name}[{', '.join(t.dims)}]" for t in op.operands)
        names = {"input": op.operands[0].name, "output": out.name}
        if op.kind is OpKind.MAC:
            names["weight"] = op.operands[-1].name
        einsums.append(
            {"einsum": f"{out.name}[{', '.join(out.dims)}] = {operands}", "renames": names}
        )
    workload = {
        "workload": {
            "rank_sizes": ranks,
            "bits_per_value": {"All": 8 * arch.word_bytes},
            "einsums": einsums,
        }
    }
    return spec, workload


# ---------------------------------------------------------------------------------------------
# Mapping export


@dataclass(frozen=True)
class ExportedMapping:
    spec: dict[str, Any]  # {"mapping": {"nodes": [...]}}
    approximations: tuple[str, ...]  # where AccelForge will count differently, as sentences


def mapping_spec(op: Einsum, arch: Architecture, mapping: Mapping) -> ExportedMapping:
    """The ``mapping`` section for one operator: a loop tree whose storage nodes sit where the reuse
    rule says each tensor is refilled (``_Placement``)."""
    arch.require_one_fanout("the AccelForge export")
    p = _Placement.of(op, arch, mapping)
    tree = [("store", MAIN_MEMORY, t) for t in p.dram_tensors]
    tree += [*p.entries(range(len(p.loops) + 1)), ("compute", op.output.name, p.compute)]
    return ExportedMapping({"mapping": {"nodes": _render(tree, dict(op.dims))}}, p.approximations)


def group_mapping_spec(
    group: Group, arch: Architecture, mappings: dict[str, Mapping]
) -> ExportedMapping:
    """The ``mapping`` section for a group: one operator's tree, or a fused group's
    (``sequence_mapping_spec`` with the shared loops)."""
    if not group.fused:
        op = group.ops[0]
        return mapping_spec(op, arch, mappings[op.name])
    exported = sequence_mapping_spec(group.ops, arch.with_shared_level(), mappings, group.on_chip)
    # cosamt lets an elementwise output overwrite its input in the buffer; AccelForge reserves
    # space for both, so it may find the buffer too small for a schedule that fits in cosamt
    in_place = tuple(
        f"{t} overwrites its input in place ({op}); AccelForge reserves space for both"
        for op, ts in group.in_place.items()
        for t in sorted(ts)
    )
    return ExportedMapping(exported.spec, exported.approximations + in_place)


def sequence_mapping_spec(
    ops: tuple[Einsum, ...],
    arch: Architecture,
    mappings: dict[str, Mapping],
    on_chip: frozenset[str] = frozenset(),
) -> ExportedMapping:
    """The ``mapping`` section for operators run one after another: DRAM storage, the loops they
    share (a fused group's ``Shared`` level; ``arch`` then has it) with the storage nodes placed
    among them, then a ``Sequential`` with one ``Nested`` branch per operator, each its own loop
    tree. Intermediates (``on_chip``) and tiles that live across shared iterations sit above the
    branches; their placement must agree among operators. Without shared loops or intermediates
    this is the unfused sequence."""
    arch.require_one_fanout("the AccelForge export")
    _one_role_per_partitioned_tensor(ops, arch)
    places = {op.name: _Placement.of(op, arch, mappings[op.name]) for op in ops}
    first = places[ops[0].name]
    shared = first.loops[: first.shared]
    for op in ops:
        if places[op.name].loops[: places[op.name].shared] != shared:
            raise ExportError(f"{op.name}: its shared loops differ from {ops[0].name}'s")
    n = len(shared)
    top: dict[tuple[int, str, str], None] = {}  # ordered set of (position, component, tensor)
    for op in ops:
        for pos, comp, tensor in places[op.name].outside:
            if tensor in on_chip and pos > n:
                raise ExportError(
                    f"{op.name}: intermediate {tensor} is refilled inside the member's "
                    "own loops; AccelForge keeps intermediates above the branches"
                )
            if pos < n or tensor in on_chip:
                top[(pos, comp, tensor)] = None
    for tensor in on_chip:
        if len({pos for pos, _c, t in top if t == tensor}) > 1:
            raise ExportError(f"members place intermediate {tensor} differently")
    dram = dict.fromkeys(t for op in ops for t in places[op.name].dram_tensors)
    prefix: list[tuple[Any, ...]] = [("store", MAIN_MEMORY, t) for t in dram]
    for i in range(n + 1):
        prefix += [("store", c, t) for pos, c, t in top if pos == i]
        if i < n:
            prefix.append(("loop", "Temporal", shared[i].dim, shared[i].factor, ""))
    extent = dict(ops[0].dims)
    nodes = _render(prefix, extent)
    branches = []
    for op in ops:
        p = places[op.name]
        entries = [e for e in p.entries(range(n, len(p.loops) + 1)) if (n, e[1], e[2]) not in top]
        own = {d: extent.get(d, size) for d, size in op.dims.items()}
        branches.append(
            {
                "!Nested": True,
                "nodes": _render([*entries, ("compute", op.output.name, p.compute)], own),
            }
        )
    nodes.append({"!Sequential": True, "nodes": branches})
    approx = tuple(a for op in ops for a in places[op.name].approximations)
    return ExportedMapping({"mapping": {"nodes": nodes}}, approx)


def _one_role_per_partitioned_tensor(ops: tuple[Einsum, ...], arch: Architecture) -> None:
    """cosamt counts a tensor in the partition of every role it plays in a group (an intermediate
    is one member's output and the next one's input); AccelForge places it in one memory per
    Einsum, so such a group on a partitioned level has no counterpart."""
    if not any(lv.partitions for lv in arch.levels):
        return
    roles: dict[str, set[Role]] = {}
    names: dict[str, set[str]] = {}
    for op in ops:
        for t in op.tensors:
            roles.setdefault(t.name, set()).add(t.role)
            names.setdefault(t.name, set()).update(t.names)
    for lv in arch.levels:
        buffers = lv.capacity_groups(1) if lv.partitions else []
        for tensor, played in roles.items():
            where = [b.roles_of(frozenset(names[tensor]), frozenset(played)) for b in buffers]
            if sum(1 for w in where if w) > 1:
                raise ExportError(
                    f"{tensor} plays {sorted(r.value for r in played)} in the group and so sits in "
                    f"two partitions of {lv.name} (cosamt's rule); AccelForge places it in one"
                )


@dataclass(frozen=True)
class _Placement:
    """Where one operator's loops and storage nodes go in a loop tree.

    All temporal loops, outermost first (a fused group's shared loops, DRAM's, then each level's
    below), form one list; the storage node of a tensor kept at level l goes after the last of the
    loops above l that the reuse rule counts (the trailing run of loops not indexing the tensor is
    skipped). The spatial loops go right after the last storage node of a level the array hangs
    below or above (they run in parallel, so their place among the loops changes no count) and
    below the shared loops; storage of levels inside the array (private levels and the latch) must
    come after them, and is clamped there if the rule would lift it higher (``approximations``)."""

    loops: tuple[Loop, ...]
    shared: int  # how many of the loops belong to the Shared level
    outside: tuple[tuple[int, str, str], ...]  # (position in loops, component, tensor)
    inside: tuple[tuple[int, str, str], ...]
    spatial: tuple[SpatialLoop, ...]
    spatial_at: int
    dram_tensors: tuple[str, ...]
    compute: str
    approximations: tuple[str, ...]

    @classmethod
    def of(cls, op: Einsum, arch: Architecture, mapping: Mapping) -> _Placement:
        if mapping.padding:
            raise ExportError(f"{op.name}: padded mappings are not exported")
        dram = arch.dram_index
        leveled = [
            (k, lp)
            for k in range(len(mapping.levels) - 1, -1, -1)
            for lp in mapping.levels[k].temporal
            if lp.factor > 1
        ]
        mac = op.kind is OpKind.MAC
        latch = REGISTER if mac else VECTOR_REGISTER
        stores: list[tuple[int, int, str]] = []  # (position, level, tensor)
        for t in op.tensors:
            for level in [LATCH, *range(dram)]:
                if level != LATCH and t.name not in mapping.levels[level].keep:
                    continue
                counted = [i for i, (k, _) in enumerate(leveled) if k > level]
                while counted and leveled[counted[-1]][1].dim not in t.dims:
                    counted.pop()
                stores.append((counted[-1] + 1 if counted else 0, level, t.name))
        shared = sum(1 for k, _ in leveled if k > dram)
        inside = [st for st in stores if st[1] == LATCH or arch.is_private(st[1])]
        outside = [st for st in stores if st not in inside]
        spatial_at = max([shared, *(pos for pos, _, _ in outside)])
        spatial = tuple(sp for sp in mapping.levels[arch.spatial_level].spatial if sp.factor > 1)
        if spatial and not mac:
            raise ExportError(f"{op.name}: the vector unit has no spatial loops")

        def name(level: int, tensor: str) -> str:
            return latch if level == LATCH else component(arch, level, op.tensor(tensor))

        def order(st: tuple[int, int, str]) -> tuple[int, int]:
            """Outer levels first; within a partitioned level, in the memories' order."""
            at = None if st[1] == LATCH else arch.levels[st[1]].partition_of(op.tensor(st[2]))
            return (-st[1], at or 0)

        return cls(
            loops=tuple(lp for _, lp in leveled),
            shared=shared,
            outside=tuple((pos, name(lvl, t), t) for pos, lvl, t in sorted(outside, key=order)),
            inside=tuple(
                (max(pos, spatial_at), name(lvl, t), t) for pos, lvl, t in sorted(inside, key=order)
            ),
            spatial=spatial,
            spatial_at=spatial_at,
            dram_tensors=tuple(t.name for t in op.tensors if t.name in mapping.levels[dram].keep),
            compute=MAC if mac else vector_unit(op.ops_per_point),
            approximations=tuple(
                sorted(
                    {
                        f"{t} in {name(lvl, t)} ({op.name}): its storage node cannot "
                        "sit above the array's loops, so AccelForge counts more refills"
                        for pos, lvl, t in inside
                        if pos < spatial_at
                    }
                )
            ),
        )

    def entries(self, positions: range) -> list[tuple[Any, ...]]:
        """Tree entries at these positions: outer levels' storage first, then (once) the spatial
        loops, then inner levels' storage, then the loop at the position."""
        tree: list[tuple[Any, ...]] = []
        for i in positions:
            tree += [("store", c, t) for pos, c, t in self.outside if pos == i]
            if i == self.spatial_at:
                tree += [("loop", "Spatial", sp.dim, sp.factor, sp.axis) for sp in self.spatial]
            tree += [("store", c, t) for pos, c, t in self.inside if pos == i]
            if i < len(self.loops):
                tree.append(("loop", "Temporal", self.loops[i].dim, self.loops[i].factor, ""))
        return tree


def _render(tree: list[tuple[Any, ...]], extent: dict[str, int]) -> list[dict[str, Any]]:
    """Tree entries as AccelForge nodes: consecutive storage nodes of one component merge; loop
    factors become tile shapes (the extent of the dimension below the loop; ``extent`` is updated)."""
    nodes: list[dict[str, Any]] = []
    for entry in tree:
        if entry[0] == "store":
            _, comp, tensor = entry
            if nodes and "!Storage" in nodes[-1] and nodes[-1]["component"] == comp:
                nodes[-1]["tensors"].append(tensor)
            else:
                nodes.append({"!Storage": True, "tensors": [tensor], "component": comp})
        elif entry[0] == "loop":
            _, kind, dim, factor, axis = entry
            extent[dim] //= factor
            node = {f"!{kind}": True, "rank_variable": dim, "tile_shape": extent[dim]}
            nodes.append(
                node if kind == "Temporal" else {**node, "name": axis, "component": PE_ARRAY}
            )
        else:
            nodes.append({"!Compute": True, "einsum": entry[1], "component": entry[2]})
    return nodes


# ---------------------------------------------------------------------------------------------
# Mapping import


def mapping_from_nodes(
    op: Einsum, arch: Architecture, nodes: list[dict[str, Any]], shared: int = 0
) -> Mapping:
    """A cosamt mapping from an AccelForge loop tree (nodes outermost first, as ``_render`` writes
    them or as the runner reports a mapper's result). A loop belongs to the level just above the
    outermost component that still has a storage node below it, except that the loops among the
    first ``shared`` nodes belong to a fused group's ``Shared`` level (``arch`` then has it); keeps
    come from storage nodes."""
    extent = dict(op.dims)
    storage_after: list[int] = []  # per node: outermost level with a storage node strictly below
    levels_below = LATCH - 1
    for node in reversed(nodes):
        storage_after.append(levels_below)
        if _kind(node) == "Storage":
            levels_below = max(levels_below, level_of(arch, node["component"]))
    storage_after.reverse()
    temporal: dict[int, list[Loop]] = {k: [] for k in range(len(arch.levels))}
    spatial: list[SpatialLoop] = []
    keep: dict[int, set[str]] = {k: set() for k in range(len(arch.levels))}
    for i, (node, below) in enumerate(zip(nodes, storage_after, strict=True)):
        kind = _kind(node)
        if kind == "Storage":
            lvl = level_of(arch, node["component"])
            if lvl != LATCH:
                keep[lvl].update(node["tensors"])
        elif kind in ("Temporal", "Spatial"):
            d = node["rank_variable"]
            tile = int(node["tile_shape"])
            if d not in extent or extent[d] % tile:
                raise ExportError(
                    f"loop over {d!r} with tile shape {tile} does not divide {extent.get(d)}"
                )
            factor, extent[d] = extent[d] // tile, tile
            if factor == 1:
                continue
            if kind == "Spatial":
                spatial.append(SpatialLoop(d, factor, node["name"]))
            elif i < shared:
                temporal[arch.dram_index + 1].append(Loop(d, factor))
            elif below < LATCH:
                raise ExportError(f"temporal loop over {d!r} below every storage node")
            else:
                temporal[below + 1].append(Loop(d, factor))
    levels = tuple(
        LevelMapping(
            temporal=tuple(temporal[k]),
            spatial=tuple(spatial) if k == arch.spatial_level else (),
            keep=frozenset(keep[k]),
        )
        for k in range(len(arch.levels))
    )
    left = {d: n for d, n in extent.items() if n != 1}
    if left:
        raise ExportError(f"the loop tree leaves dimensions untiled down to the MAC: {left}")
    return Mapping(levels=levels)


def group_mappings_from_nodes(
    group: Group, arch: Architecture, nodes: list[dict[str, Any]]
) -> dict[str, Mapping]:
    """cosamt mappings of a group's members from an AccelForge loop tree (one operator's tree, or
    a fused group's: ``sequence_mappings_from_nodes`` with the shared loops)."""
    if not group.fused:
        op = group.ops[0]
        return {op.name: mapping_from_nodes(op, arch, nodes)}
    return sequence_mappings_from_nodes(group.ops, arch.with_shared_level(), nodes)


def sequence_mappings_from_nodes(
    ops: tuple[Einsum, ...], arch: Architecture, nodes: list[dict[str, Any]]
) -> dict[str, Mapping]:
    """cosamt mappings from a tree of a prefix (storage and shared loops, which go to the
    ``Shared`` level ``arch`` then has) then a ``Sequential`` of one branch per operator (found by
    the Einsum its compute node names: the operator's output). Each operator's nest is the prefix,
    with the storage of its own tensors, followed by its branch."""
    split = next((i for i, n in enumerate(nodes) if _kind(n) in SPLITS), None)
    if split is None:
        raise ExportError("the loop tree has no Sequential node: it maps one Einsum")
    extent = {d: n for op in ops for d, n in op.dims.items()}
    for n in nodes[:split]:
        if _kind(n) in ("Temporal", "Spatial"):
            extent[n["rank_variable"]] = int(n["tile_shape"])
    branches = leaf_branches(nodes[split], extent)
    out = {}
    for op in ops:
        if op.output.name not in branches:
            raise ExportError(f"no branch computes {op.output.name} ({op.name})")
        prefix = _own_storage(op, nodes[:split])
        own = _own_storage(op, branches[op.output.name])
        out[op.name] = mapping_from_nodes(op, arch, prefix + own, len(prefix))
    return out


SPLITS = ("Sequential", "Pipeline")


def _own_storage(op: Einsum, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The nodes with every storage node cut to this operator's tensors (dropped if none is)."""
    names = {t.name for t in op.tensors}
    out: list[dict[str, Any]] = []
    for n in nodes:
        if _kind(n) != "Storage":
            out.append(n)
        elif names & set(n["tensors"]):
            out.append({**n, "tensors": [t for t in n["tensors"] if t in names]})
    return out


def _einsums(node: dict[str, Any]) -> list[str]:
    """The Einsums a subtree computes, in tree order."""
    if _kind(node) == "Compute":
        return [node["einsum"]]
    return [e for child in node.get("nodes", []) for e in _einsums(child)]


def leaf_branches(split: dict[str, Any], extent: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """Per Einsum, its branch below a ``Sequential`` (or ``Pipeline``): the nodes from the split
    down to its compute. A branch ending in a nested split is flattened into its sub-branches when
    nothing but storage nodes and loops of one iteration (tile = the extent above) sit above the
    nested split: the storage nodes then sit at the same loop depth in every sub-branch, so each
    operator's nest is the same. A loop of more than one iteration there is shared by only some of
    the group's operators: cosamt's group has one Shared level for all its members, so it is
    refused, naming the loop and the Einsums below it. ``extent``: each rank variable's tile
    above the split."""
    out: dict[str, list[dict[str, Any]]] = {}
    for branch in split["nodes"]:
        nodes = branch["nodes"] if _kind(branch) == "Nested" else [branch]
        last = nodes[-1] if nodes else {}
        if _kind(last) == "Compute":
            if any(_kind(n) in (*SPLITS, "Compute") for n in nodes[:-1]):
                raise ExportError(
                    f"branch computing {last['einsum']}: a split or second compute "
                    "above its compute node"
                )
            out[last["einsum"]] = nodes
            continue
        if _kind(last) not in SPLITS:
            raise ExportError(
                f"a branch of the {_kind(split)} ends in a {_kind(last)} node, not a compute "
                "node or a nested Sequential/Pipeline"
            )
        below = dict(extent)
        lifted: list[dict[str, Any]] = []
        for n in nodes[:-1]:
            kind = _kind(n)
            if kind == "Storage":
                lifted.append(n)
            elif kind in ("Temporal", "Spatial"):
                d, tile = n["rank_variable"], int(n["tile_shape"])
                if tile != below.get(d, tile):
                    raise ExportError(
                        f"{kind} loop over {d!r} (tile shape {tile} of {below[d]}) above the "
                        f"nested {_kind(last)} computing {', '.join(_einsums(last))}: a loop "
                        "shared by only some of a fused group's Einsums has no cosamt "
                        "counterpart (one Shared level for every member)"
                    )
            else:
                raise ExportError(f"a {kind} node above a nested {_kind(last)}")
        for einsum, sub in leaf_branches(last, below).items():
            out[einsum] = lifted + sub
    return out


def _kind(node: dict[str, Any]) -> str:
    for k in ("Storage", "Temporal", "Spatial", "Compute", "Sequential", "Pipeline", "Nested"):
        if f"!{k}" in node or node.get("type") == k:
            return k
    return str(node.get("type", "other"))


def to_yaml_text(doc: dict[str, Any]) -> str:
    """YAML with AccelForge's tags (``!Memory``, ``!Storage`` ...) from the ``"!Tag": True`` keys."""
    lines: list[str] = []
    _emit(doc, 0, lines)
    return "\n".join(lines) + "\n"


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else repr(v)
    if isinstance(v, int):
        return str(v)
    s = str(v)
    return s if s.replace("_", "").replace(".", "").isalnum() else '"' + s.replace('"', '\\"') + '"'


def _flow(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _scalar(v)


def _emit(v: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, dict | list):
                lines.append(f"{pad}{k}:")
                _emit(x, indent + 2, lines)
            else:
                lines.append(f"{pad}{k}: {_scalar(x)}")
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, dict):
                tag = next((k for k in x if k.startswith("!")), None)
                body = {k: y for k, y in x.items() if not k.startswith("!")}
                if "nodes" in body:
                    # a node with child nodes (Fork, Sequential, Nested): block style, tag on its own
                    lines.append(f"{pad}- {tag or ''}")
                    _emit(body, indent + 2, lines)
                else:
                    lines.append(f"{pad}- {tag + ' ' if tag else ''}{_flow(body)}")
            else:
                lines.append(f"{pad}- {_flow(x)}")
