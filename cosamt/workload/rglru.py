"""Griffin's recurrent block (De et al. 2024, arXiv:2402.19427) as transformers'
``RecurrentGemmaRecurrentBlock`` and ``RecurrentGemmaRglru`` compute it, per token::

    y = gelu(linear_y(x))                          # rg_y_proj, rg_y_act
    u = conv1d(linear_x(x))                        # rg_x_proj, rg_conv (depthwise, causal)
    i, r = u_blocks @ W_i, u_blocks @ W_r          # rg_gates: block-diagonal, two gates
    h = RG-LRU(u; sigmoid(i), sigmoid(r), state)   # rg_lru: elementwise, per channel
    out = linear_out(h * y)                        # rg_out_gate, rg_out_proj

The gates' projections are one Einsum over the blocks ``h`` and the two gates ``c``:
``Y[b,m,c,h,g] += U[b,m,h,e] * W[c,h,e,g]``. ``rg_lru`` counts, per channel and token, what the
code does: both sigmoids (4 each), log a = -8 r softplus(param) (the softplus of the parameter
per channel amortised: 2), a = exp (1), a² = exp(2 log a) (2), x * i (1), sqrt(1 - a²) (2),
the reset select (2), the normalised input (1), and the scan a * h + x with the reset (3): 22.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import (
    _BMF,
    GATE_OPS,
    GELU_OPS,
    BlockPlan,
    _elementwise,
    _projection,
    depthwise_conv,
)

GATES = 2  # the input gate and the recurrence gate
RGLRU_OPS = 22


def rglru_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The y branch, the x branch's convolution, the gates, the RG-LRU, the product, the
    output projection."""
    spec = model.rglru
    assert spec is not None
    p, m, c, d, w = plan.prefix, plan.m, plan.count, model.d_model, spec.width
    h, bw = spec.blocks, spec.width // spec.blocks
    gates = Einsum(
        name=f"{p}rg_gates",
        dims={"b": b, "m": m, "c": GATES, "h": h, "e": bw, "g": bw},
        tensors=(
            Tensor("U", ("b", "m", "h", "e"), Role.INPUT),
            Tensor("W", ("c", "h", "e", "g"), Role.WEIGHT),
            Tensor("Y", ("b", "m", "c", "h", "g"), Role.OUTPUT),
        ),
        count=c,
    )
    lru = _elementwise(
        f"{p}rg_lru",
        "rg-lru",
        RGLRU_OPS,
        {"b": b, "m": m, "f": w},
        [
            ("U", _BMF, Role.INPUT),
            ("I", _BMF, Role.INPUT),  # the input gate's pre-activation
            ("R", _BMF, Role.INPUT),  # the recurrence gate's pre-activation
            ("S", ("b", "f"), Role.INPUT),  # the recurrent state
            ("A", ("f",), Role.WEIGHT),  # recurrent_param
        ],
        ("H", _BMF),
        c,
    )
    return [
        _projection(f"{p}rg_y_proj", b, m, d, w, c),
        _elementwise(
            f"{p}rg_y_act",
            "gelu",
            GELU_OPS,
            {"b": b, "m": m, "f": w},
            [("X", _BMF, Role.INPUT)],
            ("Y", _BMF),
            c,
        ),
        _projection(f"{p}rg_x_proj", b, m, d, w, c),
        depthwise_conv(f"{p}rg_conv", b, m, w, spec.conv_kernel, c),
        gates,
        lru,
        _elementwise(
            f"{p}rg_out_gate",
            "mul",
            GATE_OPS,
            {"b": b, "m": m, "f": w},
            [("H", _BMF, Role.INPUT), ("Y", _BMF, Role.INPUT)],
            ("Z", _BMF),
            c,
        ),
        _projection(f"{p}rg_out_proj", b, m, w, d, c),
    ]


def assumptions(model: ModelConfig) -> list[str]:
    """How the recurrent blocks are counted."""
    spec = model.rglru
    if spec is None:
        return []
    layers = sum(g.count for g in model.layer_groups or () if g.mixer == "rglru")
    return [
        f"RG-LRU recurrent blocks (Griffin) on {layers} of {model.n_layers} layers: two "
        f"projections to {spec.width} channels, a depthwise causal conv of {spec.conv_kernel} "
        f"taps, the gates' block-diagonal projections ({spec.blocks} blocks), the RG-LRU token "
        f"by token ({RGLRU_OPS} vector ops per channel; prefill too), y * h, the output "
        "projection; the conv's earlier tokens at a tile edge and the state are not traffic "
        "beyond one b x channels tensor"
    ]
