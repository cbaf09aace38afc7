"""Fixtures of the deployment tests: one Market-layout tree and one checkpoint per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from deploy_helpers import CHROMIUM, make_market, save_checkpoint


@pytest.fixture(autouse=True)
def _few_threads(one_torch_thread: None) -> None:
    """Two CPU cores are shared with other jobs: keep torch small in these tests."""


@pytest.fixture(scope="session")
def market_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Market-1501 tree of real JPEGs (4 query ids, 14 gallery images)."""
    return make_market(tmp_path_factory.mktemp("market") / "Market-1501")


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Lightning checkpoint of a bot_resnet18 ReIDModule at 64x32 input."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("run") / "best.ckpt"
    save_checkpoint(path)
    return path


@pytest.fixture
def chromium() -> str:
    """Path of headless Chromium; the test is skipped, with the reason shown, when it is not installed."""
    if CHROMIUM is None:
        pytest.skip("chromium not installed: HTML pages not checked in a browser (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def market_feats_file(tmp_path_factory: pytest.TempPathFactory, checkpoint: Path, market_root: Path) -> Path:
    """Features of the generated Market tree, written once by `finereid extract`; tests only read it."""
    from finereid.cli import main

    out = tmp_path_factory.mktemp("feats") / "market.npz"
    argv = ["extract", "--checkpoint", str(checkpoint), "--images", f"market1501:{market_root}",
            "--out", str(out), "--num-workers", "0", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    return out
