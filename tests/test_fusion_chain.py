"""The general candidate rule (cosamt/fusion/chain.py) against today's menu (schemes.py).

On every shipped instance, every fused group of the menu is the rule applied to the same run of
the block's chain: the same shared dimensions, on-chip intermediates, in-place outputs and online
rescaling, compared by shape (the two name tensors differently). The one stated difference: a
pre-norm epilogue (``out_proj+residual1``, no norm in the run), where the rule also shares the
features, since no member needs them whole. On a small instance the solved objectives are equal
(and the epilogue's is no worse).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from cosamt.api import load_resolved
from cosamt.arch.presets import resolve_arch
from cosamt.evaluate.group import evaluate_group
from cosamt.fusion.chain import KNOWN, Chain, block_chains, candidates
from cosamt.fusion.schemes import Group, Scheme, segments
from cosamt.io.instance import parse_instance
from cosamt.pipeline import resolve
from cosamt.schedule.mapping import renamed
from cosamt.solve.solver import SolveSettings, SolveStatus, solve_group
from cosamt.types import FusionChoice
from cosamt.workload.einsum import Einsum

ROOT = Path(__file__).parent.parent
INSTANCES = sorted((ROOT / "instances").glob("*.json"))
GPT2_CLOUD = ROOT / "instances" / "gpt2_cloud.json"


def shape(group: Group) -> tuple[object, ...]:
    """A group's formulation with names abstracted: per member, its shared (dim, size) pairs and
    the shapes of its on-chip and in-place tensors; the rescaling's sizes."""
    members = []
    for o in group.ops:
        members.append(
            (
                sorted((d, s) for d, s in o.dims.items() if d in group.shared_dims),
                sorted(
                    (t.role.value, tuple(o.dims[d] for d in t.dims))
                    for t in o.tensors
                    if t.name in group.on_chip
                ),
                sorted(
                    tuple(o.dims[d] for d in o.tensor(t).dims)
                    for t in group.in_place.get(o.name, ())
                ),
            )
        )
    r = group.rescale
    rescale = None if r is None else (r.output_size, r.rows, group.ops[0].dims[r.dim])
    return (group.scheme.value, members, rescale)


def menu_groups(ops: tuple[object, ...]) -> list[Group]:
    segs = segments(ops, FusionChoice.ALL)  # type: ignore[arg-type]
    return [c[0] for s in segs for c in s.candidates if len(c) == 1 and c[0].fused]


def rule_group(chain: Chain, menu: Group) -> Group:
    idx = {o.name: i for i, o in enumerate(chain.ops)}
    lo, hi = idx[menu.source_ops[0]], idx[menu.source_ops[-1]]
    assert [o.name for o in chain.ops[lo : hi + 1]] == list(menu.source_ops)
    (group,) = [g for g in candidates(chain, lo, hi) if g.scheme is menu.scheme]
    return group


def pre_norm_epilogue(group: Group) -> bool:
    return group.scheme is Scheme.EPILOGUE and not any(
        o.op in ("layernorm", "rmsnorm") for o in group.ops
    )


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem)
def test_rule_reproduces_the_menu(path: Path) -> None:
    """Per block with a chain (a MoE block has operators whose dataflow is not stated: explore
    keeps the menu there, so there is nothing to compare), every menu group is the rule's."""
    ops = load_resolved(path).operators
    menus = menu_groups(ops)
    assert menus
    compared = 0
    for block in by_prefix(ops):
        chains = block_chains(block)
        names = {o.name for o in block}
        mine = [g for g in menus if set(g.source_ops) <= names]
        if not chains:
            assert any(_base(o.name) not in KNOWN for o in block)
            continue
        chain = chains[0]
        assert chain.view == "block"
        for menu in mine:
            compared += 1
            rule = rule_group(chain, menu)
            assert rule.source_ops == menu.source_ops
            if pre_norm_epilogue(menu):
                # features: the projection's output dimension, which the residual add iterates
                assert rule.shared_dims == menu.shared_dims | {"f"}, menu.name
                assert shape(rule)[1:] != shape(menu)[1:]
                continue
            assert shape(rule) == shape(menu), menu.name
    assert compared or not any(block_chains(b) for b in by_prefix(ops))


