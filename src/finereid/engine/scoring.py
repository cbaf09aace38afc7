"""Glue between embeddings and finereid.metrics: gather across ranks, score query vs gallery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from finereid.metrics import evaluate_features


def score_features(
    query_feats: Tensor,
    gallery_feats: Tensor,
    q_pids: Tensor,
    g_pids: Tensor,
    q_camids: Tensor,
    g_camids: Tensor,
    metric: str = "cosine",
    max_rank: int = 50,
) -> dict[str, Any]:
    """Market-protocol CMC / mAP / mINP of query vs gallery embeddings, as a plain dict (rank1, ..., cmc)."""
    result = evaluate_features(
        query_feats, gallery_feats, q_pids, g_pids, q_camids, g_camids, metric=metric, max_rank=max_rank
    )
    return result.to_dict()


def gather_ranks(
    local: dict[str, Tensor], all_gather: Callable[[Tensor], Tensor], world_size: int
) -> dict[str, Tensor]:
    """Concatenate each rank's rows of every tensor in `local` (row counts may differ between ranks).

    `all_gather` is Lightning's `LightningModule.all_gather` (same-shape tensors -> [world, ...]); rows
    are padded to the largest rank's count and the padding dropped after the gather.
    """
    if world_size <= 1:
        return dict(local)
    count = next(iter(local.values())).shape[0]
    device = next(iter(local.values())).device
    counts = all_gather(torch.tensor(count, device=device)).reshape(-1).tolist()
    longest = max(counts)
    merged = {}
    for key, value in local.items():
        padded = value.new_zeros((longest, *value.shape[1:]))
        padded[:count] = value
        gathered = all_gather(padded)
        merged[key] = torch.cat([gathered[r, : counts[r]] for r in range(world_size)])
    return merged
