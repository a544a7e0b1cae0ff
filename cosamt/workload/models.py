"""Transformer model configurations: shipped ones and Hugging Face ``config.json`` files on disk.

A :class:`ModelConfig` holds only what shapes the operators of one Transformer block (see
:mod:`cosamt.workload.transformer`); embeddings, the LM head and positional encodings are not
modelled.
Shipped configs live in ``cosamt/workload/models/<name>.json``, each with a ``source`` citation.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cosamt.errors import InputError, Problem, problems_from_pydantic

PositiveInt = Annotated[int, Field(gt=0, strict=True)]

Activation = Literal["gelu", "relu", "swiglu"]
Norm = Literal["layernorm", "rmsnorm"]


class ModelConfig(BaseModel):
    """The shape of a Transformer: everything the per-block operators depend on."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str
    """Model name, used in reports."""
    n_layers: PositiveInt
    """Number of identical Transformer blocks."""
    d_model: PositiveInt
    """Hidden (residual stream) width."""
    n_heads: PositiveInt
    """Number of query (attention) heads."""
    n_kv_heads: PositiveInt | None = None
    """Number of key/value heads (grouped-query attention); ``None`` means ``n_heads`` (MHA). Must
    divide ``n_heads``."""
    head_dim: PositiveInt | None = None
    """Per-head feature size; ``None`` means ``d_model // n_heads`` (then ``n_heads`` must divide
    ``d_model``)."""
    d_ff: PositiveInt
    """Inner width of the feed-forward network (of each of the gate/up GEMMs for SwiGLU)."""
    activation: Activation = "gelu"
    """FFN activation: ``gelu`` / ``relu`` (one up-projection) or ``swiglu`` (gate and up
    projections)."""
    norm: Norm = "layernorm"
    """Normalisation after each residual add: ``layernorm`` or ``rmsnorm``."""
    decoder: bool = True
    """Causal decoder (GPT, Llama): the decode phase is allowed only if true."""
    default_seq_len: PositiveInt | None = None
    """Sequence length used when an instance gives none (e.g. ViT's fixed token count)."""
    source: str = ""
    """Where the numbers come from: paper, Hugging Face model card or config file."""

    @model_validator(mode="after")
    def _check_heads(self) -> ModelConfig:
        if self.n_kv_heads is not None and self.n_heads % self.n_kv_heads != 0:
            raise ValueError(f"n_kv_heads ({self.n_kv_heads}) must divide n_heads ({self.n_heads})")
        if self.head_dim is None and self.d_model % self.n_heads != 0:
            raise ValueError(
                f"n_heads ({self.n_heads}) must divide d_model ({self.d_model}) "
                "unless head_dim is given"
            )
        return self

    @property
    def kv_heads(self) -> int:
        """Number of key/value heads (``n_heads`` for multi-head attention)."""
        return self.n_kv_heads if self.n_kv_heads is not None else self.n_heads

    @property
    def dh(self) -> int:
        """Head dimension."""
        return self.head_dim if self.head_dim is not None else self.d_model // self.n_heads


# ---- shipped configs --------------------------------------------------------------------------


def _models_dir() -> Any:
    return resources.files("cosamt.workload").joinpath("models")


def list_models() -> list[str]:
    """Names of the shipped model configs, sorted."""
    return sorted(
        entry.name.removesuffix(".json")
        for entry in _models_dir().iterdir()
        if entry.name.endswith(".json")
    )


def get_model(name: str) -> ModelConfig:
    """A shipped model config by name; :class:`InputError` if there is none of that name."""
    known = list_models()
    if name not in known:
        raise InputError(
            "", [Problem("model", f"unknown model {name!r}; known: {', '.join(known)}")]
        )
    entry = _models_dir().joinpath(f"{name}.json")
    data = json.loads(entry.read_text(encoding="utf-8"))
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as exc:  # a broken shipped file: still report it as an input problem
        raise InputError(f"models/{name}.json", problems_from_pydantic(exc)) from exc


# ---- Hugging Face config.json -----------------------------------------------------------------

_PREFIX = "hf_config"

# Hugging Face ``hidden_act`` / ``activation_function`` values for non-gated FFNs.
_PLAIN_ACTS: dict[str, Activation] = {
    "gelu": "gelu",
    "gelu_new": "gelu",
    "gelu_fast": "gelu",
    "gelu_pytorch_tanh": "gelu",
    "gelu_python": "gelu",
    "quick_gelu": "gelu",
    "relu": "relu",
}
# Gated FFNs (Llama/Mistral): SiLU-gated is SwiGLU.
_GATED_ACTS: dict[str, Activation] = {"silu": "swiglu", "swish": "swiglu"}


