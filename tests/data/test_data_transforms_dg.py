"""Domain-generalisation augmentation: off by default, each switch does its job, seeded per sample."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from data_fixture_trees import color_of, write_image

from finereid.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageRecord,
    RandomPatch,
    build_train_loader,
    build_transforms,
)
from finereid.errors import ConfigError

SWITCHES = [
    {"color_jitter_prob": 1.0},
    {"auto_augment": "autoaugment"},
    {"auto_augment": "randaugment"},
    {"grayscale_prob": 1.0},
    {"patch_prob": 1.0},
]
PLAIN = {"flip_prob": 0.0, "padding": 0, "erasing_prob": 0.0}


def _image(seed: int = 0) -> torch.Tensor:
    """A 64x32 uint8 image of random colour blocks (so colour and geometry changes both show)."""
    generator = torch.Generator().manual_seed(seed)
    blocks = torch.randint(0, 256, (3, 8, 4), dtype=torch.uint8, generator=generator)
    return blocks.repeat_interleave(8, dim=1).repeat_interleave(8, dim=2)


def _unnormalize(out: torch.Tensor) -> torch.Tensor:
    return out * torch.tensor(IMAGENET_STD)[:, None, None] + torch.tensor(IMAGENET_MEAN)[:, None, None]


def test_every_switch_is_off_by_default() -> None:
    names = [type(step).__name__ for step in build_transforms(64, 32).transforms]
    assert names == [
        "ImageTensor",
        "ResizeImage",
        "RandomFlip",
        "PadAndCrop",
        "ToNormalizedFloat",
        "RandomErase",
    ]


@pytest.mark.parametrize("switch", SWITCHES, ids=lambda s: "-".join(map(str, s.values())))
def test_each_switch_changes_the_image_and_repeats_under_one_seed(switch: dict) -> None:
    plain, augmented = build_transforms(64, 32, **PLAIN), build_transforms(64, 32, **PLAIN, **switch)
    changed = 0
    for seed in range(4):
        image = _image(seed)
        torch.manual_seed(seed)
        first = augmented(image)
        torch.manual_seed(seed)
        assert torch.equal(augmented(image), first)  # the same seed, the same augmentation
        changed += not torch.allclose(first, plain(image))
    assert changed >= 3  # a policy may draw an identity operation now and then


def test_grayscale_gives_equal_channels() -> None:
    out = _unnormalize(build_transforms(64, 32, **PLAIN, grayscale_prob=1.0)(_image()))
    assert torch.allclose(out[0], out[1], atol=1e-5) and torch.allclose(out[1], out[2], atol=1e-5)


def test_random_patch_copies_a_patch_of_the_same_image() -> None:
    # every pixel holds its own coordinates, so each output pixel says where it was copied from
    ys, xs = torch.meshgrid(torch.arange(64), torch.arange(32), indexing="ij")
    image = torch.stack([ys, xs, torch.zeros_like(ys)]).to(torch.uint8)
    patch = RandomPatch(p=1.0)
    areas = []
    for seed in range(20):
        torch.manual_seed(seed)
        out = patch(image)
        moved = (out != image).any(dim=0)
        areas.append(int(moved.sum()))
        assert int(moved.sum()) <= 0.2 * 64 * 32 * 1.05
        if moved.any():
            rows, cols = moved.nonzero(as_tuple=True)
            # a translated (maybe mirrored) copy: the sources span as many rows and columns as the targets
            spans = [int(v.max() - v.min() + 1) for v in out[:2, rows, cols]]
            assert spans == [int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)]
    assert sum(a > 0 for a in areas) >= 15
    assert torch.equal(RandomPatch(p=0.0)(image), image)


@pytest.mark.parametrize("switch", SWITCHES, ids=lambda s: "-".join(map(str, s.values())))
def test_augmented_batches_depend_on_seed_and_epoch_not_on_workers(tmp_path: Path, switch: dict) -> None:
    records = []
    for pid in range(4):
        for k in range(4):
            path = write_image(tmp_path / f"{pid:04d}_c{k % 2 + 1}_{k}.jpg", color_of(pid, k), size=(16, 32))
            records.append(ImageRecord(str(path), pid, k % 2))
    kwargs = {"batch_size": 8, "num_instances": 4, "seed": 5, **switch}
    serial, parallel = (build_train_loader(records, 32, 16, num_workers=n, **kwargs) for n in (0, 2))
    serial.sampler.set_epoch(1)
    parallel.sampler.set_epoch(1)
    torch.manual_seed(0)
    first = list(serial)
    torch.manual_seed(123)  # the process RNG must not matter
    second = list(parallel)
    for a, b in zip(first, second, strict=True):
        assert a["paths"] == b["paths"] and torch.equal(a["images"], b["images"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"auto_augment": "trivial"}, "unknown auto_augment 'trivial'"),
        ({"patch_prob": 1.5}, r"patch_prob must be in \[0, 1\]"),
        ({"color_jitter_prob": -0.1}, r"color_jitter_prob must be in \[0, 1\]"),
        ({"grayscale_prob": 2.0}, r"grayscale_prob must be in \[0, 1\]"),
    ],
)
def test_bad_switches_are_one_line_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_transforms(64, 32, **kwargs)
