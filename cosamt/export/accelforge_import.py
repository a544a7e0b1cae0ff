"""An AccelForge architecture (``arch.nodes`` YAML, the format ``cosamt export`` writes) as a cosamt
architecture, refused node by node and field by field where it states something cosamt cannot model.

The correspondence is the export's (cosamt/export/accelforge.py), read backwards:

* ``!Memory`` nodes, outermost first, are the levels (the first is DRAM); the memories between the
  ``!Container``/``!Fanout`` with ``spatial`` and the ``!Compute`` are private to a PE. A
  zero-energy memory directly above the MAC that holds at most one word per tensor is the MAC's
  operand latch, which cosamt has implicitly (``Register`` in the export).
* units: AccelForge counts bits, cosamt words and bytes: energy pJ/bit x bits per word = pJ/word,
  throughput bits/cycle / 8 = bytes/cycle, size bits / 8 = bytes.
* ``tensors``: the roles a level keeps or may keep become ``holds``, tensor names in the same
  expression ``holds_tensors`` (``weight | K | V``); a memory keeping ``(roles) - (names)`` is one
  partition of a level whose other partition names those tensors. cosamt chooses per schedule
  whether a level keeps a tensor it may hold, so ``keep`` (must keep) is read as "may keep"; the
  import says so in its notes.
* the spatial container's two dimensions become the array's ``rows`` and ``cols``; the export's
  ``loop_bounds`` (output or reduction rank variables bound to 1) become each axis's ``unrolls``.
* the export's vector-unit ``!Fork`` (``VectorUnit<ops per point>`` computes) becomes the vector unit.

AccelForge states no clock, no word width (it is the workload's ``bits_per_value``) and, outside
cosamt's own exports, no vector unit: those come from the caller (``extra``). Values may be numbers,
``inf`` or arithmetic over numbers (``1024 * 16``); Jinja templates must be rendered first.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cosamt.arch.spec import Architecture, DimClass
from cosamt.errors import InputError, Problem, problems_from_pydantic
from cosamt.export.accelforge import (
    OUTPUT_DIMS,
    PE_ARRAY,
    REDUCTION_DIMS,
    VECTOR_REGISTER,
    VECTOR_UNIT,
)
from cosamt.io.instance import read_text
from cosamt.limits import LEVEL_NAME_PATTERN
from cosamt.workload.einsum import Role

NODE_TAGS = ("Memory", "Compute", "Container", "Fanout", "Fork")
# The one latency rule cosamt has: separate read and write ports, each at its throughput.
PORT_LATENCY = "max(a.n_calls / a.throughput for a in actions)"
# Keys that carry no cost in cosamt's model when they are zero (leakage, area) or are only names.
_ZERO_ONLY = ("leak_power", "area")
_MEMORY_KEYS = {
    "name",
    "size",
    "actions",
    "tensors",
    "total_latency",
    "component_class",
    *_ZERO_ONLY,
}
_COMPUTE_KEYS = {"name", "actions", "enabled", "total_latency", "component_class", *_ZERO_ONLY}
_SPATIAL_KEYS = {"name", "fanout", "loop_bounds"}
_ROLES = {r.value: r for r in Role}


@dataclass(frozen=True)
class ImportedArch:
    arch: Architecture
    notes: tuple[str, ...]  # what the import read differently from AccelForge, as sentences


def load_accelforge_arch(path: Path, extra: dict[str, Any]) -> ImportedArch:
    """Read an AccelForge arch YAML file; ``extra`` gives what it cannot state (``name``,
    ``clock_ghz``, ``word_bytes``, ``vector_unit`` unless the file has one, ``description``)."""
    text = read_text(path)
    return architecture_from_accelforge(parse_yaml(text, str(path)), extra, str(path))


class _TagLoader(yaml.SafeLoader):
    """A safe loader that keeps AccelForge's node tags as ``"!Tag": True`` keys."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return {f"!{suffix}": True, **loader.construct_mapping(node, deep=True)}
    raise yaml.constructor.ConstructorError(
        None, None, f"tag !{suffix} on a non-mapping", node.start_mark
    )


_TagLoader.add_multi_constructor("!", _tagged)


