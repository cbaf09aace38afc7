"""Top-k search: torch (chunked) and faiss give the exact ranking of a float64 brute force, ties included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from finereid.deploy import SameCameraJunk, faiss_available, search, search_faiss, search_torch
from finereid.errors import ConfigError, FinereidError

needs_faiss = pytest.mark.skipif(not faiss_available(), reason="faiss not installed (optional extra)")


def reference(query: np.ndarray, gallery: np.ndarray, k: int, metric: str, junk=None) -> tuple:
    """float64 brute force: sort each row by (distance, gallery index), drop junk, keep k."""
    q, g = torch.tensor(query, dtype=torch.float64), torch.tensor(gallery, dtype=torch.float64)
    if metric == "cosine":
        q, g = torch.nn.functional.normalize(q, dim=1), torch.nn.functional.normalize(g, dim=1)
        dist = (1 - q @ g.T).numpy()
    else:
        dist = torch.cdist(q, g).numpy()
    indices, distances = [], []
    for i, row in enumerate(dist):
        order = np.lexsort((np.arange(len(row)), row))
        if junk is not None:
            bad = (junk.gallery_pids == junk.query_pids[i]) & (junk.gallery_camids == junk.query_camids[i])
            order = order[~bad[order]]
        indices.append(order[:k])
        distances.append(row[order[:k]])
    return np.array(indices), np.array(distances)


def random_case(num_q: int = 40, num_g: int = 500, dim: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(num_q, dim)).astype(np.float32), rng.normal(size=(num_g, dim)).astype(np.float32)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_torch_search_matches_brute_force_across_chunks(metric):
    query, gallery = random_case()
    result = search_torch(query, gallery, 7, metric, query_chunk=16, gallery_chunk=64)
    ref_idx, ref_dist = reference(query, gallery, 7, metric)
    np.testing.assert_array_equal(result.indices, ref_idx)
    np.testing.assert_allclose(result.distances, ref_dist, rtol=1e-4, atol=1e-4)
    assert result.indices.dtype == np.int64 and result.distances.dtype == np.float32


@needs_faiss
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_faiss_and_torch_give_the_same_results(metric):
    query, gallery = random_case(seed=1)
    a = search_torch(query, gallery, 10, metric, gallery_chunk=100)
    b = search_faiss(query, gallery, 10, metric, gallery_chunk=100, query_chunk=7)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.distances, b.distances, rtol=1e-4, atol=1e-4)
    assert (a.backend, b.backend) == ("torch", "faiss")


def test_ties_are_ordered_by_gallery_index_even_across_the_kth_place():
    query, gallery = random_case(num_q=3, num_g=300, seed=2)
    for j in (250, 40, 120, 7):  # four identical items, spread over several chunks, nearest to query 0
        gallery[j] = query[0] + 0.01
    result = search_torch(query, gallery, 3, gallery_chunk=50)
    # only three of the four tied items fit: the three lowest indices, in index order
    np.testing.assert_array_equal(result.indices[0], [7, 40, 120])
    assert result.distances[0, 0] == result.distances[0, 2]
    # a single chunk too: torch.topk's choice among ties is replaced by the index rule
    np.testing.assert_array_equal(search_torch(query, gallery, 3).indices[0], [7, 40, 120])


@needs_faiss
def test_faiss_orders_ties_inside_the_top_k_by_gallery_index():
    query, gallery = random_case(num_q=3, num_g=300, seed=3)
    for j in (250, 40, 120):
        gallery[j] = query[0] + 0.01
    np.testing.assert_array_equal(search_faiss(query, gallery, 5).indices[0, :3], [40, 120, 250])


@needs_faiss
@pytest.mark.parametrize("backend", ["torch", "faiss"])
def test_same_camera_junk_is_never_returned_and_backends_agree(backend):
    query, gallery = random_case(num_q=30, num_g=400, seed=4)
    rng = np.random.default_rng(4)
    junk = SameCameraJunk(
        rng.integers(0, 10, 30), rng.integers(0, 3, 30), rng.integers(0, 10, 400), rng.integers(0, 3, 400)
    )
    gallery[:5] = query[0]  # make junk the nearest items for some queries
    junk.gallery_pids[:5], junk.gallery_camids[:5] = junk.query_pids[0], junk.query_camids[0]
    result = search(query, gallery, 10, backend=backend, junk=junk)
    ref_idx, _ = reference(query, gallery, 10, "euclidean", junk)
    np.testing.assert_array_equal(result.indices, ref_idx)
    assert not set(result.indices[0]) & {0, 1, 2, 3, 4}


def test_small_gallery_and_fully_excluded_rows_are_padded():
    query, gallery = random_case(num_q=2, num_g=3)
    result = search_torch(query, gallery, 10)
    assert result.indices.shape == (2, 3)  # k is capped at the gallery size
    junk = SameCameraJunk(np.array([1, 2]), np.array([0, 0]), np.array([1, 1, 5]), np.array([0, 0, 0]))
    result = search_torch(query, gallery, 3, junk=junk)
    assert result.indices[0].tolist()[-2:] == [-1, -1] and np.isinf(result.distances[0, -2:]).all()
    assert result.indices[0, 0] == 2 and (result.indices[1] >= 0).all()


def test_memmap_gallery_is_read_in_chunks(tmp_path):
    query, gallery = random_case(num_q=5, num_g=1000, dim=16, seed=5)
    mm = np.lib.format.open_memmap(tmp_path / "g.npy", mode="w+", dtype=np.float32, shape=gallery.shape)
    mm[:] = gallery
    mm.flush()
    ro = np.load(tmp_path / "g.npy", mmap_mode="r")
    np.testing.assert_array_equal(
        search_torch(query, ro, 5, gallery_chunk=128).indices, search_torch(query, gallery, 5).indices
    )


def test_auto_backend_uses_faiss_when_installed():
    query, gallery = random_case(num_q=2, num_g=20)
    assert search(query, gallery, 3).backend == ("faiss" if faiss_available() else "torch")


@pytest.mark.parametrize(
    ("query_shape", "gallery_shape", "kwargs", "message"),
    [
        ((2, 8), (5, 4), {}, "feature sizes differ"),
        ((2, 8), (0, 8), {}, "gallery is empty"),
        ((8,), (5, 8), {}, "must be 2-D"),
        ((2, 8), (5, 8), {"top_k": 0}, "top_k must be >= 1"),
        ((2, 8), (5, 8), {"distance": "manhattan"}, "unknown distance 'manhattan'"),
        ((2, 8), (5, 8), {"backend": "annoy"}, "unknown search backend 'annoy'"),
    ],
)
def test_bad_inputs_are_one_line_errors(query_shape, gallery_shape, kwargs, message):
    with pytest.raises(FinereidError, match=message) as info:
        search(np.zeros(query_shape, np.float32), np.zeros(gallery_shape, np.float32), **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("backend", ["torch", "faiss"])
def test_nan_features_are_rejected(backend):
    if backend == "faiss" and not faiss_available():
        pytest.skip("faiss not installed (optional extra)")
    query, gallery = random_case(num_q=2, num_g=10)
    gallery[3, 1] = np.nan
    with pytest.raises(FinereidError, match="gallery features contain NaN"):
        search(query, gallery, 3, backend=backend)
    with pytest.raises(ConfigError):
        search(query, gallery, 3, distance="l1")
