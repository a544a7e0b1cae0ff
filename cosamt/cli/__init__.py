"""The command line: a thin layer over library functions. Bad input -> one line per problem, exit 2.

One module per command (or pair of related commands); each is registered here."""

from __future__ import annotations

import typer

from cosamt.cli.arch import import_arch
from cosamt.cli.codegen import codegen_cmd
from cosamt.cli.compare import compare
from cosamt.cli.design import design
from cosamt.cli.evaluate import evaluate_cmd, export_cmd
from cosamt.cli.info import models, presets, schema
from cosamt.cli.solve import pareto, solve
from cosamt.cli.sweep import plot, sweep
from cosamt.cli.workload import workload

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Exact MIP scheduling of Transformer inference on spatial accelerators.",
)
app.command()(solve)
app.command("evaluate")(evaluate_cmd)
app.command("export")(export_cmd)
app.command("codegen")(codegen_cmd)
app.command()(schema)
app.command()(models)
app.command()(presets)
app.command()(pareto)
app.command("compare")(compare)
app.command()(sweep)
app.command()(plot)
app.command()(workload)
app.command()(design)
app.command("import-arch")(import_arch)
