"""C for one group: the schedule's loop nest with a buffer per kept tile and a counter on every
transfer.

Buffers: ``D_<t>`` is a DRAM tensor (whole, padded sizes); ``G_<t>`` is an intermediate's tile in
the outermost on-chip level (one per shared iteration, shared by the members); ``B<i>_<t>_<level>``
is member i's tile of t at a level, one copy per PE below the PE array; ``L<i>_<t>`` is the MAC's
operand latch (one word per PE). Every fill adds its words to the parent's reads (once per distinct
destination: multicast inputs, outputs reduced in the array) and to the child's writes (every
copy); every write-back to the child's reads and the parent's writes (once per distinct
destination); read-backs of partial sums go to the first PE of a reduction group, the others start
at zero and add into the parent.

Vector operators run for real. Softmax and the norms need whole-row statistics: a statistics pass
reads the row input once from where the group holds it (its top buffer) before the operator's own
nest; those reads are counted apart (``stats``), they are not part of the cost model. Online
softmax keeps a running max and sum per row; each key tile updates them and rescales the latest
copy of the output accumulator; the division by the running sum happens once after the group.
The MoE router (``softmax+topk``) also keeps the row's k largest logits in its statistics pass.
A rotary embedding reads its partner feature from where the group holds its input, counted apart
like the statistics passes (docs/codegen.md, "Vector operators").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from cosamt.codegen.legality import ROW_DIM
from cosamt.codegen.nest import LATCH, GroupNest, Link, MemberNest, NestLoop
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor
from cosamt.workload.models import GATED
from cosamt.workload.transformer import SOFTMAX_OPS


def c_ident(name: str) -> str:
    """A tensor name as part of a C identifier (block-prefixed names such as ``W_moe.out_proj``
    hold dots)."""
    return re.sub(r"\W", "_", name)


NORM_EPS = 1e-5
ROPE_BASE = 10000.0
_PLAIN = {
    "gelu": "gelu({x})",
    "relu": "({x} > 0.0 ? {x} : 0.0)",
    "relu2": "({x} > 0.0 ? {x} * {x} : 0.0)",
    "silu": "silu({x})",
}
# The clamped SwiGLU (GPT-OSS) has no C here: its clamps and slope are not act(gate) * up.
ELEMENTWISE = {"add", *_PLAIN, *(k for k in GATED if k != "swiglu_clamped")}


def _elementwise(kind: str, ins: list[str]) -> str:
    if kind == "add":  # a residual add of two or three summands
        return " + ".join(ins)
    if kind in GATED:  # act(gate) * up
        return f"{_PLAIN[GATED[kind]].format(x=ins[0])} * {ins[1]}"
    return _PLAIN[kind].format(x=ins[0])


def route_k(op: Einsum) -> int:
    """Experts per token of a ``softmax+topk`` router: its ops per point less the softmax's."""
    return op.ops_per_point - SOFTMAX_OPS


class CodegenError(Exception):
    """The schedule is valid for the cost model but cannot be emitted (named reason)."""


@dataclass(frozen=True)
class Buffer:
    name: str
    tensor: Tensor
    level: int  # a level index, or LATCH
    extents: tuple[int, ...]  # per t.dims
    instances: int
    private: bool
    full: bool  # a DRAM tensor: origin 0

    @property
    def tile(self) -> int:
        return math.prod(self.extents)


@dataclass
class Program:
    """The C source and what its counters mean."""

    source: str
    counters: list[tuple[str, str, str]] = field(default_factory=list)  # (member, level, tensor)
    stats_counters: list[tuple[str, str, str]] = field(default_factory=list)
    inputs: list[Tensor] = field(default_factory=list)
    outputs: list[Tensor] = field(default_factory=list)


def _sum(terms: list[str]) -> str:
    return " + ".join(terms) if terms else "0"


