"""The instance file: model + phase + batch + sequence length + architecture + options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from cosamt.arch.spec import Architecture, VectorUnit
from cosamt.errors import InputError, Problem, json_type, problems_from_pydantic
from cosamt.limits import Batch, Gap, Rate, SeqLen, Threads, TimeLimit, WordBytes
from cosamt.types import FusionChoice, Objective, Phase
from cosamt.workload.models import ModelConfig


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class HFConfigRef(Frozen):
    hf_config: str
    """Path to a Hugging Face ``config.json`` on disk (relative to the instance file)."""
    name: str | None = None
    """Name to report (defaults to the file's model_type)."""


class AccelForgeArchRef(Frozen):
    accelforge: str
    """Path to an AccelForge architecture YAML (``arch.nodes``; relative to the instance file),
    read by ``cosamt.export.accelforge_import``; what cosamt cannot model is refused by field."""
    word_bytes: WordBytes
    """Bytes per word (AccelForge keeps the width in the workload's ``bits_per_value``)."""
    clock_ghz: Rate
    """Clock frequency in GHz (AccelForge states none; latency is in cycles there)."""
    vector_unit: VectorUnit | None = None
    """The vector unit, unless the file has cosamt's exported one (a ``VectorUnit`` Fork)."""
    name: str | None = None
    """Name to report (defaults to the file's stem)."""
    description: str = ""
    """Where the numbers come from."""


class Options(Frozen):
    objective: Objective = Objective.LATENCY
    """What the MIP minimises; ties are broken by the other metric (lexicographic)."""
    fusion: FusionChoice = FusionChoice.EXPLORE
    """How the block is cut into fused groups. ``explore`` (the default): any contiguous run of a
    block's operators may be a group (cosamt/fusion/chain.py), the partition chosen exactly, never
    worse than ``all``; ``all``: the menu alone (FLAT/online attention, FFN chain, projection +
    epilogue; several times faster to solve); ``flat``, ``online``: attention fused by that scheme
    only; ``none``: every operator alone."""
    max_group: Annotated[int, Field(ge=1)] | None = None
    """With ``fusion: explore``: at most this many operators per group; null = any."""
    time_limit_s: TimeLimit = 60.0
    """Wall-clock limit per operator group (seconds, finite, > 0): every MIP the group needs (padding
    candidates, the tie-break stage, Pareto points) shares it. When it is reached the group keeps
    the best schedule found, with status feasible and its gap (or a tie-break that is not proven)."""
    solve_time_limit_s: TimeLimit | None = None
    """Wall-clock limit on the whole solve (every group of every fusion candidate); null = none.
    Each group gets at most the time left; once it is spent, the operators not yet solved get the
    labelled streaming schedule (status no_solution) and fused candidates not yet solved are
    skipped."""
    threads: Threads = 2
    """Solver threads per MIP."""
    jobs: Threads = 1
    """Groups solved at once, each in its own local process (so up to ``jobs`` x ``threads`` cores);
    1 solves them one after another in this process. HiGHS's branch and bound is mostly serial, so
    on two cores ``jobs: 2, threads: 1`` uses both."""
    mip_gap: Gap = 0.0
    """Relative optimality gap at which the solver may stop (0 = proven optimal)."""
    double_buffering: bool = False
    """Reserve twice the tile footprint at every on-chip level (needed for full overlap)."""
    padding: bool = True
    """Allow padding awkward dimension sizes (197, 50257) to a nearby smoother size."""
    lm_head: bool = False
    """Include the LM head (vocabulary projection: every token in prefill, one in decode) as its
    own operator, counted once per model."""


# ``model`` and ``arch`` are "a name or an object". The branch is chosen from the JSON type of the
# value (a callable discriminator), so a bad value is reported once, against the branch the user
# meant: a string only as a name, an object only field by field.
_NAME, _INLINE, _HF, _AF = "name", "inline", "hf_config", "accelforge"
_TAGS = {_NAME, _INLINE, _HF, _AF}
Name = Annotated[str, Field(min_length=1)]


def _model_branch(value: Any) -> str | None:
    if isinstance(value, str):
        return _NAME
    if isinstance(value, HFConfigRef) or (isinstance(value, dict) and "hf_config" in value):
        return _HF
    if isinstance(value, (dict, ModelConfig)):
        return _INLINE
    return None


def _arch_branch(value: Any) -> str | None:
    if isinstance(value, str):
        return _NAME
    if isinstance(value, AccelForgeArchRef) or (isinstance(value, dict) and "accelforge" in value):
        return _AF
    if isinstance(value, (dict, Architecture)):
        return _INLINE
    return None


ModelField = Annotated[
    Annotated[Name, Tag(_NAME)]
    | Annotated[ModelConfig, Tag(_INLINE)]
    | Annotated[HFConfigRef, Tag(_HF)],
    Discriminator(
        _model_branch,
        custom_error_type="model_choice",
        custom_error_message="expected a model name (string), an inline model object "
        'or {"hf_config": PATH}',
    ),
]
ArchField = Annotated[
    Annotated[Name, Tag(_NAME)]
    | Annotated[Architecture, Tag(_INLINE)]
    | Annotated[AccelForgeArchRef, Tag(_AF)],
    Discriminator(
        _arch_branch,
        custom_error_type="arch_choice",
        custom_error_message="expected a preset name (string), an inline architecture object "
        'or {"accelforge": PATH, "word_bytes": ..., "clock_ghz": ...}',
    ),
]


class Instance(Frozen):
    """One scheduling problem."""

    model: ModelField
    """A shipped model name (``cosamt models``), an inline model config, or ``{"hf_config": PATH}``."""
    phase: Phase = Phase.PREFILL
    """``prefill`` (seq_len tokens) or ``decode`` (one token against a KV cache of seq_len)."""
    batch: Batch = 1
    """Batch size. With seq_len and the model's widths it must keep every operator's iteration
    space at most 2**64 (cosamt.limits)."""
    seq_len: SeqLen
    """Sequence length (prefill) or KV-cache length (decode); the same 2**64 limit applies."""
    arch: ArchField
    """A preset name (``cosamt presets``), an inline architecture, or an AccelForge arch YAML
    (``{"accelforge": PATH, "word_bytes": 2, "clock_ghz": 1.0}``)."""
    options: Options = Options()
    """Solver and search options."""


def read_text(path: Path) -> str:
    """Read a UTF-8 text file, turning I/O and encoding errors into an InputError."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            str(path), [Problem("", f"cannot read file: {exc.strerror or exc}")]
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            str(path), [Problem("", f"not a UTF-8 text file (byte {exc.start})")]
        ) from None


def read_json(path: Path) -> Any:
    """Read a JSON file, turning I/O, encoding and syntax errors into an InputError."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            str(path),
            [Problem("", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")],
        ) from None
    except RecursionError:
        raise InputError(str(path), [Problem("", "malformed JSON: nested too deeply")]) from None


def parse_instance(data: Any, source: str = "") -> Instance:
    """Validate a decoded instance; every problem is reported at once as an :class:`InputError`."""
    if not isinstance(data, dict):
        raise InputError(source, [Problem("", f"expected a JSON object, got {json_type(data)}")])
    try:
        return Instance.model_validate(data)
    except ValidationError as exc:
        raise InputError(source, problems_from_pydantic(exc, strip=_strip_branch_tags)) from None


def load_instance(path: Path) -> Instance:
    return parse_instance(read_json(path), str(path))


def _strip_branch_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the union-branch tag pydantic puts after ``model`` / ``arch`` in error locations."""
    if len(loc) >= 2 and loc[0] in ("model", "arch") and loc[1] in _TAGS:
        return (loc[0], *loc[2:])
    return loc


def _relative(path: str, base_dir: Path | None) -> Path:
    p = Path(path)
    return base_dir / p if base_dir is not None and not p.is_absolute() else p


def accelforge_arch_path(instance: Instance, base_dir: Path | None = None) -> Path | None:
    """Where the instance's ``{"accelforge": PATH}`` points (relative paths from ``base_dir``)."""
    if not isinstance(instance.arch, AccelForgeArchRef):
        return None
    return _relative(instance.arch.accelforge, base_dir)


def hf_config_path(instance: Instance, base_dir: Path | None = None) -> Path | None:
    """Where the instance's ``{"hf_config": PATH}`` points (relative paths from ``base_dir``)."""
    if not isinstance(instance.model, HFConfigRef):
        return None
    return _relative(instance.model.hf_config, base_dir)


def reference_problems(instance: Instance, base_dir: Path | None = None) -> list[Problem]:
    """Every name or file the instance refers to that does not exist: model, preset, hf_config."""
    from cosamt.arch.presets import list_presets
    from cosamt.workload.models import list_models

    problems: list[Problem] = []
    if isinstance(instance.model, str) and instance.model not in (known := list_models()):
        problems.append(
            Problem("model", f"unknown model {instance.model!r}; known: {', '.join(known)}")
        )
    hf = hf_config_path(instance, base_dir)
    if hf is not None and not hf.is_file():
        why = "no such file" if not hf.exists() else "not a file"
        problems.append(
            Problem("model.hf_config", f"cannot read Hugging Face config {str(hf)!r}: {why}")
        )
    af = accelforge_arch_path(instance, base_dir)
    if af is not None and not af.is_file():
        why = "no such file" if not af.exists() else "not a file"
        problems.append(
            Problem("arch.accelforge", f"cannot read AccelForge arch {str(af)!r}: {why}")
        )
    if isinstance(instance.arch, str) and instance.arch not in (presets := list_presets()):
        problems.append(
            Problem("arch", f"unknown preset {instance.arch!r}; known: {', '.join(presets)}")
        )
    return problems