class _Reader:
    """Typed access to a config.json dict that records every problem with its JSON path."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.problems: list[Problem] = []

    def int_(self, key: str, *, required: bool = True) -> int | None:
        if key not in self.data or self.data[key] is None:
            if required:
                self.problems.append(Problem(f"{_PREFIX}.{key}", "required key missing"))
            return None
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problems.append(
                Problem(f"{_PREFIX}.{key}", f"must be a positive integer (got {value!r})")
            )
            return None
        return value

    def act(self, key: str, table: dict[str, Activation], default: str | None = None) -> Activation:
        value = self.data.get(key, default)
        if value is None:
            self.problems.append(Problem(f"{_PREFIX}.{key}", "required key missing"))
            return "gelu"
        if not isinstance(value, str) or value not in table:
            self.problems.append(
                Problem(
                    f"{_PREFIX}.{key}",
                    f"unsupported activation {value!r}; supported: {', '.join(sorted(table))}",
                )
            )
            return "gelu"
        return table[value]


def _map_gpt2(r: _Reader) -> dict[str, Any]:
    d_model = r.int_("n_embd")
    n_inner = r.int_("n_inner", required=False)
    return {
        "n_layers": r.int_("n_layer"),
        "d_model": d_model,
        "n_heads": r.int_("n_head"),
        "d_ff": n_inner if n_inner is not None else (4 * d_model if d_model else None),
        "activation": r.act("activation_function", _PLAIN_ACTS, default="gelu_new"),
        "norm": "layernorm",
        "decoder": True,
    }


def _map_bert(r: _Reader) -> dict[str, Any]:
    return {
        "n_layers": r.int_("num_hidden_layers"),
        "d_model": r.int_("hidden_size"),
        "n_heads": r.int_("num_attention_heads"),
        "d_ff": r.int_("intermediate_size"),
        "activation": r.act("hidden_act", _PLAIN_ACTS),
        "norm": "layernorm",
        "decoder": False,
    }


def _map_llama(r: _Reader) -> dict[str, Any]:
    return {
        "n_layers": r.int_("num_hidden_layers"),
        "d_model": r.int_("hidden_size"),
        "n_heads": r.int_("num_attention_heads"),
        "n_kv_heads": r.int_("num_key_value_heads", required=False),
        "head_dim": r.int_("head_dim", required=False),
        "d_ff": r.int_("intermediate_size"),
        "activation": r.act("hidden_act", _GATED_ACTS, default="silu"),
        "norm": "rmsnorm",
        "decoder": True,
    }


def _map_vit(r: _Reader) -> dict[str, Any]:
    image = r.int_("image_size")
    patch = r.int_("patch_size")
    seq = (image // patch) ** 2 + 1 if image and patch else None  # patches + the CLS token
    if image and patch and image < patch:
        r.problems.append(Problem(f"{_PREFIX}.patch_size", "larger than image_size"))
    return {
        "n_layers": r.int_("num_hidden_layers"),
        "d_model": r.int_("hidden_size"),
        "n_heads": r.int_("num_attention_heads"),
        "d_ff": r.int_("intermediate_size"),
        "activation": r.act("hidden_act", _PLAIN_ACTS),
        "norm": "layernorm",
        "decoder": False,
        "default_seq_len": seq,
    }


_MAPPERS = {
    "gpt2": _map_gpt2,
    "bert": _map_bert,
    "llama": _map_llama,
    "mistral": _map_llama,
    "vit": _map_vit,
}


def load_hf_config(path: Path, name: str | None = None) -> ModelConfig:
    """Map a Hugging Face ``config.json`` on disk (no network) to a :class:`ModelConfig`.

    Supported ``model_type`` values: ``gpt2``, ``bert``, ``llama``, ``mistral``, ``vit``. Every
    problem (unreadable file, malformed JSON, unknown model type, missing or bad keys) raises
    :class:`InputError` with paths such as ``hf_config.hidden_size``.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(source, [Problem(_PREFIX, f"cannot read file: {exc.strerror}")]) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            source, [Problem(_PREFIX, f"malformed JSON: {exc.msg} (line {exc.lineno})")]
        ) from exc
    if not isinstance(data, dict):
        raise InputError(source, [Problem(_PREFIX, "must be a JSON object")])
    model_type = data.get("model_type")
    if model_type is None:
        raise InputError(source, [Problem(f"{_PREFIX}.model_type", "required key missing")])
    if model_type not in _MAPPERS:
        raise InputError(
            source,
            [
                Problem(
                    f"{_PREFIX}.model_type",
                    f"unsupported model_type {model_type!r}; supported: {', '.join(_MAPPERS)}",
                )
            ],
        )
    reader = _Reader(data)
    fields = _MAPPERS[model_type](reader)
    if reader.problems:
        raise InputError(source, reader.problems)
    fields = {k: v for k, v in fields.items() if v is not None}
    fields["name"] = name or str(model_type)
    fields["source"] = f"Hugging Face config.json ({model_type}) at {path}"
    try:
        return ModelConfig.model_validate(fields)
    except ValidationError as exc:
        raise InputError(source, problems_from_pydantic(exc, _PREFIX)) from exc
