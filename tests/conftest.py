"""Shared fixtures: where the golden data lives (``PAMDP_GOLDEN_DIR``, default ../shared/golden)."""

from __future__ import annotations

import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def golden_dir() -> str:
    return os.environ.get("PAMDP_GOLDEN_DIR", os.path.join(REPO, "..", "shared", "golden"))


@pytest.fixture(scope="session")
def golden() -> str:
    path = golden_dir()
    if not os.path.isdir(path):
        pytest.skip(f"golden data not found at {path} (set PAMDP_GOLDEN_DIR)")
    return path
