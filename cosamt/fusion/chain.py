"""The general candidate-group rule: any contiguous run of a block's operator chain, formulated.

A block is read as a *chain*: its operators in a fixed topological order (the block's execution
order) with their dataflow (which operator's output each operand is). The dataflow is stated once
per operator kind (``ALIGNED`` and ``OPAQUE`` below); an operand whose producer is not in the
block is a block input (from DRAM).

An edge is *aligned* when the producer's output and the consumer's operand index the same
elements in the same dimension order (equal sizes position by position); only aligned edges can
carry an on-chip intermediate, since a shared loop then tiles producer and consumer alike. The
projection of Q, K and V into one ``qkv_proj`` output and the head-merged input of ``out_proj``
are *opaque* (a reshape no shared loop can follow), so the block is also offered as a second
chain, the *split view*: ``kv_proj`` + a per-head ``q_proj`` (``Y[b,h,m,d] += X[b,m,e]·W[e,h,d]``)
and a per-head ``out_proj_heads`` (``Y[b,m,f] += O[b,h,m,d]·W[h,d,f]``). The two views compute the same
block; the explorer takes the better of the two.

A run of the chain is a candidate group when (``candidates``):

* every dataflow edge between two of its operators is aligned (an intermediate);
* an intermediate has no consumer outside the run (it never leaves the chip);
* its operators are connected by intermediates (otherwise it is no fusion).

Its formulation:

* dimensions are merged into classes along aligned edges (and along a block tensor two members
  read), position by position; each class gets one name;
* the shared loops may iterate a class that every member iterates, that no producer of an
  intermediate reduces over (its consumer needs the sum whole), and that no vector member needs
  whole (softmax's key dimension, a norm's features). Softmax's key dimension may be shared after
  all when its consumer sums over it into a group output: online softmax (``Rescale``), the second
  variant of the run;
* the intermediates stay on chip; a vector operator's on-chip output is written in place of an
  on-chip operand of the same shape that nothing else reads.

Today's menu (schemes.py) is the rule on particular runs: FLAT and online attention (qk..av), the
FFN chain, the epilogues (tests/test_fusion_chain.py checks this on every shipped instance). The
one difference: an epilogue without a norm (pre-norm ``out_proj+residual1``), where the menu keeps
the features unshared and the rule shares them (no member needs them whole).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cosamt.fusion.schemes import (
    ATTENTION_CHAINS,
    EPILOGUE_CHAINS,
    FFN_CHAINS,
    Group,
    Rescale,
    Scheme,
    rename,
    single,
)
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor

# (consumer, operand) -> the operators that may produce it, nearest preceding one first in the
# chain wins (base names, without a block prefix). Pre-norm and post-norm blocks both resolve.
ALIGNED: dict[tuple[str, str], tuple[str, ...]] = {
    ("qkv_proj", "X"): ("norm1",),
    ("q_proj", "X"): ("norm1",),
    ("kv_proj", "X"): ("norm1",),
    ("qk", "Q"): ("q_proj",),
    ("softmax", "S"): ("qk",),
    ("av", "P"): ("softmax",),
    ("out_proj", "X"): ("av",),
    ("out_proj_heads", "X"): ("av",),
    ("residual1", "A"): ("out_proj", "out_proj_heads"),
    ("norm1", "X"): ("residual1",),
    ("norm2", "X"): ("residual1", "residual2"),
    ("ffn1", "X"): ("norm2", "norm1"),
    ("ffn_gate", "X"): ("norm2", "norm1"),
    ("ffn_up", "X"): ("norm2", "norm1"),
    ("act", "X"): ("ffn1",),
    ("act", "G"): ("ffn_gate",),
    ("act", "U"): ("ffn_up",),
    ("ffn2", "X"): ("act",),
    ("residual2", "A"): ("ffn2",),
    ("residual2", "B"): ("residual1", "norm1"),
    # Gemma's per-layer inputs (cosamt.workload.per_layer): after residual2, and once per token.
    ("ple_gate", "X"): ("residual2",),
    ("ple_act", "G"): ("ple_gate",),
    ("ple_proj", "X"): ("ple_act",),
    ("ple_norm", "X"): ("ple_proj",),
    ("ple_residual", "A"): ("residual2",),
    ("ple_residual", "B"): ("ple_norm",),
    ("proj_norm", "X"): ("model_proj",),
    ("combine_inputs", "A"): ("proj_norm",),
}
# Dataflow no shared loop can follow (a slice or reshape of the producer's output).
OPAQUE: dict[tuple[str, str], tuple[str, ...]] = {
    ("rope", "X"): ("qkv_proj",),
    ("qk", "Q"): ("rope", "qkv_proj"),
    ("qk", "K"): ("rope", "qkv_proj", "kv_proj"),
    ("av", "V"): ("qkv_proj", "kv_proj"),
}
KNOWN = {c for c, _t in ALIGNED} | {c for c, _t in OPAQUE} | {"residual1", "model_proj"}
# The dimension a vector operator needs whole (its row reduction), by operation.
ROW_OPS = {"softmax", "layernorm", "rmsnorm"}


def _base(name: str) -> tuple[str, str]:
    head, dot, base = name.rpartition(".")
    return head + dot, base


@dataclass(frozen=True)
class Edge:
    producer: int  # index in the chain
    consumer: int
    operand: str  # the consumer's tensor
    aligned: bool


@dataclass(frozen=True)
class Chain:
    """A block's operators in a fixed topological order, with their dataflow."""

    view: str  # "block" or "split"
    ops: tuple[Einsum, ...]
    edges: tuple[Edge, ...]

    def consumers(self, producer: int) -> list[Edge]:
        return [e for e in self.edges if e.producer == producer]

    def source(self, consumer: int, operand: str) -> Edge | None:
        return next(
            (e for e in self.edges if e.consumer == consumer and e.operand == operand), None
        )


