"""Shipped accelerator presets (``cosamt/arch/presets/*.json``) and name resolution.

Every preset file is an :class:`~cosamt.arch.spec.Architecture` in JSON; where its numbers come from
is in its ``description`` and, for energies, in ``docs/energy.md``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from cosamt.arch.spec import Architecture
from cosamt.errors import InputError, Problem

_SUFFIX = ".json"


def _preset_dir() -> Traversable:
    return resources.files("cosamt.arch").joinpath("presets")


def _preset_files() -> dict[str, Traversable]:
    return {
        entry.name[: -len(_SUFFIX)]: entry
        for entry in _preset_dir().iterdir()
        if entry.is_file() and entry.name.endswith(_SUFFIX)
    }


def list_presets() -> list[str]:
    """Names of the shipped presets, sorted."""
    return sorted(_preset_files())


@cache
def _load(name: str) -> Architecture:
    files = _preset_files()
    if name not in files:
        known = ", ".join(sorted(files))
        raise InputError("", [Problem("arch", f"unknown preset {name!r}; known: {known}")])
    return Architecture.model_validate_json(files[name].read_text(encoding="utf-8"))


def load_preset(name: str) -> Architecture:
    """The shipped architecture called ``name``; an unknown name raises :class:`InputError`."""
    return _load(name)


def resolve_arch(arch: str | Architecture) -> Architecture:
    """An inline architecture as is, or the preset a name refers to."""
    if isinstance(arch, Architecture):
        return arch
    return load_preset(arch)
