"""`cosamt schema`, `cosamt models`, `cosamt presets`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cosamt.cli.common import _check_solver, _load, _progress, err, out, user_errors  # noqa: F401
from cosamt.errors import InputError, Problem
from cosamt.types import FusionChoice, Objective  # noqa: F401


def schema(
    kind: Annotated[str, typer.Argument(help="instance, schedule or design")] = "instance",
) -> None:
    """Print the JSON Schema of instance (or schedule, or design spec) files."""
    from pydantic import BaseModel

    from cosamt.design.spec import DesignSpec
    from cosamt.io.instance import Instance
    from cosamt.schedule.file import ScheduleFile

    with user_errors():
        models: dict[str, type[BaseModel]] = {
            "instance": Instance,
            "schedule": ScheduleFile,
            "design": DesignSpec,
        }
        if kind not in models:
            raise InputError(
                "", [Problem("kind", f"expected 'instance', 'schedule' or 'design', got {kind!r}")]
            )
        print(json.dumps(models[kind].model_json_schema(), indent=1))


def models() -> None:
    """List the shipped model configurations."""
    from cosamt.workload.models import get_model, list_models

    for name in list_models():
        m = get_model(name)
        out.print(
            f"{name:14} layers={m.n_layers:3} d_model={m.d_model:5} heads={m.n_heads:3}/{m.kv_heads:<3} "
            f"d_ff={m.d_ff:6} {m.activation:7} {'decoder' if m.decoder else 'encoder'}",
            highlight=False,
        )


def presets() -> None:
    """List the shipped architecture presets."""
    from cosamt.arch.presets import list_presets, load_preset

    for name in list_presets():
        a = load_preset(name)
        levels = ", ".join(
            f"{lv.name}"
            + (
                f" {sum(c for _r, c in lv.capacity_groups(a.word_bytes)) * a.word_bytes // 1024} KiB"
                if lv.capacity_groups(a.word_bytes)
                else ""
            )
            for lv in a.levels
        )
        out.print(
            f"{name:8} {a.pe_array.rows.size}x{a.pe_array.cols.size} PEs @ {a.clock_ghz} GHz; {levels}",
            highlight=False,
        )
