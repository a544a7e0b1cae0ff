"""Operators of small structural add-ons to a block (:mod:`cosamt.workload.addon_kinds`), each
read from its family's modelling code in transformers 5.24:

* ``attn_gate_proj`` and the gate on the attention output (``attention_gate``): AFMoE's
  ``AfmoeAttention`` (``output * sigmoid(gate_proj(x))``, one gate per feature) and LFM3's
  ``Lfm3Attention`` (``attn_output * sigmoid(g_proj(x)).unsqueeze(-1)``, one gate per head,
  broadcast over the head's features: ``attn_gate_sigmoid`` on the heads, ``attn_gate`` the
  product);
* ``attn_sub_norm`` / ``ffn_sub_norm`` (``sub_norms``): BitNet's ``BitNetAttention`` and
  ``BitNetMLP`` RMSNorms before ``o_proj`` and ``down_proj``;
* ``post_mixer_norm`` / ``post_ffn_norm`` (``sandwich_norm``): LFM3's ``Lfm3DecoderLayer``,
  AFMoE's ``AfmoeDecoderLayer``, the sublayer's output normed before the residual add;
* the adapter (``adapter``): X-MOD's ``XmodOutput.lang_adapter``: ``adapter_norm``,
  ``adapter_down``, ``adapter_act``, ``adapter_up``, ``adapter_residual``;
* the mixture of attention heads (``attention_experts``): JetMoE's ``JetMoeMoA`` and
  ``JetMoeAttention``: ``moa_router`` / ``moa_route``, ``q_experts`` (each token's top-k
  experts project it to ``n_kv_heads`` x ``head_dim`` queries: k x that = ``n_heads`` query
  heads), ``kv_proj`` (dense), the attention core (each KV head serving its k query heads),
  ``o_experts`` (each expert's output projection of its heads) and ``moa_combine`` (their
  gate-weighted sum);
* the dynamic mask (``dynamic_mask_keys``): Doge's ``DogeAttention``: ``dt_proj`` (the values
  of each KV head -> one score per key and KV head), ``dt_act`` (exp(A * softplus(dt))), the
  mask added to the kept scores (``mask_add``, between QK^T and the softmax), attention over the
  top ``keep_window_size`` keys per query.

All are GEMMs or element-wise vector operators the MIP and the evaluator already schedule.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role
from cosamt.workload.models import ModelConfig
from cosamt.workload.recurrent import OUTPUT_GATE_OPS, SIGMOID_OPS
from cosamt.workload.transformer import (
    _BMF,
    COMBINE_OPS,
    GATE_OPS,
    BlockPlan,
    _elementwise,
    _expert_projection,
    _norm,
    _projection,
    _residual,
    activation_op,
    expert_load,
    router_ops,
)


def attention_gate_proj(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The gate's projection of the layer input: one gate per output feature or per head."""
    if model.attention_gate is None:
        return []
    width = model.n_heads * (model.vdh if model.attention_gate == "element" else 1)
    return [
        _projection(f"{plan.prefix}attn_gate_proj", b, plan.m, model.d_model, width, plan.count)
    ]