def _aligned(producer: Einsum, consumer: Einsum, operand: str) -> bool:
    out = producer.output
    t = consumer.tensor(operand)
    return len(out.dims) == len(t.dims) and all(
        producer.dims[a] == consumer.dims[b] for a, b in zip(out.dims, t.dims, strict=True)
    )


def unstated(ops: Sequence[Einsum]) -> list[str]:
    """The operators whose dataflow is not stated here (the explorer cannot chain their block)."""
    return [o.name for o in ops if _base(o.name)[1] not in KNOWN]


def dataflow(ops: Sequence[Einsum]) -> Chain | None:
    """The chain of one block's operators (one prefix), or None if it has an operator whose
    dataflow is not stated here (MoE, cross-attention: the explorer keeps the menu there)."""
    bases = [_base(o.name)[1] for o in ops]
    if unstated(ops):
        return None
    edges: list[Edge] = []
    for c, op in enumerate(ops):
        for t in op.operands:
            for table, aligned in ((ALIGNED, True), (OPAQUE, False)):
                names = table.get((bases[c], t.name))
                if not names:
                    continue
                before = [p for p in range(c) if bases[p] in names]
                if not before:
                    continue
                p = max(before)
                ok = aligned and _aligned(ops[p], op, t.name)
                edges.append(Edge(p, c, t.name, ok))
                break
    return Chain("block", tuple(ops), tuple(edges))


def _per_head_dims(att: Einsum) -> dict[str, int]:
    return {d: att.dims[d] for d in ("h", "r") if d in att.dims}


def split_view(ops: Sequence[Einsum]) -> list[Einsum] | None:
    """The block with ``qkv_proj`` as ``kv_proj`` + per-head ``q_proj`` and a per-head
    ``out_proj``, or None when there is nothing to split (no self-attention, or rope between the
    projection and QKᵀ, whose rotated output is a slice of the projection)."""
    names = {_base(o.name)[1]: o for o in ops}
    if "qkv_proj" not in names or "qk" not in names or "rope" in names:
        return None
    prefix = _base(ops[0].name)[0]
    qk, qkv = names["qk"], names["qkv_proj"]
    heads = _per_head_dims(qk)
    head_dims = (*heads, "d")
    b, m, e, dh = qkv.dims["b"], qkv.dims["m"], qkv.dims["e"], qk.dims["d"]
    q_cols = math.prod(heads.values()) * dh
    q_proj = Einsum(
        name=f"{prefix}q_proj",
        dims={"b": b, "m": m, "e": e, **heads, "d": dh},
        tensors=(
            Tensor("X", ("b", "m", "e"), Role.INPUT),
            Tensor("W", ("e", *head_dims), Role.WEIGHT),
            Tensor("Y", qk.tensor("Q").dims, Role.OUTPUT),
        ),
        count=qkv.count,
    )
    kv_proj = Einsum(
        name=f"{prefix}kv_proj",
        dims={"b": b, "m": m, "e": e, "f": qkv.dims["f"] - q_cols},
        tensors=qkv.tensors,
        count=qkv.count,
    )
    out: list[Einsum] = []
    for op in ops:
        base = _base(op.name)[1]
        if base == "qkv_proj":
            out += [kv_proj, q_proj]
        elif base == "out_proj":
            o = names["av"].output
            out.append(
                Einsum(
                    name=f"{prefix}out_proj_heads",
                    dims={"b": b, "m": op.dims["m"], **heads, "d": dh, "f": op.dims["f"]},
                    tensors=(
                        Tensor("X", o.dims, Role.INPUT),
                        Tensor("W", (*head_dims, "f"), Role.WEIGHT),
                        Tensor("Y", ("b", "m", "f"), Role.OUTPUT),
                    ),
                    count=op.count,
                )
            )
        else:
            out.append(op)
    return out


