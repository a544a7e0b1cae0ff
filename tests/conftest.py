"""Fixtures shared by the test modules (data needed at collection time lives in support.py)."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from support import FFN1_SCHEDULE

from cosamt.arch.presets import load_preset
from cosamt.arch.spec import Architecture

# pytest-xdist's workers inherit COLUMNS=80 from the controller; the CLI's tables take their width
# from COLUMNS when it is set (else 100 off a terminal), and the tests that check widths set it
# themselves, per invocation.
os.environ.pop("COLUMNS", None)


@pytest.fixture
def ffn1_schedule() -> dict[str, Any]:
    """A fresh copy of the hand-written GPT-2 FFN1 schedule on edge (tests may edit it)."""
    return copy.deepcopy(FFN1_SCHEDULE)


@pytest.fixture(scope="session")
def edge() -> Architecture:
    return load_preset("edge")