class _Emitter:
    def __init__(self, nest: GroupNest) -> None:
        self.g = nest
        self.arch = nest.arch
        self.s = nest.arch.spatial_level
        self.dram = nest.arch.dram_index
        self.counter_ids: dict[tuple[str, str, str], int] = {}
        self.stats_ids: dict[tuple[str, str, str], int] = {}
        self.decls: list[str] = []
        self.allocs: list[str] = []  # main's first lines: every declared buffer, zeroed
        self.declared: dict[str, int] = {}

    # ---- names and buffers ---------------------------------------------------------------
    def level_name(self, level: int) -> str:
        return self.arch.levels[level].name

    def counter(self, m: MemberNest, level: int, t: Tensor) -> int:
        key = (m.op.name, self.level_name(level), t.name)
        return self.counter_ids.setdefault(key, len(self.counter_ids))

    def buffer(self, m: MemberNest, t: Tensor, level: int) -> Buffer:
        chain_top = m.chain(t)[-1]
        if level == chain_top and t.name in self.g.group.on_chip:
            ext = tuple(m.mapping.tile_extent(d, level) for d in t.dims)
            buf = Buffer(f"G_{t.name}", t, level, ext, 1, False, False)
        elif level == self.dram:
            buf = Buffer(f"D_{c_ident(t.name)}", t, level, self.g.tensor_dims(t), 1, False, True)
        elif level == LATCH:
            buf = Buffer(
                f"L{m.index}_{c_ident(t.name)}",
                t,
                LATCH,
                (1,) * len(t.dims),
                m.instances,
                True,
                False,
            )
        else:
            ext = tuple(m.mapping.tile_extent(d, level) for d in t.dims)
            private = level < self.s
            inst = m.instances if private else 1
            buf = Buffer(
                f"B{m.index}_{c_ident(t.name)}_{self.level_name(level)}",
                t,
                level,
                ext,
                inst,
                private,
                False,
            )
        self.declare(buf)
        return buf

    def declare(self, buf: Buffer) -> None:
        size = buf.tile * buf.instances
        known = self.declared.get(buf.name)
        if known is None:
            self.declared[buf.name] = size
            # on the heap: a model's weights (DeepSeek's 64 experts) outgrow static storage
            self.decls.append(f"static double *{buf.name}; /* {size} words */")
            self.allocs.append(f"  {buf.name} = alloc({size});")
        elif known != size:  # members disagree on an intermediate's on-chip tile
            raise CodegenError(f"{buf.tensor.name}: on-chip tiles of {size} and {known} words")

    # ---- coordinates -----------------------------------------------------------------------
    @staticmethod
    def coord(loops: tuple[NestLoop, ...], dim: str, low: float, high: float) -> list[str]:
        """Terms of dim's coordinate from the loops at levels in (low, high]."""
        return [
            f"{lp.var}*{lp.stride}" if lp.stride != 1 else lp.var
            for lp in loops
            if lp.dim == dim and lp.factor > 1 and low < lp.level <= high
        ]

    def pe_expr(self, m: MemberNest) -> str:
        terms, mult = [], 1
        for lp in reversed(m.spatial):
            terms.append(f"{lp.var}*{mult}" if mult != 1 else lp.var)
            mult *= lp.factor
        return _sum(terms)

    def index(self, buf: Buffer, coords: list[str], m: MemberNest) -> str:
        """Flat index of an element of ``buf`` at per-dim coordinates within the buffer."""
        terms = []
        stride = 1
        for ext, c in reversed(list(zip(buf.extents, coords, strict=True))):
            if ext > 1:
                terms.append(f"({c})*{stride}" if stride != 1 else f"({c})")
            stride *= ext
        if buf.private and buf.instances > 1:
            terms.append(f"({self.pe_expr(m)})*{buf.tile}")
        return _sum(terms)

    def lead(self, m: MemberNest, t: Tensor, child: int, parent: float) -> str:
        """One transfer per distinct destination: the PEs that differ only along spatial loops that do
        not index t share it (multicast inputs, outputs reduced in the array)."""
        shared = t.role is Role.OUTPUT or self.arch.pe_array.multicast
        conds = [
            f"{lp.var} == 0"
            for lp in m.spatial
            if shared and lp.factor > 1 and lp.dim not in t.dims and child < lp.level <= parent
        ]
        return " && ".join(conds) if conds else "1"

    # ---- transfers ---------------------------------------------------------------------------
    def element_loops(self, t: Tensor, extents: tuple[int, ...]) -> tuple[list[str], list[str]]:
        opens = [
            f"for (int e_{d} = 0; e_{d} < {ext}; e_{d}++)"
            for d, ext in zip(t.dims, extents, strict=True)
            if ext > 1
        ]
        coords = [f"e_{d}" if ext > 1 else "0" for d, ext in zip(t.dims, extents, strict=True)]
        return opens, coords

    def link_parts(self, m: MemberNest, lk: Link) -> tuple[Buffer, Buffer, str, str, list[str]]:
        t = lk.tensor
        child = self.buffer(m, t, lk.child)
        parent = self.buffer(m, t, lk.parent)
        high = math.inf if parent.full else lk.parent
        opens, local = self.element_loops(t, child.extents)
        pcoords = [
            " + ".join([*self.coord(m.loops, d, lk.child, high), c])
            for d, c in zip(t.dims, local, strict=True)
        ]
        ci = self.index(child, local, m)
        pi = self.index(parent, pcoords, m)
        return child, parent, ci, pi, opens

    def fill(self, m: MemberNest, lk: Link) -> list[str]:
        t = lk.tensor
        child, parent, ci, pi, opens = self.link_parts(m, lk)
        cid = self.counter(m, lk.parent, t)
        lead = self.lead(m, t, lk.child, lk.parent)
        real_child = lk.child != LATCH
        wid = self.counter(m, lk.child, t) if real_child else None
        loops = " ".join(opens)
        out = [f"/* fill {t.name}: {self.level_name(lk.parent)} -> {self._lname(lk.child)} */"]
        if t.role is not Role.OUTPUT:
            out.append(f"{loops} {child.name}[{ci}] = {parent.name}[{pi}];")
            out.append(f"if ({lead}) CNT[{cid}][0] += {child.tile};")
            if wid is not None:
                out.append(f"CNT[{wid}][1] += {child.tile};")
            return out
        revisit = " || ".join(f"{v} != 0" for v in lk.revisit) or "0"
        out.append(f"if ({revisit}) {{")
        out.append(f"  {loops} {child.name}[{ci}] = ({lead}) ? {parent.name}[{pi}] : 0.0;")
        count = f"CNT[{cid}][0] += {child.tile};" + (
            f" CNT[{wid}][1] += {child.tile};" if wid is not None else ""
        )
        out.append(f"  if ({lead}) {{ {count} }}")
        out.append(f"}} else {{ {loops} {child.name}[{ci}] = 0.0; }}")
        return out

    def write_back(self, m: MemberNest, lk: Link) -> list[str]:
        t = lk.tensor
        child, parent, ci, pi, opens = self.link_parts(m, lk)
        lead = self.lead(m, t, lk.child, lk.parent)
        loops = " ".join(opens)
        out = [
            f"/* write back {t.name}: {self._lname(lk.child)} -> {self.level_name(lk.parent)} */"
        ]
        out.append(
            f"{loops} {{ if ({lead}) {parent.name}[{pi}] = {child.name}[{ci}]; "
            f"else {parent.name}[{pi}] += {child.name}[{ci}]; }}"
        )
        out.append(f"if ({lead}) CNT[{self.counter(m, lk.parent, t)}][1] += {child.tile};")
        if lk.child != LATCH:
            out.append(f"CNT[{self.counter(m, lk.child, t)}][0] += {child.tile};")
        return out

    def _lname(self, level: int) -> str:
        return "latch" if level == LATCH else self.level_name(level)

    def top_init(self, m: MemberNest, t: Tensor, revisit: tuple[str, ...]) -> list[str]:
        buf = self.buffer(m, t, m.chain(t)[-1])
        cond = " || ".join(f"{v} != 0" for v in revisit) or "0"
        return [
            f"if (!({cond})) memset({buf.name}, 0, {self.declared[buf.name]} * sizeof(double));"
            f" /* {t.name} starts on chip */"
        ]

    def per_pe(self, m: MemberNest, position: int, child: int, lines: list[str]) -> list[str]:
        """Transfers of a PE-private tile placed outside the spatial loops run for every PE."""
        if child >= self.s or position > m.spatial_start or not m.spatial:
            return lines
        opens = [f"for (int {lp.var} = 0; {lp.var} < {lp.factor}; {lp.var}++)" for lp in m.spatial]
        return [" ".join(opens) + " {", *("  " + ln for ln in lines), "}"]

    def events(self, m: MemberNest, position: int) -> tuple[list[str], list[str]]:
        before: list[str] = []
        after: list[str] = []
        for t, pos, revisit in m.top_init:
            if pos == position:
                before += self.top_init(m, t, revisit)
        links = sorted((lk for lk in m.links if lk.position == position), key=lambda lk: -lk.child)
        for lk in links:
            before += self.per_pe(m, position, lk.child, self.fill(m, lk))
        for lk in reversed(links):
            if lk.tensor.role is Role.OUTPUT:
                after += self.per_pe(m, position, lk.child, self.write_back(m, lk))
        return before, after

    # ---- nests -------------------------------------------------------------------------------
    def loop_open(self, lp: NestLoop) -> str:
        if lp.spatial:
            note = f"/* parallel: PE array {lp.axis}, {lp.dim} x{lp.factor} */ "
        else:
            note = f"/* {self._lname(lp.level) if lp.level < len(self.arch.levels) else 'Shared'}: {lp.dim} x{lp.factor} */ "
        return f"{note}for (int {lp.var} = 0; {lp.var} < {lp.factor}; {lp.var}++) {{"

    def member_block(self, m: MemberNest, position: int) -> list[str]:
        before, after = self.events(m, position)
        if position == len(m.loops):
            inner = self.point(m)
        else:
            lp = m.loops[position]
            inner = [
                self.loop_open(lp),
                *("  " + ln for ln in self.member_block(m, position + 1)),
                "}",
            ]
        return before + inner + after

    def shared_block(self, position: int) -> list[str]:
        before: list[str] = []
        after: list[str] = []
        for m in self.g.members:
            b, a = self.events(m, position) if position < m.n_shared else ([], [])
            before += b
            after = a + after
        if position == len(self.g.shared):
            inner: list[str] = []
            for m in self.g.members:
                inner += [
                    f"/* ---- {m.op.name} ---- */",
                    *self.prologue(m),
                    *self.member_block(m, position),
                ]
        else:
            lp = self.g.shared[position]
            inner = [
                self.loop_open(lp),
                *("  " + ln for ln in self.shared_block(position + 1)),
                "}",
            ]
        return before + inner + after

    # ---- the operators ----------------------------------------------------------------------
    def latch(self, m: MemberNest, t: Tensor) -> str:
        return f"{self.buffer(m, t, LATCH).name}[{self.pe_expr(m)}]"

    def global_coord(self, m: MemberNest, dim: str) -> str:
        return _sum(self.coord(m.loops, dim, -math.inf, math.inf))

    def row_index(self, dims: tuple[str, ...], coords: dict[str, str]) -> str:
        terms, stride = [], 1
        for d in reversed(dims):
            terms.append(f"({coords[d]})*{stride}")
            stride *= self.g.padded(d)
        return _sum(terms)

    def row_dims(self, m: MemberNest) -> tuple[str, ...]:
        src = m.op.operands[0]
        return tuple(d for d in src.dims if d != ROW_DIM[m.op.op])

    def point(self, m: MemberNest) -> list[str]:
        op = m.op
        out = self.latch(m, op.output)
        ins = [self.latch(m, t) for t in op.operands]
        if op.kind is OpKind.MAC:
            return [f"{out} += {' * '.join(ins)};"]
        kind = op.op
        if kind in ELEMENTWISE:
            return [f"{out} = {_elementwise(kind, ins)};"]
        if kind == "combine":  # sum over the k experts of a token (the output's reduction dim)
            return [f"{out} += {ins[0]};"]
        if kind == "rope":
            return self.rope_point(m, out, ins[0])
        if kind not in ROW_DIM:
            raise CodegenError(f"{op.name}: no C implementation of vector operator {kind!r}")
        coords = {d: self.global_coord(m, d) for d in op.dims}
        row = self.row_index(self.row_dims(m), coords)
        rdim = ROW_DIM[kind]
        real = f"({coords[rdim]}) < {op.dims[rdim]}"
        if kind == "softmax" and self.g.online:
            return [
                f"{{ int row = {row}; double p = ({real}) ? exp({ins[0]} - RM[row]) : 0.0;",
                f"  {out} = p; RS[row] += p; }}",
            ]
        if kind == "softmax":
            return [
                f"{{ int row = {row}; {out} = ({real}) ? exp({ins[0]} - MX[row]) / SM[row] : 0.0; }}"
            ]
        if kind == "softmax+topk":  # the softmax's probability if among the row's k largest
            kth = f"TK[({row})*{self.topk()} + {self.topk() - 1}]"
            return [
                f"{{ int row = {row}; {out} = ({real}) && {ins[0]} >= {kth} "
                f"? exp({ins[0]} - MX[row]) / SM[row] : 0.0; }}"
            ]
        x = ins[0]
        gamma = self.latch(m, next(t for t in op.operands if t.role is Role.WEIGHT))
        centre = f"({x} - MEAN[row])" if kind == "layernorm" else x
        return [f"{{ int row = {row}; {out} = {centre} * RSTD[row] * {gamma}; }}"]

    def topk(self) -> int:
        ks = [route_k(m.op) for m in self.g.members if m.op.op == "softmax+topk"]
        return max(ks, default=1)

    def rope_point(self, m: MemberNest, out: str, x: str) -> list[str]:
        """Rotate the pair (2p, 2p+1) of features by pos * ROPE_BASE^(-2p/F): the point's own
        feature from its latch, the partner from the tile the group holds (top of X's chain),
        counted apart like the statistics passes (the cost model reads X once per point)."""
        op = m.op
        t = op.operands[0]
        top = m.chain(t)[-1]
        buf = self.buffer(m, t, top)
        fe = buf.extents[t.dims.index("f")]
        if not buf.full and fe % 2 and fe < self.g.padded("f"):
            raise CodegenError(
                f"rope-pair-split: {op.name}: the tile of {t.name} at "
                f"{self.level_name(top)} holds {fe} of {self.g.padded('f')} features (odd), so a "
                "rotated pair is split across tiles"
            )
        local = {
            d: self.global_coord(m, d) if buf.full else _sum(self.coord(m.loops, d, -math.inf, top))
            for d in t.dims
        }
        f_glob = self.global_coord(m, "f")
        partner = dict(local, f=f"({local['f']}) ^ 1")
        n_f = op.dims["f"]
        sid = self.stats_counter(m, top, t, " (rope partner)")
        pos = self.global_coord(m, "m")
        return [
            f"{{ int fg = {f_glob}; int pg = fg ^ 1;",
            f"  double y = pg < {n_f} ? {buf.name}[{self.index(buf, [partner[d] for d in t.dims], m)}] : 0.0;",
            f"  double th = ({pos}) * pow({ROPE_BASE}, -2.0 * (fg / 2) / {n_f});",
            f"  {out} = {x} * cos(th) + ((fg & 1) ? y : -y) * sin(th); STATS[{sid}] += 1; }}",
        ]

    def stats_counter(self, m: MemberNest, level: int, t: Tensor, what: str = "") -> int:
        key = (m.op.name, self.level_name(level), t.name + what)
        return self.stats_ids.setdefault(key, len(self.stats_ids))

    def source_loops(
        self, m: MemberNest, t: Tensor
    ) -> tuple[Buffer, list[str], dict[str, str], str]:
        """Loops over the whole of t where the group holds it (top of its chain), global coordinates."""
        top = m.chain(t)[-1]
        buf = self.buffer(m, t, top)
        opens, local = self.element_loops(t, buf.extents)
        coords = {}
        for d, c in zip(t.dims, local, strict=True):
            terms = [] if buf.full else self.coord(m.loops, d, top, math.inf)
            coords[d] = " + ".join([*terms, c])
        return buf, opens, coords, self.index(buf, local, m)

    def prologue(self, m: MemberNest) -> list[str]:
        """Whole-row statistics of softmax and the norms (and online softmax's rescaling)."""
        kind = m.op.op
        if m.op.kind is not OpKind.VECTOR or kind not in ROW_DIM:
            return []
        t = m.op.operands[0]
        buf, opens, coords, idx = self.source_loops(m, t)
        rdim = ROW_DIM[kind]
        row = self.row_index(self.row_dims(m), coords)
        real = f"({coords[rdim]}) < {m.op.dims[rdim]}"
        loops = " ".join(opens)
        sid = self.stats_counter(m, m.chain(t)[-1], t)
        head = [f"/* statistics pass over {t.name} (not in the cost model) */"]
        count = [f"STATS[{sid}] += {buf.tile};"]
        if kind in ("layernorm", "rmsnorm"):
            n = m.op.dims[rdim]
            return [
                *head,
                f"{loops} {{ int row = {row}; MEAN[row] = 0.0; RSTD[row] = 0.0; }}",
                f"{loops} {{ int row = {row}; if ({real}) {{ double x = {buf.name}[{idx}]; "
                f"MEAN[row] += x; RSTD[row] += x * x; }} }}",
                f"{loops} {{ int row = {row}; if (({coords[rdim]}) == 0) {{ double mu = MEAN[row] / {n}; "
                f"double var = RSTD[row] / {n}{' - mu * mu' if kind == 'layernorm' else ''}; "
                f"MEAN[row] = mu; RSTD[row] = 1.0 / sqrt(var + {NORM_EPS}); }} }}",
                *count,
            ]
        if kind == "softmax+topk":
            k = self.topk()
            return [
                *head,
                f"{loops} {{ int row = {row}; MX[row] = -INFINITY; SM[row] = 0.0; "
                f"for (int j = 0; j < {k}; j++) TK[row*{k} + j] = -INFINITY; }}",
                f"{loops} {{ int row = {row}; if ({real}) {{ double s = {buf.name}[{idx}]; "
                f"if (s > MX[row]) {{ SM[row] = SM[row] * exp(MX[row] - s) + 1.0; MX[row] = s; }} "
                f"else SM[row] += exp(s - MX[row]); "
                f"topk_insert(&TK[row*{k}], {k}, s); }} }}",
                *count,
            ]
        if not self.g.online:
            return [
                *head,
                f"{loops} {{ int row = {row}; MX[row] = -INFINITY; SM[row] = 0.0; }}",
                f"{loops} {{ int row = {row}; if ({real}) {{ double s = {buf.name}[{idx}]; "
                f"if (s > MX[row]) {{ SM[row] = SM[row] * exp(MX[row] - s) + 1.0; MX[row] = s; }} "
                f"else SM[row] += exp(s - MX[row]); }} }}",
                *count,
            ]
        first = f"e_{rdim} == 0" if f"e_{rdim}" in coords[rdim] else "1"
        return [
            *head,
            f"{loops} {{ int row = {row}; TM[row] = -INFINITY; }}",
            f"{loops} {{ int row = {row}; if ({real} && {buf.name}[{idx}] > TM[row]) TM[row] = {buf.name}[{idx}]; }}",
            *count,
            "/* online softmax: update the running max and sum, rescale the accumulator */",
            f"{loops} {{ int row = {row}; if ({first}) {{ double mx = TM[row] > RM[row] ? TM[row] : RM[row]; "
            f"double a = mx == -INFINITY ? 1.0 : exp(RM[row] - mx); RS[row] *= a; RM[row] = mx; AL[row] = a; "
            f"RESCALE_OPS += 2; }} }}",
            *self.rescale_accumulator(m, coords, row, opens, rdim),
        ]

    def rescale_accumulator(
        self, sm: MemberNest, s_coords: dict[str, str], row: str, opens: list[str], rdim: str
    ) -> list[str]:
        rs = self.g.group.rescale
        assert rs is not None
        av = next(x for x in self.g.members if x.op.output.name == rs.output)
        o = av.op.output
        resident = [lk for lk in av.links if lk.tensor.name == o.name and lk.position < av.n_shared]
        if resident:
            lk = min(resident, key=lambda k: k.child)
            if lk.child == LATCH:
                raise CodegenError(
                    f"{av.op.name}: output {o.name} stays in the PE latch across key tiles"
                )
            buf = self.buffer(av, o, lk.child)
            eopens, local = self.element_loops(o, buf.extents)
            coords = {
                d: " + ".join([*self.coord(av.loops, d, lk.child, math.inf), c])
                for d, c in zip(o.dims, local, strict=True)
            }
            lead = self.lead(av, o, lk.child, math.inf)
            body = [
                f"{' '.join(eopens)} {{ int row = {self.row_index(self.row_dims(sm), coords)}; "
                f"{buf.name}[{self.index(buf, local, av)}] *= AL[row]; if ({lead}) RESCALE_OPS += 1; }}"
            ]
            return [
                f"/* rescale {o.name} where it is resident: {self.level_name(lk.child)} */",
                *self.per_pe(av, 0, lk.child, body),
            ]
        # Not resident: the accumulator is in DRAM; the rows of this key tile, every head-dim entry.
        dd = next(d for d in o.dims if d not in s_coords)
        coords = {**s_coords, dd: f"e_{dd}x"}
        dram = self.buffer(av, o, self.dram)
        idx = self.row_index(o.dims, coords)
        first = f"e_{rdim} == 0" if f"e_{rdim}" in s_coords[rdim] else "1"
        return [
            f"/* rescale {o.name} in DRAM (not resident on chip between key tiles) */",
            f"{' '.join(opens)} if ({first}) for (int e_{dd}x = 0; e_{dd}x < {self.g.padded(dd)}; e_{dd}x++) "
            f"{{ int row = {row}; {dram.name}[{idx}] *= AL[row]; RESCALE_OPS += 1; }}",
        ]

    def epilogue(self) -> list[str]:
        rs = self.g.group.rescale
        if rs is None:
            return []
        av = next(x for x in self.g.members if x.op.output.name == rs.output)
        sm = next(x for x in self.g.members if x.op.op == "softmax")
        o = av.op.output
        dram = self.buffer(av, o, self.dram)
        opens, local = self.element_loops(o, dram.extents)
        coords = dict(zip(o.dims, local, strict=True))
        row = self.row_index(self.row_dims(sm), coords)
        return [
            "/* online softmax: divide by the running sum once the group is done (not in the cost model) */",
            f"{' '.join(opens)} {{ int row = {row}; if (RS[row] > 0.0) D_{c_ident(o.name)}[{self.index(dram, local, av)}] /= RS[row]; }}",
        ]

    def rows(self) -> int:
        sizes = [1]
        for m in self.g.members:
            if m.op.kind is OpKind.VECTOR and m.op.op in ROW_DIM:
                sizes.append(math.prod(self.g.padded(d) for d in self.row_dims(m)))
        return max(sizes)


