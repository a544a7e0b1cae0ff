"""Operators of the layer kinds in :mod:`cosamt.workload.layer_kinds`: DeepSeek sparse attention's
lightning indexer, Gated DeltaNet linear attention, and the sigmoid-gated attention output.

Every one is a GEMM-like MAC operator or an element-wise vector operator, so the MIP and the
evaluator schedule them like any other. Extra dimension names: ``v`` (value features of a
linear-attention head; ``d`` is then its key features), ``j`` (convolution taps).

Gated DeltaNet (Yang et al., arXiv:2412.06464; transformers' ``Qwen3NextGatedDeltaNet``) per token
``t`` and value head, state ``S`` (``d_k`` x ``d_v``)::

    S <- S * exp(g_t);  kv = S^T k_t;  delta = (v_t - kv) * beta_t;  S <- S + k_t delta^T;
    o_t = S^T q_t

counted in this recurrent form: the decay (``la_decay``), the read (``la_read``), the rank-one
write (``la_write``, accumulated over the tokens) and the readout (``la_readout``) each touch
``d_k * d_v`` state elements per token and head. The state is one ``b x h x d_k x d_v`` tensor.
"""

from __future__ import annotations

from dataclasses import replace

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.layer_kinds import Indexer, LinearAttention, StateSpace
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    LAYERNORM_OPS,
    RELU_OPS,
    RMSNORM_OPS,
    ROPE_OPS,
    SILU_OPS,
    BlockPlan,
    _elementwise,
    _projection,
    depthwise_conv,
)


def token_vector(
    name: str, op: str, ops: int, b: int, m: int, f: int, count: int, inputs: int = 1
) -> Einsum:
    """A vector operator on every token's ``f`` features (X, or X and Z, to Y): the gates,
    activations and norms of the recurrent and linear-attention mixers."""
    names = ("X", "Z")[:inputs]
    return _elementwise(
        name, op, ops, {"b": b, "m": m, "f": f}, [(t, _BMF, Role.INPUT) for t in names],
        ("Y", _BMF), count,
    )  # fmt: skip


SIGMOID_OPS = 4  # negate, exp, add 1, divide
# beta = sigmoid(b); g = -exp(A_log) * softplus(a + dt_bias) (add, exp, add 1, log, scale); exp(g)
GATES_OPS = SIGMOID_OPS + 5 + 1
L2NORM_OPS = 3  # square, sum, multiply by the (amortised) inverse norm
DELTA_OPS = 2  # (v - kv) * beta
# Gated RMSNorm on the output: RMSNorm, then times silu(z).
GATED_NORM_OPS = RMSNORM_OPS + SILU_OPS + 1
OUTPUT_GATE_OPS = SIGMOID_OPS + 1  # attn_output * sigmoid(gate)


def refine_plans(model: ModelConfig, plans: list[BlockPlan]) -> list[BlockPlan]:
    """Indexed attention caps the keys attention reads at top-k (the indexer scores them all);
    linear attention splits the stack into ``linear.`` and ``full.`` layers."""
    if model.indexer is not None:
        plans = [replace(p, n=min(p.n, model.indexer.topk), index_n=p.n) for p in plans]
    ssm = model.ssm
    if ssm is not None:
        if ssm.layers is None:  # a pure Mamba stack
            return [replace(p, label="decoder (Mamba)", ssm=True) for p in plans]
        assert len(plans) == 1 and not plans[0].prefix  # ModelConfig refuses other splits
        plan, mamba = plans[0], ssm.layers
        out = [replace(plan, prefix="mamba.", label="decoder (Mamba)", count=mamba, ssm=True)]
        if mamba < plan.count:
            rest = plan.count - mamba
            out.append(replace(plan, prefix="attn.", label="decoder (attention)", count=rest))
        return out
    la = model.linear_attention
    if la is None:
        return plans
    assert len(plans) == 1 and not plans[0].prefix  # ModelConfig refuses other splits
    plan = plans[0]
    out = [replace(plan, prefix="linear.", label="decoder (Gated DeltaNet)", count=la.layers)]
    out[0] = replace(out[0], linear=True)
    if la.layers < plan.count:
        out.append(
            replace(
                plan, prefix="full.", label="decoder (full attention)", count=plan.count - la.layers
            )
        )
    return out


