"""compute_distmat: plain L2 / cosine values, chunking, dtypes and devices, and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from finereid.errors import ConfigError
from finereid.metrics import DISTANCES, compute_distmat

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _features(seed: int, num_query: int = 9, num_gallery: int = 23, dim: int = 16):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(num_query, dim, generator=gen), torch.randn(num_gallery, dim, generator=gen)


def test_euclidean_is_plain_l2_distance_not_squared():
    query, gallery = _features(0)
    expected = torch.cdist(query.double(), gallery.double())
    got = compute_distmat(query, gallery, distance="euclidean")
    assert got.shape == (9, 23) and got.dtype == torch.float32
    torch.testing.assert_close(got.double(), expected, atol=1e-4, rtol=1e-5)
    shifted = compute_distmat(torch.zeros(1, 4), torch.tensor([[3.0, 4.0, 0.0, 0.0]]))
    assert shifted.item() == pytest.approx(5.0)  # squared would be 25


def test_cosine_is_one_minus_cosine_similarity():
    query, gallery = _features(1)
    expected = 1 - torch.nn.functional.cosine_similarity(
        query.double()[:, None, :], gallery.double()[None, :, :], dim=2
    )
    got = compute_distmat(query, gallery, distance="cosine")
    torch.testing.assert_close(got.double(), expected, atol=1e-6, rtol=1e-6)
    assert float(got.min()) >= -1e-6 and float(got.max()) <= 2 + 1e-6


@pytest.mark.parametrize("metric", sorted(DISTANCES))
@pytest.mark.parametrize("chunk_size", [1, 4, 1000])
def test_chunking_does_not_change_the_matrix(metric, chunk_size):
    query, gallery = _features(2, num_query=11)
    full = compute_distmat(query, gallery, distance=metric)
    torch.testing.assert_close(compute_distmat(query, gallery, distance=metric, chunk_size=chunk_size), full)


def test_numpy_and_dtypes():
    query, gallery = _features(3)
    reference = compute_distmat(query.double(), gallery.double())
    assert reference.dtype == torch.float64
    from_numpy = compute_distmat(query.numpy(), gallery.numpy())
    assert isinstance(from_numpy, torch.Tensor)
    torch.testing.assert_close(from_numpy.double(), reference, atol=1e-4, rtol=1e-5)
    half = compute_distmat(query.half(), gallery.bfloat16())
    assert half.dtype == torch.float32  # 16-bit features are measured in float32
    torch.testing.assert_close(half.double(), reference, atol=0.1, rtol=0.02)


def test_identical_vectors_are_at_distance_zero_or_close():
    feats = torch.randn(5, 32)
    dist = compute_distmat(feats, feats)
    assert torch.all(torch.diagonal(dist) < 1e-2)  # expansion formula: tiny rounding, never NaN
    assert torch.isfinite(dist).all()


@CUDA
def test_runs_on_the_features_device():
    query, gallery = _features(4)
    got = compute_distmat(query.cuda(), gallery.cuda(), chunk_size=3)
    assert got.device.type == "cuda"
    torch.testing.assert_close(got.cpu(), compute_distmat(query, gallery), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    ("query", "gallery", "kwargs", "message"),
    [
        (torch.randn(3, 4), torch.randn(5, 6), {}, "dimensions"),
        (torch.randn(4), torch.randn(5, 4), {}, "2-D"),
        (torch.randn(3, 4), torch.randn(0, 4), {}, "gallery_feats is empty"),
        (torch.randn(0, 4), torch.randn(5, 4), {}, "query_feats is empty"),
        (torch.tensor([[float("nan"), 1.0]]), torch.randn(5, 2), {}, "query_feats contains NaN"),
        (torch.randn(3, 2), torch.tensor([[1.0, float("inf")]]), {}, "gallery_feats contains NaN or inf"),
        (torch.tensor([[1e30, 1.0]]), torch.randn(5, 2), {"distance": "cosine"}, "too large"),
        (torch.randn(3, 4), torch.randn(5, 4), {"distance": "manhattan"}, "unknown distance"),
        (torch.randn(3, 4), torch.randn(5, 4), {"chunk_size": 0}, "chunk_size"),
        (np.array([["a", "b"]]), torch.randn(5, 2), {}, "numeric"),
    ],
)
def test_bad_input_is_a_one_line_config_error(query, gallery, kwargs, message):
    with pytest.raises(ConfigError, match=message) as info:
        compute_distmat(query, gallery, **kwargs)
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
