"""Per-query ranked lists under the Market protocol: what a report shows and `ranking.npz` stores.

For each query: the top-k gallery items with junk (same pid and camera) removed, their distances and
match flags, the 1-based rank of the first true match (0 = no true match in the gallery) and the
query's average precision (NaN without a true match). Built chunk by chunk alongside the CMC/mAP
evaluation (`RankEvaluator(top_k=...)`), from the same distances and per-query statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from finereid.errors import ConfigError
from finereid.metrics.market import QueryStats
from finereid.metrics.topk import smallest_k


@dataclass(frozen=True)
class RankedLists:
    """Ranked lists of Q queries; `indices` point into the gallery, -1 marks an empty slot."""

    indices: np.ndarray  # int64 [Q, k]
    distances: np.ndarray  # float32 [Q, k], +inf in empty slots
    matches: np.ndarray  # bool [Q, k]: same pid as the query
    first_match: np.ndarray  # int64 [Q]: 1-based rank of the first true match, 0 = none
    average_precision: np.ndarray  # float64 [Q], NaN without a true match

    @property
    def failures(self) -> np.ndarray:
        """Bool [Q]: queries with a true match whose rank-1 result is wrong."""
        return (self.first_match != 1) & (self.first_match > 0)


class RankedListsBuilder:
    """Collects the ranked lists of successive query chunks against one gallery."""

    def __init__(self, g_pids: torch.Tensor, g_camids: torch.Tensor, top_k: int) -> None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
            raise ConfigError(f"top_k must be a non-negative integer, got {top_k!r}")
        self.g_pids, self.g_camids = g_pids, g_camids
        self.k = min(top_k, int(g_pids.numel()))
        self.parts: list[tuple[torch.Tensor, ...]] = []

    def add(
        self, dist: torch.Tensor, q_pids: torch.Tensor, q_camids: torch.Tensor, stats: QueryStats
    ) -> None:
        """Top-k of one chunk of distances (c, G) with junk removed, plus its first matches and APs."""
        junk = (q_pids[:, None] == self.g_pids[None, :]) & (q_camids[:, None] == self.g_camids[None, :])
        values, cols = smallest_k(dist.masked_fill(junk, float("inf")), self.k)
        empty = torch.isinf(values) & junk.gather(1, cols)
        cols = cols.masked_fill(empty, -1)
        matches = (self.g_pids[cols.clamp_min(0)] == q_pids[:, None]) & ~empty
        first = torch.where(stats.valid, stats.first + 1, torch.zeros_like(stats.first))
        ap = torch.where(stats.valid, stats.ap, torch.full_like(stats.ap, float("nan")))
        self.parts.append((cols, values.float(), matches, first, ap))

    def result(self) -> RankedLists:
        """The collected lists as NumPy arrays on the CPU."""
        joined = [torch.cat([part[i] for part in self.parts]).cpu().numpy() for i in range(5)]
        return RankedLists(
            indices=joined[0].astype(np.int64),
            distances=joined[1].astype(np.float32),
            matches=joined[2].astype(bool),
            first_match=joined[3].astype(np.int64),
            average_precision=joined[4].astype(np.float64),
        )
