"""Block types of a stack whose layers differ (``ModelConfig.layer_groups``): one block type per
group of identical layers, each pre-norm sublayer norm, sublayer, residual add.

A group's mixer is attention, a Mamba mixer (:func:`cosamt.workload.recurrent.mamba_ops`) or both
side by side on the same normed input with one three-input add (Falcon-H1); its FFN dense, MoE or
absent (Nemotron-H's layers are each one of Mamba, attention, MLP, MoE). Operator names get the
group's prefix: the mixer's tag (``attn.``, ``mamba.``, ``hybrid.``) where the groups' mixers
differ, then the FFN's (``dense.``, ``moe.``) where their FFNs differ (Jamba: ``mamba.moe.``;
Nemotron-H: ``mamba.``, ``attn.``, ``dense.``, ``moe.``); one group: no prefix.
"""

from __future__ import annotations

from cosamt.types import Phase
from cosamt.workload.einsum import Einsum
from cosamt.workload.layer_kinds import LayerGroup
from cosamt.workload.models import ModelConfig
from cosamt.workload.recurrent import mamba_ops
from cosamt.workload.transformer import BlockPlan, _ffn, _norm, _residual, _self_attention

_MIXER_TAG = {"attention": "attn", "mamba": "mamba", "parallel": "hybrid"}
_MIXER_LABEL = {
    "attention": "attention",
    "mamba": "Mamba",
    "parallel": "attention + Mamba",
    None: "no mixer",
}
_FFN_TAG = {"dense": "dense", "moe": "moe"}
_FFN_LABEL = {"dense": "dense FFN", "moe": "MoE FFN", None: "no FFN"}


def _prefix(group: LayerGroup, groups: tuple[LayerGroup, ...]) -> str:
    """The tags of what differs between the groups (an absent mixer or FFN untagged, unless
    nothing else would be: then the other part's tag)."""
    parts = []
    if len({g.mixer for g in groups}) > 1 and group.mixer is not None:
        parts.append(_MIXER_TAG[group.mixer])
    if len({g.ffn for g in groups}) > 1 and group.ffn is not None:
        parts.append(_FFN_TAG[group.ffn])
    if not parts and len(groups) > 1 and group.ffn is not None:
        parts.append(_FFN_TAG[group.ffn])
    elif not parts and len(groups) > 1 and group.mixer is not None:
        parts.append(_MIXER_TAG[group.mixer])
    return "".join(f"{part}." for part in parts)


def group_plans(model: ModelConfig, phase: Phase, seq_len: int) -> list[BlockPlan]:
    """One block type per layer group, in the groups' order."""
    groups = model.layer_groups
    assert groups is not None
    m = seq_len if phase is Phase.PREFILL else 1
    return [
        BlockPlan(
            prefix=_prefix(g, groups),
            label=f"decoder ({_MIXER_LABEL[g.mixer]}, {_FFN_LABEL[g.ffn]})",
            count=g.count,
            m=m,
            n=seq_len,
            causal=model.decoder,
            moe=g.ffn == "moe",
            group=g,
        )
        for g in groups
    ]


def _mixer(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The Mamba mixer, attention, or both (a parallel mixer: Mamba first, as Falcon-H1 runs)."""
    assert plan.group is not None
    ops = mamba_ops(model, plan, b) if plan.group.has_mamba else []
    if plan.group.has_attention:
        ops += _self_attention(model, plan, b)
    return ops


def group_block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The layer's sublayers, each ``norm, sublayer, residual add`` (pre-norm); a parallel mixer's
    attention and Mamba outputs and the stream summed by one add."""
    group = plan.group
    assert group is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    ops: list[Einsum] = []
    step = 1
    if group.mixer is not None:
        summands = 3 if group.mixer == "parallel" else 2
        ops += [_norm(f"{p}norm1", model.norm, b, m, d, c), *_mixer(model, plan, b)]
        ops.append(_residual(f"{p}residual1", b, m, d, c, summands))
        step = 2
    if group.ffn is not None:
        summands = 3 if plan.moe and model.shared_d_ff else 2  # routed + shared experts + stream
        ops += [_norm(f"{p}norm{step}", model.norm, b, m, d, c), *_ffn(model, plan, b)]
        ops.append(_residual(f"{p}residual{step}", b, m, d, c, summands))
    return ops
