"""xLSTM's mLSTM layers (Beck et al. 2024, arXiv:2405.04517, sec. 2.3; the xLSTM 7B
architecture, arXiv:2503.13427; transformers' modeling_xlstm.py: ``xLSTMBlock``, ``xLSTMLayer``,
``xLSTMMultiHeadLayerNorm``, ``xLSTMFeedForward``), held by ``ModelConfig.mlstm``. Every block is
pre-norm (RMSNorms): the mLSTM mixer in place of attention, then a SwiGLU FFN. The mixer, per
token and head (d_k = qk_dim / heads, d_v = v_dim / heads):

* ``mlstm_in_proj``: q, k (qk_dim each), v, the output gate (v_dim each), the input and forget
  gates (one per head);
* ``mlstm_gates``: the soft caps (cap * tanh(x / cap)), log-sigmoid forget gate, stabiliser and
  exponentials;
* the matrix memory C (d_k x d_v per head): ``mlstm_decay`` (C * f), ``mlstm_scale_v``
  (i * v), ``mlstm_write`` (C += k (i v)^T), ``mlstm_normalizer`` (n = f n + i k),
  ``mlstm_readout`` (C^T q), ``mlstm_denominator`` (n^T q), ``mlstm_divide``;
* ``mlstm_head_norm`` (the per-head LayerNorm), ``mlstm_ogate`` (sigmoid(o) * h),
  ``mlstm_out_proj``.

Counted in this recurrent form in prefill too (the chunkwise kernel's intra-chunk matrices are
not modelled; stated), as cosamt counts Gated DeltaNet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, PositiveInt

from cosamt.workload.einsum import Einsum, Role, Tensor

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader
    from cosamt.workload.models import ModelConfig
    from cosamt.workload.transformer import BlockPlan

# Per gate element (input and forget gate of each head): the soft cap (divide, tanh, multiply),
# then log-sigmoid or the stabilised exponential (about 4).
GATE_OPS = 7
NORMALIZER_OPS = 3  # f * n + i * k
DIVIDE_OPS = 1  # h / max(|n^T q|, exp(-m)): the max and exp once per head, amortised


class MLstm(BaseModel):
    """The mLSTM mixer's shape."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    heads: PositiveInt
    """Heads of the mixer (``num_heads``)."""
    qk_dim: PositiveInt
    """Query and key features of all heads (``hidden_size * qk_dim_factor``)."""
    v_dim: PositiveInt
    """Value features of all heads (``hidden_size * v_dim_factor``)."""


