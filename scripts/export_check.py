"""Every shipped instance through ``cosamt solve``, ``cosamt export`` and AccelForge: does AccelForge
evaluate each exported group with cosamt's energy, and with the sum of its members' latencies?

    python scripts/export_check.py [--seq-len 64] [--accelforge-python PATH] [--out results/peers]
    python scripts/export_check.py --arch eyeriss tpuv1 [--one-width] [--fusion none] --out DIR

Runs the CLI as a user would (solve --out, evaluate --json, export --out), then AccelForge's
evaluator on each group folder through ``scripts/peers/accelforge_runner.py`` (its interpreter
from ``--accelforge-python`` or ``$COSAMT_ACCELFORGE_PYTHON``, default ``/tmp/peers/af/bin/python``).
Writes export_check.json and export_check.md: per group, the relative energy difference, the
relative difference between AccelForge's latency and cosamt's members in sequence, cosamt's own
(pipelined) latency, and AccelForge's error where it rejects a mapping.

With ``--arch``, every shipped model (one instance per distinct model, phase and batch at the
``--seq-len`` override) runs on each named preset instead of its own architecture. With
``--one-width`` also, for a preset with its own word widths, the preset with every level's
``role_bytes`` dropped, as an inline architecture named ``<preset>_one_width``: AccelForge's word
widths are per tensor, not per tensor and level, so the export refuses a preset with its own
widths (tpuv1's 32-bit accumulators). ``--fusion none`` solves every operator alone: the export
refuses a fused group whose intermediate sits in two partitions of a level (cosamt counts it in
both, AccelForge places it in one).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cosamt.api import load_resolved
from cosamt.arch.presets import load_preset
from cosamt.arch.spec import RoleBytes
from cosamt.export.accelforge import spec_folder

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "scripts" / "peers" / "accelforge_runner.py"


def cosamt(*args: str) -> str:
    # the console script installed beside this interpreter, as a user runs it
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "cosamt"), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"cosamt {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def tokens(instance: Path, seq_len: int) -> list[str]:
    """The ``--seq-len`` override, except for a vision transformer: its token count is fixed by
    its image and patch size (ViT-B/16 at 224: 197), so it runs at its own."""
    resolved = load_resolved(instance)
    return [] if resolved.model.image_tokens else ["--seq-len", str(seq_len)]


def check_instance(
    instance: Path,
    seq_len: int,
    python: str,
    work: Path,
    label: str | None = None,
    threads: int | None = None,
    fusion: str | None = None,
) -> list[dict[str, Any]]:
    """``label`` names the run in the rows (the instance's stem by default); ``threads`` and
    ``fusion`` override the instance's solver threads and the fusion schemes solve may use."""
    label = label or instance.stem
    sched, folder = work / f"{label}.schedule.json", work / label
    n = tokens(instance, seq_len)
    solver = [] if threads is None else ["--threads", str(threads)]
    solver += [] if fusion is None else ["--fusion", fusion]
    cosamt("solve", str(instance), *n, *solver, "--out", str(sched))
    report = json.loads(cosamt("evaluate", str(instance), str(sched), *n, "--json"))
    try:
        notes = cosamt("export", str(instance), str(sched), *n, "--out", str(folder))
    except RuntimeError as exc:  # the export refuses a group (a padded mapping, say): say which
        reason = str(exc).strip().splitlines()[-1].removeprefix("error: ")
        return [{"instance": label, "group": "(all)", "fusion": "", "export_error": reason}]
    rows = []
    for g in report["groups"]:
        members = g.get("members", [g])
        sequential = sum(m["latency_cycles"] for m in members)
        row: dict[str, Any] = {
            "instance": label,
            "group": g["name"],
            "fusion": g["fusion"],
            "cosamt_latency_cycles": g["latency_cycles"],
            "cosamt_sequential_latency_cycles": sequential,
            "cosamt_energy_pj": g["energy_pj"],
            "in_place_note": any(f"in place ({op})" in notes for op in g["operators"]),
            # the export's own warning that AccelForge will count more refills (a storage node
            # it cannot place where the reuse rule puts it)
            "approximated": any(
                f"({op}): its storage node cannot" in " ".join(notes.split())
                for op in g["operators"]
            ),
        }
        proc = subprocess.run(
            [python, str(RUNNER), str(folder / spec_folder(g["name"])), "evaluate", "2"],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode:
            row["accelforge_error"] = proc.stderr.strip().splitlines()[-1]
        else:
            af = json.loads(proc.stdout.strip().splitlines()[-1])
            row |= {
                "accelforge_latency_cycles": af["latency_cycles"],
                "accelforge_energy_pj": af["energy_pj"],
                "energy_rel_diff": abs(af["energy_pj"] - g["energy_pj"]) / g["energy_pj"],
                "sequential_latency_rel_diff": abs(af["latency_cycles"] - sequential) / sequential,
            }
        rows.append(row)
    return rows


def one_width(name: str) -> dict[str, Any]:
    """The preset at one word width everywhere, as an inline architecture."""
    arch = load_preset(name)
    levels = tuple(lv.model_copy(update={"role_bytes": RoleBytes()}) for lv in arch.levels)
    data: dict[str, Any] = arch.model_copy(update={"levels": levels}).model_dump(mode="json")
    return {**data, "name": f"{name}_one_width"}


def distinct_models(paths: list[Path]) -> list[Path]:
    """One instance per distinct workload at the ``--seq-len`` override (model, phase, batch:
    flat_bert_cloud and flat_bert_edge differ only in their sequence length, a vision model's is
    its own): on another preset, instances that differ only in their architecture are one run."""
    seen: dict[str, Path] = {}
    for path in paths:
        data = json.loads(path.read_text())
        key = json.dumps([data.get(k) for k in ("model", "phase", "batch")])
        seen.setdefault(key, path)
    return list(seen.values())


def on_presets(
    paths: list[Path], presets: list[str], with_one_width: bool, work: Path
) -> Iterator[tuple[Path, str]]:
    """(instance file, label) per model and preset (and its one-width variant), written to
    ``work`` with the instance's own workload and options."""
    for name in presets:
        archs: list[tuple[str, Any]] = [(name, name)]
        if with_one_width and load_preset(name).mixed_widths:
            archs.append((f"{name}_one_width", one_width(name)))
        for label_arch, arch in archs:
            for path in distinct_models(paths):
                data = {**json.loads(path.read_text()), "arch": arch}
                label = f"{data['model']}_{data.get('phase', 'prefill')}@{label_arch}"
                target = work / f"{path.stem}@{label_arch}.json"
                target.write_text(json.dumps(data))
                yield target, label


def markdown(rows: list[dict[str, Any]], seq_len: int) -> str:
    lines = [
        f"# cosamt export → AccelForge, every shipped instance at {seq_len} tokens (vision models at their own)",
        "",
        "| instance | group | fusion | energy rel. diff | latency vs members in sequence | "
        "cosamt latency (pipelined) / AccelForge | AccelForge |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        if "export_error" in r:
            lines.append(f"| {r['instance']} | (all) | | | | | not exported: {r['export_error']} |")
            continue
        if "accelforge_error" in r:
            lines.append(
                f"| {r['instance']} | {r['group']} | {r['fusion']} | | | | rejects: "
                f"{r['accelforge_error'][:120]}"
                f"{' (cosamt writes an output in place of its input)' if r['in_place_note'] else ''} |"
            )
            continue
        lines.append(
            f"| {r['instance']} | {r['group']} | {r['fusion']} | {r['energy_rel_diff']:.1e} | "
            f"{r['sequential_latency_rel_diff']:.1e} | "
            f"{r['cosamt_latency_cycles'] / r['accelforge_latency_cycles']:.3f} | evaluates"
            f"{' (the export notes an approximation)' if r['approximated'] else ''} |"
        )
    ok = [r for r in rows if "energy_rel_diff" in r and not r["approximated"]]
    exported = [r for r in rows if "export_error" not in r]
    skipped = sorted(r["instance"] for r in rows if "export_error" in r)
    lines += [
        "",
        f"Not exported: {', '.join(skipped) or 'none'}. "
        f"{sum('energy_rel_diff' in r for r in rows)} of {len(exported)} exported groups "
        "evaluated; where the export notes no approximation, largest energy difference "
        f"{max((r['energy_rel_diff'] for r in ok), default=float('nan')):.1e}, largest latency "
        "difference from cosamt's members in sequence "
        f"{max((r['sequential_latency_rel_diff'] for r in ok), default=float('nan')):.1e}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument(
        "--accelforge-python",
        default=os.environ.get("COSAMT_ACCELFORGE_PYTHON", "/tmp/peers/af/bin/python"),
    )
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "peers")
    ap.add_argument("--arch", nargs="*", default=None, help="Presets to run every model on.")
    ap.add_argument(
        "--one-width", action="store_true", help="With --arch: also each preset at one width."
    )
    ap.add_argument("--threads", type=int, default=None, help="Solver threads per MIP.")
    ap.add_argument(
        "--fusion",
        default=None,
        help="Fusion schemes solve may use (none: every operator alone, as the partitioned-buffer "
        "test does; a fused intermediate in two partitions is not exported).",
    )
    args = ap.parse_args()
    if not Path(args.accelforge_python).exists():
        raise SystemExit(
            f"AccelForge's Python not found at {args.accelforge_python}: see docs/peers.md"
        )
    rows = []
    shipped = sorted((ROOT / "instances").glob("*.json"))
    with tempfile.TemporaryDirectory() as tmp:
        runs: list[tuple[Path, str]] = (
            [(p, p.stem) for p in shipped]
            if args.arch is None
            else list(on_presets(shipped, args.arch, args.one_width, Path(tmp)))
        )
        for instance, label in runs:
            rows += check_instance(
                instance,
                args.seq_len,
                args.accelforge_python,
                Path(tmp),
                label,
                args.threads,
                args.fusion,
            )
            print(f"{label}: done", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "export_check.json").write_text(json.dumps(rows, indent=1) + "\n")
    (args.out / "export_check.md").write_text(markdown(rows, args.seq_len))
    print(markdown(rows, args.seq_len))


if __name__ == "__main__":
    main()
