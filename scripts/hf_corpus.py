"""Write the default config of every Hugging Face ``transformers`` model type as test data.

Run in a throwaway venv that has ``transformers`` (no PyTorch needed; cosamt itself never imports
it)::

    python3.11 -m venv /tmp/venv-tf && /tmp/venv-tf/bin/pip install transformers
    /tmp/venv-tf/bin/python scripts/hf_corpus.py tests/data/hf_corpus

For each model type, ``AutoConfig.for_model(type).to_dict()`` goes to ``OUT/<type>.json``;
``OUT/index.json`` records the transformers version and, per type, its class from transformers'
own auto mappings and the config's own fields, so the classes are not cosamt's opinion. The first
rule that applies decides:

1. ``moe``: the config has more than one expert (``num_local_experts``, ``num_experts``,
   ``n_routed_experts`` or ``moe_num_experts`` > 1);
2. ``encoder-decoder``: in ``MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES`` or
   ``MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES``, or ``is_encoder_decoder`` is true;
3. ``decoder-only``: in ``MODEL_FOR_CAUSAL_LM_MAPPING_NAMES``;
4. ``vision``: in ``MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES`` and the config (or a
   sub-config) states an attention-head count; ``vision-conv`` if it states none (a
   convolutional backbone: ResNet, ConvNeXt, MobileNet, ...);
5. ``encoder-only``: in ``MODEL_FOR_MASKED_LM_MAPPING_NAMES``;
6. ``other``.

``--reclassify`` re-applies these rules to an existing ``OUT/index.json`` from the stored configs
(rule 4's split of the image classifiers; the mapping memberships are kept from the stored
classes), without transformers.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
from pathlib import Path
from typing import Any

EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _mapping(name: str) -> set[str]:
    """Model types of one of transformers' auto mappings, read from the source (importing
    ``modeling_auto`` needs PyTorch)."""
    import transformers

    path = Path(transformers.__file__).parent / "models" / "auto" / "modeling_auto.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return {
                elt.elts[0].value
                for elt in ast.walk(node.value)
                if isinstance(elt, ast.Tuple) and isinstance(elt.elts[0], ast.Constant)
            }
    raise KeyError(name)


def _source_has_gate(module: str) -> bool | None:
    """Whether the type's modelling code has a gate projection (a gated FFN), from its source."""
    import transformers

    folder = Path(transformers.__file__).parent / "models" / module
    files = sorted(folder.glob("modeling_*.py"))
    if not files:
        return None
    text = "\n".join(f.read_text(encoding="utf-8") for f in files)
    return any(word in text for word in ("gate_proj", "gate_up_proj", "wi_0", "self.w3"))


HEAD_KEYS = (
    "num_attention_heads",
    "num_heads",
    "n_heads",
    "n_head",
    "attention_heads",
    "num_self_attention_heads",
)


def _names_heads(data: dict[str, Any]) -> bool:
    """Whether the config or one of its sub-configs states an attention-head count: an image
    classifier without one (ResNet, ConvNeXt, MobileNet, ...) is a convolutional backbone."""
    if any(data.get(k) not in (None, 0, []) for k in HEAD_KEYS):
        return True
    return any(isinstance(v, dict) and _names_heads(v) for v in data.values())


def _classify(model_type: str, data: dict[str, Any], maps: dict[str, set[str]]) -> str:
    experts = [data.get(k) for k in EXPERT_KEYS]
    if any(isinstance(e, int) and not isinstance(e, bool) and e > 1 for e in experts):
        return "moe"
    if model_type in maps["seq2seq"] or data.get("is_encoder_decoder") is True:
        return "encoder-decoder"
    if model_type in maps["causal"]:
        return "decoder-only"
    if model_type in maps["vision"]:
        return "vision" if _names_heads(data) else "vision-conv"
    if model_type in maps["masked"]:
        return "encoder-only"
    return "other"


def _counts(index: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in index["types"].values():
        counts[entry["class"]] = counts.get(entry["class"], 0) + 1
    return counts


def _reclassify(out: Path) -> None:
    """Rule 4 on the stored configs: each image classifier is ``vision`` or ``vision-conv``."""
    path = out / "index.json"
    index = json.loads(path.read_text(encoding="utf-8"))
    for model_type, entry in index["types"].items():
        if entry["class"] in ("vision", "vision-conv"):
            data = json.loads((out / f"{model_type}.json").read_text(encoding="utf-8"))
            entry["class"] = "vision" if _names_heads(data) else "vision-conv"
    path.write_text(json.dumps(index, indent=1, sort_keys=True))
    print(json.dumps(_counts(index), sort_keys=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--reclassify", action="store_true", help="re-apply rule 4 only")
    args = parser.parse_args()
    if args.reclassify:
        _reclassify(args.out)
        return

    import transformers
    from transformers import AutoConfig
    from transformers.models.auto import configuration_auto as ca

    maps = {
        "causal": _mapping("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES"),
        "masked": _mapping("MODEL_FOR_MASKED_LM_MAPPING_NAMES"),
        "seq2seq": _mapping("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES")
        | _mapping("MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES"),
        "vision": _mapping("MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {"transformers": transformers.__version__, "types": {}}
    for model_type in sorted(ca.CONFIG_MAPPING_NAMES):
        try:
            data = _jsonable(AutoConfig.for_model(model_type).to_dict())
        except Exception as exc:  # a type whose config cannot be built without extra packages
            index["types"][model_type] = {"class": "unavailable", "error": str(exc)[:200]}
            continue
        data["model_type"] = data.get("model_type") or model_type
        (args.out / f"{model_type}.json").write_text(json.dumps(data, indent=1, sort_keys=True))
        index["types"][model_type] = {
            "class": _classify(model_type, data, maps),
            "source_gate": _source_has_gate(ca.model_type_to_module_name(model_type)),
        }
    (args.out / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True))
    print(json.dumps(_counts(index), sort_keys=True))


if __name__ == "__main__":
    main()
