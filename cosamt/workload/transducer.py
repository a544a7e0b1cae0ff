"""A token-and-duration transducer (Parakeet TDT; Xu et al. 2023, arXiv:2304.06795) as
transformers' ``ParakeetForTDT`` computes it (``models/parakeet/modeling_parakeet.py``): a
conformer encoder (:mod:`cosamt.workload.conformer_ops`), ``encoder_projector`` (encoder hidden
-> ``decoder_hidden_size``) on every encoder frame, the prediction network
``ParakeetTDTDecoder`` (token embedding, an ``nn.LSTM`` of ``num_decoder_layers`` layers of
``decoder_hidden_size``, ``decoder_projector``) and the joint network
``ParakeetTDTJointNetwork`` (``head(act(encoder + decoder))`` to ``vocab_size + len(durations)``
logits, for every pair of encoder frame and decoder token).

Prefill is ``forward`` with ``decoder_input_ids`` of the instance's ``seq_len`` tokens against
as many encoder frames: the LSTM over them, the joint network over all frame x token pairs.
Decode is one step of greedy decoding (``ParakeetTDTGenerationMixin``): the LSTM on one token
(its state cached), the joint network on one frame and that token; how many steps an utterance
takes is data-dependent (durations skip frames, blanks skip the LSTM) and not modelled.

An LSTM layer per token (``nn.LSTM``, PyTorch's gate order i, f, g, o): ``lstm_ih``
(W_ih x: hidden -> 4 hidden), ``lstm_hh`` (W_hh h_{t-1}: hidden -> 4 hidden; sequential over
the tokens, counted token by token), ``lstm_cell`` (the gate sums, sigmoid / tanh, c and h).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt


class Transducer(BaseModel):
    """The prediction and joint networks of a TDT model; ``ModelConfig.d_model`` is the
    prediction network's width (``decoder_hidden_size``), ``n_layers`` its LSTM layers."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    vocab_size: PositiveInt
    """Token logits of the joint network's head (``vocab_size``, the blank included)."""
    durations: NonNegativeInt
    """Duration logits besides them (``len(durations)``)."""

    @property
    def joint_outputs(self) -> int:
        return self.vocab_size + self.durations
