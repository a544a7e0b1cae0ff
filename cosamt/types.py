"""Small enums shared across layers."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    PREFILL = "prefill"
    DECODE = "decode"


class Objective(StrEnum):
    LATENCY = "latency"
    ENERGY = "energy"
    EDP = "edp"


class FusionChoice(StrEnum):
    NONE = "none"
    FLAT = "flat"
    ONLINE = "online"
    ALL = "all"
    EXPLORE = "explore"  # any contiguous run of a block's chain, the partition chosen exactly


AGREEMENT_TOLERANCE = 1e-6
"""Largest relative difference between the MIP's figure and the evaluator's that counts as agreement."""
