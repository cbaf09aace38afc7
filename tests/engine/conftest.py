"""Shared fixtures of the engine tests: one tiny Market-layout dataset per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import make_market


@pytest.fixture(scope="session")
def market_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Market-1501 tree of 32x16 JPEGs: 8 train ids x 6 images, 6 test ids, 2 distractors."""
    return make_market(tmp_path_factory.mktemp("engine_data") / "market1501")
