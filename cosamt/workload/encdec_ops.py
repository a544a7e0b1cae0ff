"""Operators of encoder-decoder structures beyond the plain block (shapes in
:mod:`cosamt.workload.encdec_kinds`), read from transformers' modelling code:

* Dia's cross-attention (``DiaCrossAttention``, modeling_dia.py): ``q_proj`` from the decoder's
  width, ``k_proj`` / ``v_proj`` from the encoder's ``cross_hidden_size``, its own heads, KV heads
  and head dim (:func:`cross_model`; the plain cross-attention operators of that shape).
* Conditional DETR (``ConditionalDetrDecoderLayer``, ``ConditionalDetrDecoder``,
  modeling_conditional_detr.py) and DAB-DETR (``DabDetrDecoderLayerSelfAttention``,
  ``DabDetrDecoderLayerCrossAttention``, ``DabDetrDecoder``, ``DabDetrEncoder``,
  modeling_dab_detr.py): self-attention with separate content and position projections of Q and
  K; cross-attention whose Q and K are per head the content half concatenated with a spatial
  half (the sine embedding of the reference point through ``ca_qpos_sine_proj``, the encoder's
  position embedding through ``ca_kpos_proj``): the scores reduce over 2 x head_dim features, the
  values keep head_dim. The first decoder layer also projects the query position into the
  cross-attention's query (``ca_qpos_proj``, ``is_first``) and adds the key position to the key;
  the decoder-level MLPs (``query_scale`` after the first layer, Conditional DETR's
  ``ref_point_head`` once, DAB-DETR's ``ref_point_head`` and ``ref_anchor_head`` every layer) are
  counted in the layers that run them, so the first decoder layer is a block type of its own
  (``dec.first.``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig

if TYPE_CHECKING:
    from cosamt.workload.transformer import BlockPlan

_BMF = ("b", "m", "f")
RELU_OPS = 1
MUL_OPS = 1  # the query-scale transformation and the width/height modulation: one product each
FIRST = "first_query_layer"  # BlockPlan.special of the first DETR decoder layer


def cross_model(model: ModelConfig) -> ModelConfig:
    """The shape cross-attention is built from: Dia's own heads and head dim when given."""
    shape = model.cross_shape
    if shape is None:
        return model
    update = {"n_heads": shape.n_heads, "n_kv_heads": shape.n_kv_heads, "head_dim": shape.head_dim}
    return model.model_copy(update={**update, "v_head_dim": None})


def cross_kv_width(model: ModelConfig) -> int:
    """The width cross-attention's K and V are projected from."""
    return model.cross_shape.kv_width if model.cross_shape is not None else model.d_model


def query_plans(model: ModelConfig, plans: list[BlockPlan]) -> list[BlockPlan]:
    """A conditional DETR decoder: its first layer (``dec.first.``) apart from the others."""
    if model.conditional_queries is None:
        return plans
    out = []
    for plan in plans:
        if not plan.prefix.startswith("dec.") or plan.special:
            out.append(plan)
            continue
        first = dataclasses.replace(
            plan,
            prefix=f"{plan.prefix}first.",
            label=f"{plan.label} (first layer: query position in cross-attention)",
            count=1,
            special=FIRST,
        )
        rest = dataclasses.replace(plan, count=plan.count - 1)
        out += [first, rest] if rest.count else [first]
    return out


def handles(model: ModelConfig, plan: BlockPlan) -> bool:
    """Whether :func:`block` builds this block (a conditional DETR's decoder or DAB encoder,
    ProphetNet's decoder)."""
    if model.ngram_streams is not None:
        return plan.prefix.startswith("dec.")
    if plan.special == DISTIL:
        return True
    cq = model.conditional_queries
    if cq is None:
        return False
    return plan.prefix.startswith("dec.") or cq.variant == "dab"


def block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    from cosamt.workload import transformer as t  # it builds on this module

    if model.ngram_streams is not None:
        return ngram_block(model, plan, b)
    if plan.special == DISTIL:
        return distil_ops(model, plan, b)
    cq = model.conditional_queries
    assert cq is not None
    if not plan.prefix.startswith("dec."):  # DAB-DETR's encoder layer: position scaling first
        p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
        plain = model.model_copy(update={"conditional_queries": None})
        scale = [*_mlp(f"{p}pos_scale", b, m, d, d, d, c), _mul(f"{p}pos_scale_mul", b, m, d, c)]
        return scale + t._block(plain, plan, b)
    return [*_query_head(model, plan, b), *_decoder_layer(model, plan, b)]