def by_prefix(ops: tuple[Einsum, ...]) -> list[list[Einsum]]:
    out: dict[str, list[Einsum]] = {}
    for op in ops:
        out.setdefault(op.name.rpartition(".")[0], []).append(op)
    return list(out.values())


def _base(name: str) -> str:
    return name.rpartition(".")[2]


def test_flat_attention_by_hand() -> None:
    """GPT-2's FLAT group by hand: shared b, h, m (n is softmax's row, d is QKᵀ's reduction),
    S and P on chip, P written over S."""
    ops = load_resolved(GPT2_CLOUD).operators
    chain = block_chains(ops)[0]
    i = [o.name for o in chain.ops].index("qk")
    flat, online = candidates(chain, i, i + 2)
    assert flat.shared_dims == {"b", "h", "m"}
    assert online.shared_dims == {"b", "h", "m", "n"}
    assert len(flat.on_chip) == 2
    assert online.rescale is not None and online.rescale.rows == 1 * 12 * 1024


def test_runs_that_are_not_candidates() -> None:
    """An opaque edge (qkv_proj's merged output into QKᵀ), an intermediate read outside the run
    (pre-norm residual1's output feeds norm2 and residual2) and an unconnected run are refused."""
    ops = load_resolved(GPT2_CLOUD).operators  # pre-norm
    block, split = block_chains(ops)
    names = [o.name for o in block.ops]
    qkv = names.index("qkv_proj")
    assert candidates(block, qkv, qkv + 1) == []
    r1 = names.index("residual1")
    assert candidates(block, r1, r1 + 1) == []  # residual1 + norm2
    snames = [o.name for o in split.ops]
    kv = snames.index("kv_proj")
    assert candidates(split, kv, kv + 1) == []  # kv_proj + q_proj share only their input
    q = snames.index("q_proj")
    (g,) = candidates(split, q, q + 3)  # q_proj + FLAT attention (n whole: no online variant)
    assert g.scheme is Scheme.CHAIN
    assert g.shared_dims == {"b", "h", "m"}
    assert len(g.on_chip) == 3


def _small(model: str) -> tuple[object, ...]:
    inst = parse_instance({"model": model, "seq_len": 32, "arch": "edge"})
    return resolve(inst).operators


@pytest.mark.parametrize("model", ["gpt2", "bert-base"])
def test_rule_solves_like_the_menu(model: str) -> None:
    """Same proven-optimal latency for the menu's group and the rule's (a pre-norm epilogue: no
    worse), each accepted by the evaluator."""
    arch = resolve_arch("edge")
    ops = _small(model)
    chain = block_chains(ops)[0]  # type: ignore[arg-type]
    settings = SolveSettings(time_limit_s=120, threads=2)
    for menu in menu_groups(ops):
        values = []
        for g in (menu, rule_group(chain, menu)):
            res = solve_group(g, arch, settings)
            assert res.status is SolveStatus.OPTIMAL, g.name
            ev = evaluate_group(g, arch, res.mappings)
            assert ev.valid, ev.violations
            values.append(ev.latency_cycles)
        if pre_norm_epilogue(menu):
            assert values[1] <= values[0] * (1 + 1e-9), menu.name
        else:
            assert values[1] == pytest.approx(values[0], rel=1e-9), menu.name


