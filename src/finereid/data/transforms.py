"""The strong baseline's image transforms (Luo et al., 2019) on torchvision.transforms.v2's kernels.

The strong baseline's steps (resize, flip, pad + crop, normalize, random erasing) are small modules that
call torchvision's kernels directly and draw their parameters from torch's generator exactly as the
torchvision transforms of the same name do: the same seed gives the same image to the bit (tested), at
less than half the time per image, because a 96x48 image costs far less than torchvision's per-call
input handling. That time is a loader worker's, taken from training on a machine with few cores.
Optional domain-generalisation augmentation (off by default): colour jitter, AutoAugment / RandAugment,
random grayscale and a random patch. Each draws from torch's generator only, so the loader's
per-sample seeds (finereid.data.loaders) keep a resumed run identical to an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from finereid.errors import ConfigError
from finereid.imagenet import IMAGENET_MEAN, IMAGENET_STD

# Random erasing as the strong baseline: area 2-40 % of the image, aspect ratio 0.3-3.3.
ERASING_SCALE = (0.02, 0.4)
ERASING_RATIO = (0.3, 1 / 0.3)
# Colour jitter for domain generalisation: mild hue, since clothing colour is much of a person's identity.
COLOR_JITTER = {"brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.05}
AUTO_AUGMENTS: dict[str, Callable[[], torch.nn.Module]] = {
    "autoaugment": lambda: v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET),
    "randaugment": lambda: v2.RandAugment(),  # 2 operations of magnitude 9 (torchvision's defaults)
}
# Random patch: a patch of 2-20 % of the image, aspect ratio 0.5-2, pasted at another random place.
PATCH_SCALE = (0.02, 0.2)
PATCH_RATIO = (0.5, 2.0)


class ImageTensor(torch.nn.Module):
    """A PIL image, array or tensor as a plain uint8 (C, H, W) tensor: v2.ToImage without its wrapper.

    A plain tensor is what torchvision's transforms take for the image anyway, and torch operations on it
    skip the wrapper's dispatch.
    """

    def forward(self, image: Any) -> torch.Tensor:
        """The image's pixels, unchanged."""
        return F.to_image(image).as_subclass(torch.Tensor)


class ResizeImage(torch.nn.Module):
    """Antialiased bilinear resize to (height, width): v2.Resize((height, width), antialias=True)."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        self.size = [height, width]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """The image at the target size."""
        return F.resize_image(image, self.size, antialias=True)


class RandomFlip(torch.nn.Module):
    """Horizontal flip with probability p: one torch.rand(1) per call, as v2.RandomHorizontalFlip."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """The image, mirrored left to right or not."""
        if torch.rand(1) >= self.p:
            return image
        return F.horizontal_flip_image(image)


class PadAndCrop(torch.nn.Module):
    """Zero padding on every side, then a random crop of the image's own size: v2.Pad + v2.RandomCrop.

    Draws the crop's top, then its left, as v2.RandomCrop does, and builds the crop without the padded copy.
    """

    def __init__(self, padding: int) -> None:
        super().__init__()
        self.padding = padding

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """A crop of the padded image, of the image's size."""
        height, width = image.shape[-2:]
        pad = self.padding
        top = int(torch.randint(0, 2 * pad + 1, size=())) - pad  # the crop's offset in image coordinates
        left = int(torch.randint(0, 2 * pad + 1, size=())) - pad
        out = torch.zeros_like(image)
        y0, y1 = max(0, top), min(height, top + height)
        x0, x1 = max(0, left), min(width, left + width)
        if y0 < y1 and x0 < x1:
            out[..., y0 - top : y1 - top, x0 - left : x1 - left] = image[..., y0:y1, x0:x1]
        return out


