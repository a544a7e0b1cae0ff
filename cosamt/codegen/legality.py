"""Schedules the cost model accepts that would not compute the operators: checked from what the
operators compute, not from the cost rules.

* ``softmax-row-split``: a shared loop tiles the softmax row (the key dimension) outside the online
  scheme, so each shared iteration would normalise by a partial row (no running max and sum).
* ``route-row-split``: a shared loop tiles a MoE router's experts (``softmax+topk``): softmax and
  top-k of a partial row.
* ``norm-row-split``: a shared loop tiles a norm's feature dimension: mean and variance of a partial
  row.

(``rope-pair-split`` is raised by the emitter: the tile a rotary embedding reads its partner
feature from holds an odd number of features.)
* ``shared-reduction-partial``: a shared loop runs over a reduction dimension of an operator whose
  output stays on chip, so the next operator would consume a partial sum (harmless only when the
  consumer is linear and accumulates, which no fused scheme here relies on).
"""

from __future__ import annotations

from dataclasses import dataclass

from cosamt.fusion.schemes import Group, Scheme
from cosamt.schedule.mapping import Mapping
from cosamt.workload.einsum import OpKind

# The dimension each row-normalising vector operator reduces over.
ROW_DIM = {"softmax": "n", "softmax+topk": "f", "layernorm": "f", "rmsnorm": "f"}
_SPLIT_REASON = {
    "softmax": "softmax-row-split",
    "softmax+topk": "route-row-split",
    "layernorm": "norm-row-split",
    "rmsnorm": "norm-row-split",
}


@dataclass(frozen=True)
class Reason:
    name: str
    operator: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.operator}: {self.message}"


def _shared(mapping: Mapping, group: Group) -> list[tuple[str, int]]:
    if not group.fused:
        return []
    return [(lp.dim, lp.factor) for lp in mapping.levels[-1].temporal if lp.factor > 1]


def computation_problems(group: Group, mappings: dict[str, Mapping]) -> list[Reason]:
    out: list[Reason] = []
    for op in group.ops:
        shared = _shared(mappings[op.name], group)
        if op.kind is OpKind.VECTOR and op.op in ROW_DIM:
            dim = ROW_DIM[op.op]
            split = [f for d, f in shared if d == dim]
            online = group.scheme is Scheme.ONLINE and op.op == "softmax"
            if split and not online:
                name = _SPLIT_REASON[op.op]
                out.append(
                    Reason(
                        name,
                        op.name,
                        f"shared loop over {dim} x{split[0]} splits the row the operator "
                        f"normalises; each shared iteration would see 1/{split[0]} of it",
                    )
                )
        if op.kind is OpKind.MAC and op.output.name in group.on_chip:
            partial = [(d, f) for d, f in shared if d in op.reduction_dims]
            if partial:
                d, f = partial[0]
                out.append(
                    Reason(
                        "shared-reduction-partial",
                        op.name,
                        f"shared loop over reduction dimension {d} x{f}: the on-chip output "
                        f"{op.output.name} is handed on as a partial sum",
                    )
                )
    return out
