"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


def _limit_threads(count: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture()
def one_torch_thread() -> Iterator[None]:
    """One torch thread for a test: on a 2-core machine shared with loader workers, more threads wait."""
    yield from _limit_threads(1)


@pytest.fixture(scope="module")
def one_torch_thread_module() -> Iterator[None]:
    """`one_torch_thread` for a whole module (for module-scoped fixtures that train)."""
    yield from _limit_threads(1)
