"""Strong-baseline transforms: sizes, normalization, flip, pad-crop, erasing, test-time determinism."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from finereid.data import IMAGENET_MEAN, IMAGENET_STD, build_transforms
from finereid.errors import ConfigError


def _left_right_image() -> torch.Tensor:
    """uint8 3x32x16: left half black, right half white."""
    image = torch.zeros(3, 32, 16, dtype=torch.uint8)
    image[:, :, 8:] = 255
    return image


def test_test_transform_resizes_and_normalizes() -> None:
    transform = build_transforms(24, 12, is_train=False)
    gray = torch.full((3, 50, 30), 128, dtype=torch.uint8)
    out = transform(gray)
    assert out.shape == (3, 24, 12) and out.dtype == torch.float32
    expected = (128 / 255 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(out.mean(dim=(1, 2)), expected, atol=1e-4)
    assert torch.equal(transform(gray), out)  # no randomness at test time


def test_pil_and_tensor_inputs_agree() -> None:
    image = _left_right_image()
    pil = Image.fromarray(image.permute(1, 2, 0).numpy())
    transform = build_transforms(32, 16, is_train=False)
    assert torch.allclose(transform(pil), transform(image), atol=1e-5)


def test_flip_always_and_never() -> None:
    image = _left_right_image()
    common = {"padding": 0, "erasing_prob": 0.0}
    kept = build_transforms(32, 16, flip_prob=0.0, **common)(image)
    flipped = build_transforms(32, 16, flip_prob=1.0, **common)(image)
    assert kept[0, 0, 0] < kept[0, 0, -1]  # black left, white right
    assert torch.equal(flipped, kept.flip(-1))


def test_pad_and_crop_shift_the_content() -> None:
    image = _left_right_image()
    transform = build_transforms(32, 16, flip_prob=0.0, padding=4, erasing_prob=0.0)
    torch.manual_seed(0)
    outs = [transform(image) for _ in range(20)]
    assert all(o.shape == (3, 32, 16) for o in outs)
    assert len({o.sum().item() for o in outs}) > 1  # different crops of the zero-padded image
    padded_black = (0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]
    assert any(torch.isclose(o[0, 0, -1], torch.tensor(padded_black), atol=1e-4) for o in outs)


def test_random_erasing_fills_with_mean_value() -> None:
    white = torch.full((3, 64, 32), 255, dtype=torch.uint8)
    transform = build_transforms(64, 32, flip_prob=0.0, padding=0, erasing_prob=1.0)
    torch.manual_seed(0)
    out = transform(white)
    erased = ~torch.isclose(out[0], torch.tensor((1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]), atol=1e-4)
    assert 0.02 * 64 * 32 * 0.9 <= erased.sum() <= 0.4 * 64 * 32 * 1.1
    assert torch.allclose(out[0][erased], torch.tensor(IMAGENET_MEAN[0]))  # the strong baseline's fill


def test_default_size_is_256_by_128() -> None:
    out = build_transforms()(torch.zeros(3, 128, 64, dtype=torch.uint8))
    assert out.shape == (3, 256, 128)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"height": 0}, "image size must be positive integers"),
        ({"flip_prob": 1.5}, r"flip_prob must be in \[0, 1\]"),
        ({"erasing_prob": -0.1}, r"erasing_prob must be in \[0, 1\]"),
        ({"padding": -2}, "padding must be a non-negative integer"),
        ({"std": (0.2, 0.0, 0.2)}, "mean and std need 3 values each"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_transforms(**kwargs)
