"""Batch-hard triplet losses as the ReID strong baseline trains them, from PML's loss and miner."""

from __future__ import annotations

from pytorch_metric_learning.losses import TripletMarginLoss
from pytorch_metric_learning.miners import BatchHardMiner
from pytorch_metric_learning.reducers import MeanReducer

from finereid.losses.checks import as_bool, as_float
from finereid.losses.distances import ClampedL2Distance
from finereid.losses.pml import PMLMetricLoss


def triplet(margin: float = 0.3, normalize: bool = False) -> PMLMetricLoss:
    """max(0, d_ap - d_an + margin) with, per anchor, the farthest positive and the nearest negative.

    Matches the strong baseline: Euclidean distance on raw features (unless `normalize`), averaged over
    every anchor that has a positive and a negative, zero-loss anchors included. PML's own defaults
    differ on both counts (L2-normalized features; AvgNonZeroReducer averages only violating triplets).
    """
    margin = as_float("triplet loss", "margin", margin, low=0.0)
    normalize = as_bool("triplet loss", "normalize", normalize)
    loss = TripletMarginLoss(
        margin=margin, distance=ClampedL2Distance(normalize_embeddings=normalize), reducer=MeanReducer()
    )
    return PMLMetricLoss("triplet", loss, _batch_hard_miner(normalize))


def triplet_soft(normalize: bool = False) -> PMLMetricLoss:
    """Soft-margin batch-hard triplet softplus(d_ap - d_an): no margin to tune, never exactly zero."""
    normalize = as_bool("triplet_soft loss", "normalize", normalize)
    loss = TripletMarginLoss(
        margin=0.0,
        smooth_loss=True,
        distance=ClampedL2Distance(normalize_embeddings=normalize),
        reducer=MeanReducer(),
    )
    return PMLMetricLoss("triplet_soft", loss, _batch_hard_miner(normalize))


def _batch_hard_miner(normalize: bool) -> BatchHardMiner:
    """Hardest positive and hardest negative per anchor, under the same distance as the loss."""
    return BatchHardMiner(distance=ClampedL2Distance(normalize_embeddings=normalize))
