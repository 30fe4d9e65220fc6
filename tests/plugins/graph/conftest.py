"""Fixtures of the graph tests: the shared Planetoid files in a temporary copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def planetoid_root(shared_data, tmp_path) -> Path:
    """A copy of ``../shared/data/planetoid`` (``cora/``, ``citeseer/``) in ``tmp_path``; the test
    is skipped when the shared data is absent."""
    root = tmp_path / "planetoid"
    shutil.copytree(shared_data("planetoid"), root)
    return root
