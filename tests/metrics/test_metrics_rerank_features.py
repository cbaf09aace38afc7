"""re_ranking_features against the dense re_ranking on compute_distmat blocks, its errors and its memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metrics_reference import re_ranking_reference
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from finereid.errors import ConfigError
from finereid.metrics import compute_distmat, re_ranking, re_ranking_features
from finereid.metrics.rerank_features import _FeatureRows

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _feats(seed: int, num_query: int, num_gallery: int, dim: int = 16, dtype=torch.float32):
    """Continuous random features (no exact distance ties), from a fixed generator."""
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(num_query, dim, generator=generator, dtype=torch.float64)
    gallery = torch.randn(num_gallery, dim, generator=generator, dtype=torch.float64)
    return query.to(dtype), gallery.to(dtype)


def _dense(query, gallery, k1=20, k2=6, lambda_value=0.3, distance="euclidean"):
    """The dense path the function must reproduce: re_ranking on the three compute_distmat blocks."""
    blocks = [compute_distmat(a, b, distance) for a, b in ((query, gallery), (query, query))]
    blocks.append(compute_distmat(gallery, gallery, distance))
    return re_ranking(*blocks, k1=k1, k2=k2, lambda_value=lambda_value)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize(
    ("k1", "k2", "lambda_value"), [(20, 6, 0.3), (5, 3, 0.5), (3, 1, 0.0), (1, 2, 1.0), (6, 10, 0.2)]
)
def test_matches_the_dense_path(distance, k1, k2, lambda_value):
    query, gallery = _feats(0, 12, 90)
    expected = _dense(query, gallery, k1, k2, lambda_value, distance)
    got = re_ranking_features(query, gallery, k1, k2, lambda_value, distance=distance)
    assert got.shape == (12, 90) and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize(("num_query", "num_gallery"), [(1, 60), (30, 5), (4, 3), (1, 1)])
def test_single_query_and_gallery_smaller_than_k1(distance, num_query, num_gallery):
    query, gallery = _feats(1, num_query, num_gallery, dim=8)
    expected = _dense(query, gallery, distance=distance)
    got = re_ranking_features(query, gallery, distance=distance)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize("chunk_size", [1, 7])
def test_many_small_chunks_change_nothing(distance, chunk_size):
    query, gallery = _feats(2, 23, 80)
    expected = _dense(query, gallery, k1=8, k2=4, distance=distance)
    got = re_ranking_features(query, gallery, k1=8, k2=4, distance=distance, chunk_size=chunk_size)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_clustered_features_like_a_model_output(distance):
    generator = torch.Generator().manual_seed(9)
    pids = torch.randint(0, 10, (160,), generator=generator)
    feats = torch.randn(10, 12, generator=generator)[pids] + 0.8 * torch.randn(160, 12, generator=generator)
    query, gallery = feats[:30].clone(), feats[30:].clone()
    expected = _dense(query, gallery, distance=distance)
    for chunk_size in (None, 13):
        got = re_ranking_features(query, gallery, distance=distance, chunk_size=chunk_size)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_lookups_match_the_dense_normalised_matrix(distance):
    query, gallery = _feats(10, 9, 31, dim=6)
    feats = _FeatureRows(query, gallery, distance, rows=4, k=5)
    original = torch.empty(9, 31)
    feats.scan(original)
    both = torch.cat([query, gallery])
    dist = compute_distmat(both, both, distance)
    M = dist**2 / (dist.amax(dim=0) ** 2)[:, None]  # the dense module: column maxima, transposed
    torch.testing.assert_close(original, M[:9, 9:], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(feats.nearest, torch.topk(M, 5, dim=1, largest=False).indices, rtol=0, atol=0)
    row, col = torch.meshgrid(torch.arange(40), torch.arange(40), indexing="ij")
    got = feats.lookup(row.reshape(-1), col.reshape(-1)).view(40, 40)  # kept entries and recomputed ones
    torch.testing.assert_close(got, M, rtol=1e-5, atol=1e-6)


def test_float64_in_float64_out_and_16_bit_in_float32_out():
    query, gallery = _feats(3, 10, 50, dtype=torch.float64)
    got = re_ranking_features(query, gallery, k1=6, k2=3)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, _dense(query, gallery, k1=6, k2=3), rtol=0, atol=1e-5)
    half = re_ranking_features(query.half(), gallery.half(), k1=6, k2=3)
    assert half.dtype == torch.float32 and half.shape == (10, 50)


def test_numpy_input_and_the_published_algorithm():
    query, gallery = _feats(4, 9, 40)
    q, g = query.numpy(), gallery.numpy()
    blocks = (compute_distmat(q, g).numpy(), compute_distmat(q, q).numpy(), compute_distmat(g, g).numpy())
    got = re_ranking_features(q, g, k1=5, k2=3, lambda_value=0.5)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), re_ranking_reference(*blocks, 5, 3, 0.5), rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k1": 0}, "k1 must be a positive integer"),
        ({"k2": 0}, "k2 must be a positive integer"),
        ({"k1": 2.5}, "k1 must be a positive integer"),
        ({"lambda_value": 1.5}, "lambda_value must be in [0, 1]"),
        ({"lambda_value": -0.1}, "lambda_value must be in [0, 1]"),
        ({"lambda_value": float("nan")}, "lambda_value must be a number"),
        ({"distance": "manhattan"}, "unknown distance 'manhattan'; valid: cosine, euclidean"),
        ({"chunk_size": 0}, "chunk_size must be a positive integer"),
    ],
)
def test_bad_settings_are_one_line_config_errors(kwargs, message):
    query, gallery = _feats(5, 3, 10)
    with pytest.raises(ConfigError) as info:
        re_ranking_features(query, gallery, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def _with_value(feats: torch.Tensor, value: float) -> torch.Tensor:
    out = feats.clone()
    out[1, 2] = value
    return out


@pytest.mark.parametrize(
    ("which", "message"),
    [
        (lambda q, g: (q[:, :5], g), "query_feats has 5 dimensions but gallery_feats has 16"),
        (lambda q, g: (_with_value(q, float("nan")), g), "query_feats contains NaN"),
        (lambda q, g: (q, _with_value(g, float("nan"))), "gallery_feats contains NaN"),
        (lambda q, g: (q, _with_value(g, float("inf"))), "gallery_feats contains NaN or infinite"),
        (lambda q, g: (q[:0], g), "query_feats is empty"),
        (lambda q, g: (q, g[:0]), "gallery_feats is empty"),
        (lambda q, g: (q[0], g), "query_feats must be a 2-D matrix"),
    ],
)
def test_bad_features_are_one_line_config_errors(which, message):
    query, gallery = _feats(6, 3, 10)
    with pytest.raises(ConfigError) as info:
        re_ranking_features(*which(query, gallery))
    assert message in str(info.value) and "\n" not in str(info.value)


class _LargestAllocation(TorchDispatchMode):
    """Records the largest storage (bytes) behind any tensor an aten op returns while active."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for item in tree_flatten(out)[0]:
            if isinstance(item, torch.Tensor):
                self.largest = max(self.largest, item.untyped_storage().nbytes())
        return out


