"""Every constraint row of the MIPs belongs to a named family (no anonymous ConstraintList), and the
families documented as indexed by name are (formulations/*.md)."""

from __future__ import annotations

import pyomo.environ as pyo

from cosamt.arch.presets import load_preset
from cosamt.formulation.fused_group import build_group
from cosamt.formulation.single_operator import Problem, build
from cosamt.fusion.schemes import Scheme, segments
from cosamt.io.instance import parse_instance
from cosamt.pipeline import resolve
from cosamt.types import FusionChoice
from cosamt.workload.einsum import gemm


def _no_constraint_lists(model: pyo.Block) -> None:
    lists = [
        c.name
        for c in model.component_objects(pyo.Constraint, descend_into=True)
        if isinstance(c, pyo.ConstraintList)
    ]
    assert not lists


def test_single_operator_rows_are_named() -> None:
    op = gemm("g", 64, 64, 64)
    edge = load_preset("edge")
    m = build(Problem(op, edge, dict(op.dims), False)).model
    _no_constraint_lists(m)
    ports = [f"{lv.name}.{rw}" for lv in edge.levels for rw in ("read", "write")]
    assert list(m.latency_bounds) == ["compute", *ports]
    assert set(m.compulsory_traffic) == {(t, i) for t in "XWY" for i in range(len(edge.levels))}
    # The output Y's chain: the MAC, the two on-chip levels, DRAM; one row per pair of it.
    chain = [-1, *range(len(edge.levels))]
    pairs = {("Y", c, p) for i, c in enumerate(chain) for p in chain[i + 1 :]}
    assert set(m.readback_def) == pairs and set(m.readback) == pairs


def test_fused_group_rows_are_named() -> None:
    inst = parse_instance({"model": "gpt2", "seq_len": 64, "arch": "edge"})
    resolved = resolve(inst)
    seg = next(s for s in segments(resolved.operators, FusionChoice.ALL) if s.name == "attention")
    group = next(c[0] for c in seg.candidates if len(c) == 1 and c[0].scheme is Scheme.FLAT)
    m = build_group(group, resolved.arch).model
    _no_constraint_lists(m)
    assert {key[1] for key in m.shared_links} == {"count", "nontrivial", "order"}
    assert all(key[0] >= 1 for key in m.shared_links)  # members linked to member 0
    assert "compute" in set(m.group_latency) and "vector" in set(m.group_latency)
    assert all(level == "GlobalBuffer" for level, _g in m.group_capacity)
