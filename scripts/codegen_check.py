"""Every group of the codegen test schedules (tests/data/codegen) built and run as large as
``--max-points`` allows: per group its sizes, whether it ran at full size or reduced (factor cap),
max_abs_error / max_rel_error against numpy, and its counted words against the evaluator.

    python scripts/codegen_check.py [--max-points 400000000] [--out results/codegen_check.json]
    python scripts/codegen_check.py --instance instances/gpt2_edge.json --schedule S.json \
        --seq-len 1024 --max-points 2000000000 --out results/codegen_check_gpt2_1024.json

Writes JSON (with the compiler, numpy and cosamt versions) and prints one line per fused group.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cosamt.api import evaluate_schedule, load_resolved
from cosamt.codegen.run import check_group, compiler
from cosamt.workload.models import get_model

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "codegen"
SEQ_LEN = 64


def seq_len(instance: Path) -> int:
    """64, unless the model fixes its token count (as scripts/codegen_schedules.py solved it)."""
    model = get_model(json.loads(instance.read_text())["model"])
    return model.image_tokens or SEQ_LEN


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--max-points", type=int, default=400_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "codegen_check.json")
    ap.add_argument("--instance", type=Path, help="Check this instance and --schedule instead.")
    ap.add_argument("--schedule", type=Path)
    ap.add_argument(
        "--seq-len", type=int, help="Default: 64, or the token count the model fixes (ViT: 197)."
    )
    ap.add_argument("--batch", type=int, default=1)
    args = ap.parse_args()
    if args.instance is not None:
        pairs = [(args.instance, args.schedule)]
    else:
        pairs = [
            (ROOT / "instances" / f"{s.name.split('.')[0]}.json", s)
            for s in sorted(DATA.glob("*.json"))
        ]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for instance, schedule in pairs:
            resolved = load_resolved(
                instance, seq_len=args.seq_len or seq_len(instance), batch=args.batch
            )
            arch = resolved.arch
            for entry in evaluate_schedule(resolved, schedule):
                group, mappings = entry.group, entry.mappings
                r = check_group(
                    group, arch, mappings, Path(tmp) / group.name, max_points=args.max_points
                )
                rows.append({"schedule": schedule.name, **r.to_json()})
                if group.fused:
                    size = "full" if r.reduced is None else f"cap {r.reduced}"
                    print(
                        f"{schedule.name:38} {group.name:28} {group.scheme.value:10} {size:7} "
                        f"rel err {r.max_rel_error:.2e} counts_match {r.counts_match} "
                        f"words {r.transfers}"
                    )
    cc = compiler()
    cc_version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    doc = {
        "max_points": args.max_points,
        "seq_len": args.seq_len or "64 (vision models: their own token count)",
        "batch": args.batch,
        "versions": {
            "cosamt": version("cosamt"),
            "numpy": version("numpy"),
            "python": platform.python_version(),
            "cc": cc_version.splitlines()[0] if cc_version else cc,
        },
        "groups": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
