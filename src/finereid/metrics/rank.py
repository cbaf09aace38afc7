"""CMC, mAP and mINP from a query x gallery distance matrix, under the Market or legacy CUHK03 protocol.

Market protocol (Market-1501, DukeMTMC-reID, CUHK03-NP, MSMT17, VeRi): for each query, gallery samples
with the same pid *and* the same camera are removed; everything else, distractors included, is ranked by
ascending distance with a stable sort (ties keep gallery order). Queries left with no true match are
skipped. AP averages the precision at each true match; CMC@k is 1 if a true match is in the top k;
INP = (number of true matches) / (rank of the last one). The curve has `max_rank` entries; past the end
of a query's ranked list it stays at its final value (1 for every counted query), where the reference
code (torchreid / fast-reid) shortens the curve to the gallery size instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from finereid.errors import ConfigError, unknown_name_error
from finereid.metrics.checks import as_ids, as_matrix, as_positive_int, rows_per_chunk
from finereid.metrics.cuhk03 import cuhk03_histogram
from finereid.metrics.market import GalleryIndex, QueryStats, RowCounter, market_stats
from finereid.metrics.ranked import RankedLists, RankedListsBuilder
from finereid.metrics.verification import VerificationResult

# The scores every table, log and report shows, in this order.
SCORE_KEYS = ("rank1", "rank5", "rank10", "mAP", "mINP")


@dataclass(frozen=True)
class RankResult:
    """Ranking metrics: `cmc` (fractions, length max_rank), `mAP`, `mINP` in [0, 1], and the query count.

    `ranked` holds the per-query ranked lists (top-k, match flags, first match, AP) when they were asked
    for with `top_k`: the numbers above and the lists come from the same pass over the distances.
    `verification` holds the cross-camera pair histograms (ROC, TPR@FPR) when asked for.
    """

    cmc: np.ndarray
    mAP: float  # noqa: N815 (the field's name)
    mINP: float  # noqa: N815
    num_valid_queries: int
    ranked: RankedLists | None = None
    verification: VerificationResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python summary: rank1/rank5/rank10 (those within max_rank), mAP, mINP, count and curve."""
        out: dict[str, Any] = {f"rank{k}": float(self.cmc[k - 1]) for k in (1, 5, 10) if k <= len(self.cmc)}
        out.update(
            mAP=self.mAP, mINP=self.mINP, num_valid_queries=self.num_valid_queries, cmc=self.cmc.tolist()
        )
        if self.verification is not None:
            out["verification"] = self.verification.to_dict()
        return out


def market_histogram(
    dist: torch.Tensor,
    q_pids: torch.Tensor,
    q_camids: torch.Tensor,
    gallery: GalleryIndex,
    stats: QueryStats,
    max_rank: int,
    rng: np.random.Generator,
    num_repeats: int,
) -> torch.Tensor:
    """Histogram of the first true match's rank over the chunk's valid queries (clipped at max_rank)."""
    first = stats.first[stats.valid].clamp(max=max_rank)
    return torch.bincount(first, minlength=max_rank + 1).to(torch.float64)


# protocol name -> CMC histogram of one query chunk (AP and INP are the same under both protocols)
PROTOCOLS: dict[str, Callable[..., torch.Tensor]] = {
    "market": market_histogram,
    "cuhk03": cuhk03_histogram,
}


