"""The instance file: model + phase + batch + sequence length + architecture + options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cosamt.arch.spec import Architecture
from cosamt.errors import InputError, Problem, problems_from_pydantic
from cosamt.types import FusionChoice, Objective, Phase
from cosamt.workload.models import ModelConfig


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HFConfigRef(Frozen):
    hf_config: str
    """Path to a Hugging Face ``config.json`` on disk (relative to the instance file)."""
    name: str | None = None
    """Name to report (defaults to the file's model_type)."""


class Options(Frozen):
    objective: Objective = Objective.LATENCY
    """What the MIP minimises; ties are broken by the other metric (lexicographic)."""
    fusion: FusionChoice = FusionChoice.ALL
    """Fusion schemes the explorer may use."""
    time_limit_s: Annotated[float, Field(gt=0)] = 60.0
    """Wall-clock limit per MIP solve."""
    threads: Annotated[int, Field(gt=0, strict=True)] = 2
    """Solver threads."""
    mip_gap: Annotated[float, Field(ge=0)] = 0.0
    """Relative optimality gap at which the solver may stop (0 = proven optimal)."""
    double_buffering: bool = False
    """Reserve twice the tile footprint at every on-chip level (needed for full overlap)."""
    padding: bool = True
    """Allow padding awkward dimension sizes (197, 50257) to a nearby smoother size."""


class Instance(Frozen):
    """One scheduling problem."""

    model: Annotated[str, Field(min_length=1)] | ModelConfig | HFConfigRef
    """A shipped model name (``cosamt models``), an inline model config, or ``{"hf_config": PATH}``."""
    phase: Phase = Phase.PREFILL
    """``prefill`` (seq_len tokens) or ``decode`` (one token against a KV cache of seq_len)."""
    batch: Annotated[int, Field(gt=0, strict=True)] = 1
    """Batch size."""
    seq_len: Annotated[int, Field(gt=0, strict=True)]
    """Sequence length (prefill) or KV-cache length (decode)."""
    arch: Annotated[str, Field(min_length=1)] | Architecture
    """A preset name (``cosamt presets``) or an inline architecture."""
    options: Options = Options()
    """Solver and search options."""


def instance_json_schema() -> dict[str, Any]:
    return Instance.model_json_schema()


def read_json(path: Path) -> Any:
    """Read a JSON file, turning I/O and syntax errors into an InputError."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(str(path), [Problem("", f"cannot read file: {exc.strerror}")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            str(path), [Problem("", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]
        ) from None


def parse_instance(data: Any, source: str = "") -> Instance:
    if not isinstance(data, dict):
        raise InputError(source, [Problem("", f"expected a JSON object, got {type(data).__name__}")])
    try:
        return Instance.model_validate(data)
    except ValidationError as exc:
        raise InputError(source, _prune_union_noise(problems_from_pydantic(exc))) from None


def load_instance(path: Path) -> Instance:
    return parse_instance(read_json(path), str(path))


def _prune_union_noise(problems: list[Problem]) -> list[Problem]:
    """Pydantic reports every branch of ``str | Model``; keep the branch the user evidently meant."""
    out: list[Problem] = []
    for p in problems:
        parts = p.path.split(".")
        # Drop the "it is not a string" complaint when the user gave an object, and vice versa.
        if len(parts) >= 2 and parts[1] in ("str", "constrained-str"):
            continue
        out.append(Problem(".".join(x for x in parts if x not in _UNION_TAGS), p.message))
    return out or problems


_UNION_TAGS = {"ModelConfig", "HFConfigRef", "Architecture", "str", "constrained-str"}
