"""Block types of a stack whose layers differ (``ModelConfig.layer_groups``): one block type per
group of identical layers, each pre-norm sublayer norm, sublayer, residual add.

A group's mixer is attention, a Mamba mixer (:func:`cosamt.workload.recurrent.mamba_ops`), both
side by side on the same normed input with one three-input add (Falcon-H1), LFM2's gated short
convolution (:func:`cosamt.workload.short_conv.short_conv_ops`), Gated DeltaNet
(:func:`cosamt.workload.recurrent.gated_deltanet_ops`) or Kimi Delta Attention
(:func:`cosamt.workload.kda.kda_ops`) or lightning attention
(:func:`cosamt.workload.lightning.lightning_ops`); its FFN dense, MoE or absent
(Nemotron-H's layers are each one of Mamba, attention, MLP, MoE). An attention group may be
windowed, have its own head dim, KV heads and rotary features (Gemma 4's per-layer overrides) and
reuse another layer's K and V (``kv_shared``: :func:`cosamt.workload.per_layer.shared_kv_attention`);
with per-layer inputs every layer ends with their operators, and a model-wide block runs before
the layers (:mod:`cosamt.workload.per_layer`).
Operator names get the group's prefix: the mixer's tag (``attn.``, ``mamba.``, ``hybrid.``,
``conv.``) where the groups' mixers differ, then ``local.`` / ``global.`` where their windows
differ, ``kvshared.`` on KV-shared groups beside ones computing K and V, then the FFN's
(``dense.``, ``moe.``) where their FFNs differ (Jamba: ``mamba.moe.``; Nemotron-H: ``mamba.``,
``attn.``, ``dense.``, ``moe.``; Gemma 4: ``local.``, ``global.``, ``local.kvshared.``), and the
group's number (``g2.``) if two groups still share a prefix; one group: no prefix.
"""

from __future__ import annotations

from dataclasses import replace

from cosamt.types import Phase
from cosamt.workload.addons import expert_sum, post_norm
from cosamt.workload.altup import ALTUP_IN, ALTUP_OUT, layer_ops
from cosamt.workload.einsum import Einsum
from cosamt.workload.inkling import layer_ops as inkling_layer_ops
from cosamt.workload.kda import kda_ops
from cosamt.workload.layer_kinds import LayerGroup
from cosamt.workload.lightning import lightning_ops
from cosamt.workload.models import ModelConfig
from cosamt.workload.odds import HC_HEAD, hc_layer_ops
from cosamt.workload.per_layer import (
    ASSISTANT_IN,
    ASSISTANT_OUT,
    PER_LAYER_INPUTS,
    per_layer_input_ops,
    shared_kv_attention,
)
from cosamt.workload.recurrent import gated_deltanet_ops, mamba_ops
from cosamt.workload.rglru import rglru_ops
from cosamt.workload.short_conv import short_conv_ops
from cosamt.workload.transformer import (
    BlockPlan,
    _cross_attention,
    _ffn,
    _norm,
    _residual,
    _self_attention,
)
from cosamt.workload.zamba import hybrid_layer

_MIXER_TAG = {
    "attention": "attn",
    "mamba": "mamba",
    "parallel": "hybrid",
    "conv": "conv",
    "deltanet": "linear",
    "kda": "kda",
    "lightning": "ltn",
    "cross": "cross",
    "rglru": "rec",
    "zamba": "shared",
}
_MIXER_LABEL = {
    "attention": "attention",
    "mamba": "Mamba",
    "parallel": "attention + Mamba",
    "conv": "short convolution",
    "deltanet": "Gated DeltaNet",
    "kda": "Kimi Delta Attention",
    "lightning": "lightning attention",
    "cross": "cross-attention",
    "rglru": "RG-LRU recurrent block",
    "zamba": "shared attention block + Mamba",
    None: "no mixer",
}
_FFN_TAG = {"dense": "dense", "moe": "moe"}
_FFN_LABEL = {"dense": "dense FFN", "moe": "MoE FFN", None: "no FFN"}


