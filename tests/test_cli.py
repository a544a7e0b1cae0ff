"""The command line on good input (kept fast: one small solve, shared by the tests that need it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cosamt.arch.presets import list_presets
from cosamt.cli import app
from cosamt.io.outputs import group_folder
from cosamt.workload.models import list_models

INSTANCE: dict[str, Any] = {
    "model": "gpt2",
    "seq_len": 64,
    "arch": "edge",
    "options": {"time_limit_s": 300, "threads": 2},
}
REL = 1e-6


# ffn1 of GPT-2 at seq_len 64 (b=1, m=64, e=768, f=3072) on edge: 32x32 PEs, 256 Ki-word buffer.
# m is split 2 (temporal) x 32 (rows), f 24 (DRAM) x 4 x 32 (cols), e runs whole in the buffer;
# the buffer keeps X (64x768) + W (768x128) + Y (64x128) = 155648 words.
def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (
        f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(abs(a), abs(b), 1e-30)


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    """``cosamt solve inst.json --json --out sched.json`` on GPT-2, seq_len 64, edge."""
    d = tmp_path_factory.mktemp("solve")
    inst = d / "inst.json"
    inst.write_text(json.dumps(INSTANCE))
    sched = d / "sched.json"
    result = _invoke("solve", str(inst), "--json", "--out", str(sched))
    return inst, sched, json.loads(result.stdout)


def test_models_lists_every_shipped_model() -> None:
    out = _invoke("models").stdout
    for name in list_models():
        assert name in out
    assert "d_model=  768" in out  # gpt2 / bert-base


def test_presets_lists_every_shipped_preset() -> None:
    out = _invoke("presets").stdout
    for name in list_presets():
        assert name in out
    assert "32x32 PEs" in out  # edge


def test_instance_schema() -> None:
    schema = json.loads(_invoke("schema").stdout)
    props = schema["properties"]
    for key in ("model", "arch", "seq_len", "batch", "phase", "options"):
        assert key in props
    assert set(schema["required"]) == {"model", "seq_len", "arch"}
    assert schema == json.loads(_invoke("schema", "instance").stdout)


def test_schedule_schema() -> None:
    schema = json.loads(_invoke("schema", "schedule").stdout)
    assert {"format", "arch", "groups"} <= set(schema["properties"])


def test_solve_json_structure(solved: tuple[Path, Path, dict[str, Any]]) -> None:
    _inst, _sched, data = solved
    assert data["instance"]["model"] == "gpt2" and data["instance"]["seq_len"] == 64
    assert data["instance"]["arch"] == "edge"
    covered = sorted(op for g in data["groups"] for op in g["operators"])
    # every operator of the block is in exactly one group (fused or not), in the block's view or
    # its split view (qkv_proj as kv_proj + per-head q_proj, a per-head out_proj), which the
    # default fusion (explore) may choose
    common = ["qk", "softmax", "av", "residual1", "norm1", "ffn1", "act", "ffn2", "residual2"]
    block = sorted([*common, "norm2", "qkv_proj", "out_proj"])
    split = sorted([*common, "norm2", "kv_proj", "q_proj", "out_proj_heads"])
    assert covered in (block, split)
    assert data["fusion"] == "explore"
    for g in data["groups"]:
        for key in (
            "name",
            "operators",
            "latency_cycles",
            "energy_pj",
            "dram_bytes",
            "mip",
            "evaluator",
        ):
            assert key in g, key
        assert g["name"] == "+".join(g["operators"])
        mip = g["mip"]
        assert {"status", "objective", "bound", "gap", "seconds"} <= set(mip)
        assert {"latency_cycles", "energy_pj"} <= set(g["evaluator"])
        assert mip["status"] == "optimal", g["name"]
        assert _close(mip["objective"], g["evaluator"]["latency_cycles"]), (
            g["name"],
            mip,
            g["evaluator"],
        )
        assert g["latency_cycles"] == g["evaluator"]["latency_cycles"]
        assert g["evaluator"]["violations"] == []
        assert g["latency_cycles"] > 0 and g["energy_pj"] > 0 and g["dram_bytes"] > 0
    total, lb = data["total"], data["lower_bound"]
    assert total["all_optimal"] is True
    n_layers = data["instance"]["layers"]
    assert _close(
        total["latency_cycles"], n_layers * sum(g["latency_cycles"] for g in data["groups"])
    )
    assert _close(total["energy_pj"], n_layers * sum(g["energy_pj"] for g in data["groups"]))
    assert 0 < lb["latency_cycles"] <= total["latency_cycles"] * (1 + REL)
    assert 0 < lb["energy_pj"] <= total["energy_pj"] * (1 + REL)


def test_evaluate_reproduces_the_solve(solved: tuple[Path, Path, dict[str, Any]]) -> None:
    inst, sched, data = solved
    written = json.loads(sched.read_text())
    assert written["arch"] == "edge"
    assert [g["name"] for g in written["groups"]] == [g["name"] for g in data["groups"]]
    result = _invoke("evaluate", str(inst), str(sched), "--json")
    ev = json.loads(result.stdout)
    assert len(ev["groups"]) == len(data["groups"])
    for mine, theirs in zip(ev["groups"], data["groups"], strict=True):
        assert mine["name"] == theirs["name"] and mine["operators"] == theirs["operators"]
        assert _close(mine["latency_cycles"], theirs["latency_cycles"]), mine["name"]
        assert _close(mine["energy_pj"], theirs["energy_pj"]), mine["name"]
    assert _close(ev["total"]["latency_cycles"], data["total"]["latency_cycles"])
    assert _close(ev["total"]["energy_pj"], data["total"]["energy_pj"])


def test_evaluate_table_output(solved: tuple[Path, Path, dict[str, Any]]) -> None:
    inst, sched, _data = solved
    out = _invoke("evaluate", str(inst), str(sched)).stdout
    assert "ffn1" in out and "GlobalBuffer" in out


def test_hand_written_schedule_evaluates_cleanly(
    tmp_path: Path, ffn1_schedule: dict[str, Any]
) -> None:
    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps(INSTANCE))
    sched = tmp_path / "ffn1.json"
    sched.write_text(json.dumps(ffn1_schedule))
    result = _invoke("evaluate", str(inst), str(sched), "--json")
    assert result.stderr == ""
    ev = json.loads(result.stdout)
    (g,) = ev["groups"]
    assert g["operator"] == "ffn1"
    assert g["violations"] == []
    assert g["macs"] == 64 * 768 * 3072
    # Every MAC is on the full 32x32 array: compute takes macs / 1024 cycles.
    assert g["compute_cycles"] == 64 * 768 * 3072 / 1024
    assert g["latency_cycles"] >= g["compute_cycles"]
    gb = next(lv for lv in g["levels"] if lv["level"] == "GlobalBuffer")
    assert gb["occupancy_words"] == 64 * 768 + 768 * 128 + 64 * 128 <= gb["capacity_words"]


def test_export_writes_one_accelforge_spec_per_group(
    solved: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    """``cosamt export``: arch, workload and mapping YAML per group; a fused group is one tree with
    a Sequential of one branch per member; cosamt's in-place outputs are named in a note."""
    inst, sched, _report = solved
    printed = _invoke("export", str(inst), str(sched), "--out", str(tmp_path)).stdout
    groups = json.loads(sched.read_text())["groups"]
    for g in groups:
        folder = tmp_path / group_folder(g["name"])
        assert sorted(p.name for p in folder.iterdir()) == [
            "arch.yaml",
            "mapping.yaml",
            "workload.yaml",
        ]
        mapping = (folder / "mapping.yaml").read_text()
        n = len(g["operators"])
        assert mapping.count("!Sequential") == (n > 1) and mapping.count("!Nested") == (
            n if n > 1 else 0
        )
        assert mapping.count("!Compute") == n
    attention = next(g for g in groups if "softmax" in g["operators"])
    # the explorer fuses attention here (with the operators around it: explore is the default)
    assert {"qk", "softmax", "av"} <= set(attention["operators"])
    assert "overwrites its input in place (softmax)" in printed  # P (P_softmax in a chain)


