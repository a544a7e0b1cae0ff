"""What a model became: its block types, their operators with sizes and work, and assumptions.

The library side of ``cosamt workload``; the JSON shape is documented in ``docs/semantics.md``.
"""

from __future__ import annotations

from typing import Any

from cosamt.workload.einsum import Einsum, OpKind
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import Workload, build_workload


def workload_for(
    model: ModelConfig, phase: str, batch: int, seq_len: int, lm_head: bool
) -> Workload:
    return build_workload(model, phase, batch, seq_len, lm_head)


def operator_json(op: Einsum, block: str) -> dict[str, Any]:
    """One operator: ``macs`` is one execution's multiply-accumulates (vector ops for a vector
    operator), ``count`` its executions per model."""
    mac = op.kind is OpKind.MAC
    return {
        "name": op.name,
        "block": block,
        "kind": op.kind.value,
        "op": op.op,
        "dims": dict(op.dims),
        "macs": op.macs if mac else op.vector_ops,
        "count": op.count,
        "tensors": [
            {"name": t.name, "role": t.role.value, "dims": list(t.dims), "words": op.size(t)}
            for t in op.tensors
        ],
    }


def workload_json(w: Workload) -> dict[str, Any]:
    ops: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    for plan, block_ops in w.blocks:
        blocks.append(
            {
                "name": plan.label,
                "prefix": plan.prefix,
                "layers": plan.count,
                "query_tokens": plan.m,
                "keys_per_query": plan.n,
                "cross_keys": plan.cross_n,
                "operators": [o.name for o in block_ops],
                "macs_per_layer": sum(o.macs for o in block_ops),
                "vector_ops_per_layer": sum(o.vector_ops for o in block_ops),
            }
        )
        ops += [operator_json(o, plan.label) for o in block_ops]
    if w.head:
        blocks.append(
            {
                "name": "lm head",
                "prefix": "",
                "layers": 1,
                "query_tokens": w.head[-1].dims["m"],
                "keys_per_query": None,
                "cross_keys": None,
                "operators": [o.name for o in w.head],
                "macs_per_layer": sum(o.macs for o in w.head),
                "vector_ops_per_layer": sum(o.vector_ops for o in w.head),
            }
        )
        ops += [operator_json(o, "lm head") for o in w.head]
    every = w.operators
    return {
        "model": w.model.name,
        "source": w.model.source,
        "phase": w.phase.value,
        "batch": w.batch,
        "seq_len": w.seq_len,
        "blocks": blocks,
        "operators": ops,
        "totals": {
            "macs": sum(o.macs * o.count for o in every),
            "vector_ops": sum(o.vector_ops * o.count for o in every),
        },
        "assumptions": list(w.assumptions),
    }


def workload_lines(w: Workload) -> list[str]:
    """The same as text, for people."""
    data = workload_json(w)
    lines = [f"{data['model']}: {data['phase']}, batch {data['batch']}, seq_len {data['seq_len']}"]
    by_name = {o["name"]: o for o in data["operators"]}
    for block in data["blocks"]:
        lines.append(
            f"\n{block['name']}: {block['layers']} layer(s), {block['query_tokens']} query tokens"
            + (f", {block['keys_per_query']} keys per query" if block["keys_per_query"] else "")
            + (f", {block['cross_keys']} cross keys" if block["cross_keys"] else "")
        )
        for name in block["operators"]:
            o = by_name[name]
            dims = " ".join(f"{d}={s}" for d, s in o["dims"].items())
            unit = "MACs" if o["kind"] == "mac" else "vector ops"
            tensors = ", ".join(
                f"{t['name']}[{','.join(t['dims'])}]={t['words']:,}" for t in o["tensors"]
            )
            lines.append(f"  {name:18} {o['op']:12} {dims:44} {o['macs']:>16,} {unit}  {tensors}")
        lines.append(
            f"  per layer: {block['macs_per_layer']:,} MACs, {block['vector_ops_per_layer']:,} vector ops"
        )
    t = data["totals"]
    lines.append(f"\nmodel total: {t['macs']:,} MACs, {t['vector_ops']:,} vector ops")
    lines.append("assumptions:")
    lines += [f"  - {a}" for a in data["assumptions"]]
    return lines
