"""evaluate_features: same numbers as the full-matrix path and the per-query NumPy reference, chunked."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metrics_reference import features_reference, make_case

from finereid.errors import ConfigError
from finereid.metrics import compute_distmat, evaluate_features, evaluate_rank


def _case(seed: int, num_query: int = 30, num_gallery: int = 100):
    rng = np.random.default_rng(seed)
    _, q_pids, g_pids, q_camids, g_camids, (query, gallery) = make_case(
        rng, num_query, num_gallery, 12, 3, dim=16
    )
    return query, gallery, q_pids, g_pids, q_camids, g_camids


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("chunk_size", [None, 1, 7])
def test_matches_the_per_query_reference(seed, chunk_size):
    query, gallery, *ids = _case(seed)
    cmc, mAP, mINP, num_valid = features_reference(query, gallery, *ids, max_rank=25)
    result = evaluate_features(query, gallery, *ids, max_rank=25, chunk_size=chunk_size)
    np.testing.assert_allclose(result.cmc, cmc, atol=1e-12)
    assert (result.mAP, result.mINP) == pytest.approx((mAP, mINP), abs=1e-12)
    assert result.num_valid_queries == num_valid
    assert 0.05 < result.mAP < 0.95  # a case where the ranking is neither trivial nor hopeless


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("protocol", ["market", "cuhk03"])
def test_equals_evaluate_rank_on_the_full_matrix(metric, protocol):
    query, gallery, *ids = _case(5)
    query, gallery = torch.from_numpy(query).float(), torch.from_numpy(gallery).float()
    full = evaluate_rank(compute_distmat(query, gallery, distance=metric), *ids, protocol=protocol, seed=2)
    chunked = evaluate_features(
        query, gallery, *ids, distance=metric, protocol=protocol, seed=2, chunk_size=4
    )
    np.testing.assert_allclose(chunked.cmc, full.cmc, atol=1e-12)
    assert (chunked.mAP, chunked.mINP) == pytest.approx((full.mAP, full.mINP), abs=1e-12)


def test_torch_int32_ids_and_float16_features():
    query, gallery, *ids = _case(6)
    expected = evaluate_features(query, gallery, *ids)
    ids32 = [torch.from_numpy(i.astype(np.int32)) for i in ids]
    result = evaluate_features(torch.from_numpy(query).half(), torch.from_numpy(gallery).half(), *ids32)
    assert result.num_valid_queries == expected.num_valid_queries
    assert result.mAP == pytest.approx(expected.mAP, abs=0.05)  # half-precision features, float32 distances


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: (a[0][:, :5], *a[1:]), "dimensions"),
        (lambda a: (*a[:2], a[2][:-1], *a[3:]), "q_pids has 29 entries"),
        (lambda a: (*a[:3], a[3][:-1], *a[4:]), "g_pids has 99 entries"),
        (lambda a: (*a[:5], a[5][:-1]), "g_camids has 99 entries"),
        (lambda a: (a[0], a[1][:0], *a[2:]), "gallery_feats is empty"),
    ],
)
def test_bad_input_is_a_one_line_config_error(change, message):
    with pytest.raises(ConfigError, match=message) as info:
        evaluate_features(*change(_case(7)))
    assert "\n" not in str(info.value)
