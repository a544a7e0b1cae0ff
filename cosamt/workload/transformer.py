"""A model as lists of Einsum operators, one list per block type, in execution order.

Dimension names (sizes are plain ints):

====  ==================================================================================
``b``  batch
``m``  query tokens: ``seq_len`` in prefill, 1 in decode (tokens per expert for MoE experts)
``n``  key tokens: ``seq_len`` in prefill; in decode the KV-cache length ``seq_len`` (capped at
       the window for sliding-window attention; the encoder's tokens for cross-attention)
``e``  reduction features of a projection
``f``  output features (of a projection, and the feature dim of element-wise operators)
``h``  KV heads (= query heads for multi-head attention)
``r``  query heads per KV head; only present for grouped-query attention (``n_kv_heads < n_heads``)
``d``  head dimension
``x``  experts a MoE layer's tokens touch
``k``  experts per token (top-k), in the MoE combine
====  ==================================================================================

A model with one block type (decoder-only, encoder-only) has plain operator names (``qk``,
``ffn2``, ...); with several (encoder-decoder, layers with and without a sliding window, dense and
MoE layers) each name gets the block's prefix (``enc.qk``, ``dec.xqk``, ``moe.expert_up``). Every
operator's ``count`` is its block type's layer count: identical blocks are solved once and counted
n times.

Causal masking is not modelled: prefill self-attention covers the full ``m x n`` score matrix (as
accelerator papers such as FLAT count it). A causal kernel skips the masked score tiles, and which
ones it skips depends on the tile shapes of ``m`` and ``n``, which is not a product of per-dimension
tile sizes (the MIP's and evaluator's iteration spaces are rectangular). The full-matrix count is
stated in every workload and solve report (:func:`assumptions`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass

from cosamt.errors import InputError, Problem
from cosamt.limits import MAX_OPERATOR_POINTS
from cosamt.types import Phase
from cosamt.workload import block_sparse, global_local, transient_global
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor
from cosamt.workload.layer_kinds import LayerGroup
from cosamt.workload.models import GATED, ModelConfig, stage_grids

# Vector-unit operations per point of each element-wise operator.
SOFTMAX_OPS = 5  # max, subtract, exp, sum, divide
ADD_OPS = 1  # residual add (per extra summand)
# LayerNorm per element: mean (add), subtract mean, square, variance sum, (rsqrt amortised, ~1),
# multiply by rstd, multiply by gamma, add beta  -> 8.
LAYERNORM_OPS = 8
# RMSNorm per element: square, sum, (rsqrt amortised, ~1), multiply by rrms, multiply by gamma -> 4
# (no mean subtraction, no beta).
RMSNORM_OPS = 4
# GELU, tanh approximation: x^3, multiply-add, scale, tanh, add 1, multiply, multiply by 0.5, ~8.
GELU_OPS = 8
RELU_OPS = 1  # max(0, x)
RELU2_OPS = 2  # max(0, x), then square
PRELU_OPS = 2  # nn.PReLU, one learned slope: x > 0 ? x : a * x (the product and the select)
SILU_OPS = 4  # x * sigmoid(x): negate, exp, add 1, divide
# xIELU (Apertus), both branches then a select: x^2, * alpha_p, beta * x, add; min(x, eps), expm1,
# subtract x, * alpha_n, add beta * x; select -> 10.
XIELU_OPS = 10
GATE_OPS = 1  # the gated product act(g) * u
# Rotary embedding per rotated element: x * cos + rotate_half(x) * sin -> 2 multiplies, 1 add.
ROPE_OPS = 3
COMBINE_OPS = 2  # MoE combine, per expert output element: multiply by the routing weight, add
# GPT-OSS's clamped SwiGLU per element (GptOssExperts._apply_gate): clamp the gate (1) and the
# up value (2), gate * sigmoid(alpha * gate) as gate / (1 + exp(-alpha * gate)) (4), up + 1, the
# product.
CLAMPED_SWIGLU_OPS = 9

_PLAIN_OPS = {
    "gelu": GELU_OPS,
    "relu": RELU_OPS,
    "relu2": RELU2_OPS,
    "prelu": PRELU_OPS,
    "silu": SILU_OPS,
    "xielu": XIELU_OPS,
}
_NORM_OPS = {"layernorm": LAYERNORM_OPS, "rmsnorm": RMSNORM_OPS}


def activation_ops(activation: str) -> int:
    """Vector ops per point of the FFN activation (gated: the activation, then the product)."""
    if activation == "swiglu_clamped":
        return CLAMPED_SWIGLU_OPS
    if activation in GATED:
        return _PLAIN_OPS[GATED[activation]] + GATE_OPS
    return _PLAIN_OPS[activation]


def route_ops(experts_per_token: int) -> int:
    """Router per expert logit: softmax, then one compare per selected expert (top-k)."""
    return SOFTMAX_OPS + experts_per_token


# ---- operator builders -------------------------------------------------------------------------


def _projection(name: str, b: int, m: int, e: int, f: int, count: int) -> Einsum:
    """``Y[b,m,f] += X[b,m,e] * W[e,f]``: a linear layer applied to every token."""
    return Einsum(
        name=name,
        dims={"b": b, "m": m, "e": e, "f": f},
        tensors=(
            Tensor("X", ("b", "m", "e"), Role.INPUT),
            Tensor("W", ("e", "f"), Role.WEIGHT),
            Tensor("Y", ("b", "m", "f"), Role.OUTPUT),
        ),
        count=count,
    )


def _expert_projection(name: str, x: int, t: int, e: int, f: int, count: int) -> Einsum:
    """``Y[x,m,f] += X[x,m,e] * W[x,e,f]``: each of ``x`` experts on its ``t`` tokens."""
    return Einsum(
        name=name,
        dims={"x": x, "m": t, "e": e, "f": f},
        tensors=(
            Tensor("X", ("x", "m", "e"), Role.INPUT),
            Tensor("W", ("x", "e", "f"), Role.WEIGHT),
            Tensor("Y", ("x", "m", "f"), Role.OUTPUT),
        ),
        count=count,
    )


def _elementwise(
    name: str,
    op: str,
    ops_per_point: int,
    dims: dict[str, int],
    inputs: Iterable[tuple[str, tuple[str, ...], Role]],
    output: tuple[str, tuple[str, ...]],
    count: int,
) -> Einsum:
    """A vector-unit operator: ``ops_per_point`` operations per point of ``dims``."""
    tensors = tuple(Tensor(n, d, role) for n, d, role in inputs)
    return Einsum(
        name=name,
        dims=dims,
        tensors=(*tensors, Tensor(output[0], output[1], Role.OUTPUT)),
        kind=OpKind.VECTOR,
        ops_per_point=ops_per_point,
        count=count,
        op=op,
    )


_BMF = ("b", "m", "f")


def depthwise_conv(name: str, b: int, m: int, width: int, taps: int, count: int) -> Einsum:
    """``Y[b,m,f] += X[b,m+o(j),f] * W[f,j]``: a depthwise convolution of ``taps`` taps over
    ``width`` channels (Mamba's and DeltaNet's causal ones, LFM2's short one, the Mix-FFN's 3x3),
    X indexed by the output token: the neighbours a tile needs at its edge are not traffic."""
    return Einsum(
        name=name,
        dims={"b": b, "m": m, "f": width, "j": taps},
        tensors=(
            Tensor("X", _BMF, Role.INPUT),
            Tensor("W", ("f", "j"), Role.WEIGHT),
            Tensor("Y", _BMF, Role.OUTPUT),
        ),
        count=count,
    )


def _residual(name: str, b: int, m: int, f: int, count: int, summands: int = 2) -> Einsum:
    names = ("A", "B", "C")[:summands]
    return _elementwise(
        name,
        "add",
        ADD_OPS * (summands - 1),
        {"b": b, "m": m, "f": f},
        [(t, _BMF, Role.INPUT) for t in names],
        ("Y", _BMF),
        count,
    )


def _norm(name: str, kind: str, b: int, m: int, f: int, count: int) -> Einsum:
    return _elementwise(
        name,
        kind,
        _NORM_OPS[kind],
        {"b": b, "m": m, "f": f},
        [("X", _BMF, Role.INPUT), ("G", ("f",), Role.WEIGHT)],
        ("Y", _BMF),
        count,
    )


def _attention_core(model: ModelConfig, p: str, b: int, m: int, n: int, c: int) -> list[Einsum]:
    """QKᵀ, softmax, ·V with names ``{p}qk``, ``{p}softmax``, ``{p}av``."""
    h = model.kv_heads
    gqa = h < model.n_heads
    # Grouped-query attention adds r (query heads per KV head); K and V are indexed by h only, so
    # one KV head is shared by its r query heads.
    head = ("b", "h", "r") if gqa else ("b", "h")
    att_dims = {"b": b, "h": h, **({"r": model.n_heads // h} if gqa else {})}
    q_dims = (*head, "m", "d")
    s_dims = (*head, "m", "n")
    kv_dims = ("b", "h", "n", "d")
    # QK^T reduces over the QK head dim, P.V produces the value head dim (they differ in MLA).
    return [
        Einsum(
            name=f"{p}qk",
            dims={**att_dims, "m": m, "n": n, "d": model.dh},
            tensors=(
                Tensor("Q", q_dims, Role.INPUT),
                Tensor("K", kv_dims, Role.INPUT),
                Tensor("S", s_dims, Role.OUTPUT),
            ),
            count=c,
        ),
        _elementwise(
            f"{p}softmax",
            "softmax",
            SOFTMAX_OPS,
            {**att_dims, "m": m, "n": n},
            [("S", s_dims, Role.INPUT)],
            ("P", s_dims),
            c,
        ),
        Einsum(
            name=f"{p}av",
            dims={**att_dims, "m": m, "n": n, "d": model.vdh},
            tensors=(
                Tensor("P", s_dims, Role.INPUT),
                Tensor("V", kv_dims, Role.INPUT),
                Tensor("O", q_dims, Role.OUTPUT),
            ),
            count=c,
        ),
    ]


# ---- block plans -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockPlan:
    """One block type of a model: its layers, token counts and variant."""

    prefix: str  # operator-name prefix: "" for a model with one block type, else "enc.", ...
    label: str  # "decoder", "encoder", "decoder (sliding window)", ...
    count: int  # layers of this type
    m: int  # query tokens
    n: int  # keys per query of self-attention (capped at the window)
    causal: bool
    moe: bool
    cross_n: int | None = None  # encoder tokens for cross-attention
    cross_kv: bool = False  # the cross K/V projection runs (prefill; cached in decode)
    linear: bool = False  # a Gated DeltaNet layer (cosamt.workload.recurrent), no attention
    ssm: bool = False  # a Mamba layer: norm, mixer, residual (cosamt.workload.recurrent)
    index_n: int | None = (
        None  # keys the sparse-attention indexer scores (n: those attention reads)
    )
    group: LayerGroup | None = None  # a hybrid's layer group (cosamt.workload.hybrid)
    staggered: bool = False  # a Pegasus-X encoder layer with staggered blocks (global_local)
    # A block of its own, once: "frontend" (a conformer's subsampling front-end,
    # cosamt.workload.conformer_ops), "encoder_proj" (the decoder's projection of the encoder's
    # output to its width), cosamt.workload.per_layer.SPECIALS (Gemma's model-wide blocks); "":
    # a stack's blocks.
    special: str = ""


@dataclass(frozen=True)
class Workload:
    """A model's operators per block type, and what was assumed in building them."""

    model: ModelConfig
    phase: Phase
    batch: int
    seq_len: int
    blocks: tuple[tuple[BlockPlan, tuple[Einsum, ...]], ...]
    head: tuple[Einsum, ...]  # the LM head group (empty unless asked for)
    assumptions: tuple[str, ...]

    @property
    def operators(self) -> list[Einsum]:
        return [op for _plan, ops in self.blocks for op in ops] + list(self.head)