def _prefixes(groups: tuple[LayerGroup, ...]) -> list[str]:
    """Each group's prefix; a group whose tags repeat an earlier group's gets its number too."""
    out: list[str] = []
    for i, group in enumerate(groups):
        prefix = _prefix(group, groups)
        out.append(f"{prefix}g{i + 1}." if prefix in out else prefix)
    return out


def _prefix(group: LayerGroup, groups: tuple[LayerGroup, ...]) -> str:
    """The tags of what differs between the groups (an absent mixer or FFN untagged, unless
    nothing else would be: then the other part's tag)."""
    parts = []
    if len({g.mixer for g in groups}) > 1 and group.mixer is not None:
        parts.append(_MIXER_TAG[group.mixer])
    if len({g.window for g in groups if g.has_attention}) > 1 and group.has_attention:
        parts.append("local" if group.window else "global")
    if len({g.window_size for g in groups if g.window}) > 1 and group.window_size:
        parts.append(f"w{group.window_size}")  # a window of its own beside the model's
    if len({g.kv_shared for g in groups if g.has_attention}) > 1 and group.kv_shared:
        parts.append("kvshared")
    if len({g.sparse_gate for g in groups}) > 1 and group.sparse_gate:
        parts.append("sparse")
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
    window = model.sliding_window or seq_len
    stack = "decoder" if model.decoder else "encoder"  # a bidirectional stack (NeoMME)
    layers = [
        BlockPlan(
            prefix=prefix,
            label=f"{stack} ({_mixer_label(model, g)}, {_FFN_LABEL[g.ffn]})",
            count=g.count,
            m=m,
            n=0
            if g.mixer == "cross"
            else min(seq_len, g.window_size or window)
            if g.window
            else seq_len,
            causal=model.decoder,
            moe=g.ffn == "moe",
            # Mllama's cross-attention layers: K/V of the vision tokens in prefill, cached after.
            cross_n=model.cross_tokens if g.mixer == "cross" else None,
            cross_kv=g.mixer == "cross" and phase is Phase.PREFILL,
            group=g,
        )
        for g, prefix in zip(groups, _prefixes(groups), strict=True)
    ]
    if model.indexer is not None:  # attention reads the top-k keys the indexer scored
        topk = model.indexer.topk
        layers = [
            p
            if p.group is not None and p.group.no_indexer
            else replace(p, n=min(p.n, topk), index_n=p.n)
            for p in layers
        ]
    return (
        _model_wide_plans(model, m, before=True)
        + layers
        + _model_wide_plans(model, m, before=False)
    )


def _model_wide_plans(model: ModelConfig, m: int, before: bool) -> list[BlockPlan]:
    """The model-wide blocks before the layers (the per-layer inputs' projection, an assistant's
    input projection) or after them (an assistant's output projection), each run once."""
    kinds: list[tuple[str, str, str]] = []  # prefix, label, special
    if before and model.per_layer_input is not None:
        kinds.append(("ple.", "per-layer inputs (model-wide projection)", PER_LAYER_INPUTS))
    if model.altup is not None:
        kinds.append(
            ("altup_in.", "AltUp copies (before the layers)", ALTUP_IN)
            if before
            else ("altup_out.", "AltUp merge (after the layers)", ALTUP_OUT)
        )
    if not before and model.hyper_connections is not None:  # HY-V4's HYV4HyperHead
        kinds.append(("hc_head.", "hyper-connection head (after the layers)", HC_HEAD))
    if model.assistant_target_width is not None:
        kinds.append(
            ("asst.", "assistant input projection", ASSISTANT_IN)
            if before
            else ("asst_out.", "assistant output projection", ASSISTANT_OUT)
        )
    return [
        BlockPlan(prefix, label, 1, m, 0, model.decoder, False, special=special)
        for prefix, label, special in kinds
    ]


def _mixer_label(model: ModelConfig, group: LayerGroup) -> str:
    label = _MIXER_LABEL[group.mixer]
    if group.window:
        kind = {"sliding": "sliding window", "chunked": "chunks of"}.get(model.window_kind)
        size = group.window_size or model.sliding_window
        label += f", {kind or model.window_kind + ' window'} {size}"
    if group.no_rope:
        label += ", no rotary"
    if group.head_dim is not None:
        label += f", head dim {group.head_dim}"
    if group.n_heads is not None:
        label += f", {group.n_heads} heads"
    if group.kv_lora_rank is not None:
        label += f", KV latent {group.kv_lora_rank}"
    if model.indexer is not None and not group.no_indexer:
        label += ", shared top-k" if group.shared_indexer else ", indexed"
    if group.kv_shared:
        label += ", K/V shared"
    if group.sparse_gate:
        label += ", sparse FFN gate"
    return label