class RankEvaluator:
    """Accumulates CMC/mAP/mINP over query chunks against one gallery, then averages them."""

    def __init__(
        self,
        g_pids: Any,
        g_camids: Any,
        max_rank: int = 50,
        protocol: str = "market",
        seed: int = 0,
        num_repeats: int = 10,
        device: torch.device | str = "cpu",
        top_k: int = 0,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise unknown_name_error("protocol", protocol, PROTOCOLS)
        self.max_rank = as_positive_int(max_rank, "max_rank")
        self.num_repeats = as_positive_int(num_repeats, "num_repeats")
        device = torch.device(device)
        g_pids = as_ids(g_pids, "g_pids", None, device)
        g_camids = as_ids(g_camids, "g_camids", g_pids.numel(), device, "gallery pids")
        self.gallery = GalleryIndex(g_pids, g_camids)
        self.histogram_of = PROTOCOLS[protocol]
        self.rng = np.random.default_rng(seed)
        self.hist = torch.zeros(self.max_rank + 1, dtype=torch.float64, device=device)
        self.ap_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.inp_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.num_valid = 0
        self.count_rows = RowCounter()
        self.lists = RankedListsBuilder(g_pids, g_camids, top_k) if top_k else None

    def add(self, dist: torch.Tensor, q_pids: torch.Tensor, q_camids: torch.Tensor) -> None:
        """Score a chunk: `dist` (c, num_gallery) on the evaluator's device, int64 ids of the c queries."""
        if dist.dtype in (torch.float16, torch.bfloat16):
            dist = dist.float()  # exact conversion: order and ties are unchanged
        dist = dist.contiguous()
        stats = market_stats(dist, q_pids, q_camids, self.gallery, self.count_rows)
        self.hist += self.histogram_of(
            dist, q_pids, q_camids, self.gallery, stats, self.max_rank, self.rng, self.num_repeats
        )
        self.ap_sum += stats.ap[stats.valid].sum()
        self.inp_sum += stats.inp[stats.valid].sum()
        self.num_valid += int(stats.valid.sum())
        if self.lists is not None:
            self.lists.add(dist, q_pids, q_camids, stats)

    def result(self) -> RankResult:
        """Average over the queries that had a true match; none at all is an error."""
        if self.num_valid == 0:
            raise ConfigError(
                "no query has a true match in the gallery (same pid, other camera); CMC/mAP are undefined"
            )
        cmc = (torch.cumsum(self.hist, 0)[: self.max_rank] / self.num_valid).cpu().numpy()
        return RankResult(
            cmc=cmc.astype(np.float64),
            mAP=float(self.ap_sum) / self.num_valid,
            mINP=float(self.inp_sum) / self.num_valid,
            num_valid_queries=self.num_valid,
            ranked=self.lists.result() if self.lists is not None else None,
        )


def evaluate_rank(
    distmat: Any,
    q_pids: Any,
    g_pids: Any,
    q_camids: Any,
    g_camids: Any,
    max_rank: int = 50,
    protocol: str = "market",
    seed: int = 0,
    num_repeats: int = 10,
    chunk_size: int | None = None,
    top_k: int = 0,
) -> RankResult:
    """CMC/mAP/mINP of a (num_query, num_gallery) distance matrix (numpy or torch, any device).

    `protocol` is "market" (default) or "cuhk03" (legacy single-gallery-shot: one random image per
    gallery identity, `num_repeats` draws from a generator seeded with `seed`, averaged; mAP and mINP
    use the whole gallery, as the reference code does for mAP). Ties in distance are broken by gallery
    order. Queries are scored `chunk_size` rows at a time (default: about 8M entries per chunk). With
    `top_k` > 0 the result also holds each query's ranked list (`RankResult.ranked`).
    """
    dist = as_matrix(distmat, "distmat", allow_empty=True)
    num_query, num_gallery = dist.shape
    if num_gallery == 0:
        raise ConfigError(f"distmat has no gallery columns (shape {tuple(dist.shape)})")
    if num_query == 0:
        raise ConfigError(f"distmat has no query rows (shape {tuple(dist.shape)})")
    q_pids = as_ids(q_pids, "q_pids", num_query, dist.device, "distmat rows")
    q_camids = as_ids(q_camids, "q_camids", num_query, dist.device, "distmat rows")
    g_pids = as_ids(g_pids, "g_pids", num_gallery, dist.device, "distmat columns")
    evaluator = RankEvaluator(g_pids, g_camids, max_rank, protocol, seed, num_repeats, dist.device, top_k)
    rows = rows_per_chunk(chunk_size, num_gallery)
    for start in range(0, num_query, rows):
        part = slice(start, start + rows)
        evaluator.add(dist[part], q_pids[part], q_camids[part])
    return evaluator.result()
