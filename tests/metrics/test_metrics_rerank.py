"""re_ranking against a direct NumPy transcription of the published algorithm, plus types and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metrics_reference import re_ranking_reference

from finereid.errors import ConfigError
from finereid.metrics import compute_distmat, evaluate_rank, re_ranking
from finereid.metrics import rerank as rerank_module

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _blocks(seed: int, num_query: int, num_gallery: int, num_ids: int = 8, dim: int = 12):
    """Euclidean distance blocks of clustered random features (float32, like a model's output)."""
    rng = np.random.default_rng(seed)
    pids = rng.integers(0, num_ids, size=num_query + num_gallery)
    feats = rng.normal(size=(num_ids, dim))[pids] + 0.8 * rng.normal(size=(len(pids), dim))
    dist = compute_distmat(feats.astype(np.float32), feats.astype(np.float32)).numpy()
    q, g = slice(0, num_query), slice(num_query, None)
    return dist[q, g], dist[q, q], dist[g, g], pids[q], pids[g]


@pytest.mark.parametrize(
    ("k1", "k2", "lambda_value"), [(20, 6, 0.3), (5, 3, 0.5), (3, 1, 0.0), (1, 2, 1.0), (6, 10, 0.2)]
)
@pytest.mark.parametrize("seed", range(3))
def test_matches_the_published_algorithm(seed, k1, k2, lambda_value):
    q_g, q_q, g_g, _, _ = _blocks(seed, 9, 40)
    expected = re_ranking_reference(q_g, q_q, g_g, k1, k2, lambda_value)
    got = re_ranking(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lambda_value)
    assert isinstance(got, np.ndarray) and got.shape == (9, 40) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_small_chunks_exercise_every_split(monkeypatch):
    q_g, q_q, g_g, _, _ = _blocks(11, 15, 70)
    expected = re_ranking_reference(q_g, q_q, g_g)
    monkeypatch.setattr(rerank_module, "_CHUNK", 300)
    monkeypatch.setattr(rerank_module, "_PAIRS", 50)
    np.testing.assert_allclose(re_ranking(q_g, q_q, g_g), expected, rtol=0, atol=1e-5)


def test_tiny_sets_single_query_single_gallery():
    q_g, q_q, g_g, _, _ = _blocks(12, 1, 1)
    expected = re_ranking_reference(q_g, q_q, g_g)
    np.testing.assert_allclose(re_ranking(q_g, q_q, g_g), expected, atol=1e-5)


def test_torch_in_torch_out_and_dtype_kept():
    q_g, q_q, g_g, _, _ = _blocks(13, 6, 25)
    expected = re_ranking_reference(q_g, q_q, g_g)
    got = re_ranking(*(torch.from_numpy(b).double() for b in (q_g, q_q, g_g)))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)


def test_re_ranking_helps_on_clustered_features():
    q_g, q_q, g_g, q_pids, g_pids = _blocks(14, 40, 200, num_ids=10, dim=8)
    cams = (np.zeros(40, int), np.ones(200, int))
    before = evaluate_rank(q_g, q_pids, g_pids, *cams)
    after = evaluate_rank(re_ranking(q_g, q_q, g_g), q_pids, g_pids, *cams)
    assert after.mAP > before.mAP  # the method's point: neighbourhood structure improves the ranking


@CUDA
def test_runs_on_cuda():
    q_g, q_q, g_g, _, _ = _blocks(15, 8, 30)
    got = re_ranking(*(torch.from_numpy(b).cuda() for b in (q_g, q_q, g_g)))
    assert got.device.type == "cuda"
    np.testing.assert_allclose(got.cpu().numpy(), re_ranking_reference(q_g, q_q, g_g), atol=1e-5)


@pytest.mark.slow
def test_matches_the_published_algorithm_at_a_larger_size():
    q_g, q_q, g_g, _, _ = _blocks(16, 150, 900, num_ids=60, dim=32)
    np.testing.assert_allclose(re_ranking(q_g, q_q, g_g), re_ranking_reference(q_g, q_q, g_g), atol=1e-5)


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda b: (b[0], b[1][:2, :2], b[2]), {}, "q_q_dist"),
        (lambda b: (b[0][:, :3], b[1], b[2]), {}, "g_g_dist"),
        (lambda b: (np.where(b[0] > 1.0, np.nan, b[0]), b[1], b[2]), {}, "NaN"),
        (lambda b: (b[0][:, :0], b[1], b[2][:0, :0]), {}, "empty"),
        (lambda b: b, {"k1": 0}, "k1"),
        (lambda b: b, {"lambda_value": 1.5}, "lambda_value"),
    ],
)
def test_bad_input_is_a_one_line_config_error(change, kwargs, message):
    blocks = _blocks(17, 4, 10)[:3]
    with pytest.raises(ConfigError, match=message) as info:
        re_ranking(*change(blocks), **kwargs)
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