# ---- cosamt workload --------------------------------------------------------------------------


def test_workload_json(tmp_path: Path) -> None:
    inst = tmp_path / "mixtral.json"
    inst.write_text(json.dumps({"model": "mixtral-8x7b", "phase": "decode", "seq_len": 256,
                                "arch": "cloud", "options": {"lm_head": True}}))  # fmt: skip
    data = json.loads(_invoke("workload", str(inst), "--json").stdout)
    ops = {o["name"]: o for o in data["operators"]}
    for o in data["operators"]:
        assert set(o) >= {"name", "kind", "dims", "macs", "count"}
        assert o["kind"] in ("mac", "vector")
    # Decode: one token routed to 2 of 8 experts; each expert GEMM reads 2 experts' weights.
    up = ops["expert_up"]
    assert up["dims"] == {"x": 2, "m": 1, "e": 4096, "f": 14336}
    assert up["macs"] == 2 * 4096 * 14336 and up["count"] == 32
    weights = next(t for t in up["tensors"] if t["name"] == "W")
    assert weights["words"] == 2 * 4096 * 14336
    assert ops["softmax"]["kind"] == "vector" and ops["softmax"]["macs"] == 32 * 256 * 5
    assert ops["lm_head"]["count"] == 1 and ops["lm_head"]["macs"] == 4096 * 32000
    assert [b["layers"] for b in data["blocks"]] == [32, 1]
    assert any("balanced routing" in a for a in data["assumptions"])
    assert data["totals"]["macs"] == sum(o["macs"] * o["count"] for o in data["operators"]
                                         if o["kind"] == "mac")  # fmt: skip