def block_chains(ops: Sequence[Einsum]) -> list[Chain]:
    """The chains of one block: as built, and its split view (when it has one)."""
    chains = []
    if (block := dataflow(ops)) is not None:
        chains.append(block)
        if (split := split_view(ops)) is not None and (c := dataflow(split)) is not None:
            chains.append(Chain("split", c.ops, c.edges))
    return chains


class _Classes:
    """Union-find over (member, dimension) pairs."""

    def __init__(self) -> None:
        self.parent: dict[tuple[int, str], tuple[int, str]] = {}

    def find(self, x: tuple[int, str]) -> tuple[int, str]:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: tuple[int, str], b: tuple[int, str]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _safe(name: str) -> str:
    return name.replace(".", "_")


def _whole_dim(op: Einsum) -> str | None:
    """The dimension a vector operator needs whole: softmax's last, a norm's features."""
    if op.kind is not OpKind.VECTOR or op.op not in ROW_OPS:
        return None
    return op.output.dims[-1]


def _label(chain: Chain, lo: int, hi: int, online: bool) -> Scheme:
    """The menu's name for a run it has (for reports and schedule files), else ``chain``."""
    bases = tuple(_base(o.name)[1] for o in chain.ops[lo : hi + 1])
    if bases in ATTENTION_CHAINS:
        return Scheme.ONLINE if online else Scheme.FLAT
    if bases in FFN_CHAINS:
        return Scheme.FFN_CHAIN
    if not online and any(bases == c[: len(bases)] and len(bases) > 1 for c in EPILOGUE_CHAINS):
        return Scheme.EPILOGUE
    return Scheme.CHAIN


def candidates(chain: Chain, lo: int, hi: int) -> list[Group]:
    """The groups of the run ``chain.ops[lo..hi]`` under the rule (module docstring): none if the
    run is no candidate, one, or two (FLAT-like and online) when softmax's key dim may be split."""
    if lo == hi:
        return [single(chain.ops[lo])]
    run = range(lo, hi + 1)
    inside = [e for e in chain.edges if e.producer in run and e.consumer in run]
    if any(not e.aligned for e in inside):
        return []
    producers = {e.producer for e in inside}
    for p in producers:
        if any(e.consumer not in run for e in chain.consumers(p)):
            return []
    if not _connected(run, inside):
        return []
    names = _dim_classes(chain, run, inside)
    if not _consistent(chain, run, names):
        return []
    renamed, on_chip, in_place = _rename(chain, run, inside, names)
    members = [chain.ops[i] for i in run]
    common = set.intersection(*({names[(i, d)] for d in chain.ops[i].dims} for i in run))
    blocked = {names[(p, d)] for p in producers for d in chain.ops[p].reduction_dims}
    whole = {(i, names[(i, w)]) for i in run if (w := _whole_dim(chain.ops[i])) is not None}
    shared = common - blocked - {d for _i, d in whole}
    groups = [
        _group(chain, lo, hi, renamed, members, shared, on_chip, in_place, None, online=False)
    ]
    rescale = _online(chain, run, inside, names, renamed, common - blocked, whole)
    if rescale is not None:
        groups.append(
            _group(
                chain,
                lo,
                hi,
                renamed,
                members,
                shared | {rescale.dim},
                on_chip,
                in_place,
                rescale,
                online=True,
            )
        )
    return groups