def _mlp(p: str, b: int, m: int, e: int, hidden: int, f: int, c: int) -> list[Einsum]:
    """transformers' two-layer ``MLP`` / ``DabDetrMLP``: Linear, ReLU, Linear."""
    from cosamt.workload import transformer as t  # it builds on this module

    return [
        t._projection(f"{p}1", b, m, e, hidden, c),
        t._elementwise(
            f"{p}_act",
            "relu",
            RELU_OPS,
            {"b": b, "m": m, "f": hidden},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        t._projection(f"{p}2", b, m, hidden, f, c),
    ]


def _mul(name: str, b: int, m: int, f: int, c: int) -> Einsum:
    from cosamt.workload import transformer as t  # it builds on this module

    return t._elementwise(
        name, "mul", MUL_OPS, {"b": b, "m": m, "f": f},
        [("A", _BMF, Role.INPUT), ("B", _BMF, Role.INPUT)], ("Y", _BMF), c,
    )  # fmt: skip


def _query_head(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The decoder-level MLPs that run before this layer (``ConditionalDetrDecoder.forward``,
    ``DabDetrDecoder.forward``)."""
    cq = model.conditional_queries
    assert cq is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    first = plan.special == FIRST
    ops = []
    if cq.variant == "conditional" and first:  # ref_point_head: MLP(d, d, 2), once
        ops += _mlp(f"{p}ref_point", b, m, d, d, 2, c)
    if cq.variant == "dab":  # ref_point_head: MLP(query_dim // 2 * d, d, d) on the anchors' sine
        ops += _mlp(f"{p}ref_point", b, m, 2 * d, d, d, c)
    if not first:  # query_scale: MLP(d, d, d), its output scales the sine embedding
        ops += [*_mlp(f"{p}query_scale", b, m, d, d, d, c), _mul(f"{p}sine_scale", b, m, d, c)]
    if cq.variant == "dab":  # ref_anchor_head: MLP(d, d, 2), modulating the sine embedding
        ops += [*_mlp(f"{p}ref_anchor", b, m, d, d, 2, c), _mul(f"{p}anchor_mod", b, m, d, c)]
    return ops


def _decoder_layer(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    from cosamt.workload import transformer as t  # it builds on this module

    cq = model.conditional_queries
    assert cq is not None and plan.cross_n is not None
    p, m, n, c, d = plan.prefix, plan.m, plan.cross_n, plan.count, model.d_model
    norm, dh = model.norm, model.dh
    query_pos = plan.special == FIRST or cq.keep_query_pos
    # Self-attention: q, k, v of the content; q, k of the query position; q and k their sums.
    ops = [
        t._projection(f"{p}sa_content_proj", b, m, d, 3 * d, c),
        t._projection(f"{p}sa_pos_proj", b, m, d, 2 * d, c),
        t._residual(f"{p}sa_pos_add", b, m, 2 * d, c),
        *t._attention_core(model, p, b, m, m, c),
        t._projection(f"{p}out_proj", b, m, d, d, c),
        t._residual(f"{p}residual1", b, m, d, c),
        t._norm(f"{p}norm1", norm, b, m, d, c),
    ]
    # Cross-attention: Q = [content (+ query position on the first layer) | sine], K = [content
    # (+ key position on the first layer) | key position], per head.
    ops += [
        t._projection(f"{p}xq_proj", b, m, d, d, c),
        t._projection(f"{p}xq_sine_proj", b, m, d, d, c),
    ]
    if query_pos:
        ops += [
            t._projection(f"{p}xq_pos_proj", b, m, d, d, c),
            t._residual(f"{p}xq_pos_add", b, m, d, c),
        ]
    if plan.cross_kv:
        ops += [
            t._projection(f"{p}xkv_proj", b, n, d, 2 * d, c),
            t._projection(f"{p}xk_pos_proj", b, n, d, d, c),
        ]
        ops += [t._residual(f"{p}xk_pos_add", b, n, d, c)] if query_pos else []
    concat = model.model_copy(update={"head_dim": 2 * dh, "v_head_dim": dh, "n_kv_heads": None})
    ops += [
        *t._attention_core(concat, f"{p}x", b, m, n, c),
        t._projection(f"{p}xout_proj", b, m, d, d, c),
        t._residual(f"{p}xresidual", b, m, d, c),
        t._norm(f"{p}xnorm", norm, b, m, d, c),
    ]
    ops += [
        *t._dense_ffn(model, p, b, m, model.d_ff, c),
        t._residual(f"{p}residual2", b, m, d, c),
        t._norm(f"{p}norm2", norm, b, m, d, c),
    ]
    return ops


def window_plans(encoder: ModelConfig, tokens: int) -> list[BlockPlan]:
    """Moonshine Streaming's encoder: one block type per distinct keys-per-query count (each
    layer's window capped at the tokens), ``enc.`` when there is one, else ``enc.wN.``."""
    from cosamt.workload.transformer import BlockPlan  # it builds on this module

    assert encoder.layer_windows is not None
    counts: dict[int, int] = {}
    for keys in encoder.layer_windows:
        counts[min(keys, tokens)] = counts.get(min(keys, tokens), 0) + 1
    plans = []
    for keys, layers in sorted(counts.items()):
        prefix = "enc." if len(counts) == 1 else f"enc.w{keys}."
        label = f"encoder (window of {keys} keys)" if keys < tokens else "encoder"
        plans.append(BlockPlan(prefix, label, layers, tokens, keys, False, False))
    return plans


def assumptions(model: ModelConfig) -> list[str]:
    out = []
    enc = model.encoder
    if enc is not None and enc.layer_windows is not None:
        out.append(
            "encoder: per-layer bidirectional windows (sliding_window_mask_function: left keys "
            "up to the query, right - 1 after it), keys per query "
            f"{list(enc.layer_windows)}, each capped at the encoder's tokens; the rows near "
            "either end counted at full width; the windows as MoonshineStreamingEncoder applies "
            "them with an attention mask (without one it attends to every frame)"
        )
    cq = model.conditional_queries
    if cq is not None:
        name = "Conditional DETR" if cq.variant == "conditional" else "DAB-DETR"
        out.append(
            f"{name}'s decoder: cross-attention scores over [content | spatial] halves per head "
            "(2 x head_dim features), values of head_dim; the first layer (dec.first.) adds the "
            "query position projection"
            + (" (every layer: keep_query_pos)" if cq.keep_query_pos else "")
            + "; the reference points' sigmoid and sine embedding "
            "(gen_sine_position_embeddings) are positional encodings, not counted"
            + (
                "; DAB-DETR's iterative box refinement (bbox_embed, the detection head's MLP, set "
                "only in DabDetrForObjectDetection) is not counted"
                if cq.variant == "dab"
                else ""
            )
        )
    inf = model.informer
    if inf is not None:
        out.append(
            f"{model.decoder_tokens} decoder tokens (prediction_length) in one "
            "teacher-forced forward (no decode phase), the encoder on the instance's seq_len "
            "(the context window)"
            + (
                "; ProbSparse self-attention in both halves: every query against "
                "min(factor * L_Q * ceil(ln(1 + L_K)), L_K) sampled keys, the "
                "min(factor * ceil(ln(1 + L_Q)), L_Q) active queries against every key, the lazy "
                "queries' context the values' mean (cumsum in the decoder); the causal mask of "
                "the decoder's active rows is not skipped"
                if inf.sampling_factor is not None
                else ""
            )
            + (
                "; distilling convolutions between the encoder layers (Conv1d k=3 as a GEMM over "
                "3 taps, BatchNorm, ELU, MaxPool to ceil(L / 2)), their edge neighbours not "
                "traffic"
                if inf.distil
                else ""
            )
        )
    streams = model.ngram_streams
    if streams is not None:
        out.append(
            f"ProphetNet's n-stream decoder: the main stream and {streams.ngram} predicting "
            "streams of the decoder's tokens each through every projection, cross-attention and "
            "FFN; each predicting stream attends to the main keys and its own (n + m keys); the "
            "relative position logits (relative_pos_embeddings) are a projection, their gather "
            "and the add to the scores are not counted"
        )
    shape = model.cross_shape
    if shape is not None:
        out.append(
            f"cross-attention of its own shape: K and V projected from the encoder's "
            f"{shape.kv_width} features, {shape.n_heads} heads ({shape.n_kv_heads} KV heads) of "
            f"{shape.head_dim}, no rotary"
        )
    return out


def ngram_block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """ProphetNetDecoderLayer: ``ProphetNetNgramSelfAttention`` over the main stream and the
    ``ngram`` predicting streams (post-norm), cross-attention and FFN of every stream's tokens.

    Every stream has ``m`` tokens; q, k, v, ``relative_pos_embeddings`` and ``out_proj`` run on
    all (1 + ngram) x m. The main stream attends to its own ``n`` keys; each predicting stream
    to the main keys followed by its own (``torch.cat([main_key_states, key], 1)``, per stream):
    n + m keys (2T in prefill)."""
    from cosamt.workload import transformer as t  # it builds on this module

    streams = model.ngram_streams
    assert streams is not None
    p, m, n, c, d = plan.prefix, plan.m, plan.n, plan.count, model.d_model
    g, h, dh, norm = streams.ngram, model.n_heads, model.dh, model.norm
    every = (1 + g) * m
    ops = [
        t._projection(f"{p}qkv_proj", b, every, d, 3 * h * dh, c),
        t._projection(f"{p}rel_pos_proj", b, every, d, streams.buckets * h, c),
        *t._attention_core(model, p, b, m, n, c),
        *_predict_core(p, b, g, h, m, n + m, dh, c),
        t._projection(f"{p}out_proj", b, every, h * dh, d, c),
        t._residual(f"{p}residual1", b, every, d, c),
        t._norm(f"{p}norm1", norm, b, every, d, c),
    ]
    wide = dataclasses.replace(plan, m=every)  # cross-attention and FFN see every stream
    ops += [
        *t._cross_attention(model, wide, b),
        t._residual(f"{p}xresidual", b, every, d, c),
        t._norm(f"{p}xnorm", norm, b, every, d, c),
        *t._dense_ffn(model, p, b, every, model.d_ff, c),
        t._residual(f"{p}residual2", b, every, d, c),
        t._norm(f"{p}norm2", norm, b, every, d, c),
    ]
    return ops


def _predict_core(p: str, b: int, g: int, h: int, m: int, n: int, dh: int, c: int) -> list[Einsum]:
    """The predicting streams' Q.K^T, softmax and P.V: ``nbtc,nbsc->nbts`` and back, one key set
    (the main keys and the stream's own) per stream ``g``."""
    from cosamt.workload import transformer as t  # it builds on this module

    q, kv, s = ("b", "g", "h", "m", "d"), ("b", "g", "h", "n", "d"), ("b", "g", "h", "m", "n")
    dims = {"b": b, "g": g, "h": h, "m": m, "n": n}
    return [
        Einsum(
            f"{p}pqk",
            {**dims, "d": dh},
            (Tensor("Q", q, Role.INPUT), Tensor("K", kv, Role.INPUT), Tensor("S", s, Role.OUTPUT)),
            count=c,
        ),
        t._elementwise(
            f"{p}psoftmax", "softmax", t.SOFTMAX_OPS, dims, [("S", s, Role.INPUT)], ("P", s), c
        ),
        Einsum(
            f"{p}pav",
            {**dims, "d": dh},
            (Tensor("P", s, Role.INPUT), Tensor("V", kv, Role.INPUT), Tensor("O", q, Role.OUTPUT)),
            count=c,
        ),
    ]


# ---- Informer (modeling_informer.py) ------------------------------------------------------------

DISTIL = "distil"  # BlockPlan.special of an InformerConvLayer
SPARSITY_OPS = 2  # per sampled score: the running max and the running sum (M = max - sum / L_K)
TOPK_OPS = 1  # per query: its sparsity measure against the running top-u
CONTEXT_OPS = 1  # per value element: the mean's (encoder) or the cumsum's (decoder) add
BATCHNORM_OPS = 2  # frozen statistics at inference: x * scale + shift
ELU_OPS = 4  # x > 0 ? x : alpha * (exp(x) - 1): exp, subtract, multiply, select
MAXPOOL_OPS = 2  # two compares per output of a 3-wide window


def informer_lengths(model: ModelConfig, tokens: int) -> list[int]:
    """Tokens of each encoder layer: ``InformerConvLayer``'s MaxPool1d(3, stride 2, padding 1)
    after every layer but the last maps L to (L - 1) // 2 + 1 (= ceil(L / 2))."""
    assert model.informer is not None and model.encoder_layers is not None
    lengths = [tokens]
    for _ in range(model.encoder_layers - 1):
        last = lengths[-1]
        lengths.append((last - 1) // 2 + 1 if model.informer.distil else last)
    return lengths


def informer_plans(model: ModelConfig, plans: list[BlockPlan], tokens: int) -> list[BlockPlan]:
    """The encoder layer by layer (one ``enc.`` block type without distilling), its distilling
    convolutions between them, the decoder cross-attending to the last layer's tokens."""
    from cosamt.workload.transformer import BlockPlan  # it builds on this module

    lengths = informer_lengths(model, tokens)
    if len(set(lengths)) == 1:
        out = [BlockPlan("enc.", "encoder", len(lengths), tokens, tokens, False, False)]
    else:
        out = []
        for i, length in enumerate(lengths, start=1):
            out.append(
                BlockPlan(f"enc.l{i}.", f"encoder layer {i}", 1, length, length, False, False)
            )
            if i < len(lengths):
                conv = BlockPlan(f"enc.distil{i}.", f"distilling {length} -> {lengths[i]}", 1,
                                 length, lengths[i], False, False)  # fmt: skip
                out.append(dataclasses.replace(conv, special=DISTIL))
    return [*out, *(dataclasses.replace(p, cross_n=lengths[-1]) for p in plans)]


def prob_counts(m: int, n: int, factor: int) -> tuple[int, int]:
    """InformerProbSparseAttention: (u_part, u) = (min(factor * L_Q * ceil(ln(1 + L_K)), L_K),
    min(factor * ceil(ln(1 + L_Q)), L_Q)): sampled keys and active queries."""
    log_k, log_q = math.ceil(math.log1p(n)), math.ceil(math.log1p(m))
    return min(factor * m * log_k, n), min(factor * log_q, m)


def prob_attention(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """ProbSparse self-attention: q, k, v; every query against the u_part sampled keys
    (``queries_keys_sample``), the sparsity measure and top-u; the u active queries against all
    keys (softmax, P.V); the lazy queries' context (the values' mean, or their cumsum in the
    decoder); the output projection."""
    from cosamt.workload import transformer as t  # it builds on this module

    assert model.informer is not None and model.informer.sampling_factor is not None
    p, m, n, c, d = plan.prefix, plan.m, plan.n, plan.count, model.d_model
    h, dh = model.n_heads, model.dh
    sampled, active = prob_counts(m, n, model.informer.sampling_factor)
    q, kv, s = ("b", "h", "m", "d"), ("b", "h", "n", "d"), ("b", "h", "m", "n")
    sample = {"b": b, "h": h, "m": m, "n": sampled}
    return [
        t._projection(f"{p}qkv_proj", b, m, d, 3 * h * dh, c),
        Einsum(
            f"{p}qk_sample",
            {**sample, "d": dh},
            (Tensor("Q", q, Role.INPUT), Tensor("K", kv, Role.INPUT), Tensor("S", s, Role.OUTPUT)),
            count=c,
        ),
        t._elementwise(
            f"{p}sparsity",
            "max-mean",
            SPARSITY_OPS,
            sample,
            [("S", s, Role.INPUT)],
            ("M", ("b", "h", "m")),
            c,
        ),
        t._elementwise(
            f"{p}top_u",
            "topk",
            TOPK_OPS,
            {"b": b, "h": h, "m": m},
            [("M", ("b", "h", "m"), Role.INPUT)],
            ("I", ("b", "h", "m")),
            c,
        ),
        *t._attention_core(model, p, b, active, n, c),
        t._elementwise(
            f"{p}context",
            "cumsum" if plan.prefix.startswith("dec.") else "mean",
            CONTEXT_OPS,
            {"b": b, "h": h, "n": n, "d": dh},
            [("V", kv, Role.INPUT)],
            ("C", kv),
            c,
        ),
        t._projection(f"{p}out_proj", b, m, h * dh, d, c),
    ]


def distil_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """InformerConvLayer: Conv1d(d, d, 3, circular padding) as ``Y[b,m,f] += X[b,m+o(j),e] *
    W[e,f,j]`` (X indexed by the output token: the neighbours at a tile's edge are not traffic),
    BatchNorm, ELU, MaxPool1d(3, stride 2) to ``plan.n`` tokens."""
    from cosamt.workload import transformer as t  # it builds on this module

    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    dims = {"b": b, "m": m, "f": d}
    return [
        Einsum(
            f"{p}conv",
            {"b": b, "m": m, "e": d, "f": d, "j": 3},
            (
                Tensor("X", ("b", "m", "e"), Role.INPUT),
                Tensor("W", ("e", "f", "j"), Role.WEIGHT),
                Tensor("Y", _BMF, Role.OUTPUT),
            ),
            count=c,
        ),
        t._elementwise(
            f"{p}bn", "batchnorm", BATCHNORM_OPS, dims, [("X", _BMF, Role.INPUT)], ("Y", _BMF), c
        ),
        t._elementwise(f"{p}elu", "elu", ELU_OPS, dims, [("X", _BMF, Role.INPUT)], ("Y", _BMF), c),
        t._elementwise(
            f"{p}maxpool",
            "maxpool",
            MAXPOOL_OPS,
            {**dims, "m": plan.n},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
    ]