def test_never_allocates_an_n_by_n_tensor():
    num_query, num_gallery, k1, k2, rows = 40, 1460, 6, 3, 8
    query, gallery = _feats(7, num_query, num_gallery, dim=32)
    N = num_query + num_gallery
    # documented terms, 8 bytes an entry: result, distance chunk, reciprocity checks, sparse weights
    terms = (num_query * num_gallery, rows * N, N * (k1 + 1) ** 2, N * k2 * (k1 + 1) * (round(k1 / 2) + 2))
    bound = 8 * max(terms)
    assert bound < N * N * 4 // 4  # the bound is far from one float32 (N, N) matrix
    with _LargestAllocation() as dense_blocks:
        compute_distmat(gallery, gallery)
    assert dense_blocks.largest >= num_gallery**2 * 4 > bound  # the probe does see a (G, G) block
    with _LargestAllocation() as probe:
        got = re_ranking_features(query, gallery, k1=k1, k2=k2, chunk_size=rows)
    assert probe.largest <= bound
    torch.testing.assert_close(got, _dense(query, gallery, k1=k1, k2=k2), rtol=0, atol=1e-5)


@CUDA
def test_runs_on_cuda():
    query, gallery = _feats(8, 8, 30)
    got = re_ranking_features(query.cuda(), gallery.cuda(), distance="cosine", chunk_size=5)
    assert got.device.type == "cuda" and got.dtype == torch.float32
    torch.testing.assert_close(got.cpu(), _dense(query, gallery, distance="cosine"), rtol=0, atol=1e-5)
