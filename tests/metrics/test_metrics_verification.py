"""Verification metrics: ROC / TPR@FPR / EER over cross-camera pairs equal a brute-force count, chunked."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from metrics_reference import make_case
from test_metrics_rerank_features import _LargestAllocation

from finereid.errors import ConfigError
from finereid.metrics import FPR_POINTS, compute_distmat, evaluate_features, evaluate_verification
from finereid.metrics.verification import NUM_BINS


def _case(seed: int, num_query: int = 40, num_gallery: int = 150):
    rng = np.random.default_rng(seed)
    _, q_pids, g_pids, q_camids, g_camids, (query, gallery) = make_case(
        rng, num_query, num_gallery, 12, 3, dim=16
    )
    return query, gallery, q_pids, g_pids, q_camids, g_camids


def _pairs(query, gallery, q_pids, g_pids, q_camids, g_camids, distance):
    """Brute force: (genuine distances, impostor distances) of every cross-camera pair."""
    dist = compute_distmat(query, gallery, distance).double().numpy()
    cross = q_camids[:, None] != g_camids[None, :]
    same = q_pids[:, None] == g_pids[None, :]
    return dist[cross & same], dist[cross & ~same]


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize("seed", range(2))
def test_roc_points_equal_brute_force_counts(distance, seed):
    query, gallery, *ids = _case(seed)
    genuine, impostor = _pairs(query, gallery, *ids, distance)
    result = evaluate_verification(query, gallery, *ids, distance=distance)
    assert (result.num_genuine, result.num_impostor) == (genuine.size, impostor.size)
    fpr, tpr, edges = result.roc()
    for b in np.linspace(0, NUM_BINS, 37).astype(int):  # any threshold: accept pairs below it
        assert tpr[b] == pytest.approx(np.mean(genuine < edges[b]), abs=1.5 / genuine.size)
        assert fpr[b] == pytest.approx(np.mean(impostor < edges[b]), abs=1.5 / impostor.size)
    assert fpr[-1] == tpr[-1] == 1.0 and fpr[0] == tpr[0] == 0.0


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_tpr_at_fpr_is_the_best_tpr_within_the_fpr(distance):
    query, gallery, *ids = _case(3, 60, 300)
    genuine, impostor = _pairs(query, gallery, *ids, distance)
    result = evaluate_verification(query, gallery, *ids, distance=distance)
    for target in (0.5, 0.1, 0.02, 1e-3):
        tpr, fpr, threshold = result.at_fpr(target)
        assert fpr <= target and np.mean(impostor < threshold) == pytest.approx(fpr, abs=1e-12)
        assert tpr == pytest.approx(np.mean(genuine < threshold), abs=1.5 / genuine.size)
        # one bin further already exceeds the target (or the threshold is the last edge)
        step = result.edges[1] - result.edges[0]
        assert np.mean(impostor < threshold + 1.01 * step) > target or threshold == result.edges[-1]
    assert 0.1 < result.at_fpr(0.1)[0] < 1.0  # a case where verification is neither trivial nor hopeless


def test_equal_error_rate_matches_a_threshold_sweep():
    query, gallery, *ids = _case(4, 60, 300)
    genuine, impostor = _pairs(query, gallery, *ids, "euclidean")
    result = evaluate_verification(query, gallery, *ids, distance="euclidean")
    eer, threshold = result.eer()
    sweep = np.sort(np.concatenate([genuine, impostor]))
    fnr = np.array([np.mean(genuine >= t) for t in sweep])
    fpr = np.array([np.mean(impostor < t) for t in sweep])
    best = int(np.argmin(np.abs(fnr - fpr)))
    assert eer == pytest.approx((fnr[best] + fpr[best]) / 2, abs=0.02)
    assert np.mean(impostor < threshold) == pytest.approx(eer, abs=0.02)
    assert 0.02 < eer < 0.5


@pytest.mark.parametrize("chunk_size", [1, 7])
def test_chunking_and_evaluate_features_give_the_same_counts(chunk_size):
    query, gallery, *ids = _case(5)
    whole = evaluate_verification(query, gallery, *ids)
    chunked = evaluate_verification(query, gallery, *ids, chunk_size=chunk_size)
    np.testing.assert_array_equal(whole.genuine, chunked.genuine)
    np.testing.assert_array_equal(whole.impostor, chunked.impostor)
    ranked = evaluate_features(query, gallery, *ids, chunk_size=chunk_size, verification=True)
    np.testing.assert_array_equal(ranked.verification.impostor, whole.impostor)
    plain = evaluate_features(query, gallery, *ids, chunk_size=chunk_size)
    assert plain.verification is None and "verification" not in plain.to_dict()
    assert ranked.mAP == plain.mAP


def test_summary_is_json_with_every_fpr_point_and_a_monotone_roc():
    query, gallery, *ids = _case(6)
    summary = evaluate_features(query, gallery, *ids, verification=True).to_dict()["verification"]
    summary = json.loads(json.dumps(summary))
    assert set(summary["tpr_at_fpr"]) == {f"{f:g}" for f in FPR_POINTS}
    roc = summary["roc"]
    assert np.all(np.diff(roc["fpr"]) >= 0) and np.all(np.diff(roc["tpr"]) >= 0)
    hist = summary["histogram"]
    assert sum(hist["genuine"]) == summary["num_genuine"] and sum(hist["impostor"]) == summary["num_impostor"]
    assert len(hist["edges"]) == len(hist["genuine"]) + 1 and np.all(np.diff(hist["edges"]) > 0)


def test_memory_stays_within_a_chunk_not_query_by_gallery():
    query, gallery, *ids = _case(7, 400, 5000)
    full = 400 * 5000 * 4  # one float32 (Q, G) matrix
    bound = max(16 * 5000 * 8, (2 * NUM_BINS + 1) * 8)  # int64 bin index of a chunk; the two histograms
    with _LargestAllocation() as probe:
        evaluate_verification(query, gallery, *ids, chunk_size=16)
    assert probe.largest <= bound < full // 4


def test_errors_are_one_line_config_errors():
    query, gallery, q_pids, g_pids, q_camids, g_camids = _case(8)
    with pytest.raises(ConfigError, match="genuine and impostor"):
        evaluate_verification(query, gallery, q_pids, np.full_like(g_pids, 10**6), q_camids, g_camids)
    with pytest.raises(ConfigError, match="without rerank"):
        evaluate_features(query, gallery, q_pids, g_pids, q_camids, g_camids, rerank=True, verification=True)
    result = evaluate_verification(query, gallery, q_pids, g_pids, q_camids, g_camids)
    with pytest.raises(ConfigError, match=r"in \(0, 1\)"):
        result.at_fpr(1.5)
    with pytest.raises(ConfigError, match="g_camids"):
        evaluate_verification(query, gallery, q_pids, g_pids, q_camids, g_camids[:-1])


def test_same_camera_pairs_are_left_out():
    query = torch.tensor([[0.0, 0.0]])
    gallery = torch.tensor([[0.0, 0.1], [3.0, 0.0], [0.0, 0.5], [1.0, 0.0]])
    result = evaluate_verification(query, gallery, [1], [1, 2, 1, 2], [0], [0, 0, 1, 1])
    assert (result.num_genuine, result.num_impostor) == (1, 1)  # only the camera-1 pair of each kind
    tpr, fpr, threshold = result.at_fpr(0.5)
    assert (tpr, fpr) == (1.0, 0.0) and 0.5 <= threshold <= 1.0
