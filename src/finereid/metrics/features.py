"""Ranking metrics from features, plain or re-ranked, a query chunk at a time, never holding (Q, G)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import torch

from finereid.errors import ConfigError
from finereid.metrics.checks import as_ids, rows_per_chunk
from finereid.metrics.distance import build_distance, prepare_features, renamed_distance
from finereid.metrics.rank import RankEvaluator, RankResult
from finereid.metrics.rerank_features import re_ranking_chunks
from finereid.metrics.verification import VerificationResult, verification_counter


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
    rerank: bool = False,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    metric: str | None = None,
    verification: bool = False,
) -> RankResult:
    """Same result as `evaluate_rank(compute_distmat(...), ...)`, with memory O(features + chunk x gallery).

    Distances of `chunk_size` queries at a time (default: about 4M entries per chunk) are computed on the
    features' device into one reused buffer and scored immediately. With `rerank`, the chunks are
    k-reciprocal re-ranked distances (`re_ranking_chunks` with k1, k2, lambda_value; `chunk_size` rows of
    all query and gallery images per chunk), equal to `evaluate_rank(re_ranking_features(...), ...)`:
    (Q, G) is still never held. With `top_k` > 0 the result also holds each query's ranked list
    (`RankResult.ranked`), from the same distances. With `verification`, it also holds the ROC/TPR@FPR
    histograms of every cross-camera pair (`RankResult.verification`, plain distances only). `metric=` is
    the old name of `distance=` (read with a warning).
    """
    query, gallery = prepare_features(query_feats, gallery_feats)
    num_query, num_gallery = query.shape[0], gallery.shape[0]
    device = query.device
    q_pids = as_ids(q_pids, "q_pids", num_query, device, "query features")
    q_camids = as_ids(q_camids, "q_camids", num_query, device, "query features")
    g_pids = as_ids(g_pids, "g_pids", num_gallery, device, "gallery features")
    distance = renamed_distance(distance, metric)
    evaluator = RankEvaluator(g_pids, g_camids, max_rank, protocol, seed, num_repeats, device, top_k)
    if verification and rerank:
        raise ConfigError("verification scores the model's plain distances: ask for it without rerank")
    counter = verification_counter(query, gallery, g_pids, g_camids, distance) if verification else None
    if rerank:
        chunks = re_ranking_chunks(query, gallery, k1, k2, lambda_value, distance, chunk_size)
    else:
        chunks = _distance_chunks(query, gallery, distance, chunk_size)
    for start, dist in chunks:
        part = slice(start, start + dist.shape[0])
        evaluator.add(dist, q_pids[part], q_camids[part])
        if counter is not None:
            counter.add(dist, q_pids[part], q_camids[part])
    result = evaluator.result()
    return replace(result, verification=counter.result()) if counter is not None else result


def evaluate_verification(
    query_feats: Any,
    gallery_feats: Any,
    q_pids: Any,
    g_pids: Any,
    q_camids: Any,
    g_camids: Any,
    distance: str = "euclidean",
    chunk_size: int | None = None,
) -> VerificationResult:
    """ROC, TPR@FPR, EER and distance histograms of every cross-camera pair, never holding (Q, G)."""
    query, gallery = prepare_features(query_feats, gallery_feats)
    q_pids = as_ids(q_pids, "q_pids", query.shape[0], query.device, "query features")
    q_camids = as_ids(q_camids, "q_camids", query.shape[0], query.device, "query features")
    g_pids = as_ids(g_pids, "g_pids", gallery.shape[0], gallery.device, "gallery features")
    counter = verification_counter(query, gallery, g_pids, g_camids, distance)
    for start, dist in _distance_chunks(query, gallery, distance, chunk_size):
        part = slice(start, start + dist.shape[0])
        counter.add(dist, q_pids[part], q_camids[part])
    return counter.result()


def _distance_chunks(
    query: torch.Tensor, gallery: torch.Tensor, distance: str, chunk_size: int | None
) -> Iterator[tuple[int, torch.Tensor]]:
    """(first row, distances of `chunk_size` queries) in order, computed into one reused buffer."""
    measure = build_distance(distance, gallery)
    rows = rows_per_chunk(chunk_size, gallery.shape[0], budget=1 << 22)
    buffer = torch.empty(min(rows, query.shape[0]), gallery.shape[0], dtype=query.dtype, device=query.device)
    for start in range(0, query.shape[0], rows):
        part = query[start : start + rows]
        yield start, measure(part, out=buffer[: part.shape[0]])
