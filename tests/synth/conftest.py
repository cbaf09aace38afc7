"""A small synthetic dataset written once per test session, shared by the synth tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from synth_helpers import SMALL

from finereid.synth import generate_dataset


@pytest.fixture(scope="session")
def synth_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """(root, summary) of a 12-identity, 3-camera dataset of 64x32 images."""
    root = tmp_path_factory.mktemp("synth") / "ds"
    return root, generate_dataset(root, **SMALL)
