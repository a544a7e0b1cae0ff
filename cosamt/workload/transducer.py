"""A transducer: the RNN-T (Graves 2012, arXiv:1211.3711) as transformers' ``ParakeetForRNNT``
computes it, and the token-and-duration transducer (Parakeet TDT; Xu et al. 2023,
arXiv:2304.06795), its subclass ``ParakeetForTDT`` (``models/parakeet/modeling_parakeet.py``;
``ParakeetTDTJointNetwork`` differs from ``ParakeetRNNTJointNetwork`` only in its head's width,
``vocab_size + len(durations)`` in place of ``vocab_size``). NVIDIA's streaming RNN-T
(``NemotronAsrStreamingForRNNT``, ``models/nemotron_asr_streaming/``) and
``Nemotron3_5AsrForRNNT`` (``models/nemotron3_5_asr/``) have the same prediction and joint
networks over a streaming conformer; the latter fuses a language prompt into the encoder's output
first (``Nemotron3_5AsrPromptProjector``). The structure: a
conformer encoder (:mod:`cosamt.workload.conformer_ops`), ``encoder_projector`` (encoder hidden
-> ``decoder_hidden_size``) on every encoder frame, the prediction network
``ParakeetRNNTDecoder`` (token embedding, an ``nn.LSTM`` of ``num_decoder_layers`` layers of
``decoder_hidden_size``, ``decoder_projector``) and the joint network
(``head(act(encoder + decoder))`` to ``vocab_size`` (+ ``len(durations)``) logits, for every pair
of encoder frame and decoder token).

Prefill is ``forward`` with ``decoder_input_ids`` of the instance's ``seq_len`` tokens against
as many encoder frames: the LSTM over them, the joint network over all frame x token pairs.
Decode is one step of greedy decoding (``ParakeetRNNTGenerationMixin``,
``ParakeetTDTGenerationMixin``): the LSTM on one token
(its state cached), the joint network on one frame and that token; how many steps an utterance
takes is data-dependent (durations skip frames, blanks skip the LSTM) and not modelled.

An LSTM layer per token (``nn.LSTM``, PyTorch's gate order i, f, g, o): ``lstm_ih``
(W_ih x: hidden -> 4 hidden), ``lstm_hh`` (W_hh h_{t-1}: hidden -> 4 hidden; sequential over
the tokens, counted token by token), ``lstm_cell`` (the gate sums, sigmoid / tanh, c and h).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt


class PromptProjector(BaseModel):
    """``Nemotron3_5AsrPromptProjector``: the encoder's output concatenated with a one-hot
    language prompt of ``num_prompts`` slots, ``Linear(hidden + num_prompts -> intermediate)``,
    ReLU, ``Linear(intermediate -> hidden)``, before ``encoder_projector``."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    prompts: PositiveInt
    """Slots of the one-hot prompt (``num_prompts``)."""
    intermediate: PositiveInt
    """Width of the fusion MLP (``prompt_intermediate_size``)."""


class Transducer(BaseModel):
    """The prediction and joint networks of an RNN-T or TDT model; ``ModelConfig.d_model`` is
    the prediction network's width (``decoder_hidden_size``), ``n_layers`` its LSTM layers."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    vocab_size: PositiveInt
    """Token logits of the joint network's head (``vocab_size``, the blank included)."""
    durations: NonNegativeInt
    """Duration logits besides them (``len(durations)``; 0: an RNN-T)."""
    kind: str = "ParakeetForTDT"
    """The modelling class, for the reports."""
    prompt: PromptProjector | None = None
    """The language-prompt fusion before the encoder projector (Nemotron 3.5 ASR)."""

    @property
    def joint_outputs(self) -> int:
        return self.vocab_size + self.durations
