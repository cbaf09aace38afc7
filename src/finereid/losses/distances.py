"""Euclidean distance with a finite gradient at zero, as a pytorch-metric-learning distance, and the same
distance among the rows of one batch with a fused backward (FDPLoss's fast path)."""

from __future__ import annotations

import contextlib

import torch
from pytorch_metric_learning.distances import LpDistance

from finereid.errors import ConfigError

_HALF = (torch.float16, torch.bfloat16)
NORM_EPS = 1e-12  # F.normalize's floor on the norm (PML's LpDistance normalizes with it)


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


def self_distance(features: torch.Tensor, normalize: bool, eps: float = 1e-12) -> torch.Tensor:
    """`ClampedL2Distance(normalize_embeddings=normalize)(features)` as one autograd node.

    The same formulas (x / max(||x||, 1e-12), then sqrt(max(|a|^2 + |b|^2 - 2ab, eps))), with a backward
    written for a matrix against itself: one matrix product instead of two, no intermediate nodes.
    16-bit features are normalized and measured in float32. Values and gradients agree with the PML
    path to float rounding (tests/losses/test_fdp_fast_path.py), not bit for bit.
    """
    with _full_precision(features):
        return _SelfDistance.apply(_upcast(features), normalize, eps)


class _SelfDistance(torch.autograd.Function):
    """Pairwise distances among the rows of x, optionally L2-normalized first; see `self_distance`."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, normalize: bool, eps: float) -> torch.Tensor:
        """The (B, B) distance matrix; keeps the normalized rows, distances and clamp masks."""
        norm = unclamped = None
        if normalize:
            raw = torch.linalg.vector_norm(x, dim=1, keepdim=True)
            norm, unclamped = raw.clamp_min(NORM_EPS), raw >= NORM_EPS
            x = x / norm
        squares = x.pow(2).sum(1, keepdim=True)
        squared = torch.addmm(squares + squares.T, x, x.T, alpha=-2.0)
        kept = squared >= eps  # clamp_min passes the gradient where the input reaches the floor
        dist = squared.clamp_min(eps).sqrt()
        ctx.save_for_backward(x, dist, kept, norm, unclamped)
        return dist

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        """Gradient for x: one (B, B) x (B, D) product, then the normalization's projection."""
        y, dist, kept, norm, unclamped = ctx.saved_tensors
        g = torch.where(kept, grad / (2.0 * dist), 0.0)  # through sqrt and the clamp
        g = g + g.T  # a and b are the same rows: d/dy of |y_i|^2 + |y_j|^2 - 2 y_i.y_j, both sides
        half = torch.addmm(y * g.sum(1, keepdim=True), g, y, alpha=-1.0)  # (dL/dy) / 2
        if norm is None:
            return 2.0 * half, None, None
        along = torch.where(unclamped, (half * y).sum(1, keepdim=True), 0.0)  # below the floor: no projection
        return torch.addcmul(half, y, along, value=-1.0).mul_(2.0 / norm), None, None
