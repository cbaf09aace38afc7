"""Re-ranked evaluation a query chunk at a time: same numbers as the dense path, never a (Q, G) tensor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metrics_reference import make_case
from test_metrics_rerank_features import _LargestAllocation

from finereid.errors import ConfigError
from finereid.evaluation import score
from finereid.metrics import (
    compute_distmat,
    evaluate_features,
    evaluate_rank,
    re_ranking,
    re_ranking_chunks,
    re_ranking_features,
)


def _case(seed: int, num_query: int = 24, num_gallery: int = 110, dim: int = 16):
    """Labelled float32 features (identity centres + noise, distractors, queries without a match)."""
    rng = np.random.default_rng(seed)
    _, q_pids, g_pids, q_camids, g_camids, (query, gallery) = make_case(
        rng, num_query, num_gallery, 10, 3, dim=dim
    )
    query, gallery = torch.from_numpy(query).float(), torch.from_numpy(gallery).float()
    return query, gallery, q_pids, g_pids, q_camids, g_camids


def _dense(query, gallery, distance, **settings):
    """The path `score(rerank=True)` used before: re_ranking on the three compute_distmat blocks."""
    pairs = ((query, gallery), (query, query), (gallery, gallery))
    blocks = [compute_distmat(a, b, distance) for a, b in pairs]
    return re_ranking(*blocks, **settings)


def _assert_same(got, expected, abs_tol=0.0):
    """Equal CMC / mAP / mINP / valid count and equal ranked lists (indices, matches, first match, AP)."""
    np.testing.assert_allclose(got.cmc, expected.cmc, rtol=0, atol=abs_tol)
    assert (got.mAP, got.mINP) == pytest.approx((expected.mAP, expected.mINP), abs=abs_tol, rel=0)
    assert got.num_valid_queries == expected.num_valid_queries
    for name in ("indices", "matches", "first_match"):
        np.testing.assert_array_equal(getattr(got.ranked, name), getattr(expected.ranked, name))
    np.testing.assert_allclose(got.ranked.average_precision, expected.ranked.average_precision, atol=abs_tol)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize("chunk_size", [None, 1, 7])
def test_chunks_are_the_rows_of_re_ranking_features_to_the_bit(distance, chunk_size):
    query, gallery, *_ = _case(0)
    whole = re_ranking_features(query, gallery, k1=8, k2=4, distance=distance, chunk_size=chunk_size)
    starts, parts = [], []
    for start, chunk in re_ranking_chunks(query, gallery, 8, 4, distance=distance, chunk_size=chunk_size):
        assert chunk.dtype == torch.float32 and chunk.shape[1] == gallery.shape[0]
        starts.append(start)
        parts.append(chunk.clone())
    assert starts == list(np.cumsum([0] + [len(p) for p in parts[:-1]]))  # in order, no gap or overlap
    if chunk_size is not None:
        assert max(len(p) for p in parts) == chunk_size
    assert torch.equal(torch.cat(parts), whole)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize(("k1", "k2", "lambda_value"), [(20, 6, 0.3), (5, 1, 0.0), (4, 3, 1.0)])
def test_rerank_metrics_equal_the_dense_path(distance, k1, k2, lambda_value):
    query, gallery, *ids = _case(1)
    settings = {"k1": k1, "k2": k2, "lambda_value": lambda_value}
    expected = evaluate_rank(_dense(query, gallery, distance, **settings), *ids, max_rank=20, top_k=10)
    got = evaluate_features(
        query, gallery, *ids, distance=distance, max_rank=20, top_k=10, rerank=True, chunk_size=5, **settings
    )
    _assert_same(got, expected, abs_tol=1e-12)
    assert 0.05 < got.mAP < 0.95  # neither trivial nor hopeless
    plain = evaluate_features(query, gallery, *ids, distance=distance, max_rank=20)
    if lambda_value < 1:
        assert (got.mAP, got.cmc[0]) != (plain.mAP, plain.cmc[0])  # re-ranking did change the ranking


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_rerank_rankings_equal_evaluate_rank_of_re_ranking_features_exactly(distance):
    query, gallery, *ids = _case(2, num_query=40, num_gallery=150)
    query, gallery = query.double(), gallery.double()
    expected = evaluate_rank(re_ranking_features(query, gallery, distance=distance), *ids, top_k=7)
    for chunk_size in (None, 3):
        got = evaluate_features(
            query, gallery, *ids, distance=distance, top_k=7, rerank=True, chunk_size=chunk_size
        )
        _assert_same(got, expected, abs_tol=1e-15)  # same ranks; sums over chunks may round differently


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_score_with_rerank_equals_the_dense_path(distance):
    query, gallery, *ids = _case(3)
    expected = evaluate_rank(_dense(query, gallery, distance), *ids, top_k=5)
    got = score(query.numpy(), gallery.numpy(), *ids, distance=distance, rerank=True, top_k=5)
    _assert_same(got, expected, abs_tol=1e-12)


def test_never_allocates_a_query_by_gallery_tensor():
    num_query, num_gallery, k1, k2, rows = 900, 1500, 6, 3, 8
    query, gallery, *ids = _case(4, num_query, num_gallery, dim=24)
    N = num_query + num_gallery
    # documented terms, 8 bytes an entry: distance chunk, reciprocity checks, sparse weights
    bound = 8 * max(rows * N, N * (k1 + 1) ** 2, N * k2 * (k1 + 1) * (round(k1 / 2) + 2))
    assert bound < num_query * num_gallery * 4  # the bound is below one float32 (Q, G) matrix
    with _LargestAllocation() as whole:
        expected = evaluate_rank(re_ranking_features(query, gallery, k1, k2, chunk_size=rows), *ids)
    assert whole.largest >= num_query * num_gallery * 4 > bound  # the probe does see the (Q, G) result
    with _LargestAllocation() as probe:
        got = evaluate_features(query, gallery, *ids, rerank=True, k1=k1, k2=k2, chunk_size=rows)
    assert probe.largest <= bound
    assert (got.mAP, got.mINP) == pytest.approx((expected.mAP, expected.mINP), abs=1e-15, rel=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k1": 0}, "k1 must be a positive integer"),
        ({"lambda_value": 2.0}, "lambda_value must be in [0, 1]"),
        ({"distance": "manhattan"}, "unknown distance 'manhattan'"),
        ({"chunk_size": -1}, "chunk_size must be a positive integer"),
    ],
)
def test_bad_rerank_settings_are_one_line_errors_before_any_work(kwargs, message):
    query, gallery, *ids = _case(5)
    with pytest.raises(ConfigError) as info:
        evaluate_features(query, gallery, *ids, rerank=True, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError):
        re_ranking_chunks(query, gallery, **kwargs)  # checked at the call, not at the first chunk
