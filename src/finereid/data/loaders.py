"""DataLoaders for training (P x K batches, seeded augmentation) and testing (fixed order)."""

from __future__ import annotations

import functools
import os
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler
from torchvision.transforms import v2

from finereid.data.image_dataset import ImageCache, ImageDataset, Sample
from finereid.data.records import ImageRecord
from finereid.data.sampler import RandomIdentitySampler
from finereid.data.transforms import ImageTensor, ResizeImage, build_transforms
from finereid.errors import ConfigError

Batch = dict[str, Any]


class ReIDCollate:
    """Stack samples into a batch dict; unreadable (None) samples are dropped and counted.

    Keys: images (B, 3, H, W), pids, camids, indices (LongTensors), paths (list[str]) and
    num_skipped (int: samples of this batch whose own image was unreadable, dropped or replaced).
    A batch whose every image is unreadable has B = 0: the consumer skips it.
    """

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width

    def __call__(self, samples: Sequence[Sample | None]) -> Batch:
        kept = [s for s in samples if s is not None]
        images = (
            torch.stack([s["image"] for s in kept]) if kept else torch.empty(0, 3, self.height, self.width)
        )
        return {
            "images": images,
            "pids": torch.tensor([s["pid"] for s in kept], dtype=torch.long),
            "camids": torch.tensor([s["camid"] for s in kept], dtype=torch.long),
            "paths": [s["path"] for s in kept],
            "indices": torch.tensor([s["index"] for s in kept], dtype=torch.long),
            "num_skipped": len(samples) - len(kept) + sum(s["num_skipped"] for s in kept),
        }


class SeededIndexSampler(Sampler[tuple[int, int]]):
    """Pairs each index of `base` with an augmentation seed fixed by (seed, epoch, rank, position).

    The images' random flips, crops and erasing then depend on neither the worker count nor the
    process RNG state, so a resumed run reproduces an uninterrupted one epoch for epoch.
    """

    def __init__(self, base: RandomIdentitySampler, seed: int = 0, rank: int = 0) -> None:
        self.base, self.seed, self.rank, self.epoch = base, seed, rank, 0

    def set_epoch(self, epoch: int) -> None:
        """Forward the epoch to the identity sampler and reseed the augmentation."""
        self.epoch = epoch
        self.base.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.base)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = list(self.base)
        rng = np.random.default_rng([self.seed, self.epoch, self.rank + 1, 0xA11])
        seeds = rng.integers(0, 2**62, size=len(indices)).tolist()
        return iter(zip(indices, seeds, strict=True))


def lower_priority(niceness: int, worker_id: int = 0) -> None:
    """Worker init: add `niceness` to this worker's nice value, so the training process runs first."""
    os.nice(niceness)


def _loader_kwargs(num_workers: int, worker_nice: int = 0) -> dict[str, Any]:
    """Worker settings shared by both loaders."""
    if num_workers < 0:
        raise ConfigError(f"num_workers must be >= 0, got {num_workers}")
    if not 0 <= worker_nice <= 19:
        raise ConfigError(f"worker_nice must be in 0..19, got {worker_nice}")
    return {
        "num_workers": num_workers,
        "pin_memory": torch.cuda.is_available(),
        "persistent_workers": num_workers > 0,
        "worker_init_fn": functools.partial(lower_priority, worker_nice) if worker_nice else None,
    }


def build_train_loader(
    records: Sequence[ImageRecord],
    height: int,
    width: int,
    batch_size: int = 64,
    num_instances: int = 4,
    num_workers: int = 2,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    skip_corrupt: bool = True,
    datasets: Sequence[Hashable] | None = None,
    worker_nice: int = 0,
    cache_images: bool = False,
    **transform_kwargs: Any,
) -> DataLoader:
    """P x K training batches of this rank's identities; an unreadable image is replaced by one of its pid.

    `datasets` (the dataset of each record) splits each batch's identities evenly over the datasets;
    `worker_nice` > 0 lowers the workers' CPU priority (they then use the cores training leaves idle);
    `cache_images` decodes and resizes every image once, here, into shared memory (the workers then only
    augment: the same batches, for N x 3 x height x width bytes); `transform_kwargs` go to
    `build_transforms` (flip, padding, erasing, the DG augmentation).
    """
    transform = build_transforms(height, width, is_train=True, **transform_kwargs)
    cache = None
    if cache_images:
        decode, resize, *augment = transform.transforms
        assert isinstance(decode, ImageTensor) and isinstance(resize, ResizeImage)  # build_transforms' order
        cache = ImageCache(records, v2.Compose([decode, resize]), height, width, skip_corrupt=skip_corrupt)
        transform = v2.Compose(augment)
    dataset = ImageDataset(records, transform, skip_corrupt=skip_corrupt, substitute=True, cache=cache)
    identities = RandomIdentitySampler(
        [r.pid for r in records], batch_size, num_instances, seed=seed, rank=rank, world_size=world_size,
        datasets=datasets,
    )  # fmt: skip
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=SeededIndexSampler(identities, seed=seed, rank=rank),
        collate_fn=ReIDCollate(height, width),
        drop_last=True,
        **_loader_kwargs(num_workers, worker_nice),
    )


def build_test_loader(
    records: Sequence[ImageRecord],
    height: int,
    width: int,
    batch_size: int = 128,
    num_workers: int = 2,
    skip_corrupt: bool = True,
) -> DataLoader:
    """Test-time batches in record order; an unreadable image is dropped (see the batch's paths/indices)."""
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    dataset = ImageDataset(
        records, build_transforms(height, width, is_train=False), skip_corrupt=skip_corrupt
    )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        collate_fn=ReIDCollate(height, width),
        **_loader_kwargs(num_workers),
    )