def test_q_projection_fused_into_attention_beats_ffm() -> None:
    """Issue #16's span: GPT-2 small's width, one head of 64, 1024 tokens, edge. The rule's
    q_proj+qk+softmax+av (Q, S and P on chip; shared b, h, m) reaches the PE array's bound, by hand
    (q_proj + QKᵀ + A·V MACs over the 1024 PEs): 1024·768·64/1024 + 2·1024·1024·64/1024 = 180,224
    cycles, against 196,608 for FFM's tree and 212,992 for the menu's Q-projection alone (49,152)
    + FLAT attention (163,840: softmax's 5 ops per score on the 32-lane vector unit)."""
    example = json.loads((ROOT / "examples" / "gpt2_one_head_edge.json").read_text())
    inst = parse_instance({"model": example["model"], "seq_len": 1024, "arch": "edge"})
    arch = resolve_arch("edge")
    assert arch.pe_array.pes == 1024 and arch.vector_unit.lanes == 32
    split = block_chains(resolve(inst).operators)[1]
    names = [o.name for o in split.ops]
    q = names.index("q_proj")
    (group,) = candidates(split, q, q + 3)
    settings = SolveSettings(time_limit_s=120, threads=2)
    res = solve_group(group, arch, settings)
    assert res.status is SolveStatus.OPTIMAL
    ev = evaluate_group(group, arch, res.mappings)
    assert ev.valid, ev.violations
    compute = (1024 * 768 * 64 + 2 * 1024 * 1024 * 64) / 1024
    assert ev.latency_cycles == compute == 180_224
    assert ev.latency_cycles <= 196_608  # FFM's


def _flat_attention(chain: Chain) -> Group:
    idx = {o.name: i for i, o in enumerate(chain.ops)}
    runs = candidates(chain, idx["qk"], idx["av"])
    return next(g for g in runs if g.scheme is Scheme.FLAT)


def test_groups_of_one_shape_share_one_schedule() -> None:
    """The block and split views name attention's inputs after different projections (Q_qkv_proj,
    Q_q_proj): one shape, so one MIP, and a schedule of one, renamed, is valid on the other with
    the same figures. The menu's FLAT group (Q, K, V; ·V's head dimension d, not d2) is that shape
    too; another length is not."""
    arch = resolve_arch("edge")
    ops = _small("gpt2")
    views = {c.view: c for c in block_chains(ops)}  # type: ignore[arg-type]
    a, b = _flat_attention(views["block"]), _flat_attention(views["split"])
    assert a.signature() != b.signature() and a.shape().key == b.shape().key
    menu = next(g for g in menu_groups(ops) if g.scheme is Scheme.FLAT)
    assert menu.shape().key == a.shape().key
    res = solve_group(a, arch, SolveSettings(time_limit_s=120, threads=2))
    dims, tensors = a.shape().names_in(b.shape())
    assert tensors["Q_qkv_proj"] == "Q_q_proj" and tensors["V_qkv_proj"] == "V_kv_proj"
    mappings = {
        o.name: renamed(res.mappings[o.name], dims[i], tensors) for i, o in enumerate(a.ops)
    }
    ev_a, ev_b = evaluate_group(a, arch, res.mappings), evaluate_group(b, arch, mappings)
    assert ev_b.valid and ev_a.valid
    assert (ev_b.latency_cycles, ev_b.energy_pj) == (ev_a.latency_cycles, ev_a.energy_pj)
    longer = parse_instance({"model": "gpt2", "seq_len": 64, "arch": "edge"})
    other = _flat_attention(block_chains(resolve(longer).operators)[0])  # type: ignore[arg-type]
    assert other.shape().key != a.shape().key


def test_a_tensor_the_architecture_names_keeps_its_name_in_the_shape() -> None:
    """Where a level keeps tensors by name (``holds_tensors``), Q and K are not interchangeable:
    the group with the two inputs' block names swapped is the same MIP under roles alone, a
    different one when the architecture names K (then a schedule of one says nothing of the
    other)."""
    a = _flat_attention(block_chains(_small("gpt2"))[0])  # type: ignore[arg-type]
    swap = {"Q": ("K",), "K": ("Q",)}
    qk = a.ops[0]
    swapped_qk = replace(
        qk, tensors=tuple(replace(t, block_names=swap.get(next(iter(t.names)), t.block_names))
                          for t in qk.tensors)
    )  # fmt: skip
    b = replace(a, ops=(swapped_qk, *a.ops[1:]))
    assert {t.name: sorted(t.names) for t in b.ops[0].tensors}["Q_qkv_proj"] == ["K"]
    assert a.shape().key == b.shape().key
    assert a.shape(frozenset({"V"})).key == b.shape(frozenset({"V"})).key
    assert a.shape(frozenset({"K"})).key != b.shape(frozenset({"K"})).key
