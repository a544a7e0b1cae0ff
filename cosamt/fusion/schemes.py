"""Operator groups: which operators of a block run fused, and what that means for their loop nests.

A group's operators share outer loops (over ``shared_dims``; a virtual ``Shared`` level above DRAM)
and, inside each iteration of them, run one after another with their own nests. Intermediates
(``on_chip``) never go to DRAM: they live whole in the outermost on-chip level for one iteration of
the shared loops. Some tensors are written in place (``in_place``: no capacity of their own). While
the group runs, every on-chip level holds the largest tile of every tensor any member keeps there
(a tile reused across shared iterations must survive the other members' turns).

Schemes (formulations/fused_group.md):
* ``flat``: QKᵀ-softmax-·V with the whole row of scores on chip; shared loops over batch, heads and
  query rows, so the solution's finest non-trivial shared dimension is FLAT's granularity (batch,
  head or row).
* ``online``: the same with the key dimension tiled too (FlashAttention-style online softmax): the
  output accumulator stays on chip, and every key tile pays rescaling work on the vector unit.
* ``ffn_chain``: FFN1-activation-FFN2 with the hidden dimension tiled; FFN2's output accumulates on chip.
* ``epilogue``: a projection (or residual add) with the residual add and LayerNorm folded in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cosamt.arch.spec import Architecture, Buffer
from cosamt.types import FusionChoice
from cosamt.workload.einsum import Einsum, Role, Tensor


class Scheme(StrEnum):
    NONE = "none"
    FLAT = "flat"
    ONLINE = "online"
    FFN_CHAIN = "ffn_chain"
    EPILOGUE = "epilogue"
    CHAIN = "chain"  # any other run of a block's chain (chain.py's rule)


@dataclass(frozen=True)
class Rescale:
    """Online softmax: per key tile, rescale the output accumulator and update the row max and sum."""

    dim: str  # the key dimension, tiled by the shared loops
    operator: str  # the operator whose vector work it is (the softmax)
    output: str  # the accumulator (O)
    output_size: int  # |O|
    rows: int  # query rows (|O| / head dim): running max and running sum each

    def ops(self, key_tiles: int) -> int:
        return key_tiles * (self.output_size + 2 * self.rows)


@dataclass(frozen=True)
class Group:
    name: str
    scheme: Scheme
    ops: tuple[Einsum, ...]
    shared_dims: frozenset[str] = frozenset()
    on_chip: frozenset[str] = frozenset()
    in_place: dict[str, frozenset[str]] = field(default_factory=dict)  # op -> tensors
    rescale: Rescale | None = None
    source_ops: tuple[str, ...] = ()  # the block operators this group covers, in order

    @property
    def fused(self) -> bool:
        return len(self.ops) > 1

    @property
    def count(self) -> int:
        return self.ops[0].count

    def op(self, name: str) -> Einsum:
        return next(o for o in self.ops if o.name == name)

    def roles(self, tensor: str) -> frozenset[Role]:
        """Every role ``tensor`` plays in the group. On a buffer partitioned by role, a group's
        tensor counts in every partition holding one of them: an intermediate is produced into
        the output partition and read by its consumer from the input one. The MIP
        (group_capacity) and the evaluator both apply this rule."""
        return frozenset(t.role for o in self.ops for t in o.tensors if t.name == tensor)

    def names(self, tensor: str) -> frozenset[str]:
        """The block names of the group's ``tensor`` (an intermediate's, from every member)."""
        return frozenset(
            n for o in self.ops for t in o.tensors if t.name == tensor for n in t.names
        )

    def roles_in(self, buffer: Buffer, tensor: str) -> frozenset[Role]:
        """The roles in which ``tensor`` occupies ``buffer`` (none: it is not there). On a buffer
        partitioned by role, a group's tensor counts in every partition holding one of its roles:
        an intermediate is produced into the output partition and read by its consumer from the
        input one; a partition naming the tensor takes it alone, in every role. The MIP
        (group_capacity) and the evaluator both apply this rule."""
        return buffer.roles_of(self.names(tensor), self.roles(tensor))

    def width(
        self, arch: Architecture, level: int, tensor: str, roles: Iterable[Role] = tuple(Role)
    ) -> float:
        """Words of ``arch.word_bytes`` one word of ``tensor`` takes in the buffer of ``roles`` at
        ``level`` in the group: the widest role it plays there (an intermediate is a wide partial
        sum in the output partition and a narrow operand in the input one)."""
        return max(arch.width(level, r) for r in self.roles(tensor) & set(roles))

    def signature(self) -> tuple[object, ...]:
        return (
            self.scheme.value,
            tuple(o.signature() for o in self.ops),
            tuple(sorted(self.shared_dims)),
        )

    def shape(self, named: frozenset[str] = frozenset()) -> Shape:
        """The group with its names abstracted: shared dimensions and tensors named by order of
        first appearance across the members, every other dimension by order within its member
        (the MIP links members only through shared loops and tensors). Two groups of one shape
        are the same MIP, whatever a view or the menu called them (``Q_qkv_proj``, ``Q_q_proj``;
        ``d2`` or ``d`` for ·V's head dimension). ``named`` are the tensor names the
        architecture keeps apart from their roles (``Architecture.named_tensors``): a tensor's
        names among them stay in the key, since they decide where it may be kept."""
        shared: dict[str, str] = {}
        tensors: dict[str, str] = {}
        dims: list[dict[str, str]] = []
        for o in self.ops:
            own: dict[str, str] = {}
            for d in o.dims:
                if d in self.shared_dims:
                    own[d] = shared.setdefault(d, f"s{len(shared)}")
                else:
                    own[d] = f"d{len(own)}"
            dims.append(own)
            for t in o.tensors:
                tensors.setdefault(t.name, f"t{len(tensors)}")
        index = {o.name: i for i, o in enumerate(self.ops)}
        r = self.rescale
        key = (
            self.scheme.value,
            tuple(
                (
                    tuple((own[d], n) for d, n in o.dims.items()),
                    tuple((tensors[t.name], tuple(own[d] for d in t.dims), t.role.value,
                           tuple(sorted(t.names & named)))
                          for t in o.tensors),
                    o.kind.value,
                    o.ops_per_point,
                )
                for o, own in zip(self.ops, dims, strict=True)
            ),
            tuple(sorted(shared.values())),
            tuple(sorted(tensors[t] for t in self.on_chip)),
            tuple(sorted((index[op], tuple(sorted(tensors[t] for t in ts)))
                         for op, ts in self.in_place.items())),
            None
            if r is None
            else (shared[r.dim], index[r.operator], tensors[r.output], r.output_size, r.rows),
        )  # fmt: skip
        return Shape(key, tuple(dims), tensors)


@dataclass(frozen=True)
class Shape:
    """A group's shape (``Group.shape``) and its own names of the shape's dimensions (per member)
    and tensors."""

    key: tuple[object, ...]
    dims: tuple[dict[str, str], ...]  # per member: the group's name -> the shape's
    tensors: dict[str, str]

    def names_in(self, other: Shape) -> tuple[tuple[dict[str, str], ...], dict[str, str]]:
        """(per member dims, tensors): this group's names -> ``other``'s (of the same shape)."""
        dims = tuple(
            {n: {c: m for m, c in theirs.items()}[c] for n, c in mine.items()}
            for mine, theirs in zip(self.dims, other.dims, strict=True)
        )
        their_tensors = {c: n for n, c in other.tensors.items()}
        return dims, {n: their_tensors[c] for n, c in self.tensors.items()}


def single(op: Einsum) -> Group:
    return Group(op.name, Scheme.NONE, (op,), source_ops=(op.name,))


def rename(op: Einsum, tensors: dict[str, str], dims: dict[str, str] | None = None) -> Einsum:
    """The same operator with tensors (and dimensions) renamed, so a group's names line up."""
    dims = dims or {}
    return Einsum(
        name=op.name,
        dims={dims.get(d, d): s for d, s in op.dims.items()},
        tensors=tuple(_renamed(t, tensors.get(t.name, t.name), dims) for t in op.tensors),
        kind=op.kind,
        ops_per_point=op.ops_per_point,
        count=op.count,
        op=op.op,
    )


def _renamed(t: Tensor, name: str, dims: dict[str, str]) -> Tensor:
    """``t`` as ``name``, remembering its block name (architectures name tensors by it)."""
    block = t.block_names or ((t.name,) if name != t.name else ())
    return Tensor(name, tuple(dims.get(d, d) for d in t.dims), t.role, block)


def attention(qk: Einsum, softmax: Einsum, av: Einsum, scheme: Scheme) -> Group:
    shared = {"b", "h", "r", "m"} | ({"n"} if scheme is Scheme.ONLINE else set())
    out = av.tensor("O")
    rows = math.prod(av.dims[d] for d in out.dims if d != "d")
    rescale = None
    if scheme is Scheme.ONLINE:
        rescale = Rescale("n", softmax.name, "O", av.size(out), rows)
    return Group(
        name="+".join(o.name for o in (qk, softmax, av)),
        scheme=scheme,
        ops=(qk, softmax, av),
        shared_dims=frozenset(shared & set(qk.dims)),
        on_chip=frozenset({"S", "P"}),
        in_place={softmax.name: frozenset({"P"})},
        rescale=rescale,
        source_ops=(qk.name, softmax.name, av.name),
    )


def ffn_chain(ops: Sequence[Einsum]) -> Group:
    """FFN1 (or gate and up) - activation - FFN2, renamed: hidden dim ``f``, model dims ``e``/``g``.

    MoE experts are the same chain with an expert dimension ``x`` shared too."""
    *firsts, act, ffn2 = ops
    renamed: list[Einsum] = []
    hidden = []
    for op in firsts:
        base = op.name.rsplit(".", 1)[-1]
        out = (
            "G"
            if base.endswith("gate")
            else "U"
            if base.endswith("up") and len(firsts) > 1
            else "H"
        )
        hidden.append(out)
        renamed.append(rename(op, {"W": f"W_{base}", "Y": out}))
    act_inputs = dict(zip([t.name for t in act.operands], hidden, strict=True))
    renamed.append(rename(act, {**act_inputs, "Y": "A"}))
    renamed.append(rename(ffn2, {"X": "A", "W": "W_ffn2"}, {"e": "f", "f": "g"}))
    return Group(
        name="+".join(o.name for o in ops),
        scheme=Scheme.FFN_CHAIN,
        ops=tuple(renamed),
        shared_dims=frozenset({"b", "x", "m", "f"} & set(firsts[0].dims)),
        on_chip=frozenset([*hidden, "A"]),
        in_place={act.name: frozenset({"A"})},
        source_ops=tuple(o.name for o in ops),
    )


def epilogue(ops: Sequence[Einsum]) -> Group:
    """[projection,] residual add, norm: the residual's first input is the previous result."""
    renamed: list[Einsum] = []
    prev: str | None = None
    on_chip: list[str] = []
    in_place: dict[str, frozenset[str]] = {}
    for i, op in enumerate(ops):
        last = i == len(ops) - 1
        out = "OUT" if last else f"T{i}"
        mapping = {op.output.name: out}
        if prev is not None:
            mapping[op.operands[0].name] = prev
            if op.op == "add":
                in_place[op.name] = frozenset({out}) if not last else frozenset()
        for t in op.tensors:  # unique names for the other operands
            if t.name not in mapping:
                mapping[t.name] = f"{t.name}_{op.name}"
        if mapping.get(op.output.name) != out:
            mapping[op.output.name] = out
        renamed.append(rename(op, mapping))
        if not last:
            on_chip.append(out)
        prev = out
    return Group(
        name="+".join(o.name for o in ops),
        scheme=Scheme.EPILOGUE,
        ops=tuple(renamed),
        shared_dims=frozenset({"b", "m"}),
        on_chip=frozenset(on_chip),
        in_place=in_place,
        source_ops=tuple(o.name for o in ops),
    )


@dataclass(frozen=True)
class Segment:
    """Consecutive operators of a block and the ways to run them; the explorer picks one."""

    name: str
    candidates: tuple[
        tuple[Group, ...], ...
    ]  # each candidate: groups covering the segment in order


# Operator chains the explorer fuses, by base name (without a block prefix such as ``dec.``).
ATTENTION_CHAINS = (("qk", "softmax", "av"), ("xqk", "xsoftmax", "xav"))
FFN_CHAINS = (
    ("ffn1", "act", "ffn2"),
    ("ffn_gate", "ffn_up", "act", "ffn2"),
    ("expert_gate", "expert_up", "expert_act", "expert_down"),
    ("expert_up", "expert_act", "expert_down"),
)
# Epilogues: the longest run of these that follows the first operator in the block.
EPILOGUE_CHAINS = (
    ("out_proj", "residual1", "norm1"),
    ("xout_proj", "xresidual", "xnorm"),
    ("residual2", "norm2"),
)


def _split(name: str) -> tuple[str, str]:
    """``dec.xqk`` -> (``dec.``, ``xqk``): the block prefix and the base name."""
    head, dot, base = name.rpartition(".")
    return head + dot, base


def _chain_at(order: Sequence[str], i: int, chains: Sequence[tuple[str, ...]]) -> list[str] | None:
    """The whole chain starting at ``order[i]`` (within its block), if its operators follow one
    another there: an operator between two members (a position score between ``qk`` and
    ``softmax``; BitNet's ``ffn_sub_norm`` between ``act`` and ``ffn2``) feeds the chain, so
    fusing around it would run it out of order."""
    prefix, base = _split(order[i])
    for chain in chains:
        names = [prefix + c for c in chain]
        if chain[0] == base and list(order[i : i + len(chain)]) == names:
            return names
    return None


def _run_at(order: Sequence[str], i: int, chains: Sequence[tuple[str, ...]]) -> list[str] | None:
    """The consecutive operators from ``order[i]`` that follow an epilogue chain."""
    prefix, base = _split(order[i])
    for chain in chains:
        if chain[0] != base:
            continue
        run = [order[i]]
        for nxt, c in zip(order[i + 1 :], chain[1:], strict=False):
            if nxt != prefix + c:
                break
            run.append(nxt)
        return run
    return None


def segments(ops: Sequence[Einsum], choice: FusionChoice) -> list[Segment]:
    """Split a block into segments with their candidate groupings under the allowed schemes."""
    by = {o.name: o for o in ops}
    order = [o.name for o in ops]
    out: list[Segment] = []
    used: set[str] = set()

    def unfused(names: Sequence[str]) -> tuple[Group, ...]:
        return tuple(single(by[n]) for n in names)

    def add(name: str, names: Sequence[str], fused: list[Group]) -> None:
        out.append(Segment(name, (unfused(names), *((g,) for g in fused))))
        used.update(names)

    if choice is FusionChoice.EXPLORE:  # the menu is the explorer's incumbent
        choice = FusionChoice.ALL
    allow = {
        Scheme.FLAT: choice in (FusionChoice.FLAT, FusionChoice.ALL),
        Scheme.ONLINE: choice in (FusionChoice.ONLINE, FusionChoice.ALL),
        Scheme.FFN_CHAIN: choice is FusionChoice.ALL,
        Scheme.EPILOGUE: choice is FusionChoice.ALL,
    }
    for i, name in enumerate(order):
        if name in used:
            continue
        prefix, _base = _split(name)
        if att := _chain_at(order, i, ATTENTION_CHAINS):
            qk, softmax, av = (by[n] for n in att)
            fused = [
                attention(qk, softmax, av, s) for s in (Scheme.FLAT, Scheme.ONLINE) if allow[s]
            ]
            add(f"{prefix}{'cross_' if _base == 'xqk' else ''}attention", att, fused)
        elif ffn := _chain_at(order, i, FFN_CHAINS):
            chain = [ffn_chain([by[n] for n in ffn])] if allow[Scheme.FFN_CHAIN] else []
            add(f"{prefix}{'experts' if 'expert' in _base else 'ffn'}", ffn, chain)
        elif run := _run_at(order, i, EPILOGUE_CHAINS):
            fused_epi = allow[Scheme.EPILOGUE] and len(run) > 1
            add(run[0], run, [epilogue([by[n] for n in run])] if fused_epi else [])
        else:
            add(name, [name], [])
    return out


def find_group(ops: Sequence[Einsum], scheme: str, operators: Sequence[str]) -> Group | None:
    """The group of a block with this scheme over these operators (to read a schedule back)."""
    for seg in segments(ops, FusionChoice.ALL):
        for cand in seg.candidates:
            for g in cand:
                if g.scheme.value == scheme and (
                    tuple(operators) in (g.source_ops, tuple(o.name for o in g.ops))
                ):
                    return g
    return None
