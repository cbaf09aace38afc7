"""Constants and input helpers shared by the model tests."""

from __future__ import annotations

import torch

from finereid.models import MODELS, model_options

NUM_CLASSES = 5
# Small inputs keep ResNet-50 cheap on CPU; 64x32 still leaves 4x2 maps for MGN's three stripes.
HEIGHT, WIDTH = 64, 32
ALL_MODELS = sorted(MODELS)


def images(batch: int = 4, height: int = HEIGHT, width: int = WIDTH, seed: int = 0) -> torch.Tensor:
    """A batch of random ImageNet-normalized-looking images, reproducible by seed."""
    return torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(seed))


def size_options(name: str, height: int = HEIGHT, width: int = WIDTH) -> dict[str, int]:
    """Options of models built for one input size (the TransReID ViTs): the test size."""
    return {k: v for k, v in (("height", height), ("width", width)) if k in model_options(name)}
