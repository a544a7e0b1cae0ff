"""Gemma 3n's layers as Einsum operators (transformers 5.24.0, ``models/gemma3n/modeling_gemma3n.py``):
AltUp's stream copies (``Gemma3nTextAltUp``; Baykal et al., NeurIPS 2023), LAuReL's low-rank
residual (``Gemma3nTextLaurelBlock``), the Gaussian top-k on the FFN gate
(``Gemma3nTextMLP._gaussian_topk``) and the per-layer inputs, in the order
``Gemma3nTextDecoderLayer.forward`` runs them. With A copies of the hidden state (``j``, ``i``:
the copies), per layer::

    predict:  c = pcoef(tanh(router(rnorm(x[a]))))           # d -> A, A -> A x A
              y[j] = sum_i x[i] c[i, j] + x[j]                # altup_predict, altup_padd
    layer:    h = norm1(y[a]); l = h + laurel_norm(right(left(h)))
              s = (y[a] + post_attn_norm(attn(h)) + l) / sqrt(2)          # residual1
              t = s + post_ffn_norm(ffn(norm2(s)))                         # residual2
    correct:  k = ccoef(tanh(router(cnorm(t)))) + 1           # d -> A, A -> A
              z[j] = (t - y[a]) k[j] + y[j]                   # altup_innov, altup_correct
              z[1:] += ple_norm(ple_proj(act(ple_gate(z[a] * scale)) * per-layer input))

(the router's norm and weights are the same module in predict and correct; each call is its own
operator). Before the layers the copies are made (``altup_in.``: ``expand_proj``, d -> d for each
copy but the first, scaled to the embedding's RMS), after them merged (``altup_out.``:
``unembed_proj`` likewise, the same scaling, the mean over the copies).
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.per_layer import SCALE_OPS, shared_kv_attention
from cosamt.workload.transformer import (
    _BMF,
    ADD_OPS,
    RMSNORM_OPS,
    BlockPlan,
    _dense_ffn,
    _elementwise,
    _norm,
    _projection,
    _self_attention,
    activation_ops,
)

ALTUP_IN = "altup_in"  # BlockPlan.special: the copies made before the layers
ALTUP_OUT = "altup_out"  # merged after them
TANH_OPS = 1
# _gaussian_topk per gate element: the mean's add, the deviation's subtract, square and add, the
# cutoff's subtract, the ReLU (each token's mean + std * z and its square root amortised).
SPARSIFY_OPS = 6
RMS_OPS = 2  # a copy's mean square per element: square, add (the root and divide amortised)
_JBMF = ("j", "b", "m", "f")


def _router(p: str, tag: str, model: ModelConfig, b: int, m: int, c: int) -> list[Einsum]:
    """compute_router_modalities: the router's RMSNorm and input scale, d -> A, tanh."""
    assert model.altup is not None
    a = model.altup.inputs
    return [
        _elementwise(
            f"{p}altup_{tag}norm",
            "rmsnorm",
            RMSNORM_OPS + SCALE_OPS,
            {"b": b, "m": m, "f": model.d_model},
            [("X", _BMF, Role.INPUT), ("G", ("f",), Role.WEIGHT)],
            ("Y", _BMF),
            c,
        ),
        _projection(f"{p}altup_{tag}router", b, m, model.d_model, a, c),
        _elementwise(
            f"{p}altup_{tag}tanh",
            "tanh",
            TANH_OPS,
            {"b": b, "m": m, "f": a},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
    ]


def _copies(a: int, b: int, m: int, d: int) -> dict[str, int]:
    return {"j": a, "b": b, "m": m, "f": d}


def _predict(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    assert model.altup is not None
    a, d = model.altup.inputs, model.d_model
    return [
        *_router(p, "", model, b, m, c),
        _projection(f"{p}altup_pcoef", b, m, a, a * a, c),
        Einsum(
            name=f"{p}altup_predict",
            dims={**_copies(a, b, m, d), "i": a},
            tensors=(
                Tensor("X", ("i", "b", "m", "f"), Role.INPUT),
                Tensor("C", ("b", "m", "i", "j"), Role.INPUT),
                Tensor("Y", _JBMF, Role.OUTPUT),
            ),
            count=c,
        ),
        _elementwise(
            f"{p}altup_padd",
            "add",
            ADD_OPS,
            _copies(a, b, m, d),
            [("A", _JBMF, Role.INPUT), ("B", _JBMF, Role.INPUT)],
            ("Y", _JBMF),
            c,
        ),
    ]


def _laurel(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    assert model.altup is not None
    d, rank = model.d_model, model.altup.laurel_rank
    return [
        _projection(f"{p}laurel_left", b, m, d, rank, c),
        _projection(f"{p}laurel_right", b, m, rank, d, c),
        _norm(f"{p}laurel_norm", "rmsnorm", b, m, d, c),
        _add(f"{p}laurel_add", b, m, d, c, 2, ADD_OPS),
    ]


def _add(name: str, b: int, m: int, d: int, c: int, summands: int, ops: int) -> Einsum:
    return _elementwise(
        name,
        "add",
        ops,
        {"b": b, "m": m, "f": d},
        [(t, _BMF, Role.INPUT) for t in ("A", "B", "C")[:summands]],
        ("Y", _BMF),
        c,
    )


def _ffn(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The gated MLP; with a sparse gate its output's Gaussian top-k before the activation."""
    assert plan.group is not None
    p, m, c = plan.prefix, plan.m, plan.count
    ops = _dense_ffn(model, p, b, m, model.d_ff, c)
    if not plan.group.sparse_gate:
        return ops
    sparsify = _elementwise(
        f"{p}ffn_sparsify",
        "gaussian_topk",
        SPARSIFY_OPS,
        {"b": b, "m": m, "f": model.d_ff},
        [("X", _BMF, Role.INPUT)],
        ("Y", _BMF),
        c,
    )
    return [ops[0], sparsify, *ops[1:]]


def _correct(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    assert model.altup is not None
    a, d = model.altup.inputs, model.d_model
    ops = [
        *_router(p, "c", model, b, m, c),
        _projection(f"{p}altup_ccoef", b, m, a, a, c),
        _elementwise(
            f"{p}altup_coef1",
            "offset",
            ADD_OPS,
            {"b": b, "m": m, "f": a},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        _elementwise(
            f"{p}altup_innov",
            "sub",
            ADD_OPS,
            {"b": b, "m": m, "f": d},
            [("A", _BMF, Role.INPUT), ("B", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        _elementwise(
            f"{p}altup_correct",
            "fma",
            2,  # innovation x coefficient, plus the prediction
            _copies(a, b, m, d),
            [
                ("I", _BMF, Role.INPUT),
                ("C", ("b", "m", "j"), Role.INPUT),
                ("P", _JBMF, Role.INPUT),
            ],
            ("Y", _JBMF),
            c,
        ),
    ]
    if model.altup.correct_scale:
        ops.append(
            _elementwise(
                f"{p}altup_scale",
                "mul",
                SCALE_OPS,
                {"b": b, "m": m, "f": d},
                [("X", _BMF, Role.INPUT), ("S", ("f",), Role.WEIGHT)],
                ("Y", _BMF),
                c,
            )
        )
    return ops


def _per_layer_input(model: ModelConfig, p: str, b: int, m: int, c: int) -> list[Einsum]:
    """The per-layer input's gate, product, projection and norm, added to every copy but the
    active one's first (``corrected_predictions[1:] += ...``)."""
    width = model.per_layer_input
    assert width is not None and model.altup is not None
    a, d = model.altup.inputs, model.d_model
    return [
        _projection(f"{p}ple_gate", b, m, d, width, c),
        _elementwise(
            f"{p}ple_act",
            model.activation,
            activation_ops(model.activation),
            {"b": b, "m": m, "f": width},
            [("G", _BMF, Role.INPUT), ("U", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        _projection(f"{p}ple_proj", b, m, width, d, c),
        _norm(f"{p}ple_norm", "rmsnorm", b, m, d, c),
        _elementwise(
            f"{p}ple_residual",
            "add",
            ADD_OPS,
            _copies(a - 1, b, m, d),
            [("A", _JBMF, Role.INPUT), ("B", _BMF, Role.INPUT)],
            ("Y", _JBMF),
            c,
        ),
    ]


def layer_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """One Gemma 3n layer: predict, the layer on the active copy, correct, per-layer input."""
    group = plan.group
    assert group is not None and model.altup is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    shaped = model.model_copy(update=group.overrides) if group.overrides else model
    attend = shared_kv_attention if group.kv_shared else _self_attention
    ops = [
        *_predict(model, p, b, m, c),
        _norm(f"{p}norm1", "rmsnorm", b, m, d, c),
        *_laurel(model, p, b, m, c),
        *attend(shaped, plan, b),
        _norm(f"{p}post_attn_norm", "rmsnorm", b, m, d, c),
        _add(f"{p}residual1", b, m, d, c, 3, 2 * ADD_OPS + SCALE_OPS),  # ... / sqrt(2)
        _norm(f"{p}norm2", "rmsnorm", b, m, d, c),
        *_ffn(model, plan, b),
        _norm(f"{p}post_ffn_norm", "rmsnorm", b, m, d, c),
        _add(f"{p}residual2", b, m, d, c, 2, ADD_OPS),
        *_correct(model, p, b, m, c),
    ]
    if model.per_layer_input is not None:
        ops += _per_layer_input(model, p, b, m, c)
    return ops


def _copy_projection(name: str, a: int, b: int, m: int, d: int, per_copy_input: bool) -> Einsum:
    """``Y[j,b,m,f] += X[(j,)b,m,e] * W[j,e,f]``: one d -> d projection per copy."""
    x = ("j", "b", "m", "e") if per_copy_input else ("b", "m", "e")
    return Einsum(
        name=name,
        dims={"j": a, "b": b, "m": m, "e": d, "f": d},
        tensors=(
            Tensor("X", x, Role.INPUT),
            Tensor("W", ("j", "e", "f"), Role.WEIGHT),
            Tensor("Y", _JBMF, Role.OUTPUT),
        ),
    )


def _rms_scale(p: str, tag: str, a: int, b: int, m: int, d: int) -> list[Einsum]:
    """The copies scaled to the first's RMS: its mean square, then each copy's and the scale."""
    return [
        Einsum(
            name=f"{p}{tag}_target",
            dims={"b": b, "m": m, "f": d},
            tensors=(Tensor("X", _BMF, Role.INPUT), Tensor("T", ("b", "m"), Role.OUTPUT)),
            kind=OpKind.VECTOR,
            ops_per_point=RMS_OPS,
            op="mean_square",
        ),
        _elementwise(
            f"{p}{tag}_scale",
            "rms_match",
            RMS_OPS + SCALE_OPS,
            _copies(a, b, m, d),
            [("X", _JBMF, Role.INPUT), ("T", ("b", "m"), Role.INPUT)],
            ("Y", _JBMF),
            1,
        ),
    ]


def model_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The copies made before the layers (``altup_projections``) or merged after them
    (``altup_unembed_projections``, then the mean over the copies)."""
    assert model.altup is not None
    p, m, d, a = plan.prefix, plan.m, model.d_model, model.altup.inputs
    if plan.special == ALTUP_IN:
        return [
            _copy_projection(f"{p}expand_proj", a - 1, b, m, d, per_copy_input=False),
            *_rms_scale(p, "expand", a - 1, b, m, d),
        ]
    return [
        _copy_projection(f"{p}unembed_proj", a - 1, b, m, d, per_copy_input=True),
        *_rms_scale(p, "unembed", a - 1, b, m, d),
        Einsum(
            name=f"{p}copies_mean",
            dims={"b": b, "m": m, "j": a, "f": d},
            tensors=(Tensor("X", _JBMF, Role.INPUT), Tensor("Y", _BMF, Role.OUTPUT)),
            kind=OpKind.VECTOR,
            ops_per_point=ADD_OPS,
            op="mean",
        ),
    ]


def assumptions(model: ModelConfig) -> list[str]:
    altup = model.altup
    if altup is None:
        return []
    sparse = sum(g.count for g in model.layer_groups or () if g.sparse_gate)
    return [
        f"Gemma 3n layers: AltUp with {altup.inputs} copies of the hidden state (predict: router "
        f"norm, {model.d_model} -> {altup.inputs}, tanh, {altup.inputs} -> {altup.inputs}^2, the "
        "copies mixed; correct: the router again, "
        f"{altup.inputs} -> {altup.inputs}, +1, innovation x coefficient + prediction), "
        f"LAuReL of rank {altup.laurel_rank}, the post-attention and post-FFN norms, the "
        "per-layer input added to every copy but the first; copies made before the layers and "
        "merged after them (d -> d per copy, scaled to the first's RMS: roots and divisions "
        "per token amortised, the mean over the copies); q_norm, k_norm and v_norm not counted",
        f"activation sparsity on {sparse} of {model.n_layers} layers: the gate's Gaussian top-k "
        f"({SPARSIFY_OPS} vector ops per element, the cutoff per token amortised); the "
        "projections run dense, as the modelling code computes them",
    ]
