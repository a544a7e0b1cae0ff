"""Families whose blocks add small structures to a plain Transformer block, read from their
modelling code in transformers 5.24 (``src/transformers/models/<type>/modeling_<type>.py``):

* ``bitnet`` (``BitNetAttention``, ``BitNetMLP``): the gated FFN of ``hidden_act`` relu2
  (``relu2glu``) and the sub-norms before ``o_proj`` and ``down_proj`` (``sub_norms``).

Anything these readers cannot model is refused naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosamt.workload.hf import _Reader

TYPES = frozenset({"bitnet"})
# Config keys the generic reader refuses that these families' readers take.
READ_KEYS: dict[str, frozenset[str]] = {}


def normalise(data: dict[str, Any], model_type: str) -> dict[str, Any]:
    """A family's fields under the generic names the reader looks for."""
    return data


def fields(r: _Reader, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """A family's add-ons and corrections to the generic fields ``base``."""
    if model_type == "bitnet":
        return _bitnet(r, base)
    return {}


def _bitnet(r: _Reader, base: dict[str, Any]) -> dict[str, Any]:
    """BitNetMLP: down_proj(ffn_sub_norm(act(gate_proj(x)) * up_proj(x))); BitNetAttention:
    o_proj(attn_sub_norm(attention)). Both norms are RMSNorms (BitNetRMSNorm)."""
    heads, dh, d = base.get("n_heads"), base.get("head_dim"), base.get("d_model")
    if heads and d and (dh or d // heads) * heads != d:
        r.refuse("head_dim", "attn_sub_norm is hidden_size wide: heads x head_dim must equal it")
    r.assumed.append(
        "bitnet: the projections as the modelling code's nn.Linear (a checkpoint's ternary "
        "weight quantisation is not modelled: ordinary MACs)"
    )
    return {"sub_norms": True}
