"""Metrics properties that mutants surviving benchmarks/mutation.py showed unguarded (issue #22).

Each test states a property of the result or of how it is computed (chunks partition the queries, the
result lives on the features' device, ...); expected values come from torch.cdist in float64 or from the
property itself, never from a run of the code under test.
"""

from __future__ import annotations

import re
import warnings

import pytest
import torch

import finereid.metrics.distance as distance_module
from finereid.metrics import compute_distmat
from finereid.metrics.checks import rows_per_chunk


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