def _consistent(chain: Chain, run: range, names: dict[tuple[int, str], str]) -> bool:
    """Every class has one size, and no member iterates one class twice."""
    sizes: dict[str, int] = {}
    for i in run:
        op = chain.ops[i]
        if len({names[(i, d)] for d in op.dims}) != len(op.dims):
            return False
        for d, size in op.dims.items():
            if sizes.setdefault(names[(i, d)], size) != size:
                return False
    return True


def _connected(run: range, inside: list[Edge]) -> bool:
    seen = {run[0]}
    frontier = [run[0]]
    while frontier:
        x = frontier.pop()
        for e in inside:
            for a, b in ((e.producer, e.consumer), (e.consumer, e.producer)):
                if a == x and b not in seen:
                    seen.add(b)
                    frontier.append(b)
    return len(seen) == len(run)


def _external(chain: Chain, i: int, t: Tensor) -> str:
    """A block-level name for operand ``t`` of member ``i`` read from DRAM: the same for every
    member reading the same tensor (an operator's output, or the block's input)."""
    src = chain.source(i, t.name)
    if src is not None:
        return f"{t.name}_{_safe(chain.ops[src.producer].name)}"
    if t.role is Role.INPUT and (_base(chain.ops[i].name)[1], t.name) in ALIGNED:
        return "X_in"  # the block's input (the residual stream)
    return f"{t.name}_{_safe(chain.ops[i].name)}"


def _dim_classes(chain: Chain, run: range, inside: list[Edge]) -> dict[tuple[int, str], str]:
    uf = _Classes()
    for i in run:
        for d in chain.ops[i].dims:
            uf.find((i, d))
    for e in inside:
        out = chain.ops[e.producer].output
        t = chain.ops[e.consumer].tensor(e.operand)
        for a, b in zip(out.dims, t.dims, strict=True):
            uf.union((e.producer, a), (e.consumer, b))
    readers: dict[str, list[tuple[int, Tensor]]] = {}
    for i in run:
        for t in chain.ops[i].operands:
            if not any(e.consumer == i and e.operand == t.name for e in inside):
                readers.setdefault(_external(chain, i, t), []).append((i, t))
    for reads in readers.values():
        (i0, t0), *rest = reads
        for i, t in rest:
            for a, b in zip(t0.dims, t.dims, strict=True):
                uf.union((i0, a), (i, b))
    names: dict[tuple[int, str], str] = {}
    by_root: dict[tuple[int, str], str] = {}
    used: set[str] = set()
    for i in run:
        for d in chain.ops[i].dims:
            root = uf.find((i, d))
            if root not in by_root:
                name, k = d, 2
                while name in used:
                    name, k = f"{d}{k}", k + 1
                by_root[root] = name
                used.add(name)
            names[(i, d)] = by_root[root]
    return names


def _rename(
    chain: Chain, run: range, inside: list[Edge], names: dict[tuple[int, str], str]
) -> tuple[list[Einsum], frozenset[str], dict[str, frozenset[str]]]:
    """The members with group-wide tensor and dimension names; the on-chip intermediates; the
    in-place outputs."""
    inter = {e.producer for e in inside}
    out_name = {i: f"{chain.ops[i].output.name}_{_safe(chain.ops[i].name)}" for i in run}
    renamed: list[Einsum] = []
    for i in run:
        op = chain.ops[i]
        tensors = {op.output.name: out_name[i]}
        for t in op.operands:
            src = next((e for e in inside if e.consumer == i and e.operand == t.name), None)
            tensors[t.name] = out_name[src.producer] if src else _external(chain, i, t)
        renamed.append(rename(op, tensors, {d: names[(i, d)] for d in op.dims}))
    on_chip = frozenset(out_name[p] for p in inter)
    in_place: dict[str, frozenset[str]] = {}
    for i, op in zip(run, renamed, strict=True):
        if op.kind is not OpKind.VECTOR or op.output.name not in on_chip:
            continue
        for t, orig in zip(op.operands, chain.ops[i].operands, strict=True):
            src = next((e for e in inside if e.consumer == i and e.operand == orig.name), None)
            sole = src is not None and len(chain.consumers(src.producer)) == 1
            if sole and t.dims == op.output.dims:
                in_place[op.name] = frozenset({op.output.name})
                break
    return renamed, on_chip, in_place


