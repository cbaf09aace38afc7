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
from metrics_reference import make_case, rank_reference, re_ranking_reference

import finereid.metrics.distance as distance_module
import finereid.metrics.rerank as rerank_module
from finereid.errors import ConfigError
from finereid.metrics import compute_distmat, evaluate_rank, re_ranking
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


def _rerank_blocks(seed: int, num_query: int = 8, num_gallery: int = 22) -> list[torch.Tensor]:
    """q_g, q_q, g_g euclidean blocks of random float32 features."""
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(num_query + num_gallery, 8, generator=gen)
    dist = torch.cdist(feats.double(), feats.double()).float()
    q, g = slice(0, num_query), slice(num_query, None)
    return [dist[q, g], dist[q, q], dist[g, g]]


def _rerank_expected(blocks: list[torch.Tensor], k1: int, k2: int) -> np.ndarray:
    """The NumPy transcription of the published algorithm."""
    return re_ranking_reference(*(b.numpy() for b in blocks), k1, k2, 0.3)


def test_re_ranking_runs_in_float32_whatever_torchs_default_dtype():
    blocks = _rerank_blocks(30)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = re_ranking(*blocks, k1=6, k2=3)
    finally:
        torch.set_default_dtype(previous)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), _rerank_expected(blocks, 6, 3), rtol=0, atol=1e-5)


def test_re_ranking_stays_on_the_inputs_device_not_torchs_default_device():
    blocks = _rerank_blocks(31)
    with torch.device("meta"):
        got = re_ranking(*blocks, k1=6, k2=3)
    assert got.device == blocks[0].device
    np.testing.assert_allclose(got.numpy(), _rerank_expected(blocks, 6, 3), rtol=0, atol=1e-5)


def test_small_chunks_build_each_row_of_the_scaled_matrix_once(monkeypatch):
    # 100-entry chunks of 30-wide rows: 3 rows a chunk, so the query and gallery parts need several chunks
    monkeypatch.setattr(rerank_module, "_CHUNK", 100)
    monkeypatch.setattr(rerank_module, "_PAIRS", 30)
    built: list[tuple[int, int]] = []
    real_rows = rerank_module._Blocks.rows

    def rows(self, start: int, stop: int, out: torch.Tensor) -> torch.Tensor:
        built.append((start, stop))
        return real_rows(self, start, stop, out)

    monkeypatch.setattr(rerank_module._Blocks, "rows", rows)
    blocks = _rerank_blocks(32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a wrongly sized out= buffer would be resized with a warning
        got = re_ranking(*blocks, k1=6, k2=3)
    covered = sorted(row for start, stop in built for row in range(start, stop))
    assert covered == list(range(30)) and len(built) > 2
    np.testing.assert_allclose(got.numpy(), _rerank_expected(blocks, 6, 3), rtol=0, atol=1e-5)


def test_re_ranking_scales_like_the_published_code_for_asymmetric_blocks():
    # float32 distance blocks are rarely exactly symmetric; the published code divides each column of the
    # (N, N) matrix by its maximum, so q_q and g_g must be read by column, not by row
    blocks = _rerank_blocks(33)
    gen = torch.Generator().manual_seed(34)
    blocks[1] = blocks[1] * (1 + 0.5 * torch.rand(blocks[1].shape, generator=gen))
    blocks[2] = blocks[2] * (1 + 0.5 * torch.rand(blocks[2].shape, generator=gen))
    got = re_ranking(*blocks, k1=6, k2=3)
    np.testing.assert_allclose(got.numpy(), _rerank_expected(blocks, 6, 3), rtol=0, atol=1e-5)


def test_re_ranking_follows_the_published_code_for_negative_entries():
    # the published code squares the inputs before taking each column's maximum, so a negated similarity
    # (entries of both signs) is scaled by its largest magnitude, not by its largest value
    gen = torch.Generator().manual_seed(35)
    feats = torch.randn(16, 4, generator=gen)
    similarity = -(feats @ feats.T)
    blocks = [similarity[:5, 5:], similarity[:5, :5], similarity[5:, 5:]]
    got = re_ranking(*blocks, k1=3, k2=2)
    np.testing.assert_allclose(got.numpy(), _rerank_expected(blocks, 3, 2), rtol=0, atol=1e-5)


@pytest.mark.parametrize("k2", [1, 2])
def test_small_k2_values_follow_the_published_code(k2):
    # k2 == 1 skips the query expansion, k2 == 2 averages over two neighbours
    blocks = _rerank_blocks(36)
    got = re_ranking(*blocks, k1=5, k2=k2)
    np.testing.assert_allclose(got.numpy(), _rerank_expected(blocks, 5, k2), rtol=0, atol=1e-5)


def test_re_ranking_does_not_depend_on_the_distance_unit():
    # every column is divided by its maximum, so distances in other units (here 1/20, all below 1) give
    # the same result up to float32 rounding
    blocks = _rerank_blocks(37)
    got = re_ranking(*(block / 20 for block in blocks), k1=6, k2=3)
    np.testing.assert_allclose(got.numpy(), re_ranking(*blocks, k1=6, k2=3).numpy(), rtol=0, atol=1e-5)
    assert float(blocks[0].max()) / 20 < 1.0


def test_all_zero_distances_re_rank_to_zero_not_nan():
    zeros = [torch.zeros(3, 5), torch.zeros(3, 3), torch.zeros(5, 5)]
    got = re_ranking(*zeros, k1=2, k2=2)
    assert torch.equal(got, torch.zeros(3, 5))


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda b: (b[0][0], b[1], b[2]), {}, r"^q_g_dist must be a 2-D matrix"),
        (lambda b: (b[0], b[1][0], b[2]), {}, r"^q_q_dist must be a 2-D matrix"),
        (lambda b: (b[0], b[1], b[2][0]), {}, r"^g_g_dist must be a 2-D matrix"),
        (
            lambda b: (b[0], b[1], b[2].to("meta")),
            {},
            r"^q_g_dist, q_q_dist and g_g_dist must be on the same device$",
        ),
        (lambda b: b, {"k1": 0}, r"^k1 must be a positive integer"),
        (lambda b: b, {"k2": 0}, r"^k2 must be a positive integer"),
        (lambda b: b, {"lambda_value": 1.5}, r"^lambda_value must be in \[0, 1\]"),
        (
            lambda b: (b[0].masked_fill(b[0] > 4, float("nan")), b[1], b[2]),
            {},
            r"^re_ranking: the distance matrices contain NaN values$",
        ),
    ],
)
def test_re_ranking_errors_start_with_the_argument_at_fault(change, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        re_ranking(*change(_rerank_blocks(38, 3, 6)), **kwargs)


@pytest.mark.parametrize("budget", [1, 4, 7, 100])
def test_spans_are_the_longest_runs_within_the_budget(budget):
    cost = torch.tensor([3, 1, 0, 4, 2, 2, 5, 1, 1, 0, 3])
    spans = rerank_module._spans(cost, budget)
    assert [a for a, _ in spans] == [0] + [b for _, b in spans[:-1]] and spans[-1][1] == len(cost)
    for a, b in spans:
        total = int(cost[a:b].sum())
        assert b == a + 1 or total <= budget  # one item at least, else within the budget
        assert b == len(cost) or total + int(cost[b]) > budget  # and no longer than the budget allows
