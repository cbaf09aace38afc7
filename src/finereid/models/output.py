"""The output convention every finereid model follows, and the input check they share."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from finereid.errors import ConfigError


class ReIDOutput(NamedTuple):
    """Training-mode output: metric-loss features and identity logits, one entry per branch.

    In eval mode a model returns the inference embedding (one tensor [B, feature_dim]) instead.
    """

    features: list[Tensor]
    logits: list[Tensor]


def _exporting() -> bool:
    """True while tracing, exporting or compiling, where Python-side checks must not run."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling()


def check_images(x: Tensor, training: bool) -> None:
    """Reject a batch that is not [B, 3, H, W] floats (and B < 2 in training, which BatchNorm cannot use)."""
    if _exporting():
        return
    if not isinstance(x, Tensor):
        raise ConfigError(f"model input must be a tensor [B, 3, H, W], got {type(x).__name__}")
    if x.dim() != 4 or x.shape[1] != 3:
        raise ConfigError(f"model input must be RGB images [B, 3, H, W], got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ConfigError(f"model input must be a float tensor (normalized images), got {x.dtype}")
    if training and x.shape[0] < 2:
        raise ConfigError(f"training needs a batch of at least 2 images (BatchNorm), got {x.shape[0]}")
