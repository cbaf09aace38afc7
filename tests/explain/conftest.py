"""Fixtures of the explain tests: few torch threads, a tiny Market tree and a random-weight checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from explain_helpers import HEIGHT, WIDTH, save_checkpoint

from helpers.market import make_tiny_market


@pytest.fixture(autouse=True)
def _few_threads(one_torch_thread: None) -> None:
    """Two CPU cores are shared with other jobs: keep torch small in these tests."""


@pytest.fixture(scope="session")
def market_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Market-1501 tree of two-colour people at 64x32; query 13 looks like pid 12 (a failure)."""
    root = tmp_path_factory.mktemp("market") / "Market-1501"
    return make_tiny_market(
        root,
        range(1, 5),
        range(10, 14),
        4,
        gallery_cams=(1, 2, 3),
        noise=20.0,
        size=(HEIGHT, WIDTH),
        looks_like={13: 12},
        distractor_cams=(2, 3),
    )


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finereid checkpoint of a random-weight bot_resnet18 at 64x32, Euclidean distance."""
    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("run") / "best.ckpt")
