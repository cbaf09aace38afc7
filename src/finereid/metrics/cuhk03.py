"""CMC under the legacy CUHK03 single-gallery-shot protocol: one random gallery image per identity.

For each query, the gallery (same pid and same camera removed, as in the Market protocol) is reduced
to one randomly chosen image per identity, the rank of the query's sampled true match is read, and
this is repeated `num_repeats` times (10 in the literature) and averaged. Randomness comes from a
seeded NumPy generator drawn in query order, so results do not depend on how queries are chunked.
"""

from __future__ import annotations

import numpy as np
import torch

from finereid.metrics.market import GalleryIndex, QueryStats


def cuhk03_histogram(
    dist: torch.Tensor,
    q_pids: torch.Tensor,
    q_camids: torch.Tensor,
    gallery: GalleryIndex,
    stats: QueryStats,
    max_rank: int,
    rng: np.random.Generator,
    num_repeats: int,
) -> torch.Tensor:
    """Sum over the chunk's valid queries of their mean CMC-hit histogram (rank clipped at max_rank)."""
    hist = torch.zeros(max_rank + 1, dtype=torch.float64, device=dist.device)
    rows = max(1, (1 << 21) // (gallery.size * num_repeats))
    for start in range(0, dist.shape[0], rows):
        part = slice(start, start + rows)
        # one (num_repeats, num_gallery) block of uniform keys per query, in query order
        keys = rng.random((dist[part].shape[0], num_repeats, gallery.size))
        hist += _block_histogram(
            dist[part],
            q_pids[part],
            q_camids[part],
            gallery,
            stats.valid[part],
            max_rank,
            torch.from_numpy(keys).to(dist.device),
        )
    return hist / num_repeats


def _block_histogram(
    dist: torch.Tensor,
    q_pids: torch.Tensor,
    q_camids: torch.Tensor,
    gallery: GalleryIndex,
    valid: torch.Tensor,
    max_rank: int,
    keys: torch.Tensor,
) -> torch.Tensor:
    """Histogram of the sampled true match's rank, summed over repeats, for a block of queries."""
    num_query, num_gallery = dist.shape
    same_pid = gallery.pids.unsqueeze(0) == q_pids.unsqueeze(1)
    keep = ~(same_pid & (gallery.camids.unsqueeze(0) == q_camids.unsqueeze(1)))
    true = same_pid & keep
    labels = gallery.labels.unsqueeze(0).expand(num_query, num_gallery)
    groups = (num_query, gallery.unique_pids.numel())
    positions = torch.arange(num_gallery, device=dist.device).expand(num_query, num_gallery)
    hist = torch.zeros(max_rank + 1, dtype=torch.float64, device=dist.device)
    for repeat in range(keys.shape[1]):
        draw = keys[:, repeat, :].masked_fill(~keep, float("inf"))
        lowest = torch.full(groups, float("inf"), dtype=draw.dtype, device=dist.device)
        lowest = lowest.scatter_reduce(1, labels, draw, reduce="amin")
        candidate = keep & (draw == lowest.gather(1, labels))
        # the lowest key wins; an exact tie of keys (vanishingly rare) goes to the lower gallery index
        first = torch.full(groups, num_gallery, dtype=torch.long, device=dist.device)
        first = first.scatter_reduce(1, labels, torch.where(candidate, positions, num_gallery), reduce="amin")
        chosen = candidate & (positions == first.gather(1, labels))
        match = (chosen & true).to(torch.uint8).argmax(dim=1, keepdim=True)
        value = dist.gather(1, match)
        ahead = chosen & ((dist < value) | ((dist == value) & (positions < match)))
        rank = ahead.sum(dim=1)[valid].clamp(max=max_rank)
        hist += torch.bincount(rank, minlength=max_rank + 1).to(torch.float64)
    return hist
