"""ImageDataset: samples, and unreadable images skipped with a warning, counted, or fatal on request."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from data_fixture_trees import write_corrupt, write_image
from PIL import Image

from finereid.data import ImageDataset, ImageRecord, ReIDCollate, UnreadableImageError, build_transforms
from finereid.errors import DatasetError


def _records(tmp_path: Path) -> list[ImageRecord]:
    """pid 0: a good image then a corrupt one; pid 1: a good PNG; pid 2: a missing file."""
    return [
        ImageRecord(str(write_image(tmp_path / "a.jpg", (255, 0, 0))), 0, 0),
        ImageRecord(str(write_corrupt(tmp_path / "bad.jpg")), 0, 1),
        ImageRecord(str(write_image(tmp_path / "c.png", (0, 0, 255))), 1, 0),
        ImageRecord(str(tmp_path / "gone.jpg"), 2, 1),
    ]


def test_sample_fields(tmp_path: Path) -> None:
    dataset = ImageDataset(_records(tmp_path), build_transforms(16, 8, is_train=False))
    sample = dataset[2]
    assert sample is not None
    assert sample["image"].shape == (3, 16, 8)
    assert (sample["pid"], sample["camid"], sample["index"], sample["num_skipped"]) == (1, 0, 2, 0)
    assert sample["path"].endswith("c.png")
    raw = ImageDataset(_records(tmp_path))[0]
    assert raw is not None and raw["image"].dtype == torch.uint8 and raw["image"].shape == (3, 16, 8)
    red, green, blue = raw["image"][:, 8, 4].tolist()  # a red JPEG, up to compression error
    assert red >= 240 and green <= 15 and blue <= 15


def test_corrupt_and_missing_images_are_skipped_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = ImageDataset(_records(tmp_path), build_transforms(16, 8, is_train=False))
    with caplog.at_level(logging.WARNING, logger="finereid.data.image_dataset"):
        assert dataset[1] is None
        assert dataset[3] is None
        assert dataset[1] is None  # asked again: counted again, warned once
    assert dataset.num_skipped == 3
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert "bad.jpg" in warnings[0] and "gone.jpg" in warnings[1]


def test_substitute_takes_another_image_of_the_same_pid(tmp_path: Path) -> None:
    dataset = ImageDataset(_records(tmp_path), build_transforms(16, 8, is_train=False), substitute=True)
    sample = dataset[1]
    assert sample is not None
    assert (sample["pid"], sample["index"], sample["num_skipped"]) == (0, 0, 1)
    assert sample["path"].endswith("a.jpg")
    assert dataset[3] is None  # pid 2 has no readable image at all
    assert dataset.num_skipped == 2


def test_skip_corrupt_false_raises_naming_the_file(tmp_path: Path) -> None:
    dataset = ImageDataset(_records(tmp_path), skip_corrupt=False)
    with pytest.raises(DatasetError, match=r"cannot read image .*bad\.jpg"):
        dataset[1]


def test_seeded_key_makes_augmentation_reproducible(tmp_path: Path) -> None:
    pixels = torch.randint(0, 256, (32, 16, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    Image.fromarray(pixels.numpy()).save(tmp_path / "r.png")
    dataset = ImageDataset([ImageRecord(str(tmp_path / "r.png"), 0, 0)], build_transforms(32, 16))
    a, b, c = dataset[(0, 123)], dataset[(0, 123)], dataset[(0, 124)]
    assert a is not None and b is not None and c is not None
    assert torch.equal(a["image"], b["image"])
    assert not torch.equal(a["image"], c["image"])
    state = torch.random.get_rng_state()
    dataset[(0, 5)]
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is left alone


def test_collate_drops_none_and_all_bad_batch_is_empty_not_an_error() -> None:
    collate = ReIDCollate(16, 8)
    good = {
        "image": torch.zeros(3, 16, 8),
        "pid": 4,
        "camid": 1,
        "path": "a.jpg",
        "index": 7,
        "num_skipped": 1,
    }
    batch = collate([None, good, None])
    assert batch["images"].shape == (1, 3, 16, 8)
    assert batch["pids"].tolist() == [4] and batch["indices"].tolist() == [7] and batch["paths"] == ["a.jpg"]
    assert batch["num_skipped"] == 3
    empty = collate([None, None])
    assert empty["images"].shape == (0, 3, 16, 8) and empty["pids"].dtype == torch.long
    assert empty["num_skipped"] == 2 and empty["paths"] == []


def test_worker_error_stays_one_line() -> None:
    wrapped = UnreadableImageError(
        "Caught UnreadableImageError in DataLoader worker process 0.\n"
        "Original Traceback (most recent call last):\n"
        '  File "x.py", line 1, in f\n'
        "finereid.data.image_dataset.UnreadableImageError: cannot read image /d/x.jpg: bad"
    )
    assert str(wrapped) == "cannot read image /d/x.jpg: bad"