def indexer_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The lightning indexer (DeepSeek-V3.2, arXiv:2512.02556, sec. 2.1): queries from the query
    latent, one shared key and per-head weights from the layer input, ReLU(q . k) summed over the
    heads with those weights; every query scores all ``index_n`` keys."""
    ix = model.indexer
    assert ix is not None and plan.index_n is not None
    p, m, n, c = plan.prefix, plan.m, plan.index_n, plan.count
    h, dd, d = ix.heads, ix.head_dim, model.d_model
    s_dims = ("b", "h", "m", "n")
    if ix.query_from_hidden:  # Mistral Large 4: q_input_norm (a LayerNorm), wq_b from d
        source = d
        ops = [_layernorm(f"{p}idx_q_norm", b, m, d, c)]
    else:
        assert model.q_lora_rank is not None
        source, ops = model.q_lora_rank, []
    ops += [
        _projection(f"{p}idx_q", b, m, source, h * dd, c),
        _projection(f"{p}idx_k", b, m, d, dd, c),
        _layernorm(f"{p}idx_k_norm", b, m, dd, c),
        _projection(f"{p}idx_w", b, m, d, h, c),
    ]
    if ix.rotary_dim:
        ops.append(
            _elementwise(
                f"{p}idx_rope",
                "rope",
                ROPE_OPS,
                {"b": b, "m": m, "f": (h + 1) * ix.rotary_dim},
                [("X", _BMF, Role.INPUT)],
                ("Y", _BMF),
                c,
            )
        )
    return [
        *ops,
        Einsum(
            name=f"{p}idx_qk",
            dims={"b": b, "h": h, "m": m, "n": n, "d": dd},
            tensors=(
                Tensor("Q", ("b", "h", "m", "d"), Role.INPUT),
                Tensor("K", ("b", "n", "d"), Role.INPUT),
                Tensor("S", s_dims, Role.OUTPUT),
            ),
            count=c,
        ),
        _elementwise(
            f"{p}idx_relu",
            "relu",
            RELU_OPS,
            {"b": b, "h": h, "m": m, "n": n},
            [("S", s_dims, Role.INPUT)],
            ("R", s_dims),
            c,
        ),
        # I[b,m,n] = sum_h w[b,m,h] * R[b,h,m,n]
        Einsum(
            name=f"{p}idx_sum",
            dims={"b": b, "m": m, "n": n, "h": h},
            tensors=(
                Tensor("W", ("b", "m", "h"), Role.INPUT),
                Tensor("R", s_dims, Role.INPUT),
                Tensor("I", ("b", "m", "n"), Role.OUTPUT),
            ),
            count=c,
        ),
    ]


def _layernorm(name: str, b: int, m: int, f: int, c: int) -> Einsum:
    """A LayerNorm with its scale over ``f`` features of every token (the indexer's own)."""
    return _elementwise(
        name,
        "layernorm",
        LAYERNORM_OPS,
        {"b": b, "m": m, "f": f},
        [("X", _BMF, Role.INPUT), ("G", ("f",), Role.WEIGHT)],
        ("Y", _BMF),
        c,
    )


def output_gate_op(model: ModelConfig, plan: BlockPlan, b: int) -> Einsum:
    """``o * sigmoid(gate)`` on the attention output (the gate is the query projection's second
    half, counted in ``qkv_proj``)."""
    width = model.n_heads * model.vdh
    return _elementwise(
        f"{plan.prefix}attn_gate",
        "sigmoid-gate",
        OUTPUT_GATE_OPS,
        {"b": b, "m": plan.m, "f": width},
        [("O", _BMF, Role.INPUT), ("G", _BMF, Role.INPUT)],
        ("Y", _BMF),
        plan.count,
    )


def _state_op(
    name: str, dims: dict[str, int], a: Tensor, b_: Tensor, out: Tensor, c: int
) -> Einsum:
    return Einsum(name=name, dims=dims, tensors=(a, b_, out), count=c)


def gated_deltanet_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """A Gated DeltaNet token mixer: in-projections (q, k, v, z, beta, a), the depthwise causal
    convolution over q, k, v and its SiLU, the gates, L2-normed q and k, the state decay, read,
    delta, write and readout, the gated RMSNorm, the out-projection."""
    la = model.linear_attention
    assert la is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    key, value = la.k_heads * la.k_dim, la.v_heads * la.v_dim
    conv = 2 * key + value
    h, dk, dv = la.v_heads, la.k_dim, la.v_dim
    state = {"b": b, "m": m, "h": h, "d": dk, "v": dv}
    s_t = Tensor("S", ("b", "h", "d", "v"), Role.INPUT)
    k_t = Tensor("K", ("b", "m", "h", "d"), Role.INPUT)
    bmhv = ("b", "m", "h", "v")

    def vec(name: str, op: str, ops: int, f: int, inputs: int = 1) -> Einsum:
        return token_vector(f"{p}{name}", op, ops, b, m, f, c, inputs)

    return [
        _projection(f"{p}la_in_proj", b, m, d, 2 * key + 2 * value + 2 * la.v_heads, c),
        depthwise_conv(f"{p}la_conv", b, m, conv, la.conv_kernel, c),
        vec("la_conv_act", "silu", SILU_OPS, conv),
        vec("la_gates", "sigmoid+softplus+exp", GATES_OPS + la.beta_doubled, la.v_heads, 2),
        vec("la_qk_norm", "l2norm", L2NORM_OPS, 2 * key),
        _elementwise(
            f"{p}la_decay",
            "decay",
            1,
            state,
            [("S", s_t.dims, Role.INPUT), ("G", ("b", "m", "h"), Role.INPUT)],
            ("T", s_t.dims),
            c,
        ),
        _state_op(f"{p}la_read", state, s_t, k_t, Tensor("R", bmhv, Role.OUTPUT), c),
        _elementwise(
            f"{p}la_delta",
            "delta",
            DELTA_OPS,
            {"b": b, "m": m, "h": h, "v": dv},
            [("V", bmhv, Role.INPUT), ("R", bmhv, Role.INPUT), ("B", ("b", "m", "h"), Role.INPUT)],
            ("D", bmhv),
            c,
        ),
        _state_op(
            f"{p}la_write",
            state,
            k_t,
            Tensor("D", bmhv, Role.INPUT),
            Tensor("S", ("b", "h", "d", "v"), Role.OUTPUT),
            c,
        ),
        _state_op(
            f"{p}la_readout",
            state,
            s_t,
            Tensor("Q", ("b", "m", "h", "d"), Role.INPUT),
            Tensor("O", bmhv, Role.OUTPUT),
            c,
        ),
        vec("la_norm", "gated-rmsnorm", GATED_NORM_OPS, value, 2),
        _projection(f"{p}la_out_proj", b, m, value, d, c),
    ]


SOFTPLUS_OPS = 4  # add the bias, exp, add 1, log
# Mamba-1 per state element and token: exp(A * dt) (2), dt * B * x (2), h * dA + dBx (2).
SCAN_OPS = 6
SKIP_GATE_OPS = 2 + SILU_OPS + 1  # y + D * x, then times silu(z)
# Mamba-2 per head and token: softplus(dt + bias), then exp(dt * A).
SSD_GATE_OPS = SOFTPLUS_OPS + 2


def mamba_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """A Mamba mixer (transformers' ``MambaMixer`` / ``Mamba2Mixer``, slow path): in-projection,
    depthwise causal convolution and SiLU, the time step, the recurrent state update and readout
    per token, the skip and the gate, the out-projection."""
    ssm = model.ssm
    assert ssm is not None
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    di, n, k = ssm.d_inner, ssm.d_state, ssm.conv_kernel

    def vec(name: str, op: str, ops: int, f: int, inputs: int = 1) -> Einsum:
        return token_vector(f"{p}{name}", op, ops, b, m, f, c, inputs)

    def conv(width: int) -> list[Einsum]:
        return [
            depthwise_conv(f"{p}ssm_conv", b, m, width, k, c),
            vec("ssm_conv_act", "silu", SILU_OPS, width),
        ]

    if ssm.version == 1:
        r = ssm.dt_rank
        state = {"b": b, "m": m, "f": di, "s": n}
        ops = [
            _projection(f"{p}ssm_in_proj", b, m, d, 2 * di, c),
            *conv(di),
            _projection(f"{p}ssm_x_proj", b, m, di, r + 2 * n, c),
        ]
        if ssm.bcdt_norm:  # weightless RMS norm: square, sum, multiply (Jamba's: and the weight)
            norm_ops = RMSNORM_OPS - (0 if ssm.bcdt_norm_weights else 1)
            ops.append(vec("ssm_bcdt_norm", "rmsnorm", norm_ops, r + 2 * n))
        ops += [
            _projection(f"{p}ssm_dt_proj", b, m, r, di, c),
            vec("ssm_dt_act", "softplus", SOFTPLUS_OPS, di),
            _elementwise(
                f"{p}ssm_scan",
                "selective-scan",
                SCAN_OPS,
                state,
                [
                    ("S", ("b", "f", "s"), Role.INPUT),
                    ("T", ("b", "m", "f"), Role.INPUT),
                    ("B", ("b", "m", "s"), Role.INPUT),
                    ("A", ("f", "s"), Role.WEIGHT),
                ],
                ("H", ("b", "f", "s")),
                c,
            ),
            Einsum(
                name=f"{p}ssm_readout",
                dims=state,
                tensors=(
                    Tensor("H", ("b", "f", "s"), Role.INPUT),
                    Tensor("C", ("b", "m", "s"), Role.INPUT),
                    Tensor("Y", _BMF, Role.OUTPUT),
                ),
                count=c,
            ),
            vec("ssm_gate", "skip+silu-gate", SKIP_GATE_OPS, di, 2),
        ]
        return [*ops, _projection(f"{p}ssm_out_proj", b, m, di, d, c)]
    h, g = ssm.heads, ssm.groups
    hp, bc = di // h, 2 * g * n
    state = {"b": b, "m": m, "h": h, "d": hp, "s": n}
    s_dims = ("b", "h", "d", "s")
    return [
        _projection(f"{p}ssm_in_proj", b, m, d, 2 * di + bc + h, c),
        *conv(di + bc),
        vec("ssm_dt_act", "softplus+exp", SSD_GATE_OPS, h),
        vec("ssm_dt_x", "scale", 1, di, 2),  # dt * x
        _elementwise(
            f"{p}ssm_decay",
            "decay",
            1,
            state,
            [("S", s_dims, Role.INPUT), ("A", ("b", "m", "h"), Role.INPUT)],
            ("T", s_dims),
            c,
        ),
        _state_op(
            f"{p}ssm_write",
            state,
            Tensor("X", ("b", "m", "h", "d"), Role.INPUT),
            Tensor("B", ("b", "m", "h", "s"), Role.INPUT),
            Tensor("S", s_dims, Role.OUTPUT),
            c,
        ),
        _state_op(
            f"{p}ssm_readout",
            state,
            Tensor("S", s_dims, Role.INPUT),
            Tensor("C", ("b", "m", "h", "s"), Role.INPUT),
            Tensor("Y", ("b", "m", "h", "d"), Role.OUTPUT),
            c,
        ),
        vec("ssm_skip", "skip", 2, di, 2),  # y + D * x
        (
            vec("ssm_norm", "gated-rmsnorm", GATED_NORM_OPS, di, 2)
            if ssm.gated_norm
            else vec("ssm_gate", "silu-gate", SILU_OPS + 1, di, 2)  # y * silu(z)
        ),
        _projection(f"{p}ssm_out_proj", b, m, di, d, c),
    ]


def _ssm_note(model: ModelConfig, ssm: StateSpace) -> str:
    state = (
        f"{ssm.d_inner} channels x {ssm.d_state}"
        if ssm.version == 1
        else f"{ssm.heads} heads x {ssm.d_inner // ssm.heads} x {ssm.d_state}"
    )
    return (
        f"Mamba-{ssm.version} on {model.mamba_layers} of {model.n_layers} layers, counted token by token (the "
        f"recurrent form; the parallel scan / chunked SSD kernels of prefill are not modelled): "
        f"state of {state} elements updated and read out per token; the state is one tensor; "
        "A = -exp(A_log), biases and the convolution's earlier tokens at a tile edge are not counted"
    )


def assumptions(
    model: ModelConfig, indexer: Indexer | None, la: LinearAttention | None
) -> list[str]:
    """What the indexer and linear-attention operators leave out, for every report."""
    out = []
    if indexer is not None:
        out.append(
            f"sparse (indexed) attention: attention reads min({indexer.topk}, keys) keys per "
            f"query; the indexer ({indexer.heads} heads x {indexer.head_dim}) scores every key; "
            "the top-k selection itself, the indexer's Hadamard rotation and FP8 quantisation "
            "are not counted"
        )
    if la is not None:
        out.append(
            f"Gated DeltaNet on {la.layers} of {model.n_layers} layers, counted in its recurrent "
            f"form: per token and value head {la.k_dim} x {la.v_dim} state elements decayed, read, "
            "written and read out (the chunked prefill kernel's intra-chunk matrices are not "
            "modelled); the state is one b x heads x d_k x d_v tensor; the convolution's "
            f"{la.conv_kernel - 1} earlier tokens at a tile edge are not traffic"
        )
    if model.ssm is not None:
        out.append(_ssm_note(model, model.ssm))
    if model.attention_output_gate:
        out.append("attention output gated: q_proj also yields a sigmoid gate (o * sigmoid(g))")
    return out
