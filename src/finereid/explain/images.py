"""Person crops for activation maps: read, check the shape, transform exactly as evaluation does."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from finereid.data import build_transforms, read_image
from finereid.errors import DatasetError

MIN_SIDE = 16  # pixels; smaller crops hold too little to map
MAX_SHAPE_FACTOR = 2.0  # an image's height/width may differ from the model input's by this factor at most


def check_crop(path: str | Path, height: int, width: int, model_height: int, model_width: int) -> None:
    """One-line DatasetError unless an image of this size could be a crop the model was trained on.

    The model sees every image resized to its input size; an image much wider or taller than that shape
    (a whole video frame, a thumbnail strip) would be squashed out of recognition.
    """
    aspect, expected = height / max(1, width), model_height / model_width
    if min(height, width) < MIN_SIDE or not 1 / MAX_SHAPE_FACTOR <= aspect / expected <= MAX_SHAPE_FACTOR:
        low, high = expected / MAX_SHAPE_FACTOR, expected * MAX_SHAPE_FACTOR
        raise DatasetError(
            f"{path} is {height}x{width} (height x width): not a crop this model can read; it takes crops "
            f"at least {MIN_SIDE} px a side, {low:.2g} to {high:.2g} times as tall as wide "
            f"(its input is {model_height}x{model_width})"
        )


class CropLoader:
    """Reads images as (model input tensors, original RGB arrays), checking each one's shape."""

    def __init__(self, height: int, width: int, mean: Sequence[float], std: Sequence[float]) -> None:
        self.height, self.width = height, width
        self.transform = build_transforms(height, width, is_train=False, mean=mean, std=std)

    def load(self, paths: Sequence[str | Path]) -> tuple[torch.Tensor, list[np.ndarray]]:
        """[N, 3, H, W] normalized inputs and the N original images (uint8 [h, w, 3])."""
        if not paths:
            raise DatasetError("no images to explain")
        inputs, originals = [], []
        for path in paths:
            image = read_image(str(path))  # uint8 [3, h, w]; an unreadable file is a one-line DatasetError
            check_crop(path, int(image.shape[1]), int(image.shape[2]), self.height, self.width)
            inputs.append(self.transform(image))
            originals.append(image.permute(1, 2, 0).numpy())
        return torch.stack(inputs), originals