def attention_gate(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """``O * sigmoid(G)`` on the attention output; a per-head gate's sigmoid is taken once per
    head and broadcast over the head's ``vdh`` features."""
    p, m, c, h = plan.prefix, plan.m, plan.count, model.n_heads
    if model.attention_gate == "element":
        return [
            _elementwise(
                f"{p}attn_gate",
                "sigmoid-gate",
                OUTPUT_GATE_OPS,
                {"b": b, "m": m, "f": h * model.vdh},
                [("O", _BMF, Role.INPUT), ("G", _BMF, Role.INPUT)],
                ("Y", _BMF),
                c,
            )
        ]
    if model.attention_gate != "head":
        return []
    heads = ("b", "m", "h")
    return [
        _elementwise(
            f"{p}attn_gate_sigmoid",
            "sigmoid",
            SIGMOID_OPS,
            {"b": b, "m": m, "h": h},
            [("G", heads, Role.INPUT)],
            ("S", heads),
            c,
        ),
        _elementwise(
            f"{p}attn_gate",
            "mul",
            GATE_OPS,
            {"b": b, "m": m, "h": h, "d": model.vdh},
            [("O", ("b", "m", "h", "d"), Role.INPUT), ("S", heads, Role.INPUT)],
            ("Y", ("b", "m", "h", "d")),
            c,
        ),
    ]


def attn_sub_norm(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """BitNet's RMSNorm on the attention output (all heads' values) before ``out_proj``."""
    if not model.sub_norms:
        return []
    width = model.n_heads * model.vdh
    return [_norm(f"{plan.prefix}attn_sub_norm", "rmsnorm", b, plan.m, width, plan.count)]


def ffn_sub_norm(model: ModelConfig, p: str, b: int, m: int, d_ff: int, c: int) -> list[Einsum]:
    """BitNet's RMSNorm on the FFN's (gated) hidden activation before ``ffn2``."""
    if not model.sub_norms:
        return []
    return [_norm(f"{p}ffn_sub_norm", "rmsnorm", b, m, d_ff, c)]


def post_norm(model: ModelConfig, plan: BlockPlan, b: int, name: str) -> list[Einsum]:
    """A sandwich norm on a sublayer's output, before its residual add."""
    if not model.sandwich_norm:
        return []
    return [_norm(f"{plan.prefix}{name}", model.norm, b, plan.m, model.d_model, plan.count)]


def expert_sum(plan: BlockPlan, b: int, d: int) -> Einsum:
    """Routed plus shared experts, summed before a sandwich norm (the residual add then takes
    two summands)."""
    return _residual(f"{plan.prefix}expert_sum", b, plan.m, d, plan.count)


def adapter_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """X-MOD's language adapter on the FFN's residual sum: a LayerNorm (reused or its own),
    ``dense1`` down to the bottleneck, the activation, ``dense2`` back, the residual add."""
    ad = model.adapter
    if ad is None:
        return []
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    ops = [_norm(f"{p}adapter_norm", "layernorm", b, m, d, c)] if ad.norm else []
    return [
        *ops,
        _projection(f"{p}adapter_down", b, m, d, ad.width, c),
        activation_op(model, f"{p}adapter_act", b, m, ad.width, c),
        _projection(f"{p}adapter_up", b, m, ad.width, d, c),
        _residual(f"{p}adapter_residual", b, m, d, c),
    ]


def moa_inputs(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """JetMoeMoA.map and JetMoeAttention.kv_proj: the router, each touched expert's query
    projection on its share of the tokens (balanced routing, as the MoE FFN), the shared K, V."""
    assert model.n_experts is not None and model.experts_per_token is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    width = model.kv_heads * model.dh  # one expert's query heads: kv_channels x KV heads
    x, t = expert_load(model, b * m)
    return [
        *router_ops(model, f"{p}moa_", b, m, c),
        _expert_projection(f"{p}q_experts", x, t, d, width, c),
        _projection(f"{p}kv_proj", b, m, d, model.kv_heads * (model.dh + model.vdh), c),
    ]


def moa_outputs(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """JetMoeMoA.reduce: each touched expert's output projection of its query heads' results,
    then the gate-weighted sum over a token's k experts."""
    assert model.experts_per_token is not None
    p, m, c, d, k = plan.prefix, plan.m, plan.count, model.d_model, model.experts_per_token
    x, t = expert_load(model, b * m)
    return [
        _expert_projection(f"{p}o_experts", x, t, model.kv_heads * model.vdh, d, c),
        _elementwise(
            f"{p}moa_combine",
            "combine",
            COMBINE_OPS,
            {"b": b, "m": m, "k": k, "f": d},
            [("E", ("b", "m", "k", "f"), Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
    ]


# exp(A * softplus(x)): softplus as exp, add 1, log; the scale by A; exp.
DT_ACT_OPS = 5


def dynamic_mask_keys(model: ModelConfig, n: int) -> int:
    """Keys attention reads per query: Doge keeps the top keep_window_size (all when fewer)."""
    keep = model.dynamic_mask_keys
    return n if keep is None else min(n, keep)


def dynamic_mask_inputs(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """DogeAttention's dt_states = exp(A * softplus(dt_proj(v))): from each new token's values
    (all KV heads' features) one score per KV head."""
    if model.dynamic_mask_keys is None:
        return []
    p, m, c, kv = plan.prefix, plan.m, plan.count, model.kv_heads
    return [
        _projection(f"{p}dt_proj", b, m, kv * model.vdh, kv, c),
        _elementwise(
            f"{p}dt_act",
            "exp(A*softplus)",
            DT_ACT_OPS,
            {"b": b, "m": m, "f": kv},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
    ]


def mask_add(model: ModelConfig, qk: Einsum) -> list[Einsum]:
    """The dynamic mask (a key's score, per KV head) added to each kept score of QK^T."""
    if model.dynamic_mask_keys is None:
        return []
    s_dims = qk.output.dims
    bias = tuple(d for d in s_dims if d in ("b", "h", "n"))
    return [
        _elementwise(
            qk.name.removesuffix("qk") + "mask_add",
            "add",
            1,
            {d: qk.dims[d] for d in s_dims},
            [("S", s_dims, Role.INPUT), ("B", bias, Role.INPUT)],
            ("Y", s_dims),
            qk.count,
        )
    ]


def assumptions(model: ModelConfig) -> list[str]:
    """What the add-on operators count and leave out, for every report."""
    out = []
    if model.attention_gate == "element":
        out.append("attention output gated: o * sigmoid(gate_proj(x)), one gate per feature")
    elif model.attention_gate == "head":
        out.append(
            "attention output gated per head: o * sigmoid(g_proj(x)), the sigmoid once per head "
            "and token, the product on every feature of the head"
        )
    if model.sub_norms:
        out.append(
            "sub-norms: an RMSNorm on the attention output before out_proj and on the FFN's "
            "gated product before ffn2"
        )
    if model.sandwich_norm:
        out.append(
            "sandwich norms: each sublayer's output normed before its residual add "
            "(post_mixer_norm, post_ffn_norm)"
        )
    ad = model.adapter
    if ad is not None:
        out.append(
            f"language adapters: one of {ad.languages} per layer runs on every token (all of a "
            f"sequence's tokens are one language: one adapter's weights read), hidden -> "
            f"{ad.width} -> hidden after the FFN's residual add"
        )
    if model.attention_experts:
        out.append(
            "mixture of attention heads: each token's top-k attention experts project its "
            "queries and outputs (balanced routing, as the MoE FFN), K and V shared; the "
            "routers' top-k then softmax counted as softmax + top-k"
        )
    if model.dynamic_mask_keys is not None:
        out.append(
            f"dynamic mask attention: attention over the top {model.dynamic_mask_keys} keys per "
            "query by the dt score (all keys when fewer; transformers' eager kernel computes "
            "every score and masks the rest); the top-k selection itself is not counted"
        )
    if model.mobile is not None:
        from cosamt.workload import mobilebert  # it builds on this module

        out += mobilebert.assumptions(model)
    if model.conv_groups is not None:
        from cosamt.workload import squeezebert  # it builds on this module

        out += squeezebert.assumptions(model)
    if model.prompt_tokens:
        out.append(
            f"{model.prompt_tokens} prompt tokens prepended to every input: the blocks run on "
            f"seq_len + {model.prompt_tokens} tokens (the KV cache holds them in decode); the LM "
            "head only on the input's tokens"
        )
    if model.window_kind == "chunked":
        out.append(
            f"chunked attention (block-diagonal causal, chunks of {model.sliding_window}): keys "
            "per query capped at the chunk, counted as m x min(seq_len, chunk) like a sliding "
            "window; the full-matrix count of the diagonal blocks exactly when the chunk divides "
            "seq_len, else an upper bound (the last, partial chunk counted at full width); in "
            "decode the whole chunk, an upper bound"
        )
    elif model.window_kind == "bidirectional":
        out.append(
            f"bidirectional sliding window: keys per query capped at {model.sliding_window} "
            "(|q - k| <= (window - 1) / 2), counted as m x window; the rows near the sequence's "
            "ends, which see fewer keys, counted at full width (an upper bound)"
        )
    return out
