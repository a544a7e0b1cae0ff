"""`cosamt schema`, `cosamt models`, `cosamt presets`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cosamt.arch.spec import Architecture, MemoryLevel
from cosamt.cli.common import out, user_errors
from cosamt.errors import InputError, Problem


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
            f"d_ff={m.d_ff:6} {m.activation:7} {_kind(m)}",
            highlight=False,
        )


def _kind(m: Any) -> str:
    kind = "encoder-decoder" if m.encoder_decoder else "decoder" if m.decoder else "encoder"
    extras = [f"MoE {m.n_experts}x top-{m.experts_per_token}"] if m.moe else []
    extras += ["parallel"] if m.parallel else []
    extras += [f"window {m.sliding_window}"] if m.sliding_window else []
    return " ".join([kind, *extras])


def presets() -> None:
    """List the shipped architecture presets."""
    from cosamt.arch.presets import list_presets, load_preset
    from cosamt.report.solve_table import table

    t = table(
        "architecture presets (memory levels innermost first; capacities in bytes)",
        ["preset", "spatial", "clock", "word", "memory levels"],
    )
    t.columns[-1].justify = "left"
    for name in list_presets():
        a = load_preset(name)
        t.add_row(
            name,
            spatial_summary(a),
            f"{a.clock_ghz:g} GHz",
            f"{a.word_bytes} B",
            ", ".join(
                level_summary(lv, a.word_bytes, copies(a, i)) for i, lv in enumerate(a.levels)
            ),
        )
    out.print(t, highlight=False)


def spatial_summary(arch: Architecture) -> str:
    """``16x64 PEs``; with fan-outs above the PE array, outermost first:
    ``36 (chip) below DRAM x 4x4 PEs``."""
    pe = arch.pe_array
    inner = f"{pe.rows.size}x{pe.cols.size} PEs"
    outer = [
        f"{'x'.join(str(ax.size) for ax in f.axes.values())} ({'x'.join(f.axes)}) below {f.below}"
        for f in reversed(arch.fanouts)
    ]
    return " x ".join([*outer, inner])


def copies(arch: Architecture, level: int) -> str:
    """How many of a level the machine has, for the table: per PE, per fan-out instance, or ''."""
    if arch.is_private(level):
        return " per PE"
    n = arch.max_instances(level)
    return f" each (x{n})" if n > 1 else ""


def level_summary(level: MemoryLevel, word_bytes: int, copies: str = "") -> str:
    """``GlobalBuffer 512 KiB``; a private level says per PE (a replicated one how many copies)
    and lists its partitions; a level without a capacity (DRAM) is named alone."""
    from cosamt.report import units

    groups = level.capacity_groups(word_bytes)
    if not groups:
        return level.name
    total = units.nbytes(sum(buf.words for buf in groups) * word_bytes)
    if len(groups) == 1:
        return f"{level.name} {total}{copies}"
    parts = " + ".join(f"{buf.label} {units.nbytes(buf.words * word_bytes)}" for buf in groups)
    return f"{level.name} {total} ({parts}){copies}"