def _check(model: ModelConfig, phase: Phase, batch: int, seq_len: int) -> None:
    problems: list[Problem] = []
    if phase is Phase.DECODE and not model.decoder:
        problems.append(
            Problem(
                "phase",
                f"decode needs a causal decoder; model {model.name!r} is an encoder (use prefill)",
            )
        )
    for path, value in (("batch", batch), ("seq_len", seq_len)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(Problem(path, f"must be a positive integer (got {value!r})"))
    if phase is Phase.PREFILL and model.image_tokens is not None and seq_len != model.image_tokens:
        problems.append(
            Problem(
                "seq_len",
                f"vision model {model.name!r} processes {model.image_tokens} tokens per image "
                f"(patches and class tokens, fixed by its image and patch size); got {seq_len}",
            )
        )
    if problems:
        raise InputError("", problems)


def _decoder_plans(model: ModelConfig, phase: Phase, seq_len: int) -> list[BlockPlan]:
    """The decoder (or decoder-only / encoder-only) stack, split by window and MoE placement."""
    causal = model.decoder
    cross_n = None
    if model.encoder_decoder or model.cross_attention:
        cross_n = model.encoder_tokens or seq_len
    if model.prefix_conditioning is not None:  # MusicGen Melody: prepended, not cross-attended
        from cosamt.workload import prefix  # it builds on this module

        cross_n = None
        seq_len += prefix.tokens(model, model.encoder_tokens or seq_len)
    # A fixed set of decoder queries (DETR) attend to each other whatever the encoder's length.
    seq_len = model.decoder_tokens or seq_len
    seq_len += model.prompt_tokens  # CPM-Ant's prompt runs through every block
    m = seq_len if phase is Phase.PREFILL else 1
    cross_kv = phase is Phase.PREFILL
    base = "decoder" if model.decoder else "encoder"
    if model.encoder_decoder:
        base = "decoder"
    window = model.sliding_window
    n_local = model.sliding_layers if model.sliding_layers is not None else model.n_layers
    n_moe = model.moe_layers if model.moe_layers is not None else model.n_layers
    kinds: list[tuple[str, str, int, int, bool]] = []  # prefix, label, count, n, moe
    if window is not None and window < seq_len and model.window_and_moe_split:
        both = model.sliding_moe_layers or 0
        kinds += [
            ("local.moe.", f"{base} (sliding window {window}, MoE FFN)", both, window, True),
            ("local.dense.", f"{base} (sliding window {window})", n_local - both, window, False),
            ("global.moe.", f"{base} (global attention, MoE FFN)", n_moe - both, seq_len, True),
            (
                "global.dense.",
                f"{base} (global attention)",
                model.n_layers - n_local - n_moe + both,
                seq_len,
                False,
            ),
        ]
        kinds = [k for k in kinds if k[2] > 0]
    elif window is not None and window < seq_len and n_local < model.n_layers:
        kinds += [
            ("local.", f"{base} (sliding window {window})", n_local, window, model.moe),
            ("global.", f"{base} (global attention)", model.n_layers - n_local, seq_len, model.moe),
        ]
    elif model.moe and n_moe < model.n_layers:
        n = min(seq_len, window) if window is not None and n_local == model.n_layers else seq_len
        kinds += [
            ("moe.", f"{base} (MoE FFN)", n_moe, n, True),
            ("dense.", f"{base} (dense FFN)", model.n_layers - n_moe, n, False),
        ]
    else:
        n = min(seq_len, window) if window is not None else seq_len
        label = f"{base} (sliding window {window})" if window is not None else base
        kinds.append(("", label, model.n_layers, n, model.moe))
    spec = model.block_sparse
    if spec is not None and m == seq_len and block_sparse.is_sparse(spec, m):
        # keys per query differ by block row; the plan's n is the global rows' (all of them).
        kinds = [(k[0], f"{k[1]} (block-sparse, block {spec.block_size})", *k[2:]) for k in kinds]
    return [
        BlockPlan(prefix, label, count, m, n, causal, moe, cross_n, cross_kv)
        for prefix, label, count, n, moe in kinds
    ]


def plan_blocks(model: ModelConfig, phase: Phase, seq_len: int) -> list[BlockPlan]:
    """The block types of ``model`` in ``phase`` (an encoder-decoder's decode has no encoder)."""
    if model.layer_groups is not None:
        from cosamt.workload.hybrid import group_plans  # it builds on this module

        return group_plans(model, phase, seq_len)
    if model.transducer is not None:
        from cosamt.workload import transducer_ops  # it builds on this module

        return transducer_ops.plans(model, phase, seq_len)
    if model.deformable is not None:  # a detector has no decode phase (decoder false)
        from cosamt.workload import deformable_ops  # it builds on this module

        return deformable_ops.plans(model, seq_len)
    plans = _decoder_plans(model, phase, seq_len)
    if model.indexer is not None or model.linear_attention is not None or model.ssm is not None:
        from cosamt.workload.recurrent import refine_plans  # it builds on this module

        plans = refine_plans(model, plans)
    if not model.encoder_decoder:
        return _with_frontend(model, plans, "", seq_len)
    plans = [
        BlockPlan(
            f"dec.{p.prefix}", p.label, p.count, p.m, p.n, p.causal, p.moe, p.cross_n, p.cross_kv
        )
        for p in plans
    ]
    if model.conditional_queries is not None:  # Conditional / DAB-DETR: the first layer apart
        from cosamt.workload import encdec_ops  # it builds on this module

        plans = encdec_ops.query_plans(model, plans)
    tokens = model.encoder_tokens or seq_len
    if model.encoder_proj:  # every decoder forward projects the encoder's output (decode too)
        proj = BlockPlan("dec.xproj.", "encoder output projection", 1, tokens, 0, False, False)
        plans = [dataclasses.replace(proj, special="encoder_proj"), *plans]
    if phase is Phase.DECODE:
        return plans
    if model.prefix_conditioning is not None:  # the projections of what is prepended, once
        cond = BlockPlan("dec.cond.", "conditioning projections", 1, tokens, 0, False, False)
        plans = [dataclasses.replace(cond, special="prefix_cond"), *plans]
    assert model.encoder_layers is not None
    if model.encoder is not None and model.encoder.global_local is not None:  # Pegasus-X
        return [*_global_local_plans(model.encoder, tokens), *plans]
    if model.encoder is not None and model.encoder.layer_windows is not None:
        from cosamt.workload import encdec_ops  # it builds on this module

        return [*encdec_ops.window_plans(model.encoder, tokens), *plans]
    if model.encoder is not None:  # its own stack, split by MoE placement like a decoder's
        encoder = [
            BlockPlan(f"enc.{p.prefix}", p.label, p.count, p.m, p.n, False, p.moe)
            for p in _decoder_plans(model.encoder, Phase.PREFILL, tokens)
        ]
        return [*_with_frontend(model.encoder, encoder, "enc.", tokens), *plans]
    if model.informer is not None:  # per-layer lengths after distilling (encdec_ops)
        from cosamt.workload import encdec_ops  # it builds on this module

        return encdec_ops.informer_plans(model, plans, tokens)
    encoder_plan = BlockPlan("enc.", "encoder", model.encoder_layers, tokens, tokens, False, False)
    return [encoder_plan, *plans]


def _global_local_plans(encoder: ModelConfig, tokens: int) -> list[BlockPlan]:
    """Pegasus-X's encoder layers, plain and staggered (:mod:`cosamt.workload.global_local`)."""
    spec = encoder.global_local
    assert spec is not None
    keys = spec.block_size + spec.global_tokens
    out = []
    for part, staggered, count in global_local.layer_counts(encoder):
        label = "encoder (global-local" + (", staggered blocks)" if staggered else ")")
        plan = BlockPlan(f"enc.{part}", label, count, tokens, keys, False, False)
        out.append(dataclasses.replace(plan, staggered=staggered))
    return out


def _with_frontend(
    model: ModelConfig, plans: list[BlockPlan], p: str, tokens: int
) -> list[BlockPlan]:
    """A conformer encoder's plans: its subsampling front-end (once) before its blocks, which
    are named ``enc.`` when the encoder stands alone; a wav2vec2-style encoder's feature
    encoder likewise (``feat.``)."""
    if model.conformer is None and model.feature_encoder is None:
        return plans
    front = BlockPlan(f"{p}sub.", "subsampling front-end", 1, tokens, 0, False, False)
    if model.feature_encoder is not None:
        front = BlockPlan(f"{p}feat.", "feature encoder", 1, tokens, 0, False, False)
    front = dataclasses.replace(front, special="frontend")
    if not p:
        plans = [dataclasses.replace(q, prefix=f"enc.{q.prefix}") for q in plans]
    return [front, *plans]


# ---- one block ---------------------------------------------------------------------------------


def _mla_projections(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    """MLA's Q and KV projections through their latents (DeepSeek-V2, transformers' reference:
    ``kv_down`` also yields the rotated key features shared by all heads; ``kv_up`` decompresses
    the non-rotary keys and the values of every head)."""
    assert model.kv_lora_rank is not None
    d, h, rank = model.d_model, model.n_heads, model.kv_lora_rank
    # A layer without rotary (a no_rope group: Mistral Large 4) has no rotated key part: kv_down
    # yields the latent only and kv_up decompresses all head_dim key features.
    rotary = model.rotary_dim or 0
    q_width = h * model.dh
    if model.q_lora_rank is None:
        ops = [_projection(f"{p}q_proj", b, m, d, q_width, c)]
    else:
        ql = model.q_lora_rank
        ops = [
            _projection(f"{p}q_down", b, m, d, ql, c),
            _norm(f"{p}q_norm", "rmsnorm", b, m, ql, c),
            _projection(f"{p}q_up", b, m, ql, q_width, c),
        ]
    nope = model.dh - rotary
    return [
        *ops,
        _projection(f"{p}kv_down", b, m, d, rank + rotary, c),
        _norm(f"{p}kv_norm", "rmsnorm", b, m, rank, c),
        _projection(f"{p}kv_up", b, m, rank, h * (nope + model.vdh), c),
    ]


def _self_attention(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    p, m, c = plan.prefix, plan.m, plan.count
    if model.mlstm is not None:  # xLSTM: the mLSTM mixer in place of attention
        from cosamt.workload import xlstm  # it builds on this module

        return xlstm.mlstm_ops(model, plan, b)
    if plan.linear or plan.ssm or model.indexer is not None or model.attention_output_gate:
        from cosamt.workload import recurrent  # it builds on this module
    from cosamt.workload import addons  # it builds on this module

    if model.span_kernel is not None:  # ConvBERT: attention beside span-based convolutions
        from cosamt.workload.convbert import mixed_attention  # it builds on this module

        return mixed_attention(model, plan, b)
    if model.fourier_mixing:  # FNet: a 2D DFT in place of attention
        from cosamt.workload.fourier import fourier_ops  # it builds on this module

        return fourier_ops(model, plan, b)
    if plan.linear:
        return recurrent.gated_deltanet_ops(model, plan, b)
    if plan.ssm:  # a hybrid's Mamba layer: the mixer in place of attention
        return recurrent.mamba_ops(model, plan, b)
    if model.informer is not None and model.informer.sampling_factor is not None:
        from cosamt.workload.encdec_ops import prob_attention  # it builds on this module

        return prob_attention(model, plan, b)
    if model.attention_experts:  # JetMoE: routed query projections, dense K and V
        ops = addons.moa_inputs(model, plan, b)
    elif model.mla:
        ops = _mla_projections(model, p, b, m, c)
    else:
        qkv = (model.n_heads + model.kv_heads) * model.dh + model.kv_heads * model.vdh
        # A gated output (Qwen3-Next): the query projection also yields the gate.
        qkv += model.n_heads * model.dh if model.attention_output_gate else 0
        ops = [_projection(f"{p}qkv_proj", b, m, model.d_model, qkv, c)]
    ops += addons.attention_gate_proj(model, plan, b)
    if model.rotary_dim is not None:
        # MLA rotates one key part shared by every head.
        rotated = (model.n_heads + (1 if model.mla else model.kv_heads)) * model.rotary_dim
        ops.append(
            _elementwise(
                f"{p}rope",
                "rope",
                ROPE_OPS,
                {"b": b, "m": m, "f": rotated},
                [("X", _BMF, Role.INPUT)],
                ("Y", _BMF),
                c,
            )
        )
    if model.indexer is not None:
        ops += recurrent.indexer_ops(model, plan, b)
    ops += addons.dynamic_mask_inputs(model, plan, b)
    n = addons.dynamic_mask_keys(model, plan.n)
    if model.merged_cross_attention and plan.cross_n is not None:
        # T5Gemma 2: the encoder's K/V (same k_proj / v_proj) join the decoder's keys.
        n += plan.cross_n
        ops += [_cross_kv_proj(model, plan, b)] if plan.cross_kv else []
    if model.transient_global_block is not None and not plan.causal:  # LongT5's side keys
        ops += transient_global.side_ops(model, p, b, m, c)
        n += transient_global.side_keys(model, m)
    spec = model.block_sparse
    if model.mra is not None:  # MRA: low-resolution and top block-pair attention
        from cosamt.workload import mra  # it builds on this module

        ops += mra.cores(model, p, b, m, c)
    elif spec is not None and m == n and block_sparse.is_sparse(spec, m):  # BigBird's prefill
        ops += block_sparse.cores(model, p, b, m, c, _attention_core)
    else:
        core = _attention_core(model, p, b, m, n, c)
        if model.yoso_hash_bits is not None:  # YOSO: its collision kernel in place of softmax
            from cosamt.workload.yoso import yoso_core  # it builds on this module

            core = yoso_core(model, plan, b, core)
        if model.relative_attention:  # XLNet: position scores added between QK^T and softmax
            from cosamt.workload.xlnet import relative_ops  # it builds on this module

            before, after = relative_ops(model, plan, b, core[0])
            ops += before
            core = [core[0], *after, *core[1:]]
        ops += [core[0], *addons.mask_add(model, core[0]), *_relative_bias(model, core[0])]
        ops += core[1:]
        if model.value_conv is not None:  # Nystromformer: a convolution over V, added
            from cosamt.workload.value_conv import value_conv_ops  # it builds on this module

            ops += value_conv_ops(model, plan, b)
    if model.attention_output_gate:
        ops.append(recurrent.output_gate_op(model, plan, b))
    ops += addons.attention_gate(model, plan, b) + addons.attn_sub_norm(model, plan, b)
    if model.attention_experts:
        return ops + addons.moa_outputs(model, plan, b)
    ops.append(_projection(f"{p}out_proj", b, m, model.n_heads * model.vdh, model.d_model, c))
    return ops


def _relative_bias(model: ModelConfig, qk: Einsum) -> list[Einsum]:
    if not model.relative_position_bias:
        return []
    from cosamt.workload import relative_bias  # it builds on this module

    return relative_bias.ops(model, qk)


def _cross_kv_proj(model: ModelConfig, plan: BlockPlan, b: int) -> Einsum:
    """K and V of the encoder's output tokens, for cross-attention."""
    from cosamt.workload.encdec_ops import cross_kv_width, cross_model  # it builds on this module

    assert plan.cross_n is not None
    e, model = cross_kv_width(model), cross_model(model)  # Dia: widths of its own
    width = model.kv_heads * (model.dh + model.vdh)
    return _projection(f"{plan.prefix}xkv_proj", b, plan.cross_n, e, width, plan.count)


def _cross_attention(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """Queries from the decoder, keys and values projected from the encoder's output."""
    from cosamt.workload.encdec_ops import cross_model  # it builds on this module

    p, m, c = plan.prefix, plan.m, plan.count
    assert plan.cross_n is not None
    model = cross_model(model)  # Dia's cross-attention: heads and head dim of its own
    ops = [_projection(f"{p}xq_proj", b, m, model.d_model, model.n_heads * model.dh, c)]
    if plan.cross_kv:  # in decode the cross K/V of the encoder's output are cached
        ops.append(_cross_kv_proj(model, plan, b))
    ops += _attention_core(model, f"{p}x", b, m, plan.cross_n, c)
    ops.append(_projection(f"{p}xout_proj", b, m, model.n_heads * model.vdh, model.d_model, c))
    return ops


def _dense_ffn(model: ModelConfig, p: str, b: int, m: int, d_ff: int, c: int) -> list[Einsum]:
    from cosamt.workload.addons import ffn_sub_norm  # it builds on this module

    dims = {"b": b, "m": m, "f": d_ff}
    sub_norm = ffn_sub_norm(model, p, b, m, d_ff, c)
    if model.gated:
        return [
            _projection(f"{p}ffn_gate", b, m, model.d_model, d_ff, c),
            _projection(f"{p}ffn_up", b, m, model.d_model, d_ff, c),
            _elementwise(
                f"{p}act",
                model.activation,
                activation_ops(model.activation),
                dims,
                [("G", _BMF, Role.INPUT), ("U", _BMF, Role.INPUT)],
                ("Y", _BMF),
                c,
            ),
            *sub_norm,
            _projection(f"{p}ffn2", b, m, d_ff, model.d_model, c),
        ]
    return [
        _projection(f"{p}ffn1", b, m, model.d_model, d_ff, c),
        _elementwise(
            f"{p}act",
            model.activation,
            activation_ops(model.activation),
            dims,
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        *sub_norm,
        _projection(f"{p}ffn2", b, m, d_ff, model.d_model, c),
    ]


def expert_load(model: ModelConfig, tokens: int) -> tuple[int, int]:
    """Balanced routing: (experts touched, tokens per touched expert) for ``tokens`` tokens."""
    assert model.n_experts is not None and model.experts_per_token is not None
    routed = tokens * model.experts_per_token
    touched = min(model.n_experts, routed)
    return touched, math.ceil(routed / touched)


def activation_op(model: ModelConfig, name: str, b: int, m: int, f: int, c: int) -> Einsum:
    """The model's activation on a (b, m, f) tensor (an ungated FFN's, an adapter's)."""
    return _elementwise(
        name,
        model.activation,
        activation_ops(model.activation),
        {"b": b, "m": m, "f": f},
        [("X", _BMF, Role.INPUT)],
        ("Y", _BMF),
        c,
    )


def router_ops(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    """A token router: the projection to one score per expert, then softmax and top-k."""
    assert model.n_experts is not None and model.experts_per_token is not None
    return [
        _projection(f"{p}router", b, m, model.d_model, model.n_experts, c),
        _elementwise(
            f"{p}route",
            "softmax+topk",
            route_ops(model.experts_per_token),
            {"b": b, "m": m, "f": model.n_experts},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
    ]


def _moe_ffn(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    """Router, the touched experts (each on its share of tokens), the combine, shared experts."""
    assert model.n_experts is not None and model.experts_per_token is not None
    k, d = model.experts_per_token, model.d_model
    d_ff = model.expert_d_ff or model.d_ff
    x, t = expert_load(model, b * m)
    xmf = ("x", "m", "f")
    ops = [
        *router_ops(model, p, b, m, c),
    ]
    act = model.activation
    if model.gated:
        ops += [
            _expert_projection(f"{p}expert_gate", x, t, d, d_ff, c),
            _expert_projection(f"{p}expert_up", x, t, d, d_ff, c),
            _elementwise(
                f"{p}expert_act",
                act,
                activation_ops(act),
                {"x": x, "m": t, "f": d_ff},
                [("G", xmf, Role.INPUT), ("U", xmf, Role.INPUT)],
                ("Y", xmf),
                c,
            ),
        ]
    else:
        ops += [
            _expert_projection(f"{p}expert_up", x, t, d, d_ff, c),
            _elementwise(
                f"{p}expert_act",
                act,
                activation_ops(act),
                {"x": x, "m": t, "f": d_ff},
                [("X", xmf, Role.INPUT)],
                ("Y", xmf),
                c,
            ),
        ]
    ops += [
        _expert_projection(f"{p}expert_down", x, t, d_ff, d, c),
        _elementwise(
            f"{p}combine",
            "combine",
            COMBINE_OPS,
            {"b": b, "m": m, "k": k, "f": d},
            [("E", ("b", "m", "k", "f"), Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
    ]
    if model.shared_d_ff:
        ops += _dense_ffn(model, p, b, m, model.shared_d_ff, c)
    return ops


def _ffn(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    if plan.moe:
        return _moe_ffn(model, plan.prefix, b, plan.m, plan.count)
    return _dense_ffn(model, plan.prefix, b, plan.m, model.d_ff, plan.count)


def _block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    if model.deformable is not None:  # a detection transformer's deformable layer
        from cosamt.workload import deformable_ops  # it builds on this module

        return deformable_ops.block(model, plan, b)
    if model.global_local is not None:  # Pegasus-X's encoder layer
        return global_local.block_ops(model, plan, b, plan.staggered)
    if model.rwkv is not None:
        from cosamt.workload import rwkv_ops  # it builds on this module

        return rwkv_ops.block(model, plan, b)
    if model.mobile is not None:
        from cosamt.workload.mobilebert import mobile_block  # it builds on this module

        return mobile_block(model, plan, b)
    if model.conv_groups is not None:
        from cosamt.workload.squeezebert import squeeze_block  # it builds on this module

        return squeeze_block(model, plan, b)
    if any(v is not None for v in (model.conditional_queries, model.ngram_streams, model.informer)):
        from cosamt.workload import encdec_ops  # it builds on this module

        if encdec_ops.handles(model, plan):
            return encdec_ops.block(model, plan, b)
    if model.gated_norm_rank is not None or model.latent_query_gate:
        from cosamt.workload.axk2 import block  # it builds on this module

        return block(model, plan, b)
    if model.zaya is not None:
        from cosamt.workload import zaya  # it builds on this module

        return zaya.block(model, plan, b)
    if model.longcat is not None:
        from cosamt.workload import longcat  # it builds on this module

        return longcat.block(model, plan, b)
    if plan.group is not None:
        from cosamt.workload.hybrid import group_block  # it builds on this module

        return group_block(model, plan, b)
    if plan.special:
        from cosamt.workload.per_layer import SPECIALS, special_ops  # it builds on this module

        if plan.special in SPECIALS:
            return special_ops(model, plan, b)
    if plan.special == "hc_head":  # HY-V4's hyper-connection head
        from cosamt.workload.odds import hc_head_ops  # it builds on this module

        return hc_head_ops(model, plan, b)
    if plan.special in ("enc_proj", "lstm", "joint"):
        from cosamt.workload import transducer_ops  # it builds on this module

        return transducer_ops.block(model, plan, b)
    if plan.special == "prefix_cond":
        from cosamt.workload import prefix  # it builds on this module

        return prefix.ops(model, plan, b)
    if plan.special == "encoder_proj":
        assert model.encoder is not None
        return [_projection(f"{p}enc_proj", b, m, model.encoder.d_model, d, c)]
    if model.feature_encoder is not None and plan.special == "frontend":
        from cosamt.workload import feature_encoder_ops  # it builds on this module

        return feature_encoder_ops.frontend(model, plan, b)
    if model.conformer is not None:
        from cosamt.workload import conformer_ops  # it builds on this module

        front = plan.special == "frontend"
        return (conformer_ops.frontend if front else conformer_ops.block)(model, plan, b)
    if plan.ssm and model.ssm is not None and model.ssm.layers is None:  # pure Mamba: no FFN
        from cosamt.workload.recurrent import mamba_ops  # it builds on this module

        return [
            _norm(f"{p}norm1", model.norm, b, m, d, c),
            *mamba_ops(model, plan, b),
            _residual(f"{p}residual1", b, m, d, c),
        ]
    norm = model.norm
    ffn_sums = 3 if plan.moe and model.shared_d_ff else 2  # routed + shared experts + stream
    if model.parallel:
        ops = [_norm(f"{p}norm1", norm, b, m, d, c)]
        if model.parallel_norms == 2:
            ops.append(_norm(f"{p}norm2", norm, b, m, d, c))
        ops += _self_attention(model, plan, b) + _ffn(model, plan, b)
        return [*ops, _residual(f"{p}residual", b, m, d, c, ffn_sums + 1)]
    pre = model.norm_position == "pre"
    merged = model.merged_cross_attention  # cross-attention inside self-attention (T5Gemma 2)
    cross = _cross_attention(model, plan, b) if plan.cross_n is not None and not merged else []
    ops = []
    ops += [_norm(f"{p}norm1", norm, b, m, d, c)] if pre else []
    ops += [*_self_attention(model, plan, b), _residual(f"{p}residual1", b, m, d, c)]
    ops += [] if pre else [_norm(f"{p}norm1", norm, b, m, d, c)]
    if cross:
        ops += [_norm(f"{p}xnorm", norm, b, m, d, c)] if pre else []
        ops += [*cross, _residual(f"{p}xresidual", b, m, d, c)]
        ops += [] if pre else [_norm(f"{p}xnorm", norm, b, m, d, c)]
    ops += [_norm(f"{p}norm2", norm, b, m, d, c)] if pre else []
    if model.time_ada_norm is not None:  # Voxtral Realtime: the FFN input times 1 + MLP(t)
        from cosamt.workload.odds import time_ada_norm_ops  # it builds on this module

        ops += time_ada_norm_ops(model, plan, b)
    ops += [*_ffn(model, plan, b), _residual(f"{p}residual2", b, m, d, c, ffn_sums)]
    if model.adapter is not None:  # X-MOD: on the FFN's residual sum, before the post-norm
        from cosamt.workload.addons import adapter_ops  # it builds on this module

        ops += adapter_ops(model, plan, b)
    ops += [] if pre else [_norm(f"{p}norm2", norm, b, m, d, c)]
    return ops


def _stages(model: ModelConfig, b: int) -> list[tuple[BlockPlan, tuple[Einsum, ...]]]:
    """A hierarchical vision transformer (Swin): per stage, its blocks as a ViT block over
    ``b`` x windows sequences of window² tokens (attention stays within a window; every other
    operator is per token, so it sees all of the stage's tokens), then patch merging (norm and a
    4C -> 2C projection of each 2x2 group of tokens) into the next stage."""
    assert model.stage_heads is not None
    out: list[tuple[BlockPlan, tuple[Einsum, ...]]] = []
    grids = stage_grids(model)
    for i, (depth, grid, window) in enumerate(grids):
        width = model.d_model * 2**i
        stage = model.model_copy(
            update={"d_model": width, "n_heads": model.stage_heads[i], "d_ff": model.d_ff * 2**i}
        )
        tokens = window * window
        windows = (grid // window) ** 2
        label = f"stage {i + 1} ({grid}x{grid} tokens, {windows} windows of {window}x{window})"
        plan = BlockPlan(f"s{i + 1}.", label, depth, tokens, tokens, False, False)
        if model.swin_v2:
            from cosamt.workload import swin_v2  # it builds on this module

            out.append((plan, tuple(swin_v2.block(stage, plan, b * windows, window))))
        else:
            out.append((plan, tuple(_block(stage, plan, b * windows))))
        if i + 1 < len(grids):
            merged = (grid // 2) ** 2
            p = f"merge{i + 1}."
            merge = BlockPlan(p, f"patch merging {i + 1} -> {i + 2}", 1, merged, 0, False, False)
            ops: tuple[Einsum, ...] = (
                _norm(f"{p}norm", model.norm, b, merged, 4 * width, 1),
                _projection(f"{p}reduction", b, merged, 4 * width, 2 * width, 1),
            )
            if model.swin_v2:
                ops = swin_v2.merge(model, p, b, merged, width)
            out.append((merge, ops))
    return out


def _lm_head(model: ModelConfig, phase: Phase, b: int, seq_len: int) -> list[Einsum]:
    if model.vocab_size is None or not model.decoder:
        why = (
            "an encoder-only model has no LM head"
            if not model.decoder
            else "vocab_size is not given"
        )
        raise InputError("", [Problem("options.lm_head", f"{model.name!r}: {why}")])
    m = seq_len if phase is Phase.PREFILL else 1
    # CPM-Ant's output norm sees its prompt tokens too (dropped before the head).
    normed = m + model.prompt_tokens if phase is Phase.PREFILL else m
    if model.prefix_conditioning is not None and phase is Phase.PREFILL:
        from cosamt.workload import prefix  # it builds on this module

        # MusicGen Melody's lm_heads run on the prefix's positions too.
        m = normed = m + prefix.tokens(model, model.encoder_tokens or seq_len)
    ops = (
        [_norm("final_norm", model.norm, b, normed, model.d_model, 1)]
        if model.norm_position == "pre"
        else []
    )
    return [*ops, _projection("lm_head", b, m, model.d_model, model.vocab_size, 1)]


# ---- assumptions -------------------------------------------------------------------------------


def assumptions(
    model: ModelConfig, phase: Phase, batch: int, seq_len: int, lm_head: bool
) -> list[str]:
    """What the operators leave out or approximate, for every report."""
    out = list(model.assumptions)
    attends = model.attends and model.transducer is None  # pure Mamba, LSTM: no attention
    if model.decoder and phase is Phase.PREFILL and attends:
        out.append(
            "causal self-attention counted as the full m x n score matrix (no masked tiles skipped: "
            "a causal kernel does about half the QK^T and P.V work of a long prefill)"
        )
    if model.longcat is not None:  # its routing shares picks with the zero experts
        from cosamt.workload import longcat  # it builds on this module

        out += longcat.assumptions(model, batch * (seq_len if phase is Phase.PREFILL else 1))
    elif model.moe:
        m = seq_len if phase is Phase.PREFILL else 1
        touched, per = expert_load(model, batch * m)
        out.append(
            f"balanced routing: {batch * m} tokens x top-{model.experts_per_token} spread evenly, "
            f"{touched} of {model.n_experts} experts touched with {per} tokens each (rounded up); "
            "every touched expert's weights are read"
        )
    if (
        model.indexer is not None
        or model.linear_attention is not None
        or model.attention_output_gate
        or model.ssm is not None
    ):
        from cosamt.workload import recurrent  # it builds on this module

        out += recurrent.assumptions(model, model.indexer, model.linear_attention)
    if model.kda is not None:
        from cosamt.workload import kda  # it builds on this module

        out += kda.assumptions(model, model.kda)
    if model.gated_norm_rank is not None or model.latent_query_gate:
        from cosamt.workload import axk2  # it builds on this module

        out += axk2.assumptions(model)
    if model.zaya is not None:
        from cosamt.workload import zaya  # it builds on this module

        out += zaya.assumptions(model)
    if model.inkling is not None:
        from cosamt.workload import inkling  # it builds on this module

        out += inkling.assumptions(model)
    if model.lightning is not None:
        from cosamt.workload import lightning  # it builds on this module

        out += lightning.assumptions(model, model.lightning)
    if model.pyramid is not None:
        from cosamt.workload import pyramid_ops

        out += pyramid_ops.assumptions()
    if model.neighbourhood is not None:
        from cosamt.workload import neighbourhood

        out += neighbourhood.assumptions()
    if model.vision_stages is not None:
        from cosamt.workload import vision_stage_ops  # it builds on this module

        out += vision_stage_ops.assumptions(model)
    if model.short_conv_kernel is not None:
        from cosamt.workload import short_conv  # it builds on this module

        out += short_conv.assumptions(model)
    conformer = model.encoder if model.encoder is not None else model
    if conformer.conformer is not None and phase is Phase.PREFILL:  # decode: the encoder ran
        from cosamt.workload import conformer_ops  # it builds on this module

        out += conformer_ops.assumptions(conformer, model.encoder_tokens or seq_len)
    if conformer.feature_encoder is not None and phase is Phase.PREFILL:
        from cosamt.workload import feature_encoder_ops  # it builds on this module

        out += feature_encoder_ops.assumptions(conformer, model.encoder_tokens or seq_len)
    if conformer.relative_position_bias and phase is Phase.PREFILL:
        from cosamt.workload import relative_bias  # it builds on this module

        out.append(relative_bias.assumption(conformer))
    if model.per_layer_input is not None or any(g.kv_shared for g in model.layer_groups or ()):
        from cosamt.workload import per_layer  # it builds on this module

        out += per_layer.assumptions(model)
    if model.altup is not None:
        from cosamt.workload import altup  # it builds on this module

        out += altup.assumptions(model)
    from cosamt.workload import (  # they build on this module
        addons,
        convbert,
        fourier,
        rglru,
        rwkv_ops,
        xlnet,
        yoso,
    )

    out += addons.assumptions(model) + fourier.assumptions(model) + rwkv_ops.assumptions(model)
    out += rglru.assumptions(model) + convbert.assumptions(model) + yoso.assumptions(model)
    out += xlnet.assumptions(model)
    from cosamt.workload import odds  # it builds on this module

    out += odds.assumptions(model)
    if model.swin_v2:
        from cosamt.workload import swin_v2  # it builds on this module

        out += swin_v2.assumptions()
    if model.mra is not None:
        from cosamt.workload import mra  # it builds on this module

        out.append(mra.assumption(model, seq_len))
    if model.mlstm is not None:
        from cosamt.workload import xlstm  # it builds on this module

        out.append(xlstm.assumption(model))
    if model.reformer is not None:
        from cosamt.workload import reformer  # it builds on this module

        out.append(reformer.assumption(model, seq_len))
    if model.stage_depths is not None:
        out.append(
            "windowed attention: each stage's tokens attend within their window (shifted windows "
            "cost the same); the relative position bias and the shift mask (one add per score) "
            "are not counted"
        )
    for part, tokens in ((model, seq_len), (model.encoder, model.encoder_tokens or seq_len)):
        runs = part is model or phase is Phase.PREFILL  # the encoder runs in prefill only
        if part is not None and part.block_sparse is not None and runs:
            out.append(
                ("encoder: " if part is model.encoder else "")
                + block_sparse.assumption(part, tokens)
            )
    enc = model.encoder
    if enc is not None and enc.global_local is not None and phase is Phase.PREFILL:
        out.append(global_local.assumption(enc, model.encoder_tokens or seq_len))
    if enc is not None and enc.transient_global_block is not None and phase is Phase.PREFILL:
        out.append("encoder: " + transient_global.assumption(enc, model.encoder_tokens or seq_len))
    if model.sliding_window is not None and model.window_kind == "sliding":
        out.append(
            f"sliding window: keys per query capped at {model.sliding_window} (banded scores counted as m x window)"
        )
    # Layer groups may rotate on none of their attention layers (Kimi Linear's MLA: NoPE).
    groups = [g for g in model.layer_groups or () if g.has_attention]
    rotates = not model.layer_groups or any(not g.no_rope for g in groups)
    if model.rotary_dim is not None and rotates:
        out.append(
            f"rotary embedding: {ROPE_OPS} vector ops per rotated element of Q and K ({model.rotary_dim} of {model.dh} features per head); cos/sin tables not counted as traffic"
        )
    if model.deformable is not None:
        from cosamt.workload import deformable_ops  # it builds on this module

        out += deformable_ops.assumptions(model, seq_len)
    windowed = model.encoder is not None and model.encoder.layer_windows is not None
    special = (model.conditional_queries, model.cross_shape, model.ngram_streams, model.informer)
    if any(v is not None for v in special) or windowed:
        from cosamt.workload import encdec_ops  # it builds on this module

        out += encdec_ops.assumptions(model)
    detector = model.deformable is None and model.informer is None  # a forecaster's window
    if model.decoder_tokens is not None and detector:
        out.append(
            f"{model.decoder_tokens} object queries in the decoder, bidirectional; the encoder's "
            f"{seq_len} tokens are the instance's seq_len (the backbone's feature map; the "
            "backbone and the positional embeddings added to Q and K are not modelled)"
        )
    if model.transducer is not None:
        from cosamt.workload import transducer_ops  # it builds on this module

        out += transducer_ops.assumptions(model, phase, seq_len)
    elif model.prefix_conditioning is not None:
        from cosamt.workload import prefix  # it builds on this module

        out += prefix.assumptions(model, phase.value, model.encoder_tokens or seq_len)
    elif (model.encoder_decoder or model.cross_attention) and model.deformable is None:
        tokens = model.encoder_tokens or seq_len
        out.append(
            f"cross-attention against {tokens} encoder tokens"
            + (
                " (their K/V cached: the encoder ran before decode)"
                if phase is Phase.DECODE
                else ""
            )
        )
    front = "any input front-end (patch embedding, audio convolutions)"
    if conformer.conformer is not None:  # its subsampling convolutions are modelled (enc.sub.)
        front = "any input front-end other than the conformer's subsampling convolutions"
    if conformer.feature_encoder is not None:  # modelled (enc.feat.)
        front = "any input front-end other than the wav2vec2 feature encoder"
    if model.vision_stages is not None or model.pyramid is not None:  # their embeddings are
        front = "any input front-end other than the patch embeddings or stem listed"
    out.append(
        f"embeddings, positional encodings, biases, per-head Q/K norms (Qwen3, OLMo 2, ...: vector work on Q and K) and {front} are not modelled"
    )
    if not lm_head:
        out.append("the LM head (vocabulary projection) is not included (options.lm_head)")
    return out


def build_workload(
    model: ModelConfig, phase: Phase | str, batch: int, seq_len: int, lm_head: bool = False
) -> Workload:
    """The operators of every block type of ``model``, the optional LM head, and assumptions."""
    try:
        phase = Phase(phase)
    except ValueError:
        known = ", ".join(p.value for p in Phase)
        raise InputError(
            "", [Problem("phase", f"unknown phase {phase!r}; known: {known}")]
        ) from None
    _check(model, phase, batch, seq_len)
    if phase is Phase.PREFILL:
        block_sparse.check_tokens(model, seq_len)
        if model.mra is not None:
            from cosamt.workload import mra  # it builds on this module

            mra.check_tokens(model, seq_len)
        if model.encoder is not None:
            block_sparse.check_tokens(model.encoder, model.encoder_tokens or seq_len)
    if model.pyramid is not None:
        from cosamt.workload import pyramid_ops  # it builds on this module

        blocks = tuple(pyramid_ops.stages(model, batch))
    elif model.stage_depths is not None:
        blocks = tuple(_stages(model, batch))
    elif model.neighbourhood is not None:
        from cosamt.workload import neighbourhood  # it builds on this module

        blocks = tuple(neighbourhood.stages(model, batch))
    elif model.reformer is not None:
        from cosamt.workload import reformer  # it builds on this module

        blocks = tuple(reformer.blocks(model, batch, seq_len))
    elif model.vision_stages is not None:
        from cosamt.workload import vision_stage_ops  # it builds on this module

        blocks = tuple(vision_stage_ops.stages(model, batch, seq_len))
    else:
        blocks = tuple(
            (plan, tuple(_block(_block_model(model, plan), plan, batch)))
            for plan in plan_blocks(model, phase, seq_len)
        )
    head = tuple(_lm_head(model, phase, batch, seq_len)) if lm_head else ()
    notes = tuple(assumptions(model, phase, batch, seq_len, lm_head))
    return Workload(model, phase, batch, seq_len, blocks, head, notes)


def _block_model(model: ModelConfig, plan: BlockPlan) -> ModelConfig:
    """The shape a block is built from: an encoder block's own (``model.encoder``) when given,
    a detector's text tower's (``model.text_encoder``)."""
    if plan.prefix.startswith("enc.text.") and model.text_encoder is not None:
        return model.text_encoder
    if plan.prefix.startswith("enc.") and model.encoder is not None:
        return model.encoder
    return model


def build_block(
    model: ModelConfig, phase: Phase | str, batch: int, seq_len: int, lm_head: bool = False
) -> list[Einsum]:
    """The operators of ``model`` (every block type, in execution order), as the pipeline uses.

    ``phase`` prefill processes ``seq_len`` tokens; decode processes one new token against a KV
    cache of ``seq_len`` tokens (only for causal decoders).
    """
    ops = build_workload(model, phase, batch, seq_len, lm_head).operators
    _check_sizes(ops, model, batch, seq_len)
    return ops


def _check_sizes(ops: list[Einsum], model: ModelConfig, batch: int, seq_len: int) -> None:
    """Refuse a block whose largest operator iterates more than MAX_OPERATOR_POINTS times
    (2**64: counts stay exact Python ints, figures float64 to 1e-16 relative) (:mod:`cosamt.limits`)."""
    largest = max(ops, key=lambda op: op.points)
    if largest.points > MAX_OPERATOR_POINTS:
        raise InputError(
            "",
            [
                Problem(
                    "seq_len",
                    f"with batch {batch}, seq_len {seq_len} and model {model.name!r}, operator "
                    f"{largest.name} iterates {largest.points:.3e} times, more than 2**64; use a smaller seq_len, batch or model",
                )
            ],
        )


def model_macs(ops: Iterable[Einsum]) -> int:
    """Total MACs of the whole model: every operator's MACs times its ``count``."""
    return sum(op.macs * op.count for op in ops)
