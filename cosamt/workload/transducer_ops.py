"""Operators of an RNN-T or TDT transducer (``ModelConfig.transducer``; see
:mod:`cosamt.workload.transducer` for the structure and the phases): block types ``enc.sub.``
and ``enc.`` (the conformer encoder, prefill only), ``dec.enc_proj.`` (``encoder_projector``,
after Nemotron 3.5 ASR's prompt fusion ``prompt_up`` / ``prompt_act`` / ``prompt_down``;
prefill only: ``get_audio_features`` runs it once), ``dec.lstm.`` (one LSTM layer, count
``num_decoder_layers``), ``dec.joint.`` (``decoder_projector``, then the joint network)."""

from __future__ import annotations

import dataclasses

from cosamt.types import Phase
from cosamt.workload.einsum import Einsum, OpKind, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transducer import PromptProjector
from cosamt.workload.transformer import (
    _BMF,
    RELU_OPS,
    BlockPlan,
    _decoder_plans,
    _projection,
    _with_frontend,
    activation_ops,
)

# Per hidden unit and gate (i, f, g, o), 7 ops, 28 per unit: the sum of the two gate GEMMs (1),
# the gate's sigmoid or tanh (4, as SiLU's count: negate, exp, add, divide), and a quarter of
# c = f*c + i*g (3) and h = o*tanh(c) (4 + 1 multiply).
LSTM_OPS_PER_GATE = 7
JOINT_ADD_OPS = 1  # encoder + decoder, broadcast over the frame x token grid


def _special(prefix: str, label: str, count: int, m: int, n: int, kind: str) -> BlockPlan:
    return dataclasses.replace(BlockPlan(prefix, label, count, m, n, False, False), special=kind)


def plans(model: ModelConfig, phase: Phase, seq_len: int) -> list[BlockPlan]:
    """Encoder (prefill), encoder projector (prefill), LSTM layers, joint network."""
    m = seq_len if phase is Phase.PREFILL else 1
    decoder = [
        _special("dec.lstm.", "prediction network (LSTM layer)", model.n_layers, m, 0, "lstm"),
        _special("dec.joint.", "joint network", 1, m, m, "joint"),
    ]
    if phase is Phase.DECODE:
        return decoder
    assert model.encoder is not None
    encoder = [
        BlockPlan(f"enc.{p.prefix}", p.label, p.count, p.m, p.n, False, False)
        for p in _decoder_plans(model.encoder, Phase.PREFILL, seq_len)
    ]
    proj = _special("dec.enc_proj.", "encoder projector", 1, seq_len, 0, "enc_proj")
    return [*_with_frontend(model.encoder, encoder, "enc.", seq_len), proj, *decoder]


def _vector(
    name: str,
    ops: int,
    dims: dict[str, int],
    inputs: tuple[tuple[str, ...], ...],
    out: tuple[str, ...],
    c: int,
) -> Einsum:
    tensors = tuple(Tensor(f"X{i}", d, Role.INPUT) for i, d in enumerate(inputs))
    return Einsum(
        name=name,
        dims=dims,
        tensors=(*tensors, Tensor("Y", out, Role.OUTPUT)),
        kind=OpKind.VECTOR,
        ops_per_point=ops,
        count=c,
        op=name.rpartition(".")[2],
    )


def _lstm(p: str, b: int, m: int, h: int, c: int) -> list[Einsum]:
    """One LSTM layer over m tokens: W_ih x_t, W_hh h_{t-1} (PyTorch's i, f, g, o gates), the
    cell."""
    gates = ("b", "m", "g", "f")
    return [
        _projection(f"{p}lstm_ih", b, m, h, 4 * h, c),
        _projection(f"{p}lstm_hh", b, m, h, 4 * h, c),
        _vector(
            f"{p}lstm_cell",
            LSTM_OPS_PER_GATE,
            {"b": b, "m": m, "g": 4, "f": h},
            (gates, gates),
            ("b", "m", "f"),
            c,
        ),
    ]


