"""Run AccelForge on specs cosamt wrote, and print what it found as JSON (one object on stdout).

Runs inside AccelForge's own Python 3.12 environment and never imports cosamt:

    python accelforge_runner.py SPEC_DIR evaluate   # arch.yaml, workload.yaml, mapping.yaml
    python accelforge_runner.py SPEC_DIR map        # FFM, latency then energy
    python accelforge_runner.py SPEC_DIR dram-bound # FFM minimising DRAM traffic alone

``dram-bound`` gives every action zero energy except DRAM's (one per bit), so FFM's optimum is the
least DRAM traffic any mapping in its space achieves at the buffer sizes (Orojenesis' bound).
Output: seconds, latency (cycles), energy (pJ), per (component, tensor, action) counts in bits, and
for the mapper runs the chosen loop tree as plain nodes plus how many mappings FFM covered.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _nodes(mapping: Any) -> list[dict[str, Any]]:
    """The loop tree as plain dicts, outermost first; a fused mapping's ``Sequential`` and
    ``Nested`` nodes keep their children under ``nodes``."""
    out = []
    for n in mapping.nodes:
        kind = type(n).__name__
        if kind in ("Sequential", "Pipeline", "Nested"):
            out.append({"type": kind, "nodes": _nodes(n)})
            continue
        if kind not in ("Storage", "Temporal", "Spatial", "Compute"):
            continue  # Reservation and friends carry no loop or placement
        node: dict[str, Any] = {"type": kind}
        for key in ("tensors", "component", "rank_variable", "tile_shape", "name", "einsum"):
            value = getattr(n, key, None)
            if value is None:
                continue
            if key == "tensors":
                value = sorted(str(t) for t in value)
            elif key == "tile_shape":
                value = int(value)
            elif key == "rank_variable" and not isinstance(value, str):
                value = sorted(value)[0] if len(value) == 1 else sorted(value)
            node[key] = value
        out.append(node)
    return out


def _actions(result: Any) -> dict[str, float]:
    acts = result.actions(per_component=True, per_tensor=True)
    return {"|".join(str(k) for k in key): float(v) for key, v in acts.items()}


def _only_dram_energy(nodes: Any) -> None:
    for node in nodes:
        _only_dram_energy(getattr(node, "nodes", None) or [])  # a Fork's branch too
        for action in getattr(node, "actions", []) or []:
            action.energy = 1 if node.name == "MainMemory" else 0


def main() -> None:
    spec_dir, mode = Path(sys.argv[1]).resolve(), sys.argv[2]
    # FFM writes mapping.svg into the working directory (accelforge/mapper/FFM/main.py, 1.0.467):
    # run in a scratch folder so nothing lands in the caller's (the repository's) folder
    with tempfile.TemporaryDirectory(prefix="accelforge-") as scratch:
        os.chdir(scratch)
        run(spec_dir, mode)


def run(spec_dir: Path, mode: str) -> None:
    from accelforge.frontend.spec import Spec
    from accelforge.mapper import Metrics
    from accelforge.model.main import evaluate_mapping
    from accelforge.util.parallel import set_n_parallel_jobs

    set_n_parallel_jobs(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    files = [spec_dir / "arch.yaml", spec_dir / "workload.yaml"]
    start = time.perf_counter()
    out: dict[str, Any] = {"mode": mode}
    if mode == "evaluate":
        spec = Spec.from_yaml(*files, spec_dir / "mapping.yaml")
        result = evaluate_mapping(spec)
    else:
        spec = Spec.from_yaml(*files)
        if mode == "dram-bound":
            _only_dram_energy(spec.arch.nodes)
            spec.mapper.metrics = Metrics.ENERGY
        else:
            # one objective returns arbitrary ties: latency and energy as a Pareto pair
            spec.mapper.metrics = Metrics.LATENCY | Metrics.ENERGY
        result = spec.map_workload_to_arch(print_progress=False)
        lat = result.latency(list_if_one_mapping=True)
        en = result.energy(list_if_one_mapping=True)
        best = min(range(len(lat)), key=lambda i: (lat[i], en[i]))
        out["pareto_points"] = len(lat)
        total = result.total_mappings
        out["mappings_covered"] = float(total() if callable(total) else total)
        result = result[best] if len(lat) > 1 else result
        out["mapping_nodes"] = _nodes(result.mapping())
    out["seconds"] = time.perf_counter() - start
    out["latency_cycles"] = float(result.latency())
    out["energy_pj"] = float(result.energy())
    out["actions_bits"] = _actions(result)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
