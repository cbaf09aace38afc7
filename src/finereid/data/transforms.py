"""The strong baseline's image transforms (Luo et al., 2019) on torchvision.transforms.v2."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.transforms import v2

from finereid.errors import ConfigError
from finereid.imagenet import IMAGENET_MEAN, IMAGENET_STD

# Random erasing as the strong baseline: area 2-40 % of the image, aspect ratio 0.3-3.3.
ERASING_SCALE = (0.02, 0.4)
ERASING_RATIO = (0.3, 1 / 0.3)


def _check(height: int, width: int, flip_prob: float, padding: int, erasing_prob: float) -> None:
    """One-line errors for values torchvision would reject deep inside a worker."""
    if not (isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0):
        raise ConfigError(f"image size must be positive integers, got height={height!r} width={width!r}")
    for name, p in (("flip_prob", flip_prob), ("erasing_prob", erasing_prob)):
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"{name} must be in [0, 1], got {p!r}")
    if not (isinstance(padding, int) and padding >= 0):
        raise ConfigError(f"padding must be a non-negative integer, got {padding!r}")


def build_transforms(
    height: int = 256,
    width: int = 128,
    is_train: bool = True,
    flip_prob: float = 0.5,
    padding: int = 10,
    erasing_prob: float = 0.5,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> v2.Compose:
    """Train: resize, flip, pad + random crop, normalize, random erasing. Test: resize, normalize.

    Accepts a PIL image or a uint8 CHW tensor; returns a float32 CHW tensor of size height x width.
    Erased pixels are filled with `mean` after normalization, as the strong baseline's own erasing does.
    """
    _check(height, width, flip_prob, padding, erasing_prob)
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise ConfigError(f"mean and std need 3 values each (std > 0), got mean={mean!r} std={std!r}")
    steps: list[torch.nn.Module] = [v2.ToImage(), v2.Resize((height, width), antialias=True)]
    if is_train:
        if flip_prob > 0:
            steps.append(v2.RandomHorizontalFlip(p=flip_prob))
        if padding > 0:
            steps += [v2.Pad(padding), v2.RandomCrop((height, width))]
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))]
    if is_train and erasing_prob > 0:
        steps.append(
            v2.RandomErasing(p=erasing_prob, scale=ERASING_SCALE, ratio=ERASING_RATIO, value=list(mean))
        )
    return v2.Compose(steps)
