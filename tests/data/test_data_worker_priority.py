"""data.worker_nice: loader workers at a lower CPU priority, with the same batches as without."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
import torch
from data_fixture_trees import color_of, write_image
from torch.utils.data import DataLoader, Dataset

from finereid.config import config_from_dict
from finereid.data import ImageRecord, build_train_loader
from finereid.data.loaders import lower_priority
from finereid.errors import ConfigError


class _Niceness(Dataset):
    """Each item is the niceness of the process that loads it."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> int:
        return os.nice(0)


def test_lower_priority_raises_the_workers_niceness_only():
    parent = os.nice(0)
    loader = DataLoader(
        _Niceness(), batch_size=None, num_workers=1, worker_init_fn=functools.partial(lower_priority, 3)
    )
    assert list(loader) == [min(parent + 3, 19)] * 2
    assert os.nice(0) == parent  # the training process keeps its priority


def test_niced_workers_give_the_same_batches(tmp_path: Path):
    records = [
        ImageRecord(str(write_image(tmp_path / f"{pid}_{k}.jpg", color_of(pid, k), size=(6, 12))), pid, k % 2)
        for pid in range(4)
        for k in range(4)
    ]
    kwargs = {"batch_size": 8, "num_instances": 4, "seed": 5, "num_workers": 1}
    plain, niced = (build_train_loader(records, 12, 6, worker_nice=n, **kwargs) for n in (0, 5))
    assert plain.worker_init_fn is None and niced.worker_init_fn.args == (5,)
    for a, b in zip(plain, niced, strict=True):
        assert a["paths"] == b["paths"] and torch.equal(a["images"], b["images"])


@pytest.mark.parametrize("value", [-1, 20])
def test_worker_nice_outside_0_to_19_is_a_config_error(value: int):
    with pytest.raises(ConfigError, match="worker_nice"):
        config_from_dict({"data": {"worker_nice": value}})