def _online(
    chain: Chain,
    run: range,
    inside: list[Edge],
    names: dict[tuple[int, str], str],
    renamed: list[Einsum],
    shareable: set[str],
    whole: set[tuple[int, str]],
) -> Rescale | None:
    """Online softmax: a softmax whose key dimension is otherwise shareable and whose consumer
    sums over it into a group output may share it, rescaling the accumulator per key tile."""
    soft = [(i, d) for i, d in whole if chain.ops[i].op == "softmax" and d in shareable]
    others = {d for i, d in whole if chain.ops[i].op != "softmax"}
    if len(soft) != 1 or soft[0][1] in others:
        return None
    i, dim = soft[0]
    uses = [e for e in inside if e.producer == i]
    if len(uses) != 1:
        return None
    acc = renamed[uses[0].consumer - run[0]]
    producers = {e.producer for e in inside}
    if acc.kind is not OpKind.MAC or dim not in acc.reduction_dims or uses[0].consumer in producers:
        return None
    soft_op, out = renamed[i - run[0]], acc.output
    rows = math.prod(acc.dims[d] for d in out.dims if d in soft_op.dims)  # running max and sum
    return Rescale(dim, soft_op.name, out.name, acc.size(out), rows)


def _group(
    chain: Chain,
    lo: int,
    hi: int,
    renamed: list[Einsum],
    members: list[Einsum],
    shared: set[str],
    on_chip: frozenset[str],
    in_place: dict[str, frozenset[str]],
    rescale: Rescale | None,
    *,
    online: bool,
) -> Group:
    return Group(
        name="+".join(o.name for o in members),
        scheme=_label(chain, lo, hi, online),
        ops=tuple(renamed),
        shared_dims=frozenset(shared),
        on_chip=on_chip,
        in_place=in_place,
        rescale=rescale,
        source_ops=tuple(o.name for o in members),
    )


# A split view's operators and the block operator each stands for (a schedule holds one or the other).
REPLACES = {"q_proj": "qkv_proj", "kv_proj": "qkv_proj", "out_proj_heads": "out_proj"}


def replaced(name: str) -> str | None:
    """The block operator a split-view operator stands for (``dec.q_proj`` -> ``dec.qkv_proj``)."""
    prefix, base = _base(name)
    return prefix + REPLACES[base] if base in REPLACES else None


def _by_prefix(ops: Sequence[Einsum]) -> list[list[Einsum]]:
    out: list[list[Einsum]] = []
    for op in ops:
        if not out or _base(out[-1][0].name)[0] != _base(op.name)[0]:
            out.append([])
        out[-1].append(op)
    return out


def view_operators(ops: Sequence[Einsum]) -> list[Einsum]:
    """The operators only the split views have (``q_proj``, ``kv_proj``, ``out_proj_heads``)."""
    names = {o.name for o in ops}
    return [
        o
        for block in _by_prefix(ops)
        for chain in block_chains(block)
        for o in chain.ops
        if o.name not in names
    ]


def find_chain_groups(ops: Sequence[Einsum], scheme: str, operators: Sequence[str]) -> list[Group]:
    """The groups over these operators with this scheme (to read a schedule back): the menu's
    first, then the rule's in every chain view (the same formulation may name its tensors
    differently, so the caller keeps the one the schedule's tensor names fit)."""
    from cosamt.fusion.schemes import find_group

    out = [g for g in (find_group(ops, scheme, operators),) if g is not None]
    for block in _by_prefix(ops):
        for chain in block_chains(block):
            names = [o.name for o in chain.ops]
            if operators[0] not in names:
                continue
            lo = names.index(operators[0])
            hi = lo + len(operators) - 1
            if names[lo : hi + 1] != list(operators):
                continue
            out += [g for g in candidates(chain, lo, hi) if g.scheme.value == scheme]
    return out


def span_operators(chain: Chain, lo: int, hi: int) -> tuple[list[Einsum], frozenset[str]]:
    """The run ``chain.ops[lo..hi]`` with run-wide tensor and dimension names, as a candidate's
    members are named, whether or not the run is a candidate (a peer mapper may fuse any part of
    it): aligned edges inside the run are its intermediates (returned), an opaque edge's two ends
    are separate tensors (a reshape no loop nest follows). Refused when a dimension class would
    have two sizes."""
    run = range(lo, hi + 1)
    inside = [e for e in chain.edges if e.producer in run and e.consumer in run and e.aligned]
    names = _dim_classes(chain, run, inside)
    if not _consistent(chain, run, names):
        raise ValueError(f"operators {lo}..{hi}: a dimension class has two sizes")
    renamed, on_chip, _in_place = _rename(chain, run, inside, names)
    return renamed, on_chip
