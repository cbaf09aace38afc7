"""Gather each DDP rank's validation embeddings into one set, in the order of the validation records."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


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
