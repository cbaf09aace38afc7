"""A small synthetic dataset written once per test session, shared by the synth tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from finereid.synth import generate_dataset

SMALL = {
    "num_ids": 12,
    "num_cameras": 3,
    "seed": 7,
    "images_per_id": 5,
    "num_distractors": 4,
    "image_size": (64, 32),
}


@pytest.fixture(scope="session")
def synth_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """(root, summary) of a 12-identity, 3-camera dataset of 64x32 images."""
    root = tmp_path_factory.mktemp("synth") / "ds"
    return root, generate_dataset(root, **SMALL)