def test_workload_text_names_blocks(tmp_path: Path) -> None:
    inst = tmp_path / "t5.json"
    inst.write_text(json.dumps({"model": "t5-base", "seq_len": 32, "arch": "edge"}))
    text = _invoke("workload", str(inst)).stdout
    assert "encoder: 12 layer(s)" in text and "decoder: 12 layer(s)" in text
    assert "dec.xqk" in text and "causal self-attention counted as the full" in text


@pytest.mark.parametrize("kind", ["instance", "schedule"])
def test_schema_describes_every_field(kind: str) -> None:
    """`cosamt schema` carries each field's docstring as its description."""
    schema = json.loads(_invoke("schema", kind).stdout)
    models = [schema, *schema.get("$defs", {}).values()]
    missing = [
        f"{m.get('title')}.{name}"
        for m in models
        for name, prop in m.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert not missing
    assert schema.get("properties")


# A small MLA + MoE model with one dense layer (DeepSeek-V2-shaped): two block types.
TINY_MLA = {
    "model_type": "deepseek_v2", "hidden_size": 64, "num_hidden_layers": 3,
    "num_attention_heads": 2, "kv_lora_rank": 32, "q_lora_rank": 48, "qk_nope_head_dim": 16,
    "qk_rope_head_dim": 8, "v_head_dim": 16, "intermediate_size": 128, "moe_intermediate_size": 32,
    "n_routed_experts": 4, "num_experts_per_tok": 2, "n_shared_experts": 1,
    "first_k_dense_replace": 1, "hidden_act": "silu", "rms_norm_eps": 1e-6, "rope_theta": 1e4,
}  # fmt: skip


def test_solve_mla_moe_blocks_each_counted(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(TINY_MLA))
    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps({**INSTANCE, "model": {"hf_config": "config.json"}, "seq_len": 8}))
    data = json.loads(_invoke("solve", str(inst), "--json").stdout)
    names = {op for g in data["groups"] for op in g["operators"]}
    assert {"moe.q_down", "moe.kv_up", "dense.kv_up", "moe.expert_up"} <= names
    total, lb = data["total"], data["lower_bound"]
    assert total["all_optimal"] is True
    # Two MoE layers and one dense one: every group counted by its own block's layers.
    counts = {g["name"]: g["count"] for g in data["groups"]}
    assert {c for n, c in counts.items() if n.startswith("moe.")} == {2}
    assert {c for n, c in counts.items() if n.startswith("dense.")} == {1}
    by_count = sum(g["latency_cycles"] * g["count"] for g in data["groups"])
    assert _close(total["latency_cycles"], by_count)
    # The bound weighs each segment by its block's layers too: at most the chosen groups' own
    # bounds counted the same way, and below the schedule.
    for key in ("latency_cycles", "energy_pj"):
        chosen = sum(g["lower_bound"][key] * g["count"] for g in data["groups"])
        assert 0 < lb[key] <= chosen * (1 + REL)
    assert 0 < lb["latency_cycles"] <= total["latency_cycles"] * (1 + REL)
    assert 0 < lb["energy_pj"] <= total["energy_pj"] * (1 + REL)


def test_solve_swin_stages(tmp_path: Path) -> None:
    cfg = {"model_type": "swin", "image_size": 56, "patch_size": 4, "embed_dim": 32,
           "depths": [2, 2], "num_heads": [2, 4], "window_size": 7, "mlp_ratio": 4.0,
           "hidden_act": "gelu", "layer_norm_eps": 1e-5}  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    inst = tmp_path / "inst.json"
    menu = {**INSTANCE["options"], "fusion": "all"}  # the stages are under test, not the explorer
    inst.write_text(
        json.dumps(
            {**INSTANCE, "model": {"hf_config": "config.json"}, "seq_len": 196, "options": menu}
        )
    )
    data = json.loads(_invoke("solve", str(inst), "--json").stdout)
    assert data["total"]["all_optimal"] is True
    qk = next(g for g in data["groups"] if g["operators"][0] == "s1.qk")
    assert qk["count"] == 2
    assert data["lower_bound"]["latency_cycles"] <= data["total"]["latency_cycles"] * (1 + REL)
