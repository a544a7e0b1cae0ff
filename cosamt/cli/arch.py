"""`cosamt import-arch`: an AccelForge architecture YAML as a cosamt architecture JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cosamt.cli.common import user_errors


def import_arch(
    path: Annotated[Path, typer.Argument(help="AccelForge arch YAML (arch.nodes).")],
    word_bytes: Annotated[
        int, typer.Option("--word-bytes", help="Bytes per word (AccelForge's bits_per_value / 8).")
    ],
    clock_ghz: Annotated[float, typer.Option("--clock-ghz", help="Clock in GHz.")],
    vector_lanes: Annotated[
        int | None,
        typer.Option("--vector-lanes", help="Vector unit lanes (unless the file has one)."),
    ] = None,
    vector_energy: Annotated[
        float | None,
        typer.Option("--vector-energy", help="Vector unit pJ per operation (with --vector-lanes)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Architecture name.")] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON here instead of stdout.")
    ] = None,
) -> None:
    """Read an AccelForge architecture (the format `cosamt export` writes) as a cosamt
    architecture; what cosamt cannot model is refused naming the node and field, and what it reads
    differently (keep as may-keep, the operand latch) is listed on stderr. The same file also works
    in an instance: {"arch": {"accelforge": PATH, "word_bytes": 2, "clock_ghz": 1.0}}."""
    from cosamt.api import import_accelforge_arch

    with user_errors():
        imported = import_accelforge_arch(
            path,
            word_bytes=word_bytes,
            clock_ghz=clock_ghz,
            vector_lanes=vector_lanes,
            vector_energy=vector_energy,
            name=name,
        )
        for note in imported.notes:
            print(f"note: {note}", file=sys.stderr)
        text = json.dumps(imported.arch.model_dump(mode="json"), indent=1) + "\n"
        if out_file is None:
            sys.stdout.write(text)
        else:
            out_file.write_text(text, encoding="utf-8")
