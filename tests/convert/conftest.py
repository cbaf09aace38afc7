"""Fixtures of the conversion tests: torchreid and fast-reid checkpoints written by their own code."""

from __future__ import annotations

from pathlib import Path

import pytest
from convert_helpers import fastreid_checkpoint, torchreid_checkpoint


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Two CPU cores are shared with other jobs: keep torch to one thread in these tests."""


@pytest.fixture(scope="session")
def osnet_x0_25_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A torchreid osnet_x0_25 checkpoint (7 identities), saved by torchreid's save_checkpoint."""
    return torchreid_checkpoint("osnet_x0_25", tmp_path_factory.mktemp("torchreid"))[1]


@pytest.fixture(scope="session")
def fastreid_r50_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fast-reid BoT R50 checkpoint (9 identities), saved by fast-reid's Checkpointer."""
    return fastreid_checkpoint(False, tmp_path_factory.mktemp("fastreid"))[1]