PRELUDE = """#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double gelu(double x) { return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
static double silu(double x) { return x / (1.0 + exp(-x)); }
/* a zeroed buffer of n words, as static storage would be */
static double *alloc(long long n) {
  double *a = calloc((size_t)n, sizeof(double));
  if (!a) { fprintf(stderr, "cannot allocate %lld words\\n", n); exit(1); }
  return a;
}
/* keep the k largest values seen, descending (a router's top-k) */
static void topk_insert(double *tk, int k, double s) {
  if (s <= tk[k - 1]) return;
  int j = k - 1; while (j > 0 && tk[j - 1] < s) { tk[j] = tk[j - 1]; j--; } tk[j] = s;
}

static void load(const char *dir, const char *name, double *a, long n) {
  char path[4096]; snprintf(path, sizeof path, "%s/%s.bin", dir, name);
  FILE *f = fopen(path, "rb"); if (!f || fread(a, sizeof(double), n, f) != (size_t)n) { fprintf(stderr, "cannot read %s\\n", path); exit(1); }
  fclose(f);
}
static void save(const char *dir, const char *name, const double *a, long n) {
  char path[4096]; snprintf(path, sizeof path, "%s/%s.bin", dir, name);
  FILE *f = fopen(path, "wb"); if (!f || fwrite(a, sizeof(double), n, f) != (size_t)n) { fprintf(stderr, "cannot write %s\\n", path); exit(1); }
  fclose(f);
}
"""


