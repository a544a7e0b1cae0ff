"""Regenerate the README's figures under ``results/figures/`` (small runs, one solver thread).

    python scripts/make_figures.py [--out results/figures] [--jobs 1]

* ``gpt2_sweep.csv``: GPT-2 prefill, 128 ... 2048 tokens, on edge, mobile and cloud; drawn as
  ``latency_vs_seq_len.png``, ``energy_vs_seq_len.png`` and ``bound_gap.png``;
* ``gpt2_presets.csv``: GPT-2 prefill at 1024 tokens on every shipped preset; drawn as
  ``roofline.png`` (one panel per preset);
* ``compare.png`` from ``results/compare/gpt2_cloud.csv`` (``cosamt compare --csv``).

``figures.json`` records the points, wall seconds and package versions. Solved groups are cached
in a temporary folder, so every run solves from scratch.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from matplotlib.figure import Figure

from cosamt.arch.presets import list_presets
from cosamt.io.instance import parse_instance
from cosamt.report.plots import (
    DPI,
    bound_gap,
    compare_bars,
    metric_vs_seq_len,
    read_results,
    roofline,
)
from cosamt.sweep.run import RunOptions, run_sweep
from cosamt.sweep.spec import SweepSpec, expand
from cosamt.sweep.store import open_store

ROOT = Path(__file__).resolve().parent.parent
SEQ_LENS = (128, 256, 512, 1024, 2048)
SWEEP_PRESETS = ("edge", "mobile", "cloud")
ROOFLINE_SEQ_LEN = 1024


def sweep(path: Path, seq_lens: tuple[int, ...], presets: tuple[str, ...], jobs: int) -> float:
    """Run one GPT-2 sweep into ``path`` (replaced); its wall seconds."""
    base = parse_instance({"model": "gpt2", "seq_len": seq_lens[0], "arch": presets[0]})
    points = expand(SweepSpec(base, seq_lens, presets=presets))
    path.unlink(missing_ok=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        options = RunOptions(jobs=jobs, cache_dir=Path(cache), settings=(("threads", 1),))
        run_sweep(
            points,
            open_store(path, resume=False),
            options,
            progress=lambda done, total: print(f"{path.name}: {done}/{total} points", flush=True),
        )
    return time.perf_counter() - start


def save(fig: Figure, path: Path) -> None:
    fig.savefig(path, dpi=DPI)
    print(f"wrote {path}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "figures")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--compare", type=Path, default=ROOT / "results" / "compare" / "gpt2_cloud.csv")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sweep_csv, presets_csv = args.out / "gpt2_sweep.csv", args.out / "gpt2_presets.csv"
    presets = tuple(list_presets())
    walls = {
        sweep_csv.name: sweep(sweep_csv, SEQ_LENS, SWEEP_PRESETS, args.jobs),
        presets_csv.name: sweep(presets_csv, (ROOFLINE_SEQ_LEN,), presets, args.jobs),
    }
    rows = read_results(sweep_csv)
    save(metric_vs_seq_len(rows, "latency_cycles"), args.out / "latency_vs_seq_len.png")
    save(metric_vs_seq_len(rows, "energy_pj"), args.out / "energy_vs_seq_len.png")
    save(bound_gap(rows), args.out / "bound_gap.png")
    save(roofline(read_results(presets_csv)), args.out / "roofline.png")
    save(compare_bars(read_results(args.compare)), args.out / "compare.png")
    record = {
        "sweep": {"model": "gpt2", "seq_lens": SEQ_LENS, "presets": SWEEP_PRESETS},
        "roofline": {"model": "gpt2", "seq_len": ROOFLINE_SEQ_LEN, "presets": presets},
        "compare": str(args.compare.relative_to(ROOT))
        if args.compare.is_relative_to(ROOT)
        else str(args.compare),
        "wall_seconds": walls,
        "jobs": args.jobs,
        "threads": 1,
        "versions": {
            "python": platform.python_version(),
            **{p: version(p) for p in ("cosamt", "highspy", "pyomo", "matplotlib", "pandas")},
        },
    }
    (args.out / "figures.json").write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