class ToNormalizedFloat(torch.nn.Module):
    """uint8 to float32 in [0, 1], then (x - mean) / std: v2.ToDtype(float32, scale=True) + v2.Normalize."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.mean = torch.tensor(list(mean), dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(list(std), dtype=torch.float32).view(-1, 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """The normalized float32 image."""
        return F.to_dtype_image(image, torch.float32, scale=True).sub(self.mean).div_(self.std)


class RandomErase(torch.nn.Module):
    """With probability p, fill one random rectangle with `value`: v2.RandomErasing's draws and rule.

    Up to 10 tries of an area fraction in `scale` and a log-uniform aspect ratio in `ratio`; the first
    rectangle smaller than the image in both sides is filled, and after 10 misses nothing is.
    """

    def __init__(
        self, p: float, scale: Sequence[float], ratio: Sequence[float], value: Sequence[float]
    ) -> None:
        super().__init__()
        self.p, self.scale = p, (float(scale[0]), float(scale[1]))
        self.log_ratio = torch.log(torch.tensor(list(ratio)))
        self.value = torch.tensor([float(v) for v in value])[:, None, None]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """The image with one rectangle erased, or the image itself."""
        if torch.rand(1) >= self.p:
            return image
        height, width = image.shape[-2:]
        for _ in range(10):
            area = height * width * torch.empty(1).uniform_(*self.scale).item()
            aspect = torch.exp(torch.empty(1).uniform_(self.log_ratio[0], self.log_ratio[1])).item()
            h, w = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if h < height and w < width:
                top = int(torch.randint(0, height - h + 1, size=(1,)))
                left = int(torch.randint(0, width - w + 1, size=(1,)))
                return F.erase_image(image, top, left, h, w, self.value)
        return image


class RandomPatch(torch.nn.Module):
    """With probability p, copy a random patch of the image (mirrored half the time) to another place.

    The patch comes from the same image, not from a pool of earlier images as in OSNet's RandomPatch:
    a pool would make a sample depend on what its worker loaded before, and resume would not repeat.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """A (C, H, W) image with one patch pasted over it, or the image itself."""
        if self.p == 0 or float(torch.rand(())) >= self.p:
            return image
        height, width = image.shape[-2:]
        area = float(torch.empty(()).uniform_(*PATCH_SCALE)) * height * width
        ratio = float(torch.empty(()).uniform_(*PATCH_RATIO))
        h = max(1, min(height, round((area * ratio) ** 0.5)))
        w = max(1, min(width, round((area / ratio) ** 0.5)))
        y0, x0, y1, x1 = (int(torch.randint(0, n - size + 1, ())) for n, size in
                          ((height, h), (width, w), (height, h), (width, w)))  # fmt: skip
        patch = image[..., y0 : y0 + h, x0 : x0 + w].clone()
        if float(torch.rand(())) < 0.5:
            patch = patch.flip(-1)
        out = image.clone()
        out[..., y1 : y1 + h, x1 : x1 + w] = patch
        return out


def _check(height: int, width: int, padding: int, auto_augment: str, **probs: float) -> None:
    """One-line errors for values torchvision would reject deep inside a worker."""
    if not (isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0):
        raise ConfigError(f"image size must be positive integers, got height={height!r} width={width!r}")
    for name, p in probs.items():
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"{name} must be in [0, 1], got {p!r}")
    if auto_augment != "none" and auto_augment not in AUTO_AUGMENTS:
        raise ConfigError(f"unknown auto_augment {auto_augment!r}; valid: none, {', '.join(AUTO_AUGMENTS)}")
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
    color_jitter_prob: float = 0.0,
    auto_augment: str = "none",
    grayscale_prob: float = 0.0,
    patch_prob: float = 0.0,
) -> v2.Compose:
    """Train: resize, flip, pad + crop, [DG augmentation], normalize, random erasing. Test: resize, normalize.

    Accepts a PIL image or a uint8 CHW tensor; returns a float32 CHW tensor of size height x width.
    Erased pixels are filled with `mean` after normalization, as the strong baseline's own erasing does.
    The domain-generalisation steps run on the cropped uint8 image in this order: `auto_augment`
    (none | autoaugment | randaugment), colour jitter, grayscale, random patch (each off at 0 / none).
    """
    probs = {"flip_prob": flip_prob, "erasing_prob": erasing_prob, "color_jitter_prob": color_jitter_prob,
             "grayscale_prob": grayscale_prob, "patch_prob": patch_prob}  # fmt: skip
    _check(height, width, padding, auto_augment, **probs)
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise ConfigError(f"mean and std need 3 values each (std > 0), got mean={mean!r} std={std!r}")
    steps: list[torch.nn.Module] = [ImageTensor(), ResizeImage(height, width)]
    if is_train:
        if flip_prob > 0:
            steps.append(RandomFlip(p=flip_prob))
        if padding > 0:
            steps.append(PadAndCrop(padding))
        steps += _generalisation_steps(color_jitter_prob, auto_augment, grayscale_prob, patch_prob)
    steps.append(ToNormalizedFloat(mean, std))
    if is_train and erasing_prob > 0:
        steps.append(RandomErase(erasing_prob, ERASING_SCALE, ERASING_RATIO, value=mean))
    return v2.Compose(steps)


def _generalisation_steps(
    color_jitter_prob: float, auto_augment: str, grayscale_prob: float, patch_prob: float
) -> list[torch.nn.Module]:
    """The domain-generalisation steps that are switched on, in their fixed order."""
    steps: list[torch.nn.Module] = []
    if auto_augment != "none":
        steps.append(AUTO_AUGMENTS[auto_augment]())
    if color_jitter_prob > 0:
        steps.append(v2.RandomApply([v2.ColorJitter(**COLOR_JITTER)], p=color_jitter_prob))
    if grayscale_prob > 0:
        steps.append(v2.RandomGrayscale(p=grayscale_prob))
    if patch_prob > 0:
        steps.append(RandomPatch(p=patch_prob))
    return steps
