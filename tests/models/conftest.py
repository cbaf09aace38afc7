"""Shared fixtures of the model tests: one randomly initialized instance per model name, built once."""

from __future__ import annotations

import pytest
import torch
from model_helpers import NUM_CLASSES, size_options

from finereid.models import build_model


class _ModelCache(dict):
    """name -> model (pretrained='none'), built on first use."""

    def __missing__(self, name: str) -> torch.nn.Module:
        torch.manual_seed(0)
        self[name] = build_model(name, NUM_CLASSES, **size_options(name))
        return self[name]


@pytest.fixture(scope="session")
def built_models() -> _ModelCache:
    """Every test of the session shares one instance per model (building ResNet-50s is the slow part)."""
    return _ModelCache()


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Two CPU cores are shared with other jobs: keep torch to one thread in these tests."""
