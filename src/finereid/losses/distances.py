"""Euclidean distance with a finite gradient at zero, as a pytorch-metric-learning distance."""

from __future__ import annotations

import contextlib

import torch
from pytorch_metric_learning.distances import LpDistance

from finereid.errors import ConfigError

_HALF = (torch.float16, torch.bfloat16)


class ClampedL2Distance(LpDistance):
    """Pairwise `sqrt(max(||a - b||^2, eps))`: sqrt's gradient at 0 is infinite, the clamp keeps it finite.

    16-bit inputs are measured in float32 (with autocast off): the `|a|^2 + |b|^2 - 2ab` expansion
    keeps no precision in 16 bits. Everything else (normalize_embeddings, power) is PML's LpDistance.
    """

    def __init__(self, eps: float = 1e-12, **kwargs) -> None:
        if kwargs.pop("p", 2) != 2:
            raise ConfigError("ClampedL2Distance: only p=2 (Euclidean) is supported")
        if not eps > 0:
            raise ConfigError(f"ClampedL2Distance: eps must be > 0, got {eps!r}")
        super().__init__(p=2, **kwargs)
        self.eps = float(eps)

    def compute_mat(self, query_emb: torch.Tensor, ref_emb: torch.Tensor | None) -> torch.Tensor:
        """Distance matrix (len(query), len(ref)) from one matrix product, clamped before the sqrt."""
        ref_emb = query_emb if ref_emb is None else ref_emb
        with _full_precision(query_emb):
            query, ref = _upcast(query_emb), _upcast(ref_emb)
            squared = query.pow(2).sum(1, keepdim=True) + ref.pow(2).sum(1).unsqueeze(0) - 2.0 * query @ ref.T
            return squared.clamp_min(self.eps).sqrt()

    def pairwise_distance(self, query_emb: torch.Tensor, ref_emb: torch.Tensor) -> torch.Tensor:
        """Row-wise distance between two equally long batches, clamped the same way."""
        with _full_precision(query_emb):
            diff = _upcast(query_emb) - _upcast(ref_emb)
            return diff.pow(2).sum(1).clamp_min(self.eps).sqrt()


def _upcast(x: torch.Tensor) -> torch.Tensor:
    """float16/bfloat16 -> float32; other dtypes unchanged."""
    return x.float() if x.dtype in _HALF else x


def _full_precision(x: torch.Tensor) -> contextlib.AbstractContextManager:
    """Autocast switched off on x's device if it is on there (it would turn the matmul back to 16 bits)."""
    device_type = x.device.type
    if device_type in ("cpu", "cuda") and torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type=device_type, enabled=False)
    return contextlib.nullcontext()
