"""Reading Mamba/attention hybrid stacks from a Hugging Face config: Jamba, Granite-4.0-H
(``granitemoehybrid``), Nemotron-H and Falcon-H1, as ``ModelConfig.layer_groups``.

Each family's layer pattern is read as transformers' modelling code builds it:

* ``jamba`` (``JambaModel``): layer ``i`` has attention if ``i % attn_layer_period ==
  attn_layer_offset``, else a Mamba-1 mixer (``JambaMambaMixer``: RMS norms with weights on dt, B
  and C); its FFN is MoE if ``i % expert_layer_period == expert_layer_offset``, else dense;
* ``granitemoehybrid``: ``layer_types`` (``mamba`` / ``linear_attention``: a Mamba-2 mixer,
  ``attention`` / ``full_attention``), every layer MoE plus a shared MLP of
  ``shared_intermediate_size`` (``num_local_experts`` 0: the shared MLP alone); rotary only with
  ``position_embedding_type: rope``;
* ``nemotron_h`` (``NemotronHBlock``): ``layers_block_type`` (else ``hybrid_override_pattern``:
  ``M`` Mamba-2, ``*`` attention, ``-`` MLP, ``E`` MoE), each layer ONE of these; the MLP and the
  experts are plain (up, act, down), the MoE has one shared expert of
  ``moe_shared_expert_intermediate_size``; no rotary; RMSNorm;
* ``falcon_h1`` (``FalconH1DecoderLayer``): every layer attention and a Mamba-2 mixer on the same
  normed input, summed, then the FFN; the µP multipliers are scalars.

The generic reader (:mod:`cosamt.workload.hf`) reads heads, FFN, activation, norm and experts;
:func:`normalise` first maps a family's own names onto those, :func:`fields` then adds the layer
groups and the Mamba shape. Anything else is refused naming the field.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

HYBRID_TYPES = frozenset({"jamba", "granitemoehybrid", "nemotron_h", "falcon_h1"})
# Config keys the generic reader refuses (Mamba fields) and these families' readers read.
READ_KEYS = frozenset(
    {"mamba_d_state", "mamba_expand", "ssm_state_size", "conv_kernel", "layers_block_type"}
    | {"hybrid_override_pattern"}
)
# transformers' _LEGACY_LAYER_TYPE_REMAP and Nemotron-H's pattern letters.
_LEGACY_KINDS = {"mamba": "linear_attention", "attention": "full_attention"}
_PATTERN = {"M": "linear_attention", "E": "moe", "*": "full_attention", "-": "mlp"}
# Nemotron-H's layer kinds: (mixer, FFN).
_NEMOTRON_KINDS: dict[str, tuple[str | None, str | None]] = {
    "linear_attention": ("mamba", None),
    "full_attention": ("attention", None),
    "mlp": (None, "dense"),
    "moe": (None, "moe"),
}

Layer = tuple[str | None, str | None]  # (mixer, FFN) of one layer
_EXPERTS_KEY = {
    "jamba": "num_experts",
    "granitemoehybrid": "num_local_experts",
    "nemotron_h": "n_routed_experts",
}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _nemotron_kinds(data: dict[str, Any]) -> Any:
    kinds = data.get("layers_block_type")
    if kinds is None and isinstance(data.get("hybrid_override_pattern"), str):
        pattern = data["hybrid_override_pattern"]
        if set(pattern) <= set(_PATTERN):
            kinds = [_PATTERN[c] for c in pattern]
    if isinstance(kinds, list):
        kinds = [_LEGACY_KINDS.get(k, k) if isinstance(k, str) else k for k in kinds]
    return kinds


def normalise(data: dict[str, Any], model_type: str) -> dict[str, Any]:
    """The config with a hybrid family's own names mapped onto the generic ones (as its
    configuration class derives them): Nemotron-H's layer count is its layer list's length, its
    FFN activation ``mlp_hidden_act``; legacy layer-type names (``mamba``, ``attention``)."""
    if model_type == "nemotron_h":
        kinds = _nemotron_kinds(data)
        # NemotronHConfig: mlp_hidden_act defaults to relu2; mamba_n_groups and mamba_d_conv,
        # when given, replace n_groups and conv_kernel.
        act = data.get("mlp_hidden_act", "relu2")
        out = {**data, "layers_block_type": kinds, "hidden_act": act}
        for old, new in (("mamba_n_groups", "n_groups"), ("mamba_d_conv", "conv_kernel")):
            if old in data:
                out[new] = data[old]
        if isinstance(kinds, list) and kinds:
            out["num_hidden_layers"] = len(kinds)
        return out
    kinds = data.get("layer_types")
    if model_type == "granitemoehybrid" and isinstance(kinds, list):
        return {**data, "layer_types": [_LEGACY_KINDS.get(k, k) for k in kinds]}
    return data


def _period(r: _Reader, key: str, default: int, minimum: int) -> int | None:
    """An integer field of at least ``minimum``, the family default when absent."""
    value = r.data.get(key, default)
    if not _is_int(value) or value < minimum:
        r.refuse(key, f"must be an integer of at least {minimum} (got {value!r})")
        return None
    return int(value)


def _silu(r: _Reader, key: str) -> None:
    act = r.data.get(key, "silu")
    if act not in ("silu", "swish"):
        r.refuse(key, f"a Mamba mixer with {act!r} (not SiLU) is not modelled")


def _groups(layers: list[Layer]) -> list[dict[str, Any]]:
    """Identical layers merged into groups, in the order they first occur."""
    counts: dict[Layer, int] = {}
    for layer in layers:
        counts[layer] = counts.get(layer, 0) + 1
    return [{"count": n, "mixer": mix, "ffn": ffn} for (mix, ffn), n in counts.items()]


# Keys of Mamba-2's heads, per-head width, groups, state size and convolution taps.
_MAMBA2_KEYS = ("mamba_n_heads", "mamba_d_head", "mamba_n_groups", "mamba_d_state", "mamba_d_conv")
_NEMOTRON_MAMBA2_KEYS = ("mamba_num_heads", "mamba_head_dim", "n_groups", "ssm_state_size",
                         "conv_kernel")  # fmt: skip


def _mamba2(r: _Reader, d_inner: int | None, keys: tuple[str, ...]) -> Any:
    """Mamba-2's shape from a family's keys (its per-head width ``"auto"`` or absent: d_inner /
    heads)."""
    heads_key, head_key, groups_key, state_key, conv_key = keys
    heads = r.int_(heads_key)
    ssm = {
        "version": 2,
        "d_inner": d_inner,
        "heads": heads,
        "groups": r.int_(groups_key),
        "d_state": r.int_(state_key),
        "conv_kernel": r.int_(conv_key),
    }
    head = r.data.get(head_key)
    if heads and d_inner and d_inner % heads:
        r.refuse(heads_key, f"{heads} heads do not divide the Mamba width {d_inner}")
        return None
    if head not in (None, "auto") and heads and d_inner and head != d_inner // heads:
        r.refuse(head_key, f"{head!r} is not the Mamba width {d_inner} / {heads} heads")
        return None
    return None if None in ssm.values() else ssm


def _jamba(r: _Reader, layers: int, d: int) -> tuple[list[Layer], Any]:
    # JambaConfig's defaults; JambaConfig.validate_architecture refuses an offset >= its period.
    period, offset = _period(r, "attn_layer_period", 8, 1), _period(r, "attn_layer_offset", 4, 0)
    e_period = _period(r, "expert_layer_period", 2, 1)
    e_offset = _period(r, "expert_layer_offset", 1, 0)
    if period is None or offset is None or e_period is None or e_offset is None:
        return [], None
    checks = (("attn_layer_offset", offset, period), ("expert_layer_offset", e_offset, e_period))
    for key, off, per in checks:
        if off >= per:
            r.refuse(key, f"{off} is not below its period {per}")
            return [], None
    kinds: list[Layer] = [
        (
            "attention" if i % period == offset else "mamba",
            "moe" if i % e_period == e_offset else "dense",
        )
        for i in range(layers)
    ]
    _silu(r, "hidden_act")
    expand = r.int_("mamba_expand")
    rank = r.data.get("mamba_dt_rank", "auto")
    ssm = {
        "version": 1,
        "d_inner": expand * d if expand else None,
        "d_state": r.int_("mamba_d_state"),
        "conv_kernel": r.int_("mamba_d_conv"),
        "dt_rank": math.ceil(d / 16) if rank == "auto" else r.int_("mamba_dt_rank"),
        "bcdt_norm": True,
        "bcdt_norm_weights": True,
    }
    r.assumed.append(
        "jamba: attention on every attn_layer_period-th layer from attn_layer_offset, Mamba-1 "
        "(JambaMambaMixer, RMS norms with weights on dt, B, C) on the others; MoE FFN on every "
        "expert_layer_period-th layer from expert_layer_offset, dense on the others"
    )
    return kinds, None if None in ssm.values() else ssm


def _layer_list(
    r: _Reader, key: str, kinds: Any, layers: int, allowed: dict[str, Layer]
) -> list[Layer]:
    if not isinstance(kinds, list) or len(kinds) != layers:
        r.refuse(key, f"one layer type per layer expected ({layers} layers; got {kinds!r})")
        return []
    unknown = sorted({str(k) for k in kinds if k not in allowed})
    if unknown:
        r.refuse(key, f"layer types {unknown} are not modelled (known: {', '.join(allowed)})")
        return []
    return [allowed[k] for k in kinds]


def _granite(r: _Reader, layers: int, d: int, dh: int | None) -> tuple[list[Layer], Any, dict]:
    experts = r.data.get("num_local_experts", 8)
    if not _is_int(experts) or experts < 0 or experts == 1:
        r.refuse("num_local_experts", f"0 or more than 1 expected (got {experts!r})")
        return [], None, {}
    ffn = "moe" if experts else "dense"
    allowed: dict[str, Layer] = {
        "linear_attention": ("mamba", ffn),
        "full_attention": ("attention", ffn),
    }
    # GraniteMoeHybridConfig: no layer_types means Mamba on every layer.
    kinds = r.data.get("layer_types") or ["linear_attention"] * layers
    out = _layer_list(r, "layer_types", kinds, layers, allowed)
    _silu(r, "hidden_act")
    expand = r.int_("mamba_expand")
    ssm = _mamba2(r, expand * d if expand else None, _MAMBA2_KEYS)
    shared = r.data.get("shared_intermediate_size", 1024)
    if not _is_int(shared) or shared < (0 if experts else 1):
        need = "a non-negative integer" if experts else "a positive integer (no experts)"
        r.refuse("shared_intermediate_size", f"must be {need} (got {shared!r})")
        return [], None, {}
    rope = r.data.get("position_embedding_type") == "rope"
    extra: dict[str, Any] = {"rotary_dim": dh if rope else None}
    if not experts:  # GraniteMoeHybridDecoderLayer: the shared MLP alone
        extra |= {"d_ff": shared, "n_experts": None, "experts_per_token": None, "shared_d_ff": 0}
    r.assumed.append(
        "granitemoehybrid: Mamba-2 (as Mamba2Mixer) on the mamba / linear_attention layers, "
        f"attention on the others; every layer {'MoE and ' if experts else ''}the shared MLP "
        f"(shared_intermediate_size); rotary {'on' if rope else 'off'} (position_embedding_type)"
    )
    return out, ssm, extra


def _nemotron(r: _Reader, layers: int) -> tuple[list[Layer], Any, dict]:
    kinds = r.data.get("layers_block_type")
    out = _layer_list(r, "layers_block_type", kinds, layers, _NEMOTRON_KINDS)
    _silu(r, "mamba_hidden_act")
    if r.data.get("moe_latent_size") is not None:
        r.refuse("moe_latent_size", "MoE experts on a latent projection are not modelled")
    heads, head = r.int_("mamba_num_heads"), r.int_("mamba_head_dim")
    ssm = _mamba2(r, heads * head if heads and head else None, _NEMOTRON_MAMBA2_KEYS)
    extra: dict[str, Any] = {"norm": "rmsnorm", "rotary_dim": None}
    if "mlp_hidden_act" not in r.data:
        r.assumed.append("nemotron_h: mlp_hidden_act not given: relu2 (NemotronHConfig's default)")
    if any(ffn == "moe" for _, ffn in out):
        extra["shared_d_ff"] = r.int_("moe_shared_expert_intermediate_size")
    r.assumed.append(
        "nemotron_h: each layer one of Mamba-2 (NemotronHMamba2Mixer), attention (no rotary), "
        "plain MLP, MoE with one plain shared expert (moe_shared_expert_intermediate_size), each "
        "RMSNorm, the layer, a residual add; the router's group-limited top-k counted as top-k"
    )
    return out, ssm, extra


def _falcon_h1(r: _Reader, layers: int, d: int) -> tuple[list[Layer], Any]:
    _silu(r, "hidden_act")
    ssm_width = r.int_("mamba_d_ssm", required=False)
    expand = r.int_("mamba_expand")
    width = ssm_width or (expand * d if expand else None)
    ssm = _mamba2(r, width, _MAMBA2_KEYS)
    if ssm is not None:
        ssm["gated_norm"] = r.data.get("mamba_rms_norm") is True
    r.assumed.append(
        "falcon_h1: every layer attention and a Mamba-2 mixer (FalconH1Mixer) on the same normed "
        "input, their outputs summed with the residual, then the FFN; the µP multipliers "
        "(mup_vector, key, attention, SSM and MLP multipliers) are scalars folded into the "
        "weights, not counted"
    )
    return [("parallel", "dense")] * layers, ssm


def fields(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """``layer_groups``, ``ssm`` and a family's corrections to the generic fields ``base``."""
    if model_type == "nemotron_h" and not isinstance(r.data.get("layers_block_type"), list):
        key = "hybrid_override_pattern" if "hybrid_override_pattern" in r.data else ""
        r.refuse(
            key or "layers_block_type",
            "a list of linear_attention, full_attention, mlp, moe layers (or a pattern of M, *, "
            f"-, E) expected (got {r.data.get(key or 'layers_block_type')!r})",
        )
        return {}
    layers, d = base.get("n_layers"), base.get("d_model")
    if not layers or not d:
        return {}
    dh = base.get("head_dim") or (d // base["n_heads"] if base.get("n_heads") else None)
    extra: dict[str, Any] = {}
    if model_type == "jamba":
        kinds, ssm = _jamba(r, layers, d)
        extra["rotary_dim"] = None  # JambaAttention has no rotary
    elif model_type == "granitemoehybrid":
        kinds, ssm, extra = _granite(r, layers, d, dh)
    elif model_type == "nemotron_h":
        kinds, ssm, extra = _nemotron(r, layers)
    else:
        kinds, ssm = _falcon_h1(r, layers, d)
    if any(ffn == "moe" for _, ffn in kinds) and base.get("n_experts") is None:
        key = _EXPERTS_KEY[model_type]
        if model_type != "jamba" or r.data.get(key) != 1:
            r.refuse(key, "MoE layers need more than one expert (and experts per token)")
            return {}
        kinds = [(mixer, "dense") for mixer, _ in kinds]  # JambaMLP where num_experts is 1
    has_mamba = any(mixer in ("mamba", "parallel") for mixer, _ in kinds)
    if not kinds or (has_mamba and ssm is None):
        return {}
    ssm = ssm if has_mamba else None  # attention only: no Mamba shape
    if not any(ffn == "moe" for _, ffn in kinds):  # expert fields unused
        extra |= {"n_experts": None, "experts_per_token": None, "shared_d_ff": 0}
    extra["moe_layers"] = None  # which layers are MoE: the groups
    return {**extra, "ssm": ssm, "layer_groups": _groups(kinds)}
