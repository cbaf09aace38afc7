"""data.cache_images: training images decoded and resized once, with the same batches as without."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from data_fixture_trees import write_corrupt
from PIL import Image

from finereid.config import config_from_dict
from finereid.data import ImageDataset, ImageRecord, build_train_loader, read_image
from finereid.data.image_dataset import ImageCache, UnreadableImageError
from finereid.data.transforms import ImageTensor, ResizeImage
from finereid.errors import ConfigError, DatasetError

HEIGHT, WIDTH = 24, 12


def _records(root: Path, corrupt: set[int] = frozenset()) -> list[ImageRecord]:
    """4 identities x 4 images of random pixels, 40x18 (resized to 24x12); indices in `corrupt` cut off."""
    rng = np.random.default_rng(0)
    records = []
    for index in range(16):
        path = root / f"{index // 4}_{index}.jpg"
        if index in corrupt:
            write_corrupt(path)
        else:
            Image.fromarray(rng.integers(0, 256, (40, 18, 3), dtype=np.uint8)).save(path)
        records.append(ImageRecord(str(path), index // 4, index % 3))
    return records


def _epochs(loader, epochs: int = 2) -> list[dict]:
    batches = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        batches += list(loader)
    return batches


@pytest.mark.parametrize("num_workers", [0, 2])
def test_cached_images_give_the_same_batches(tmp_path: Path, num_workers: int) -> None:
    records = _records(tmp_path)
    kwargs = {"batch_size": 8, "num_instances": 4, "seed": 3, "num_workers": num_workers, "patch_prob": 0.5}
    plain, cached = (
        build_train_loader(records, HEIGHT, WIDTH, cache_images=c, **kwargs) for c in (False, True)
    )
    assert plain.dataset.cache is None and cached.dataset.cache is not None
    for a, b in zip(_epochs(plain), _epochs(cached), strict=True):
        assert a["paths"] == b["paths"] and torch.equal(a["images"], b["images"])


def test_the_cache_holds_each_image_resized_once(tmp_path: Path) -> None:
    records = _records(tmp_path)
    cache = ImageCache(records, lambda image: ResizeImage(HEIGHT, WIDTH)(ImageTensor()(image)), HEIGHT, WIDTH)
    assert cache.images.shape == (16, 3, HEIGHT, WIDTH) and cache.images.is_shared()
    for index, record in enumerate(records):
        assert torch.equal(cache.get(index), ResizeImage(HEIGHT, WIDTH)(read_image(record.path)))


def test_unreadable_images_are_counted_and_replaced_as_without_cache(tmp_path: Path, caplog) -> None:
    records = _records(tmp_path, corrupt={5})
    kwargs = {"batch_size": 8, "num_instances": 4, "seed": 1, "num_workers": 0}
    with caplog.at_level(logging.WARNING):
        cached = build_train_loader(records, HEIGHT, WIDTH, cache_images=True, **kwargs)
    warned = [r.message for r in caplog.records if r.message.startswith("skipping unreadable image")]
    assert len(warned) == 1 and records[5].path in warned[0]  # once, when the cache is built
    assert not cached.dataset.cache.readable[5] and int(cached.dataset.cache.readable.sum()) == 15
    plain = build_train_loader(records, HEIGHT, WIDTH, **kwargs)
    for a, b in zip(_epochs(plain), _epochs(cached), strict=True):
        assert a["paths"] == b["paths"] and a["num_skipped"] == b["num_skipped"]
        assert torch.equal(a["images"], b["images"])
    assert sum(b["num_skipped"] for b in _epochs(cached)) > 0  # image 5 was drawn and replaced


def test_without_skipping_an_unreadable_image_fails_when_the_cache_is_built(tmp_path: Path) -> None:
    records = _records(tmp_path, corrupt={2})
    with pytest.raises(UnreadableImageError, match=f"cannot read image {records[2].path}"):
        build_train_loader(records, HEIGHT, WIDTH, num_workers=0, skip_corrupt=False, cache_images=True)


def test_a_cache_too_large_for_memory_is_one_line(tmp_path: Path, monkeypatch) -> None:
    records = _records(tmp_path)

    def no_memory(*args, **kwargs):
        raise RuntimeError(
            "DefaultCPUAllocator: can't allocate memory: you tried to allocate 18432 bytes.\nmore"
        )

    monkeypatch.setattr(torch, "empty", no_memory)
    with pytest.raises(DatasetError) as info:
        ImageCache(records, lambda image: image, HEIGHT, WIDTH)
    assert str(info.value) == (
        "data.cache_images: cannot hold 16 images of 24x12 (0.00 GiB): DefaultCPUAllocator: can't allocate "
        "memory: you tried to allocate 18432 bytes."
    )


def test_a_cache_of_other_records_is_refused(tmp_path: Path) -> None:
    records = _records(tmp_path)
    cache = ImageCache(records[:4], lambda image: ResizeImage(HEIGHT, WIDTH)(image), HEIGHT, WIDTH)
    with pytest.raises(DatasetError, match="the image cache holds 4 images for 16 records"):
        ImageDataset(records, cache=cache)


def test_cache_images_is_a_boolean_config_key() -> None:
    assert config_from_dict({"data": {"cache_images": True}}).data.cache_images is True
    assert config_from_dict({}).data.cache_images is False
    with pytest.raises(ConfigError, match="cache_images"):
        config_from_dict({"data": {"cache_images": "yes"}})
