"""Shape of an RWKV-4 stack (Peng et al. 2023, arXiv:2305.13048) as transformers'
``RwkvModel`` builds it (``models/rwkv/modeling_rwkv.py``): every block time mixing
(``RwkvSelfAttention``: token-shift mixes, key / value / receptance projections, the WKV
recurrence, the output projection) and channel mixing (``RwkvFeedForward``), each pre-normed with
a residual add (``RwkvBlock``). Held by :class:`cosamt.workload.models.ModelConfig`; its
operators are built by :mod:`cosamt.workload.rwkv_ops` (see ``docs/workloads.md``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from cosamt.limits import Width


class Rwkv(BaseModel):
    """The field of an RWKV block the generic ones do not give (``d_ff`` is the channel mix's
    key width, ``intermediate_size``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    attention_width: Width
    """Channels of the time mixing's key, value, receptance and WKV state
    (``attention_hidden_size``, the hidden size when not given)."""
