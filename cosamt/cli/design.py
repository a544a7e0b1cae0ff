"""`cosamt design`: the provably best accelerator of a declared space for a weighted workload mix."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cosamt.cli.common import err, out, user_errors
from cosamt.errors import InputError, Problem


def _writable(path: Path | None, flag: str) -> None:
    if path is not None and not path.parent.is_dir():
        raise InputError("", [Problem(flag, f"directory {str(path.parent)!r} does not exist")])


def design(
    spec_file: Annotated[
        Path, typer.Argument(help="Design spec JSON file (`cosamt schema design`).")
    ],
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out_arch: Annotated[
        Path | None,
        typer.Option("--out-arch", help="Write the best design as an inline architecture JSON."),
    ] = None,
    compare_flag: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Also run random sampling and a genetic algorithm at the same design count and "
            "wall time, and the shipped presets (cold caches).",
        ),
    ] = False,
    jobs: Annotated[int | None, typer.Option(help="Design points in parallel processes.")] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="Cache folder: solved groups and design points, reused on a rerun."),
    ] = None,
    seeds: Annotated[int, typer.Option(help="Seeds per baseline with --compare.")] = 3,
) -> None:
    """Search the spec's design space exactly: bound, prune, solve the survivors to optimality."""
    from cosamt.design.report import print_search, search_json
    from cosamt.design.spec import load_design

    with user_errors():
        spec = load_design(spec_file)
        if jobs is not None and jobs < 1:
            raise InputError("", [Problem("--jobs", f"expected a positive integer, got {jobs}")])
        if seeds < 1:
            raise InputError("", [Problem("--seeds", f"expected a positive integer, got {seeds}")])
        _writable(out_arch, "--out-arch")
        if compare_flag:
            _compare(spec, jobs, seeds, json_out)
            return
        from cosamt.design.search import search

        progress = _progress() if not json_out and sys.stderr.isatty() else None
        result = search(spec, cache, progress, jobs)
        data = search_json(result)
        if out_arch is not None and data["best"] is not None:
            try:
                out_arch.write_text(json.dumps(data["best"]["arch"], indent=1) + "\n", "utf-8")
            except OSError as exc:
                raise InputError(
                    "", [Problem("--out-arch", f"cannot write {out_arch}: {exc.strerror}")]
                ) from None
    if json_out:
        print(json.dumps(data, indent=1))
        return
    print_search(result, out)
    if out_arch is not None and data["best"] is None:
        err.print(f"no design fits the budget: {out_arch} not written")
    elif out_arch is not None:
        out.print(f'architecture written to {out_arch} (use it as an instance\'s inline "arch")')


def _compare(spec: object, jobs: int | None, seeds: int, json_out: bool) -> None:
    from cosamt.design.compare import compare, comparison_json
    from cosamt.design.spec import DesignSpec

    assert isinstance(spec, DesignSpec)
    data = comparison_json(compare(spec, tuple(range(seeds)), jobs))
    if json_out:
        print(json.dumps(data, indent=1))
        return
    ex = data["exact"]
    unit = ex["objective_unit"]
    best = ex["best"]
    out.print(
        f"exact: {ex['status']}, {best['label'] if best else 'none'} "
        f"{best['objective_value'] if best else float('nan'):.5g} {unit}; "
        f"{ex['evaluated_designs']} designs solved in {ex['seconds']:.1f} s"
    )
    for method, runs in data["methods"].items():
        for r in runs:
            d, t = r["equal_designs"], r["equal_time"]
            out.print(
                f"{method} seed {r['seed']}: equal designs {_ratio(d)}, equal time {_ratio(t)} "
                f"({r['evaluated']} designs in {r['seconds']:.1f} s)"
            )
    for p in data["traditional"]:
        budget = "within budget" if p["within_budget"] else "outside the budget"
        out.print(f"preset {p['preset']}: area {p['area_mm2']:.4g} mm^2 ({budget}), {_ratio(p)}")


def _ratio(s: dict[str, object]) -> str:
    r = s.get("ratio_to_exact")
    return "no design" if r is None else f"{r:.3f}x the exact best"


def _progress():  # type: ignore[no-untyped-def]
    def show(done: int, total: int, message: str) -> None:
        err.print(f"[{done}/{total}] {message}", highlight=False)

    return show
