"""Re-solve the schedules tests/test_codegen.py runs: every shipped instance at seq_len 64 (or the
token count its model fixes: a ViT's patches and class token), batch 1, threads 1, fusion ``all``,
plus fusion ``online`` for four instances (the explorer prefers FLAT at this length, so online
attention would otherwise go untested), ``explore`` for three (chain groups across the menu's
segments) and ``flat`` for GPT-2 edge.

    python scripts/codegen_schedules.py [--out tests/data/codegen] [--time-limit 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from cosamt.workload.models import get_model

ROOT = Path(__file__).resolve().parent.parent
ONLINE = ("gpt2_edge", "bert_base_mobile", "llama3_8b_cloud_decode", "vit_b16_edge")
EXPLORE = ("gpt2_edge", "bert_base_mobile", "llama3_8b_cloud_decode")
SEQ_LEN = 64


def seq_len(instance: Path) -> int:
    """64, unless the model fixes its token count (vision models: patches + class token)."""
    model = get_model(json.loads(instance.read_text())["model"])
    return model.image_tokens or SEQ_LEN


def solve(instance: Path, fusion: str, out: Path, time_limit: float) -> None:
    cmd = [
        str(Path(sys.executable).parent / "cosamt"),
        "solve",
        str(instance),
        "--seq-len",
        str(seq_len(instance)),
        "--batch",
        "1",
        "--threads",
        "1",
        "--time-limit",
        str(time_limit),
        "--fusion",
        fusion,
        "--out",
        str(out / f"{instance.stem}.{fusion}.json"),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    print(out / f"{instance.stem}.{fusion}.json")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "codegen")
    ap.add_argument("--time-limit", type=float, default=20.0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for instance in sorted((ROOT / "instances").glob("*.json")):
        solve(instance, "all", args.out, args.time_limit)
        if instance.stem in ONLINE:
            solve(instance, "online", args.out, args.time_limit)
        if instance.stem in EXPLORE:
            solve(instance, "explore", args.out, args.time_limit)
    solve(ROOT / "instances" / "gpt2_edge.json", "flat", args.out, args.time_limit)


if __name__ == "__main__":
    main()
