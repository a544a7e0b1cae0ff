"""`cosamt workload`: what the model of an instance became (block types, operators, assumptions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cosamt.cli.common import load, out, user_errors


def workload(
    instance: Annotated[Path, typer.Argument(help="Instance JSON file.")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of text.")
    ] = False,
    seq_len: Annotated[int | None, typer.Option(help="Override the sequence length.")] = None,
    batch: Annotated[int | None, typer.Option(help="Override the batch size.")] = None,
) -> None:
    """Show the operators of every block type with dimensions, MACs, tensors, layer counts and the
    assumptions made."""
    from cosamt.workload.report import workload_for, workload_json, workload_lines

    with user_errors():
        resolved = load(instance, seq_len=seq_len, batch=batch)
        inst = resolved.instance
        w = workload_for(resolved.model, inst.phase, inst.batch, inst.seq_len, inst.options.lm_head)
    if json_out:
        print(json.dumps(workload_json(w), indent=1))
        return
    for line in workload_lines(w):
        out.print(line, highlight=False, markup=False)
