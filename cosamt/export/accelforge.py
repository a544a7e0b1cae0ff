"""cosamt architectures, operators and mappings as AccelForge specs, and AccelForge mappings back.

AccelForge (Timeloop's Python successor) describes a mapping as one loop tree: storage nodes say
where a tensor lives, and a tensor's storage node sits below exactly the loops that refill it. cosamt
lists loops per level and derives refills by the reuse rule (docs/semantics.md): the innermost run
of loops that do not index a tensor is dropped. The export therefore lifts each tensor's storage node
above that run, within its level's loops; both tools then count the same refills (checked word for
word on GPT-2's FFN1 by ``scripts/compare_peers.py``).

Correspondence (MAC operators; no peer package is imported here):

* levels: DRAM -> ``MainMemory``; every other level -> a ``Memory`` of the same name (private levels
  below the PE array); the MAC's operand latch -> ``Register`` (one word of every tensor, free);
  the array -> a ``PEArray`` container with spatial dimensions ``rows`` and ``cols``.
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
from dataclasses import dataclass
from typing import Any

from cosamt.arch.spec import Architecture, DimClass
from cosamt.schedule.mapping import LevelMapping, Loop, Mapping, SpatialLoop
from cosamt.workload.einsum import Einsum, OpKind, Role

MAIN_MEMORY = "MainMemory"
REGISTER = "Register"
PE_ARRAY = "PEArray"
MAC = "MAC"
LATCH = -1


class ExportError(ValueError):
    """The operator, architecture or mapping has no AccelForge counterpart here (message says why)."""


def component(arch: Architecture, level: int) -> str:
    """AccelForge component of a cosamt level (``LATCH`` is the MAC's operand latch)."""
    if level == LATCH:
        return REGISTER
    if level == arch.dram_index:
        return MAIN_MEMORY
    return arch.levels[level].name


def level_of(arch: Architecture, name: str) -> int:
    if name == REGISTER:
        return LATCH
    if name == MAIN_MEMORY:
        return arch.dram_index
    for i, lv in enumerate(arch.levels):
        if lv.name == name:
            return i
    raise ExportError(f"component {name!r} is not a level of architecture {arch.name!r}")


# ---------------------------------------------------------------------------------------------
# Architecture and workload


def _bits(arch: Architecture) -> int:
    return 8 * arch.word_bytes


def _memory(arch: Architecture, level: int) -> dict[str, Any]:
    lv = arch.levels[level]
    bits = _bits(arch)
    if lv.partitions:
        raise ExportError(f"{lv.name}: partitioned buffers are not exported")
    read = "inf" if lv.read_bandwidth is None else lv.read_bandwidth * 8
    write = "inf" if lv.write_bandwidth is None else lv.write_bandwidth * 8
    top = level == arch.dram_index
    roles = "All" if set(lv.holds) == set(Role) else " | ".join(r.value for r in lv.holds)
    return {
        "!Memory": True,
        "name": component(arch, level),
        "size": "inf" if lv.capacity_bytes is None else lv.capacity_bytes * 8,
        "leak_power": 0,
        "area": 0,
        "total_latency": "max(a.n_calls / a.throughput for a in actions)",
        "actions": [
            {"name": "read", "energy": lv.read_energy_pj / bits, "throughput": read},
            {"name": "write", "energy": lv.write_energy_pj / bits, "throughput": write},
        ],
        "tensors": {"keep": "All"} if top else {"may_keep": roles},
    }


def axis_spec(arch: Architecture, axis: str, op: Einsum | None) -> dict[str, Any]:
    """One array axis; with an operator, the dims cosamt forbids on it are bound to one iteration
    (``unrolls`` of the axis, and reduction dims everywhere without spatial reduction)."""
    spec: dict[str, Any] = {"name": axis, "fanout": arch.pe_array.axis(axis).size}
    if op is None:
        return spec
    allowed = arch.pe_array.axis(axis).unrolls
    forbidden = [
        d for d in op.dims
        if (d in op.reduction_dims and (DimClass.REDUCTION not in allowed
                                       or not arch.pe_array.spatial_reduction))
        or (d not in op.reduction_dims and DimClass.OUTPUT not in allowed)
    ]
    if forbidden:
        spec["loop_bounds"] = [{"expression": " | ".join(forbidden), "operator": "==", "value": 1}]
    return spec


def arch_spec(arch: Architecture, n_tensors: int = 3, op: Einsum | None = None) -> dict[str, Any]:
    """The ``arch`` section: memories outermost first, the PE array, the latch and the MAC. Given
    the operator, the array axes carry cosamt's unrolling rules, so a mapper searches the same
    spatial choices."""
    nodes: list[dict[str, Any]] = []
    for level in range(arch.dram_index, -1, -1):
        nodes.append(_memory(arch, level))
        if level == arch.spatial_level:
            nodes.append({
                "!Container": True,
                "name": PE_ARRAY,
                "spatial": [axis_spec(arch, axis, op) for axis in ("rows", "cols")],
            })
    nodes.append({
        "!Memory": True, "name": REGISTER, "size": n_tensors * _bits(arch), "leak_power": 0, "area": 0,
        "actions": [{"name": "read", "energy": 0, "throughput": "inf"},
                    {"name": "write", "energy": 0, "throughput": "inf"}],
        "tensors": {"keep": "All"},
    })
    nodes.append({
        "!Compute": True, "name": MAC, "leak_power": 0, "area": 0,
        "actions": [{"name": "compute", "energy": arch.mac_energy_pj, "throughput": 1}],
    })
    return {"arch": {"nodes": nodes}}


def workload_spec(op: Einsum, word_bits: int) -> dict[str, Any]:
    """The ``workload`` section: one Einsum with its iteration space and tensor projections."""
    if op.kind is not OpKind.MAC:
        raise ExportError(f"{op.name}: only MAC operators are exported (vector operators have no "
                          "AccelForge compute unit in this export)")
    # AccelForge's role names: the first operand is the input, the second the weight (K in QKᵀ, V
    # in A·V), as cosamt's holds roles read them
    first, second = op.operands[0], op.operands[-1]
    renames = {"input": first.name, "weight": second.name, "output": op.output.name}
    return {
        "workload": {
            "iteration_space_shape": {d: f"0 <= {d} < {n}" for d, n in op.dims.items()},
            "bits_per_value": {"All": word_bits},
            "einsums": [{
                "name": op.name,
                "tensor_accesses": [
                    {"name": t.name, "projection": list(t.dims),
                     **({"output": True} if t.role is Role.OUTPUT else {})}
                    for t in op.tensors
                ],
                "renames": renames,
            }],
        }
    }


def fused_specs(ops: list[Einsum], arch: Architecture) -> tuple[dict[str, Any], dict[str, Any]]:
    """Arch and workload for a chain of operators that may fuse (e.g. QKᵀ, softmax, A·V): DRAM need
    not keep intermediates, vector operators are copy Einsums on a ``VectorUnit`` beside the MAC
    (one per PE, together ``lanes`` operations per cycle, ``ops_per_point`` operations per point)."""
    vector = [op for op in ops if op.kind is not OpKind.MAC]
    if any(len(op.operands) != 1 or op.ops_per_point != vector[0].ops_per_point for op in vector):
        raise ExportError("vector operators must be unary with one ops_per_point")
    spec = arch_spec(arch, 3)
    nodes = spec["arch"]["nodes"]
    nodes[0]["tensors"] = {"keep": "~Intermediates", "may_keep": "All"}
    nodes[-1]["enabled"] = "len(All) == 3"
    if vector:
        per_point = vector[0].ops_per_point
        nodes.append({
            "!Compute": True, "name": "VectorUnit", "leak_power": 0, "area": 0, "enabled": "len(All) == 2",
            "actions": [{"name": "compute", "energy": per_point * arch.vector_unit.energy_per_op_pj,
                         "throughput": arch.vector_unit.lanes / per_point / arch.pe_array.pes}],
        })
    ranks: dict[str, int] = {}
    einsums = []
    for op in ops:
        ranks.update({d.upper(): n for d, n in op.dims.items()})
        out = op.output
        operands = " * ".join(f"{t.name}[{', '.join(t.dims)}]" for t in op.operands)
        names = {"input": op.operands[0].name, "output": out.name}
        if op.kind is OpKind.MAC:
            names["weight"] = op.operands[-1].name
        einsums.append({"einsum": f"{out.name}[{', '.join(out.dims)}] = {operands}", "renames": names})
    workload = {"workload": {"rank_sizes": ranks, "bits_per_value": {"All": 8 * arch.word_bytes},
                             "einsums": einsums}}
    return spec, workload


# ---------------------------------------------------------------------------------------------
# Mapping export


@dataclass(frozen=True)
class ExportedMapping:
    spec: dict[str, Any]  # {"mapping": {"nodes": [...]}}
    approximations: tuple[str, ...]  # tensors whose refills AccelForge will count differently


def mapping_spec(op: Einsum, arch: Architecture, mapping: Mapping) -> ExportedMapping:
    """The ``mapping`` section for one operator: a loop tree whose storage nodes sit where the reuse
    rule says each tensor is refilled.

    All temporal loops, outermost first (DRAM's, then each level's below it), form one list; the
    storage node of a tensor kept at level l goes after the last of the loops above l that the reuse
    rule counts (the trailing run of loops not indexing the tensor is skipped). The spatial loops go
    right after the last storage node of a level the array hangs below or above (they run in
    parallel, so their place among the loops changes no count); storage of levels inside the array
    (private levels and the latch) must come after them, and is clamped there if the rule would lift
    it higher (reported in ``approximations``)."""
    if op.kind is not OpKind.MAC:
        raise ExportError(f"{op.name}: only MAC operators are exported")
    if mapping.padding:
        raise ExportError(f"{op.name}: padded mappings are not exported")
    loops = [(k, lp) for k in range(arch.dram_index, -1, -1)
             for lp in mapping.levels[k].temporal if lp.factor > 1]
    stores: list[tuple[int, int, str]] = []  # (position in loops, level, tensor)
    for t in op.tensors:
        for level in [LATCH, *range(arch.dram_index)]:
            if level != LATCH and t.name not in mapping.levels[level].keep:
                continue
            above = [i for i, (k, _) in enumerate(loops) if k > level]
            counted = list(above)
            while counted and loops[counted[-1]][1].dim not in t.dims:
                counted.pop()
            stores.append((counted[-1] + 1 if counted else 0, level, t.name))
    inside = [st for st in stores if st[1] == LATCH or arch.is_private(st[1])]
    outside = [st for st in stores if st not in inside]
    spatial_at = max((pos for pos, _, _ in outside), default=0)
    approx = sorted({f"{name}@{component(arch, lvl)}" for pos, lvl, name in inside if pos < spatial_at})
    inside = [(max(pos, spatial_at), lvl, name) for pos, lvl, name in inside]
    spatial = [sp for sp in mapping.levels[arch.spatial_level].spatial if sp.factor > 1]
    tree: list[tuple[Any, ...]] = [("store", arch.dram_index, t.name) for t in op.tensors]
    for i in range(len(loops) + 1):
        # at each position: outer levels' storage first, then (once) the spatial loops, then inner
        here_out = sorted((st for st in outside if st[0] == i), key=lambda st: -st[1])
        here_in = sorted((st for st in inside if st[0] == i), key=lambda st: -st[1])
        tree += [("store", lvl, name) for _, lvl, name in here_out]
        if i == spatial_at:
            tree += [("loop", {"kind": "Spatial", "dim": sp.dim, "factor": sp.factor, "axis": sp.axis})
                     for sp in spatial]
        tree += [("store", lvl, name) for _, lvl, name in here_in]
        if i < len(loops):
            tree.append(("loop", {"kind": "Temporal", "dim": loops[i][1].dim, "factor": loops[i][1].factor}))
    tree.append(("compute",))
    return ExportedMapping({"mapping": {"nodes": _render(op, arch, tree)}}, tuple(approx))


def _render(op: Einsum, arch: Architecture, tree: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Tree entries as AccelForge nodes: consecutive storage nodes of one component merge; loop
    factors become tile shapes (the extent of the dimension below the loop)."""
    extent = dict(op.dims)
    nodes: list[dict[str, Any]] = []
    for entry in tree:
        if entry[0] == "store":
            comp = component(arch, entry[1])
            if nodes and "!Storage" in nodes[-1] and nodes[-1]["component"] == comp:
                nodes[-1]["tensors"].append(entry[2])
            else:
                nodes.append({"!Storage": True, "tensors": [entry[2]], "component": comp})
        elif entry[0] == "loop":
            n = entry[1]
            extent[n["dim"]] //= n["factor"]
            if n["kind"] == "Temporal":
                nodes.append({"!Temporal": True, "rank_variable": n["dim"], "tile_shape": extent[n["dim"]]})
            else:
                nodes.append({"!Spatial": True, "rank_variable": n["dim"], "tile_shape": extent[n["dim"]],
                              "name": n["axis"], "component": PE_ARRAY})
        else:
            nodes.append({"!Compute": True, "einsum": op.name, "component": MAC})
    return nodes


# ---------------------------------------------------------------------------------------------
# Mapping import


def mapping_from_nodes(op: Einsum, arch: Architecture, nodes: list[dict[str, Any]]) -> Mapping:
    """A cosamt mapping from an AccelForge loop tree (nodes outermost first, as ``_render`` writes
    them or as the runner reports a mapper's result). A loop belongs to the level just above the
    outermost component that still has a storage node below it; keeps come from storage nodes."""
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
    for node, below in zip(nodes, storage_after, strict=True):
        kind = _kind(node)
        if kind == "Storage":
            lvl = level_of(arch, node["component"])
            if lvl != LATCH:
                keep[lvl].update(node["tensors"])
        elif kind in ("Temporal", "Spatial"):
            d = node["rank_variable"]
            tile = int(node["tile_shape"])
            if d not in extent or extent[d] % tile:
                raise ExportError(f"loop over {d!r} with tile shape {tile} does not divide {extent.get(d)}")
            factor, extent[d] = extent[d] // tile, tile
            if factor == 1:
                continue
            if kind == "Temporal":
                if below < LATCH:
                    raise ExportError(f"temporal loop over {d!r} below every storage node")
                temporal[below + 1].append(Loop(d, factor))
            else:
                spatial.append(SpatialLoop(d, factor, node["name"]))
    everything = frozenset(t.name for t in op.tensors)
    levels = tuple(
        LevelMapping(
            temporal=tuple(temporal[k]),
            spatial=tuple(spatial) if k == arch.spatial_level else (),
            keep=everything if k == arch.dram_index else frozenset(keep[k]),
        )
        for k in range(len(arch.levels))
    )
    left = {d: n for d, n in extent.items() if n != 1}
    if left:
        raise ExportError(f"the loop tree leaves dimensions untiled down to the MAC: {left}")
    return Mapping(levels=levels)


def _kind(node: dict[str, Any]) -> str:
    for k in ("Storage", "Temporal", "Spatial", "Compute"):
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
                lines.append(f"{pad}- {tag + ' ' if tag else ''}{_flow(body)}")
            else:
                lines.append(f"{pad}- {_flow(x)}")

