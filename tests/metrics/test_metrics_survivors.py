"""Metrics properties that mutants surviving benchmarks/mutation.py showed unguarded (issue #22).

Each test states a property of the result or of how it is computed (chunks partition the queries, the
result lives on the features' device, ...); expected values come from torch.cdist in float64 or from the
property itself, never from a run of the code under test.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from metrics_reference import make_case, rank_reference

import finereid.metrics.distance as distance_module
from finereid.errors import ConfigError
from finereid.metrics import compute_distmat, evaluate_rank
from finereid.metrics.checks import rows_per_chunk
from finereid.metrics.market import RowCounter


def _features(num_query: int, num_gallery: int, dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random query and gallery features."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(num_query, dim, generator=gen), torch.randn(num_gallery, dim, generator=gen)


def _record_chunks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, tuple[int, ...], int]]:
    """Wrap build_distance so every measure call logs (query rows, out shape, out's first element offset)."""
    calls: list[tuple[int, tuple[int, ...], int]] = []
    real_build = distance_module.build_distance

    def build(name: str, gallery: torch.Tensor):
        measure = real_build(name, gallery)

        def spy(query: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
            assert out is not None
            calls.append((query.shape[0], tuple(out.shape), out.storage_offset()))
            return measure(query, out=out)

        return spy

    monkeypatch.setattr(distance_module, "build_distance", build)
    return calls


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize(("num_query", "chunk_size"), [(7, 3), (9, 3), (10, 4)])
def test_chunks_partition_the_queries_and_write_into_their_own_rows(
    monkeypatch, distance, num_query, chunk_size
):
    query, gallery = _features(num_query, 5, 6, seed=10)
    calls = _record_chunks(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a wrongly shaped out= would be resized by torch with a warning
        got = compute_distmat(query, gallery, distance=distance, chunk_size=chunk_size)
    expected_rows = [min(chunk_size, num_query - start) for start in range(0, num_query, chunk_size)]
    assert [rows for rows, _, _ in calls] == expected_rows  # every query row measured exactly once
    assert [shape for _, shape, _ in calls] == [(rows, 5) for rows in expected_rows]
    assert [offset for _, _, offset in calls] == [5 * start for start in range(0, num_query, chunk_size)]
    reference = torch.cdist(query.double(), gallery.double())
    if distance == "cosine":
        q, g = query.double(), gallery.double()
        reference = 1 - torch.nn.functional.cosine_similarity(q[:, None, :], g[None, :, :], dim=2)
    torch.testing.assert_close(got.double(), reference, atol=1e-5, rtol=1e-5)


def test_default_chunks_hold_at_most_the_budget_of_result_entries(monkeypatch):
    # the default chunk is sized from the result's width (gallery rows), not the feature width: with a
    # 64-entry budget and 16 gallery rows a chunk holds 4 queries, whatever the feature dimension (3 here)
    budget = 64
    monkeypatch.setattr(
        distance_module, "rows_per_chunk", lambda size, columns: rows_per_chunk(size, columns, budget)
    )
    calls = _record_chunks(monkeypatch)
    query, gallery = _features(20, 16, 3, seed=11)
    got = compute_distmat(query, gallery)
    assert len(calls) == 5 and all(rows * 16 <= budget for rows, _, _ in calls)
    torch.testing.assert_close(got.double(), torch.cdist(query.double(), gallery.double()), atol=1e-5, rtol=0)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_result_is_on_the_features_device_not_torchs_default_device(distance):
    # code that sets torch's default device (often to cuda) must still get the matrix where its features are
    query, gallery = _features(6, 4, 5, seed=12)
    with torch.device("meta"):
        got = compute_distmat(query, gallery, distance=distance, chunk_size=4)
    assert got.device == query.device
    assert bool(torch.isfinite(got).all())


def test_metric_keyword_warning_names_both_keywords_and_the_last_version():
    query, gallery = _features(2, 3, 4, seed=13)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compute_distmat(query, gallery, metric="euclidean")
    (warning,) = caught
    pattern = r"the metric= keyword is renamed distance=; the old name is read until finereid \d+\.\d+"
    assert re.fullmatch(pattern, str(warning.message))


class _Elsewhere(torch.Tensor):
    """A CPU tensor that reports another device: runs RowCounter's torch path (the GPU one) on the CPU."""

    @property
    def device(self) -> torch.device:
        """Not the CPU, so device-dependent code takes its non-CPU branch."""
        return torch.device("meta")


def _brute_counts(dist: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per entry of `values` (c, m): how many of its row's distances are smaller, and not larger."""
    rows = dist.unsqueeze(1)
    return (rows < values.unsqueeze(2)).sum(dim=2), (rows <= values.unsqueeze(2)).sum(dim=2)


def test_row_counts_of_the_torch_path_equal_a_direct_count():
    gen = torch.Generator().manual_seed(20)
    dist = torch.randint(0, 6, (5, 12), generator=gen).float()  # few levels: many ties
    values = dist[:, [0, 3, 7]]
    left, right = RowCounter()(dist.as_subclass(_Elsewhere), values, values.amax(dim=1))
    expected_left, expected_right = _brute_counts(dist, values)
    assert torch.equal(left.as_subclass(torch.Tensor), expected_left)
    assert torch.equal(right.as_subclass(torch.Tensor), expected_right)


def test_torch_path_refuses_nan_distances():
    dist = torch.rand(3, 4)
    dist[1, 2] = float("nan")
    with pytest.raises(ConfigError, match="NaN"):
        RowCounter()(dist.as_subclass(_Elsewhere), dist[:, :1], dist[:, 0])


def test_nan_distance_error_is_one_sentence_that_starts_with_what_is_wrong():
    dist = np.random.default_rng(21).random((3, 5))
    dist[2, 4] = np.nan
    with pytest.raises(ConfigError) as caught:
        evaluate_rank(dist, [1, 2, 3], [1, 2, 3, 1, 2], [0, 0, 0], [1, 1, 1, 1, 1])
    assert re.fullmatch(r"the distance matrix contains NaN values; [a-z ]+", str(caught.value))


def test_one_row_counter_serves_growing_chunks_and_both_float_widths():
    # the sort buffer is reused across chunks: it must grow, and follow the dtype (float64 values that
    # differ below float32 precision keep their order only in a float64 buffer)
    counter, gen = RowCounter(), torch.Generator().manual_seed(22)
    small, large = torch.rand(2, 10, generator=gen), torch.rand(6, 30, generator=gen)
    close = 1.0 + 1e-12 * torch.randperm(10, generator=gen).double().reshape(1, 10).repeat(3, 1)
    for dist in (small, large, close, small):
        values = dist[:, [1, 4, 8]]
        left, right = counter(dist, values, dist.amax(dim=1))  # nothing beyond the limit: the sort path
        expected_left, expected_right = _brute_counts(dist, values)
        assert torch.equal(left, expected_left) and torch.equal(right, expected_right)


def test_packed_path_orders_negative_tiny_and_signed_zero_distances_exactly():
    # most distances lie beyond every row's farthest true match, so the (row, float32 bits) key path runs;
    # the near ones are negative, tiny (below float32 resolution at 1.0) and +-0.0: ties by gallery index
    rng = np.random.default_rng(23)
    _, q_pids, g_pids, q_camids, g_camids, _ = make_case(rng, 12, 60, 6, 3)
    near = np.array([-3.5, -1e-3, -2e-9, -1e-9, -0.0, 0.0, 1e-9, 2e-9, 3e-9, 1e-3], dtype=np.float32)
    dist = (50.0 + rng.random((12, 60))).astype(np.float32)
    for i in range(12):
        columns = np.flatnonzero(g_pids == q_pids[i])
        columns = np.union1d(columns, rng.choice(60, size=6, replace=False))
        dist[i, columns] = rng.choice(near, size=columns.size)
    got = evaluate_rank(torch.from_numpy(dist), q_pids, g_pids, q_camids, g_camids, max_rank=10)
    cmc, m_ap, m_inp, valid = rank_reference(dist, q_pids, g_pids, q_camids, g_camids, max_rank=10)
    assert got.num_valid_queries == valid > 0
    np.testing.assert_allclose(got.cmc, cmc, rtol=0, atol=1e-12)
    assert got.mAP == pytest.approx(m_ap, abs=1e-12) and got.mINP == pytest.approx(m_inp, abs=1e-12)


def test_ranking_follows_the_distances_device_not_torchs_default_device():
    rng = np.random.default_rng(24)
    dist, q_pids, g_pids, q_camids, g_camids, _ = make_case(rng, 10, 40, 5, 3, ties=True)
    with torch.device("meta"):
        got = evaluate_rank(torch.from_numpy(dist), q_pids, g_pids, q_camids, g_camids, max_rank=10)
    cmc, m_ap, m_inp, _ = rank_reference(dist, q_pids, g_pids, q_camids, g_camids, max_rank=10)
    np.testing.assert_allclose(got.cmc, cmc, rtol=0, atol=1e-12)
    assert got.mAP == pytest.approx(m_ap, abs=1e-12) and got.mINP == pytest.approx(m_inp, abs=1e-12)