def _joint(model: ModelConfig, p: str, b: int, frames: int, tokens: int) -> list[Einsum]:
    """decoder_projector on the tokens, act(E[b,m,f] + D[b,n,f]) over every frame m and
    token n, the head to vocab_size + len(durations) logits."""
    assert model.transducer is not None
    h, outputs = model.d_model, model.transducer.joint_outputs
    grid = {"b": b, "m": frames, "n": tokens, "f": h}
    full = ("b", "m", "n", "f")
    act = model.activation
    return [
        _projection(f"{p}pred_proj", b, tokens, h, h, 1),
        _vector(f"{p}joint_add", JOINT_ADD_OPS, grid, (("b", "m", "f"), ("b", "n", "f")), full, 1),
        _vector(f"{p}joint_act", activation_ops(act), grid, (full,), full, 1),
        Einsum(
            name=f"{p}joint_head",
            dims={"b": b, "m": frames, "n": tokens, "e": h, "f": outputs},
            tensors=(
                Tensor("X", ("b", "m", "n", "e"), Role.INPUT),
                Tensor("W", ("e", "f"), Role.WEIGHT),
                Tensor("Y", ("b", "m", "n", "f"), Role.OUTPUT),
            ),
            count=1,
        ),
    ]


def _prompt(prompt: PromptProjector | None, p: str, b: int, m: int, d: int) -> list[Einsum]:
    """Nemotron3_5AsrPromptProjector on every frame: linear_1 over the hidden state and the
    one-hot prompt (a dense GEMM, as the source computes it), ReLU, linear_2."""
    if prompt is None:
        return []
    f = prompt.intermediate
    return [
        _projection(f"{p}prompt_up", b, m, d + prompt.prompts, f, 1),
        _vector(f"{p}prompt_act", RELU_OPS, {"b": b, "m": m, "f": f}, (_BMF,), _BMF, 1),
        _projection(f"{p}prompt_down", b, m, f, d, 1),
    ]


def block(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    p = plan.prefix
    if plan.special == "enc_proj":
        assert model.encoder is not None and model.transducer is not None
        return [
            *_prompt(model.transducer.prompt, p, b, plan.m, model.encoder.d_model),
            _projection(f"{p}proj", b, plan.m, model.encoder.d_model, model.d_model, 1),
        ]
    if plan.special == "lstm":
        return _lstm(p, b, plan.m, model.d_model, plan.count)
    return _joint(model, p, b, plan.m, plan.n)


def assumptions(model: ModelConfig, phase: Phase, seq_len: int) -> list[str]:
    assert model.transducer is not None
    t = model.transducer
    if phase is Phase.PREFILL:
        run = (
            f"prefill is {t.kind}.forward with {seq_len} decoder tokens against {seq_len} "
            f"encoder frames: the LSTM over the tokens, the joint network over all "
            f"{seq_len} x {seq_len} frame-token pairs"
        )
    else:
        run = (
            "decode is one greedy step: the LSTM on one token (its state cached), the joint "
            "network on one frame; the steps per utterance are data-dependent (not modelled)"
        )
    heads = (
        f"{t.vocab_size} token + {t.durations} duration logits"
        if t.durations
        else (f"{t.vocab_size} token logits (an RNN-T: no duration head)")
    )
    prompt = (
        []
        if t.prompt is None
        else [
            f"language prompt: the one-hot of {t.prompt.prompts} slots concatenated to every "
            f"encoder frame and fused by Nemotron3_5AsrPromptProjector (counted as the dense GEMM "
            f"the source runs, {t.prompt.prompts} more input features)"
        ]
    )
    return [
        run,
        *prompt,
        f"transducer: a {model.n_layers}-layer LSTM of {model.d_model} (gate GEMMs of the input "
        f"and of the previous hidden state per token, counted token by token; "
        f"{4 * LSTM_OPS_PER_GATE} vector ops per hidden unit for the gates and the cell), joint "
        f"head to {heads}; the token embedding is "
        "not counted",
    ]