def _mixer(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The Mamba mixer, attention (with the group's head shape), both (a parallel mixer: Mamba
    first, as Falcon-H1 runs), or the short convolution."""
    group = plan.group
    assert group is not None
    if group.mixer == "conv":
        return short_conv_ops(model, plan, b)
    if group.mixer == "deltanet":
        return gated_deltanet_ops(model, plan, b)
    if group.mixer == "kda":
        return kda_ops(model, plan, b)
    if group.mixer == "lightning":  # prefill: every query token is also a key
        return lightning_ops(model, plan, b, prefill=plan.m == plan.n)
    if group.no_rope and model.mla and not group.no_rope_slices:
        # MLA keeps its rotary-sized slices, rotates nothing
        return [op for op in _self_attention(model, plan, b) if op.name != f"{plan.prefix}rope"]
    if group.mixer == "cross":  # cross-attention alone (Mllama), no rotary
        return _cross_attention(model, plan, b)
    if group.mixer == "rglru":  # Griffin's recurrent block (Recurrent Gemma)
        return rglru_ops(model, plan, b)
    ops = mamba_ops(model, plan, b) if group.has_mamba else []
    if group.has_attention:
        update: dict[str, object] = {**group.overrides}
        update |= {"rotary_dim": None} if group.no_rope else {}
        if group.no_rope and model.indexer is not None:  # nor in the indexer (Mistral Large 4)
            update["indexer"] = model.indexer.model_copy(update={"rotary_dim": 0})
        if group.no_indexer or group.shared_indexer:  # Dots3's sliding layers; HY-V4's reuse
            update["indexer"] = None
        shaped = model.model_copy(update=update) if update else model
        attend = shared_kv_attention if group.kv_shared else _self_attention
        ops += attend(shaped, plan, b)
    return ops


def group_block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The layer's sublayers, each ``norm, sublayer, residual add`` (pre-norm); a parallel mixer's
    attention and Mamba outputs and the stream summed by one add."""
    group = plan.group
    assert group is not None
    if model.altup is not None:  # Gemma 3n: AltUp around the layer (cosamt.workload.altup)
        return layer_ops(model, plan, b)
    if model.hyper_connections is not None:  # HY-V4: the streams mixed around each sublayer
        return hc_layer_ops(model, plan, b, _mixer(model, plan, b))
    if model.inkling is not None:  # short convolutions around the sublayers
        return inkling_layer_ops(model, plan, b)
    if group.mixer == "zamba":  # Zamba's hybrid layer: its own order of sublayers
        return hybrid_layer(model, plan, b)
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    ops: list[Einsum] = []
    step = 1
    if group.mixer is not None:
        summands = 3 if group.mixer == "parallel" else 2
        ops += [_norm(f"{p}norm1", model.norm, b, m, d, c), *_mixer(model, plan, b)]
        ops += post_norm(model, plan, b, "post_mixer_norm")  # a sandwich norm (LFM3, AFMoE)
        ops.append(_residual(f"{p}residual1", b, m, d, c, summands))
        step = 2
    if group.ffn is not None:
        summands = 3 if plan.moe and model.shared_d_ff else 2  # routed + shared experts + stream
        ops += [_norm(f"{p}norm{step}", model.norm, b, m, d, c), *_ffn(model, plan, b)]
        if model.sandwich_norm:  # the FFN's whole output is normed: sum the experts first
            ops += [expert_sum(plan, b, d)] if summands == 3 else []
            ops += post_norm(model, plan, b, "post_ffn_norm")
            summands = 2
        ops.append(_residual(f"{p}residual{step}", b, m, d, c, summands))
    if model.per_layer_input is not None:  # Gemma 4: after the FFN's residual add
        ops += per_layer_input_ops(model, plan, b)
    return ops
