"""Run ZigZag's LOMA search on one GEMM-like operator described by cosamt, print JSON on stdout.

Runs inside ZigZag's own environment (``pip install zigzag-dse==3.9.1 six``) and never imports
cosamt:

    python zigzag_runner.py REQUEST.json

The request (written by ``scripts/compare_peers.py``) gives the operator (output, input and weight
dims and sizes), the word width, the PE array (rows x cols), the MAC energy, and the global buffer
and DRAM (capacity bits, read/write bandwidth bits per cycle, energy pJ per word). ZigZag charges
its ``r_cost``/``w_cost`` per access of a port's ``bandwidth_max`` bits, so they are set to the
energy per word times the words per access, and ``bandwidth_min`` is one word so that accesses are
counted at the width the array actually uses. Registers of one word per operand and PE stand for
cosamt's operand latch (free). ``even`` temporal mappings (one set of memory boundaries for every
operand) keep the result expressible as a cosamt mapping.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _port(
    name: str, kind: str, bw: int, alloc: list[str], bw_min: int | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "bandwidth_min": bw_min or bw,
        "bandwidth_max": bw,
        "allocation": alloc,
    }


def _register(operand: str, bits: int) -> dict[str, Any]:
    ports = [
        _port("r_port_1", "read", bits, [f"{operand}, tl"]),
        _port("w_port_1", "write", bits, [f"{operand}, fh"]),
    ]
    if operand == "O":
        ports += [
            _port("r_port_2", "read", bits, ["O, th"]),
            _port("w_port_2", "write", bits, ["O, fl"]),
        ]
    return {
        "size": bits,
        "r_cost": 0,
        "w_cost": 0,
        "area": 0,
        "latency": 1,
        "auto_cost_extraction": False,
        "operands": [operand],
        "ports": ports,
        "served_dimensions": [],
    }


def _shared(mem: dict[str, Any], bits: int) -> dict[str, Any]:
    read_bw, write_bw = int(mem["read_bits_per_cycle"]), int(mem["write_bits_per_cycle"])
    reads = ["I1, tl", "I2, tl", "O, tl", "O, th"]
    writes = ["I1, fh", "I2, fh", "O, fh", "O, fl"]
    return {
        "size": int(mem["capacity_bits"]),
        # energy per access of bandwidth_max bits
        "r_cost": mem["read_pj_per_word"] * read_bw / bits,
        "w_cost": mem["write_pj_per_word"] * write_bw / bits,
        "area": 0,
        "latency": 1,
        "auto_cost_extraction": False,
        "operands": ["I1", "I2", "O"],
        # bandwidth_min of one word: with the full width, ZigZag counts a half-used access as a
        # whole one (twice cosamt's buffer reads of X and W on FFN1)
        "ports": [
            _port("r_port_1", "read", read_bw, reads, bits),
            _port("w_port_1", "write", write_bw, writes, bits),
        ],
        "served_dimensions": ["D1", "D2"],
    }


def _yaml(value: Any, indent: int = 0) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        return "".join(
            f"{pad}{k}:\n{_yaml(v, indent + 2)}"
            if isinstance(v, dict | list) and v
            else f"{pad}{k}: {json.dumps(v)}\n"
            for k, v in value.items()
        )
    if isinstance(value, list):
        out = ""
        for v in value:
            if isinstance(v, dict):
                body = _yaml(v, indent + 2)
                out += f"{pad}- {body.lstrip()}"
            else:
                out += f"{pad}- {json.dumps(v)}\n"
        return out
    return f"{pad}{json.dumps(value)}\n"


def main() -> None:
    req = json.loads(Path(sys.argv[1]).read_text())
    bits = req["word_bits"]
    op = req["operator"]  # {"dims": {...}, "O": [...], "I": [...], "W": [...]}
    hw = {
        "name": "cosamt",
        "memories": {
            "reg_I": _register("I1", bits),
            "reg_W": _register("I2", bits),
            "reg_O": _register("O", bits),
            "gb": _shared(req["buffer"], bits),
            "dram": _shared(req["dram"], bits),
        },
        "operational_array": {
            "input_precision": [bits, bits],
            "unit_energy": req["mac_pj"],
            "unit_area": 1,
            "dimensions": ["D1", "D2"],
            "sizes": [req["rows"], req["cols"]],
        },
    }
    dims = list(op["dims"])
    eq = "O{}+=I{}*W{}".format(*("".join(f"[{d.lower()}]" for d in op[t]) for t in ("O", "I", "W")))
    workload = [
        {
            "id": 0,
            "name": req["name"],
            "operator_type": "Gemm",
            "equation": eq,
            "loop_dims": dims,
            "loop_sizes": [op["dims"][d] for d in dims],
            "operand_precision": {"I": bits, "W": bits, "O": bits, "O_final": bits},
            "operand_source": {"I": 0},
        }
    ]
    mapping = [{"name": "default", "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}]
    logging.disable(logging.CRITICAL)
    from zigzag.api import get_hardware_performance_zigzag

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "hw.yaml").write_text(_yaml(hw))
        (t / "wl.yaml").write_text(_yaml(workload))
        (t / "map.yaml").write_text(_yaml(mapping))
        start = time.perf_counter()
        energy, latency, cmes = get_hardware_performance_zigzag(
            str(t / "wl.yaml"),
            str(t / "hw.yaml"),
            str(t / "map.yaml"),
            opt="latency",
            temporal_mapping_type="even",
            dump_folder=str(t / "out"),
            loma_show_progress_bar=False,
            nb_spatial_mappings_generated=req.get("spatial_mappings", 3),
        )
        seconds = time.perf_counter() - start
    cme = cmes[0][1][0][0]
    # per operand and memory level, innermost level first; loops innermost first
    temporal = {
        str(k): [[(str(d), int(f)) for d, f in level] for level in v]
        for k, v in cme.temporal_mapping.mapping_dic_origin.items()
    }
    axes = {"D1": "rows", "D2": "cols"}
    spatial = [
        (str(d), int(f), axes[str(dim)])
        for dim, loops in cme.layer.spatial_mapping.items()
        for d, f in loops.items()
        if int(f) > 1
    ]
    dram_words = {}
    for operand, accesses in cme.memory_word_access.items():
        from zigzag.hardware.architecture.memory_port import DataDirection as D

        top = accesses[-1]  # DRAM; counts are accesses of bandwidth_max bits
        rd, wr = int(req["dram"]["read_bits_per_cycle"]), int(req["dram"]["write_bits_per_cycle"])
        words = (top.get(D.RD_OUT_TO_LOW) + top.get(D.RD_OUT_TO_HIGH)) * rd / bits + (
            top.get(D.WR_IN_BY_LOW) + top.get(D.WR_IN_BY_HIGH)
        ) * wr / bits
        dram_words[str(operand)] = words
    print(
        json.dumps(
            {
                "seconds": seconds,
                "energy_pj": float(energy),
                "latency_cycles": float(latency),
                "ideal_cycles": float(cme.ideal_cycle),
                "dram_words_by_operand": dram_words,
                "temporal": temporal,
                "spatial": spatial,
            }
        )
    )


if __name__ == "__main__":
    main()
