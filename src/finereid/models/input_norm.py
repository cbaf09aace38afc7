"""Renormalize ImageNet-normalized input for weights trained with another mean/std (one fixed affine map)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from finereid.imagenet import IMAGENET_MEAN, IMAGENET_STD


class InputRenorm(nn.Module):
    """x_imagenet -> (pixels - mean) / std: every finereid model takes ImageNet-normalized images, so a trunk
    whose weights expect other statistics (e.g. timm ViTs: 0.5 / 0.5) converts them itself and the data
    pipeline has no special case. The identity (no op) when the statistics are ImageNet's."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.identity = tuple(mean) == tuple(IMAGENET_MEAN) and tuple(std) == tuple(IMAGENET_STD)
        source_mean, source_std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        target_mean, target_std = torch.tensor(tuple(mean)), torch.tensor(tuple(std))
        # (x * s + m - mt) / st, folded into one scale and shift per channel; not saved in checkpoints.
        scale, shift = source_std / target_std, (source_mean - target_mean) / target_std
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", shift.view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the per-channel map (skipped for ImageNet statistics)."""
        return x if self.identity else x * self.scale + self.shift
