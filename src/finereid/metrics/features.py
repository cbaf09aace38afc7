"""Ranking metrics straight from features, a query chunk at a time, never holding the full distance matrix."""

from __future__ import annotations

from typing import Any

import torch

from finereid.metrics.checks import as_ids, rows_per_chunk
from finereid.metrics.distance import build_distance, prepare_features, renamed_distance
from finereid.metrics.rank import RankEvaluator, RankResult


def evaluate_features(
    query_feats: Any,
    gallery_feats: Any,
    q_pids: Any,
    g_pids: Any,
    q_camids: Any,
    g_camids: Any,
    distance: str = "euclidean",
    max_rank: int = 50,
    chunk_size: int | None = None,
    protocol: str = "market",
    seed: int = 0,
    num_repeats: int = 10,
    top_k: int = 0,
    *,
    metric: str | None = None,
) -> RankResult:
    """Same result as `evaluate_rank(compute_distmat(...), ...)`, with memory O(features + chunk x gallery).

    Distances of `chunk_size` queries at a time (default: about 4M entries per chunk) are computed on the
    features' device into one reused buffer and scored immediately. With `top_k` > 0 the result also
    holds each query's ranked list (`RankResult.ranked`), from the same distances. `metric=` is the old
    name of `distance=` (read with a warning).
    """
    query, gallery = prepare_features(query_feats, gallery_feats)
    num_query, num_gallery = query.shape[0], gallery.shape[0]
    device = query.device
    q_pids = as_ids(q_pids, "q_pids", num_query, device, "query features")
    q_camids = as_ids(q_camids, "q_camids", num_query, device, "query features")
    g_pids = as_ids(g_pids, "g_pids", num_gallery, device, "gallery features")
    measure = build_distance(renamed_distance(distance, metric), gallery)
    evaluator = RankEvaluator(g_pids, g_camids, max_rank, protocol, seed, num_repeats, device, top_k)
    rows = rows_per_chunk(chunk_size, num_gallery, budget=1 << 22)
    buffer = torch.empty(min(rows, num_query), num_gallery, dtype=query.dtype, device=device)
    for start in range(0, num_query, rows):
        part = slice(start, start + rows)
        dist = measure(query[part], out=buffer[: query[part].shape[0]])
        evaluator.add(dist, q_pids[part], q_camids[part])
    return evaluator.result()