def mlstm_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The mLSTM mixer of ``plan.m`` tokens (one in decode: the recurrent step)."""
    from cosamt.workload.recurrent import SIGMOID_OPS
    from cosamt.workload.transformer import (  # it builds on this module
        _BMF,
        LAYERNORM_OPS,
        _elementwise,
        _projection,
    )

    spec = model.mlstm
    assert spec is not None
    p, m, c, d, h = plan.prefix, plan.m, plan.count, model.d_model, spec.heads
    dk, dv = spec.qk_dim // h, spec.v_dim // h
    state = {"b": b, "m": m, "h": h, "d": dk, "v": dv}
    s_in = Tensor("S", ("b", "h", "d", "v"), Role.INPUT)

    def vec(name: str, op: str, ops: int, f: int, inputs: int = 1) -> Einsum:
        names = ("X", "Z")[:inputs]
        dims = {"b": b, "m": m, "f": f}
        return _elementwise(
            f"{p}{name}", op, ops, dims, [(t, _BMF, Role.INPUT) for t in names], ("Y", _BMF), c
        )

    def mac(name: str, dims: dict[str, int], a: Tensor, b_: Tensor, out: Tensor) -> Einsum:
        return Einsum(name=f"{p}{name}", dims=dims, tensors=(a, b_, out), count=c)

    bmhd, bmhv = ("b", "m", "h", "d"), ("b", "m", "h", "v")
    return [
        _projection(f"{p}mlstm_in_proj", b, m, d, 2 * spec.qk_dim + 2 * spec.v_dim + 2 * h, c),
        vec("mlstm_gates", "softcap+gates", GATE_OPS, 2 * h),
        _elementwise(
            f"{p}mlstm_decay", "decay", 1, state,
            [("S", s_in.dims, Role.INPUT), ("F", ("b", "m", "h"), Role.INPUT)], ("T", s_in.dims), c,
        ),
        vec("mlstm_scale_v", "mul", 1, spec.v_dim, 2),
        mac("mlstm_write", state, Tensor("K", bmhd, Role.INPUT), Tensor("V", bmhv, Role.INPUT),
            Tensor("S", ("b", "h", "d", "v"), Role.OUTPUT)),
        vec("mlstm_normalizer", "normalizer", NORMALIZER_OPS, spec.qk_dim, 2),
        mac("mlstm_readout", state, s_in, Tensor("Q", bmhd, Role.INPUT), Tensor("O", bmhv, Role.OUTPUT)),
        mac("mlstm_denominator", {"b": b, "m": m, "h": h, "d": dk}, Tensor("N", bmhd, Role.INPUT),
            Tensor("Q", bmhd, Role.INPUT), Tensor("Z", ("b", "m", "h"), Role.OUTPUT)),
        vec("mlstm_divide", "divide", DIVIDE_OPS, spec.v_dim, 2),
        vec("mlstm_head_norm", "layernorm", LAYERNORM_OPS, spec.v_dim),
        vec("mlstm_ogate", "sigmoid-gate", SIGMOID_OPS + 1, spec.v_dim, 2),
        _projection(f"{p}mlstm_out_proj", b, m, spec.v_dim, d, c),
    ]  # fmt: skip


def assumption(model: ModelConfig) -> str:
    spec = model.mlstm
    assert spec is not None
    dk, dv = spec.qk_dim // spec.heads, spec.v_dim // spec.heads
    return (
        f"mLSTM (xLSTM) on every layer, counted in its recurrent form: per token and head a "
        f"{dk} x {dv} matrix memory decayed, written and read out, its normaliser updated and "
        "read (the chunkwise prefill kernel's intra-chunk matrices are not modelled); the state "
        f"is one b x heads x d_k x d_v tensor; gates {GATE_OPS} vector ops per element"
    )


def _round_up(x: float, multiple: int) -> int:
    """xLSTMFeedForward's round_up_to_next_multiple_of."""
    return int(((x + multiple - 1) // multiple) * multiple)


def hf_fields(r: _Reader, model_type: str) -> dict[str, Any]:
    """xLSTM (xLSTMConfig): ``hidden_size`` (or ``embedding_dim``), ``num_heads``,
    ``num_hidden_layers`` (or ``num_blocks``), ``qk_dim_factor``, ``v_dim_factor``,
    ``ffn_proj_factor``, ``ffn_round_up_to_multiple_of``, ``vocab_size``."""
    d = r.int_("hidden_size", "embedding_dim", what="hidden size")
    heads = r.int_("num_heads", what="heads")
    layers = r.int_("num_hidden_layers", "num_blocks", what="layer count")
    multiple = r.int_("ffn_round_up_to_multiple_of")
    factors: dict[str, float] = {}
    for key in ("qk_dim_factor", "v_dim_factor", "ffn_proj_factor"):
        value = r.data.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            r.refuse(key, f"must be a positive number (got {value!r})")
        else:
            factors[key] = float(value)
    mode = r.data.get("weight_mode", "single")
    if mode not in ("single", "fused"):  # the same projections, split or fused
        r.refuse("weight_mode", f"must be 'single' or 'fused' (got {mode!r})")
    if r.problems or None in (d, heads, layers, multiple):
        return {}
    assert d is not None and heads is not None and multiple is not None
    qk, v = int(d * factors["qk_dim_factor"]), int(d * factors["v_dim_factor"])
    if qk % heads or v % heads or qk < heads or v < heads:
        r.refuse("num_heads", f"{heads} heads must divide qk_dim {qk} and v_dim {v}")
        return {}
    r.assumed.append(
        f"{model_type}: the gates' soft caps counted with the gates; the soft cap of the output "
        "logits (output_logit_soft_cap, on the LM head) and the biases not counted"
    )
    return {
        "n_layers": layers,
        "d_model": d,
        "n_heads": heads,
        "d_ff": _round_up(d * factors["ffn_proj_factor"], multiple),
        "activation": "swiglu",  # xLSTMFeedForward: silu(proj_up_gate(x)) * proj_up(x)
        "norm": "rmsnorm",  # xLSTMRMSNorm before the mixer and the FFN
        "norm_position": "pre",
        "mlstm": {"heads": heads, "qk_dim": qk, "v_dim": v},
        "vocab_size": r.int_("vocab_size", required=False),
        "decoder": True,
    }