def parse_yaml(text: str, source: str = "") -> Any:
    """YAML with AccelForge's node tags kept as ``"!Tag": True`` keys (the export's own form)."""
    if "{{" in text or "{%" in text:
        raise InputError(
            source, [Problem("", "a Jinja template: render it first (cosamt reads plain YAML)")]
        )
    try:
        return yaml.load(text, Loader=_TagLoader)
    except yaml.YAMLError as exc:
        raise InputError(source, [Problem("", f"malformed YAML: {exc}")]) from None


# ---------------------------------------------------------------------------------------------
# values


_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id == "inf":
        return math.inf
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_arith(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_arith(node.left), _arith(node.right))
    raise ValueError("not arithmetic over numbers")


class _Reader:
    """Collects every problem with its path in the YAML (``arch.nodes[2].actions[0].energy``)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        self.must_keep: list[str] = []  # memories whose `keep` is read as may-keep

    def refuse(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def number(self, value: Any, where: str) -> float | None:
        """A number, ``inf``, or arithmetic over numbers; None (with a problem) otherwise."""
        if isinstance(value, bool):
            self.refuse(where, f"expected a number, got {value!r}")
            return None
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return _arith(ast.parse(value.strip(), mode="eval").body)
            except (SyntaxError, ValueError, ZeroDivisionError, OverflowError):
                pass
        self.refuse(where, f"expected a number, inf or arithmetic over numbers, got {value!r}")
        return None

    def unknown_keys(self, node: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in node:
            if not key.startswith("!") and key not in allowed:
                self.refuse(f"{where}.{key}", "not modelled by cosamt")

    def zero_only(self, node: dict[str, Any], where: str) -> None:
        for key in _ZERO_ONLY:
            if key in node:
                value = self.number(node[key], f"{where}.{key}")
                if value not in (None, 0.0):
                    what = "static (leakage) power" if key == "leak_power" else "area"
                    self.refuse(
                        f"{where}.{key}", f"{what} is not modelled by cosamt's solve; give 0"
                    )


def _tag(node: Any) -> str | None:
    if not isinstance(node, dict):
        return None
    return next((t for t in NODE_TAGS if node.get(f"!{t}")), None)


# ---------------------------------------------------------------------------------------------
# nodes


def _actions(
    r: _Reader, node: dict[str, Any], where: str, names: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    actions = node.get("actions")
    if not isinstance(actions, list):
        r.refuse(f"{where}.actions", f"expected a list of actions {list(names)}")
        return {}
    by_name = {a.get("name"): (i, a) for i, a in enumerate(actions) if isinstance(a, dict)}
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        if name not in by_name:
            r.refuse(f"{where}.actions", f"no {name!r} action")
            continue
        i, action = by_name[name]
        for key in action:
            if key not in ("name", "energy", "throughput", "latency", "bits_per_action"):
                r.refuse(f"{where}.actions[{i}].{key}", "not modelled by cosamt")
        if "energy" not in action:
            source = (
                f" (component_class {node['component_class']!r})"
                if "component_class" in node
                else ""
            )
            r.refuse(
                f"{where}.actions[{i}].energy",
                f"missing: cosamt does not evaluate component models{source}; give the energy",
            )
        if action.get("latency", 0) not in (0, 0.0):
            r.refuse(f"{where}.actions[{i}].latency", "per-action latency is not modelled; give 0")
        out[name] = {"where": f"{where}.actions[{i}]", **action}
    return out


@dataclass(frozen=True)
class _Keeps:
    """What a ``tensors`` spec lets a level keep: roles, tensors by name, and the names another
    memory of the same level takes (``(input) - (K)``: the export's partitions)."""

    roles: tuple[Role, ...]
    tensors: tuple[str, ...]
    minus: tuple[str, ...]


# AccelForge's own set names: not tensor names
_SET_WORDS = {"All", "Inputs", "Outputs", "Intermediates", "Nothing", "MainMemory"}
_NAME = re.compile(LEVEL_NAME_PATTERN)
_MINUS = re.compile(r"^\((?P<keep>[^()]*)\)\s*-\s*\((?P<minus>[^()]*)\)$")


def _terms(text: str) -> list[str] | None:
    """``a | b | c`` as its names, if each is a role or a tensor name."""
    names = [t.strip() for t in text.split("|")]
    ok = all(n in _ROLES or (_NAME.match(n) and n not in _SET_WORDS) for n in names)
    return names if ok else None


def _roles(r: _Reader, tensors: Any, where: str) -> _Keeps | None:
    """What a ``tensors`` spec lets the level keep (``keep`` read as may-keep): roles, and tensors
    named (cosamt's ``holds_tensors``)."""
    if not isinstance(tensors, dict):
        r.refuse(where, "expected {keep: ..., may_keep: ...}")
        return None
    held: set[Role] = set()
    named: dict[str, None] = {}
    minus: dict[str, None] = {}
    for key in ("keep", "may_keep"):
        expr = tensors.get(key)
        if expr is None:
            continue
        text = str(expr).strip()
        if text in ("All", "~Intermediates", "~MainMemory"):
            # DRAM keeps everything but the intermediates a fused group holds on chip; "everything
            # not in main memory" is every role as far as a level's holds go
            held |= set(Role)
            continue
        diff = _MINUS.match(text)
        keep = _terms(diff["keep"] if diff else text)
        less = _terms(diff["minus"]) if diff else []
        if keep is None or less is None or any(n in _ROLES for n in less):
            r.refuse(
                f"{where}.{key}",
                f"expected All, or roles ({', '.join(_ROLES)}) and tensor names joined by |, "
                f"optionally (...) - (tensor names), got {text!r}",
            )
            return None
        held |= {_ROLES[n] for n in keep if n in _ROLES}
        named.update(dict.fromkeys(n for n in keep if n not in _ROLES))
        minus.update(dict.fromkeys(less))
    for key in tensors:
        if key not in ("keep", "may_keep"):
            r.refuse(f"{where}.{key}", "not modelled by cosamt")
    return _Keeps(tuple(role for role in Role if role in held), tuple(named), tuple(minus))


def _memory(r: _Reader, node: dict[str, Any], where: str, bits: int, dram: bool) -> dict[str, Any]:
    r.unknown_keys(node, _MEMORY_KEYS, where)
    r.zero_only(node, where)
    name = str(node.get("name", ""))
    latency = node.get("total_latency")
    if latency is not None and " ".join(str(latency).split()) != PORT_LATENCY:
        r.refuse(
            f"{where}.total_latency",
            f"only separate read and write ports are modelled ({PORT_LATENCY!r}), got {latency!r}",
        )
    if "component_class" in node:
        r.notes.append(
            f"{name}: component_class {node['component_class']!r} ignored (energies as given)"
        )
    size = r.number(node.get("size", "inf"), f"{where}.size")
    actions = _actions(r, node, where, ("read", "write"))
    level: dict[str, Any] = {"name": "DRAM" if dram and name == "MainMemory" else name}
    if size is not None and not math.isinf(size):
        if dram:
            r.refuse(f"{where}.size", "the outermost memory is DRAM: its size must be inf")
        elif size % 8 or size <= 0:
            r.refuse(
                f"{where}.size",
                f"expected a positive whole number of bytes (bits / 8), got {size:g} bits",
            )
        else:
            level["capacity_bytes"] = int(size // 8)
    for rw in ("read", "write"):
        a = actions.get(rw)
        if a is None:
            continue
        at = f"{a['where']}.bits_per_action"
        if "bits_per_action" in a and r.number(a["bits_per_action"], at) != bits:
            r.refuse(at, f"cosamt moves one word ({bits} bits) per action")
        energy = r.number(a.get("energy", 0), f"{a['where']}.energy")
        if energy is not None:
            level[f"{rw}_energy_pj"] = energy * bits
        throughput = r.number(a.get("throughput", "inf"), f"{a['where']}.throughput")
        if throughput is not None and not math.isinf(throughput):
            level[f"{rw}_bandwidth"] = throughput / 8
    tensors = node.get("tensors", {"may_keep": "All"})
    keeps = _roles(r, tensors, f"{where}.tensors")
    if isinstance(tensors, dict) and str(tensors.get("keep", "All")).strip() not in (
        "All",
        "~Intermediates",
    ):
        r.must_keep.append(name)
    if keeps is not None:
        level["holds"] = [role.value for role in keeps.roles]
        if keeps.tensors:
            level["holds_tensors"] = list(keeps.tensors)
        if keeps.minus:
            level["minus"] = list(keeps.minus)
    return level


def _is_latch(node: dict[str, Any], bits: int) -> bool:
    """The export's ``Register``: no energy, one word per tensor (the MAC's operand latch)."""
    actions = node.get("actions") or []
    free = all(isinstance(a, dict) and a.get("energy", 1) in (0, 0.0) for a in actions)
    size = node.get("size")
    return bool(actions) and free and isinstance(size, int | float) and size <= 3 * bits


_AXIS_NAMES = ("rows", "cols")


def _axes(r: _Reader, node: dict[str, Any], where: str) -> dict[str, Any]:
    for key in node:
        if not key.startswith("!") and key not in ("name", "spatial"):
            r.refuse(f"{where}.{key}", "not modelled by cosamt")
    spatial = node.get("spatial")
    if not isinstance(spatial, list) or not 1 <= len(spatial) <= 2:
        r.refuse(
            f"{where}.spatial", "expected one or two spatial dimensions (cosamt's rows and cols)"
        )
        return {}
    axes: dict[str, Any] = {"cols": {"size": 1}}
    for i, dim in enumerate(spatial):
        at = f"{where}.spatial[{i}]"
        if not isinstance(dim, dict):
            r.refuse(at, "expected {name, fanout}")
            continue
        r.unknown_keys(dim, _SPATIAL_KEYS, at)
        fanout = r.number(dim.get("fanout"), f"{at}.fanout")
        if fanout is None or fanout < 1 or fanout != int(fanout):
            r.refuse(f"{at}.fanout", "expected a whole number of PEs >= 1")
            continue
        axes[_AXIS_NAMES[i]] = {
            "size": int(fanout),
            "unrolls": _unrolls(r, dim.get("loop_bounds", []), f"{at}.loop_bounds"),
        }
    return axes


def _unrolls(r: _Reader, bounds: Any, where: str) -> list[str]:
    """The export's form: ``OUTPUT_DIMS | REDUCTION_DIMS == 1`` forbids those classes on the axis."""
    allowed = {DimClass.REDUCTION, DimClass.OUTPUT}
    for i, b in enumerate(bounds if isinstance(bounds, list) else [bounds]):
        if not (isinstance(b, dict) and b.get("operator") == "==" and b.get("value") == 1):
            r.refuse(
                f"{where}[{i}]",
                "only loop bounds that forbid a class of dimensions (== 1) are modelled",
            )
            continue
        for part in str(b.get("expression", "")).split(" | "):
            part = part.strip()
            if part == OUTPUT_DIMS:
                allowed.discard(DimClass.OUTPUT)
            elif part == REDUCTION_DIMS:
                allowed.discard(DimClass.REDUCTION)
            else:
                r.refuse(
                    f"{where}[{i}].expression",
                    f"expected {OUTPUT_DIMS!r} or {REDUCTION_DIMS!r}, got {part!r}",
                )
    return [c.value for c in (DimClass.REDUCTION, DimClass.OUTPUT) if c in allowed]


def _mac(r: _Reader, node: dict[str, Any], where: str) -> float | None:
    r.unknown_keys(node, _COMPUTE_KEYS, where)
    r.zero_only(node, where)
    compute = _actions(r, node, where, ("compute",)).get("compute")
    if compute is None:
        return None
    throughput = r.number(compute.get("throughput", 1), f"{compute['where']}.throughput")
    if throughput not in (None, 1.0):
        r.refuse(f"{compute['where']}.throughput", "a PE does one MAC per cycle in cosamt; give 1")
    return r.number(compute.get("energy", 0), f"{compute['where']}.energy")


def _vector_fork(r: _Reader, node: dict[str, Any], where: str) -> dict[str, Any] | None:
    """The export's vector unit: ``VectorUnit<k>`` computes doing ``lanes / k`` points per cycle at
    ``k x energy per op`` each, beside a free ``VectorRegister``."""
    lanes: set[float] = set()
    energy: set[float] = set()
    for i, child in enumerate(node.get("nodes", [])):
        at = f"{where}.nodes[{i}]"
        name = str(child.get("name", "")) if isinstance(child, dict) else ""
        if _tag(child) == "Memory" and name == VECTOR_REGISTER:
            continue
        match = re.fullmatch(rf"{VECTOR_UNIT}(\d+)", name)
        if _tag(child) != "Compute" or match is None:
            r.refuse(at, f"a Fork is read only as cosamt's vector unit ({VECTOR_UNIT}<k> computes)")
            continue
        per_point = int(match.group(1))
        compute = _actions(r, child, at, ("compute",)).get("compute")
        if compute is None:
            continue
        e = r.number(compute.get("energy"), f"{compute['where']}.energy")
        t = r.number(compute.get("throughput"), f"{compute['where']}.throughput")
        if e is not None and t is not None:
            energy.add(e / per_point)
            lanes.add(t * per_point)
    if len(lanes) != 1 or len(energy) != 1:
        r.refuse(where, "the vector computes disagree on lanes or energy per operation")
        return None
    (n,), (e,) = lanes, energy
    if n != int(n):
        r.refuse(where, f"vector lanes must be whole, got {n:g}")
        return None
    return {"lanes": int(n), "energy_per_op_pj": e}


_PORTS = ("read_energy_pj", "write_energy_pj", "read_bandwidth", "write_bandwidth")


def _merge_partitions(
    r: _Reader, levels: list[dict[str, Any]], below: str | None
) -> list[dict[str, Any]]:
    """Consecutive memories that each hold only their own roles (Eyeriss's input, weight and output
    scratchpads) are one level with a partition per memory: every tensor passes through exactly one
    of them. They must agree on energy and bandwidth (cosamt prices a level, not a partition)."""
    out: list[dict[str, Any]] = []
    for lv in levels:
        prev = out[-1] if out else None
        if (
            prev is not None
            and _partial(lv)
            and _partial(prev)
            and prev["name"] != below
            and not set(prev["holds"]) & set(lv["holds"])
            and not set(prev.get("holds_tensors", ())) & set(lv.get("holds_tensors", ()))
        ):
            differs = [k for k in _PORTS if prev.get(k) != lv.get(k)]
            if differs:
                r.refuse(
                    f"{lv['name']}.{differs[0]}",
                    f"differs from {prev['merged'][0] if 'merged' in prev else prev['name']}'s: "
                    "memories holding disjoint roles are read as one partitioned level, which has "
                    "one energy and bandwidth per access",
                )
                continue
            parts = prev.pop("partitions", None) or [_partition(prev, prev.pop("capacity_bytes"))]
            parts.append(_partition(lv, lv["capacity_bytes"]))
            merged = [*prev.get("merged", [prev["name"]]), lv["name"]]
            named = [*prev.get("holds_tensors", ()), *lv.get("holds_tensors", ())]
            prev.update(
                name="_".join(merged), partitions=parts, merged=merged,
                holds=[x.value for x in Role if x.value in prev["holds"] + lv["holds"]],
                **({"holds_tensors": named} if named else {}),
                minus=[*prev.get("minus", ()), *lv.get("minus", ())],
            )  # fmt: skip
            continue
        out.append(dict(lv))
    for lv in out:
        _check_minus(r, lv)
    return out


def _partition(level: dict[str, Any], capacity: int) -> dict[str, Any]:
    """One memory of a partitioned level: its roles, its tensors named, its capacity."""
    named = level.get("holds_tensors")
    return {
        "roles": level["holds"],
        **({"tensors": named} if named else {}),
        "capacity_bytes": capacity,
    }


def _check_minus(r: _Reader, level: dict[str, Any]) -> None:
    """``(roles) - (K)`` says another memory of the level takes K: cosamt's rule (a partition
    naming a tensor takes it from those holding its role) only where another partition names K."""
    minus = level.pop("minus", [])
    named = {n for p in level.get("partitions", ()) for n in p.get("tensors", ())}
    for n in minus:
        if n not in named:
            r.refuse(
                f"{level['name']}.tensors",
                f"keeps all but {n}, which no other memory of the level names; cosamt cannot "
                "exclude a tensor from a level's roles",
            )


def _exported_level_name(level: dict[str, Any]) -> str:
    """A level merged from the export's partition memories (``GlobalBuffer_input_weight``,
    ``GlobalBuffer_output``) is named as before the export (``GlobalBuffer``)."""
    merged = level.get("merged")
    if not merged:
        return str(level["name"])
    bases = set()
    for name, part in zip(merged, level["partitions"], strict=True):
        suffix = "_" + "_".join([*part["roles"], *part.get("tensors", ())])
        if not name.endswith(suffix):
            return str(level["name"])
        bases.add(name[: -len(suffix)])
    return bases.pop() if len(bases) == 1 else str(level["name"])


def _partial(level: dict[str, Any]) -> bool:
    """A bounded memory that holds only some roles (or names tensors)."""
    return set(level.get("holds", [])) != set(_ROLES) and (
        "capacity_bytes" in level or "partitions" in level
    )


def architecture_from_accelforge(doc: Any, extra: dict[str, Any], source: str = "") -> ImportedArch:
    """The cosamt architecture an AccelForge ``{"arch": {"nodes": [...]}}`` document describes."""
    r = _Reader()
    nodes = (
        doc.get("arch", {}).get("nodes")
        if isinstance(doc, dict) and isinstance(doc.get("arch"), dict)
        else None
    )
    if not isinstance(nodes, list) or not nodes:
        raise InputError(source, [Problem("arch.nodes", "expected a list of nodes")])
    word_bytes = extra.get("word_bytes")
    if not isinstance(word_bytes, int) or isinstance(word_bytes, bool) or word_bytes < 1:
        raise InputError(
            source,
            [
                Problem(
                    "word_bytes",
                    "expected the word width in bytes (AccelForge keeps it in the workload's bits_per_value)",
                )
            ],
        )
    bits = 8 * word_bytes
    levels: list[dict[str, Any]] = []  # outermost first
    below: str | None = None
    axes: dict[str, Any] = {}
    mac: float | None = None
    vector: dict[str, Any] | None = None
    for i, node in enumerate(nodes):
        where = f"arch.nodes[{i}]"
        tag = _tag(node)
        if mac is not None:
            r.refuse(where, "a node below the MAC: cosamt's MAC is the innermost node")
        elif tag == "Memory":
            nxt = nodes[i + 1] if i + 1 < len(nodes) else None
            if _tag(nxt) == "Compute" and below is not None and _is_latch(node, bits):
                r.notes.append(
                    f"{node.get('name')}: read as the MAC's operand latch (implicit in cosamt)"
                )
                continue
            levels.append(_memory(r, node, where, bits, dram=not levels))
        elif tag in ("Container", "Fanout") and "spatial" in node:
            if below is not None:
                r.refuse(where, "a second spatial fan-out: cosamt has one PE array")
            elif not levels:
                r.refuse(where, "a fan-out above every memory: DRAM must come first")
            else:
                below, axes = levels[-1]["name"], _axes(r, node, where)
        elif tag == "Container" and node.get("name") == PE_ARRAY:
            continue
        elif tag == "Fork" and vector is None:
            vector = _vector_fork(r, node, where)
        elif tag == "Compute":
            mac = _mac(r, node, where)
        else:
            r.refuse(where, f"a {tag or 'untagged'} node is not modelled by cosamt")
    if mac is None and not any(p.path.startswith("arch.nodes") for p in r.problems):
        r.refuse("arch.nodes", "no !Compute node (the MAC)")
    if below is None and levels:
        below = levels[-1]["name"]  # no fan-out: one PE under the innermost memory
        axes = {"rows": {"size": 1}, "cols": {"size": 1}}
    if vector is not None and "vector_unit" in extra:
        r.refuse(
            "vector_unit", "the file has a vector unit (a VectorUnit Fork): do not give another"
        )
    if r.problems:
        raise InputError(source, r.problems)
    levels = _merge_partitions(r, levels, below)
    if r.problems:
        raise InputError(source, r.problems)
    for lv in levels:
        lv["name"] = _exported_level_name(lv)
    below = next(lv["name"] for lv in levels if below in lv.get("merged", [lv["name"]]))
    for lv in levels:
        lv.pop("merged", None)
    data = {
        "name": extra.get("name") or Path(source).stem or "accelforge",
        **{k: v for k, v in extra.items() if k not in ("name",)},
        "mac_energy_pj": mac,
        "pe_array": {"rows": axes.get("rows", {"size": 1}), "cols": axes["cols"], "below": below},
        "levels": list(reversed(levels)),
        **({"vector_unit": vector} if vector is not None else {}),
    }
    try:
        arch = Architecture.model_validate(data)
    except ValidationError as exc:
        raise InputError(source, problems_from_pydantic(exc)) from None
    if r.must_keep:
        names = ", ".join(r.must_keep)
        r.notes.append(
            f"{names}: 'keep' read as may-keep (cosamt chooses per schedule whether a level keeps a tensor)"
        )
    r.notes.append(
        "multicast and spatial reduction across the array are allowed (AccelForge's network model)"
    )
    return ImportedArch(arch, tuple(r.notes))
