"""``cosamt design --compare``: the exact search beside random hardware sampling and a genetic
algorithm over the same knobs (each with the MIP mapper inside) at the exact search's design count
and wall time, and beside the shipped FLAT-style presets as traditional designs.

Every method starts from an empty cache of its own, so wall times are comparable."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosamt.arch.presets import list_presets, load_preset
from cosamt.design.baselines import Budget, Trace, genetic_search, random_search
from cosamt.design.derive import DesignPoint, arch_area, derive_arch
from cosamt.design.evaluate import DesignResult, arch_content, evaluate_point
from cosamt.design.report import search_json
from cosamt.design.search import SearchResult, power_ok, search
from cosamt.design.spec import DesignSpec, DramTech

TRADITIONAL = ("edge", "mobile", "cloud")


def preset_point(name: str, spec: DesignSpec) -> DesignPoint | None:
    """The design point that derives exactly the preset ``name`` under this spec's rules (word
    width, buffer bandwidth rule), or None when the preset is not such a point."""
    arch = load_preset(name)
    if len(arch.levels) != 2 or arch.levels[0].capacity_bytes is None:
        return None
    dram = arch.levels[-1]
    assert dram.read_bandwidth is not None
    tech = DramTech(
        name=f"{name}-dram",
        bandwidth_gb_s=dram.read_bandwidth * arch.clock_ghz,
        energy_pj_per_bit=dram.read_energy_pj / (arch.word_bytes * 8),
        source=f"preset {name}",
    )
    point = DesignPoint(
        arch.pe_array.rows.size,
        arch.pe_array.cols.size,
        arch.levels[0].capacity_bytes // 1024,
        arch.vector_unit.lanes,
        tech,
        arch.clock_ghz,
    )
    same = arch_content(derive_arch(point, spec.space)) == arch_content(arch)
    return point if same else None


@dataclass(frozen=True)
class Traditional:
    name: str
    area_mm2: float
    within_budget: bool
    result: DesignResult | None
    note: str = ""


def traditional(spec: DesignSpec, cache_dir: Path | None) -> list[Traditional]:
    out = []
    for name in (n for n in TRADITIONAL if n in list_presets()):
        area = arch_area(load_preset(name))
        point = preset_point(name, spec)
        if point is None:
            out.append(Traditional(name, area, False, None, "not a point of this spec's rules"))
            continue
        r = evaluate_point(spec, point, cache_dir)
        out.append(Traditional(name, area, area <= spec.budget.area_mm2 and power_ok(spec, r), r))
    return out


@dataclass(frozen=True)
class Comparison:
    exact: SearchResult
    traces: dict[str, list[Trace]]  # method -> one trace per seed
    presets: list[Traditional]
    designs: int
    seconds: float
    seeds: tuple[int, ...]


def compare(
    spec: DesignSpec, seeds: tuple[int, ...] = (0, 1, 2), jobs: int | None = None
) -> Comparison:
    """The exact search (cold cache), then each baseline per seed until it has used both the
    exact search's design count and its wall time, then the presets."""
    jobs = jobs or spec.options.jobs
    with tempfile.TemporaryDirectory(prefix="cosamt-design-") as tmp:
        root = Path(tmp)
        exact = search(spec, root / "exact", jobs=jobs)
        budget = Budget(designs=exact.evaluated_designs, seconds=exact.seconds, both=True)
        traces: dict[str, list[Trace]] = {"random": [], "genetic": []}
        for seed in seeds:
            traces["random"].append(random_search(spec, budget, seed, root / f"random{seed}", jobs))
            traces["genetic"].append(
                genetic_search(spec, budget, seed, root / f"genetic{seed}", jobs)
            )
        presets = traditional(spec, root / "presets")
    return Comparison(exact, traces, presets, exact.evaluated_designs, exact.seconds, seeds)


def _summary(c: Comparison, best: DesignResult | None) -> dict[str, Any]:
    ref = c.exact.best
    if best is None:
        return {"value": None, "ratio_to_exact": None, "label": None}
    ratio = best.value / ref.value if ref is not None and ref.value else None
    return {
        "value": best.value,
        "ratio_to_exact": ratio,
        "label": best.label,
        "area_mm2": best.area_mm2,
        "latency_s": best.latency_s,
        "energy_pj": best.energy_pj,
    }


def comparison_json(c: Comparison) -> dict[str, Any]:
    spec = c.exact.spec
    methods: dict[str, Any] = {}
    for method, traces in c.traces.items():
        runs = []
        for seed, t in zip(c.seeds, traces, strict=True):
            runs.append(
                {
                    "seed": seed,
                    "evaluated": len(t.results),
                    "seconds": t.seconds,
                    "equal_designs": _summary(c, t.best_within(spec, c.designs, None)),
                    "equal_time": _summary(c, t.best_within(spec, None, c.seconds)),
                    "trace": [
                        {
                            "seconds": s,
                            "label": r.label,
                            "value": r.value,
                            "area_mm2": r.area_mm2,
                            "latency_s": r.latency_s,
                            "energy_pj": r.energy_pj,
                        }
                        for r, s in zip(t.results, t.times, strict=True)
                    ],
                }
            )
        methods[method] = runs
    return {
        "exact": search_json(c.exact),
        "budget": {"designs": c.designs, "seconds": c.seconds},
        "methods": methods,
        "traditional": [
            {
                "preset": p.name,
                "area_mm2": p.area_mm2,
                "within_budget": p.within_budget,
                "note": p.note,
                **(
                    _summary(c, p.result)
                    if p.result is not None
                    else {"value": None, "ratio_to_exact": None}
                ),
            }
            for p in c.presets
        ],
    }