def emit(nest: GroupNest) -> Program:
    """The C program of a group (reads its inputs from argv[1]/<tensor>.bin, writes its outputs
    there, prints its counters)."""
    em = _Emitter(nest)
    body = em.shared_block(0) + em.epilogue()
    group = nest.group
    produced = {m.op.output.name for m in nest.members}
    external: dict[str, Tensor] = {}
    for m in nest.members:
        for t in m.op.tensors:
            if t.name not in group.on_chip:
                external.setdefault(t.name, t)
                em.buffer(m, t, em.dram)
    inputs = [t for n, t in external.items() if n not in produced]
    outputs = [t for n, t in external.items() if n in produced]
    rows = em.rows()
    n_cnt = max(len(em.counter_ids), 1)
    n_stats = max(len(em.stats_ids), 1)
    lines = [
        PRELUDE,
        f"/* group {group.name} ({group.scheme.value}) on {nest.arch.name} */",
        f"static long long CNT[{n_cnt}][2]; /* reads, writes per (member, level, tensor) */",
        f"static long long STATS[{n_stats}];",
        "static long long RESCALE_OPS;",
        *(f"/* CNT[{i}]: {op} {lvl} {t} */" for (op, lvl, t), i in em.counter_ids.items()),
        *(f"/* STATS[{i}]: {op} {lvl} {t} */" for (op, lvl, t), i in em.stats_ids.items()),
        *(
            f"static double {a}[{rows}];"
            for a in ("MX", "SM", "MEAN", "RSTD", "RM", "RS", "TM", "AL")
        ),
        f"static double TK[{rows * em.topk()}];",
        *em.decls,
        "",
        "int main(int argc, char **argv) {",
        '  const char *dir = argc > 1 ? argv[1] : ".";',
        *em.allocs,
        f"  for (int i = 0; i < {rows}; i++) {{ RM[i] = -INFINITY; RS[i] = 0.0; }}",
        *(
            f'  load(dir, "{t.name}", D_{c_ident(t.name)}, {math.prod(nest.tensor_dims(t))});'
            for t in inputs
        ),
        *("  " + ln for ln in body),
        *(
            f'  save(dir, "{t.name}", D_{c_ident(t.name)}, {math.prod(nest.tensor_dims(t))});'
            for t in outputs
        ),
        f'  for (int i = 0; i < {len(em.counter_ids)}; i++) printf("count %d %lld %lld\\n", i, CNT[i][0], CNT[i][1]);',
        f'  for (int i = 0; i < {len(em.stats_ids)}; i++) printf("stats %d %lld\\n", i, STATS[i]);',
        '  printf("rescale_ops %lld\\n", RESCALE_OPS);',
        "  return 0;",
        "}",
    ]
    by_id = sorted(em.counter_ids, key=lambda k: em.counter_ids[k])
    stats = sorted(em.stats_ids, key=lambda k: em.stats_ids[k])
    return Program("\n".join(lines) + "\n", by_id, stats, inputs, outputs)
