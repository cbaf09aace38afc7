"""evaluate_rank against slow per-query references, on random cases, edge cases and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metrics_reference import cuhk03_expected_cmc, make_case, rank_reference

from finereid.errors import ConfigError
from finereid.metrics import RankResult, evaluate_rank, market


def _assert_matches_reference(result: RankResult, reference, max_rank: int) -> None:
    cmc, mAP, mINP, num_valid = reference
    assert result.cmc.shape == (max_rank,) and result.cmc.dtype == np.float64
    np.testing.assert_allclose(result.cmc, cmc, rtol=0, atol=1e-12)
    assert result.mAP == pytest.approx(mAP, abs=1e-12)
    assert result.mINP == pytest.approx(mINP, abs=1e-12)
    assert result.num_valid_queries == num_valid


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True])
def test_random_cases_match_the_reference(seed, ties):
    rng = np.random.default_rng(seed)
    distmat, q_pids, g_pids, q_camids, g_camids, _ = make_case(rng, 40, 120, 15, 4, ties=ties)
    reference = rank_reference(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=30)
    assert 0 < reference[3] < 40  # some queries have no valid match and are skipped
    if ties:
        assert len(np.unique(distmat)) < 10  # heavy ties: the stable order matters
    result = evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=30)
    _assert_matches_reference(result, reference, 30)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("shift", [0.0, -2.0])
def test_float32_near_matches_take_the_packed_path_and_match_the_reference(seed, ties, shift, monkeypatch):
    # clustered features put true matches near the top: only short row prefixes need sorting;
    # the shift makes some distances negative (and, with ties, some exactly 0): order must hold
    rng = np.random.default_rng(20 + seed)
    case = make_case(rng, 40, 300, 10, 4, ties=ties, dim=8, noise=0.4)
    distmat, q_pids, g_pids, q_camids, g_camids, _ = case
    distmat = (distmat + shift).astype(np.float32)
    calls = []
    packed = market.RowCounter._packed
    monkeypatch.setattr(market.RowCounter, "_packed", lambda *a: calls.append(1) or packed(*a))
    result = evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=30, chunk_size=8)
    assert calls  # the packed path ran
    reference = rank_reference(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=30)
    _assert_matches_reference(result, reference, 30)


@pytest.mark.parametrize("chunk_size", [1, 3, 17])
def test_query_chunks_do_not_change_the_result(chunk_size):
    rng = np.random.default_rng(10)
    case = make_case(rng, 35, 90, 12, 3, ties=True)[:5]
    whole = evaluate_rank(*case, max_rank=20)
    chunked = evaluate_rank(*case, max_rank=20, chunk_size=chunk_size)
    np.testing.assert_array_equal(chunked.cmc, whole.cmc)
    assert (chunked.mAP, chunked.mINP) == pytest.approx((whole.mAP, whole.mINP), abs=1e-14)


def test_ties_follow_gallery_order():
    # every distance equal: the ranked list is the gallery order; true matches at positions 1 and 2
    distmat = np.full((1, 4), 0.5)
    result = evaluate_rank(distmat, [1], [2, 1, 1, 3], [0], [1, 1, 1, 1], max_rank=4)
    np.testing.assert_array_equal(result.cmc, [0.0, 1.0, 1.0, 1.0])
    assert result.mAP == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert result.mINP == pytest.approx(2 / 3)


def test_negative_zero_ties_with_zero():
    # -0.0 == 0.0: a stable sort keeps gallery order between them, whichever path runs
    distmat = np.array([[0.0, -0.0, 0.0, 5.0, 5.0, 5.0, 5.0, 5.0]], dtype=np.float32)
    result = evaluate_rank(distmat, [1], [2, 3, 1, 4, 5, 6, 7, 8], [0], [1] * 8, max_rank=3)
    np.testing.assert_array_equal(result.cmc, [0.0, 0.0, 1.0])
    assert result.mAP == pytest.approx(1 / 3)


def test_same_camera_matches_are_removed_but_distractors_stay():
    # gallery: same pid same camera (junk, nearest), a distractor, then the true match (other camera)
    distmat = np.array([[0.1, 0.2, 0.3]])
    result = evaluate_rank(distmat, [5], [5, 0, 5], [1], [1, 2, 2], max_rank=3)
    np.testing.assert_array_equal(result.cmc, [0.0, 1.0, 1.0])  # junk dropped, distractor counts
    assert result.mAP == pytest.approx(0.5)


def test_single_query_and_max_rank_beyond_the_gallery():
    rng = np.random.default_rng(3)
    distmat = rng.random((1, 6))
    args = (distmat, [7], [7, 1, 7, 2, 3, 7], [0], [1, 1, 0, 2, 2, 1])
    result = evaluate_rank(*args, max_rank=50)
    reference = rank_reference(*args, max_rank=50)
    _assert_matches_reference(result, reference, 50)
    assert result.cmc[-1] == 1.0  # padded: past the end of the list every counted query has its match
    assert np.all(np.diff(result.cmc) >= 0)


def test_no_valid_query_is_an_error():
    with pytest.raises(ConfigError, match="no query has a true match"):
        evaluate_rank(np.random.rand(2, 3), [1, 2], [1, 3, 4], [0, 0], [0, 1, 1])


@pytest.mark.parametrize(
    "convert",
    [
        lambda a: a,
        lambda a: a.astype(np.int32) if a.dtype.kind == "i" else a.astype(np.float32),
        lambda a: torch.from_numpy(a),
        lambda a: torch.from_numpy(a.astype(np.int32) if a.dtype.kind == "i" else a.astype(np.float16)),
        lambda a: a.tolist(),
    ],
    ids=["numpy64", "numpy32", "torch64", "torch32-half", "lists"],
)
def test_input_types_are_accepted(convert):
    rng = np.random.default_rng(4)
    distmat, *ids, _ = make_case(rng, 12, 40, 6, 3, ties=True)  # ties: exact in float16 too
    expected = evaluate_rank(distmat, *ids, max_rank=10)
    result = evaluate_rank(convert(distmat), *(convert(i) for i in ids), max_rank=10)
    np.testing.assert_array_equal(result.cmc, expected.cmc)
    assert result.mAP == pytest.approx(expected.mAP, abs=1e-12)


def test_to_dict():
    rng = np.random.default_rng(5)
    result = evaluate_rank(*make_case(rng, 20, 60, 8, 3)[:5], max_rank=12)
    summary = result.to_dict()
    assert set(summary) == {"rank1", "rank5", "rank10", "mAP", "mINP", "num_valid_queries", "cmc"}
    assert summary["rank5"] == result.cmc[4] and len(summary["cmc"]) == 12
    assert 0 <= summary["mINP"] <= summary["mAP"] <= 1
    assert "rank10" not in evaluate_rank(*make_case(rng, 20, 60, 8, 3)[:5], max_rank=5).to_dict()


def test_cuhk03_with_one_image_per_identity_equals_market():
    # every gallery identity has exactly one image, all on camera 1, queries on camera 0: no sampling left
    rng = np.random.default_rng(6)
    g_pids = rng.permutation(30)
    q_pids = rng.integers(0, 30, size=25)
    distmat = rng.random((25, 30))
    args = (distmat, q_pids, g_pids, np.zeros(25, int), np.ones(30, int))
    market = evaluate_rank(*args, max_rank=10)
    cuhk03 = evaluate_rank(*args, max_rank=10, protocol="cuhk03", seed=1)
    np.testing.assert_allclose(cuhk03.cmc, market.cmc, atol=1e-12)
    assert cuhk03.mAP == pytest.approx(market.mAP)


def test_cuhk03_converges_to_the_exact_expectation():
    rng = np.random.default_rng(7)
    distmat, q_pids, g_pids, q_camids, g_camids, _ = make_case(rng, 20, 50, 8, 3)
    expected = cuhk03_expected_cmc(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=9)
    result = evaluate_rank(
        distmat, q_pids, g_pids, q_camids, g_camids, max_rank=9, protocol="cuhk03", num_repeats=4000
    )
    # per-query CMC is a mean of 4000 draws (sd <= 0.008); averaged over the queries, far tighter
    np.testing.assert_allclose(result.cmc, expected, atol=0.02)
    market = evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=9)
    assert result.mAP == pytest.approx(market.mAP)  # AP uses the whole gallery, as the reference does
    assert np.all(result.cmc >= market.cmc - 1e-12)  # one image per identity can only move matches up


def test_cuhk03_is_seeded_and_independent_of_chunking():
    rng = np.random.default_rng(8)
    case = make_case(rng, 15, 60, 6, 3)[:5]
    first = evaluate_rank(*case, protocol="cuhk03", seed=3, max_rank=8)
    again = evaluate_rank(*case, protocol="cuhk03", seed=3, max_rank=8, chunk_size=4)
    other = evaluate_rank(*case, protocol="cuhk03", seed=4, max_rank=8)
    np.testing.assert_allclose(first.cmc, again.cmc, rtol=0, atol=1e-12)  # same draws, same ranks
    assert not np.array_equal(first.cmc, other.cmc)


@pytest.mark.parametrize(
    ("distmat", "q_pids", "g_pids", "kwargs", "message"),
    [
        (np.random.rand(3, 4), [1, 2], [1, 2, 3, 4], {}, "q_pids has 2 entries"),
        (np.random.rand(3, 4), [1, 2, 3], [1, 2, 3], {}, "g_pids has 3 entries"),
        (np.array([[0.1, np.nan, 0.2, 0.3]] * 3), [1, 2, 3], [1, 2, 3, 4], {}, "NaN"),
        (np.array([[0.1, 0.2, 0.3, np.nan]] * 3, np.float32), [1, 2, 3], [1, 2, 3, 4], {}, "NaN"),
        (  # float32 with matches first: the packed path, NaN past the last match
            np.array([[0.05, 0.9, 0.8, 0.7], [0.9, 0.05, 0.8, 0.7], [0.5, 0.6, 0.05, np.nan]], np.float32),
            [1, 2, 3],
            [1, 2, 3, 4],
            {},
            "NaN",
        ),
        (np.zeros((3, 0)), [1, 2, 3], [], {}, "no gallery"),
        (np.zeros((0, 4)), [], [1, 2, 3, 4], {}, "no query"),
        (np.random.rand(4), [1, 2, 3], [1, 2, 3, 4], {}, "2-D"),
        (np.random.rand(3, 4), [1.0, 2.0, 3.0], [1, 2, 3, 4], {}, "integer ids"),
        (np.random.rand(3, 4), [1, 2, 3], [1, 2, 3, 4], {"protocol": "duke"}, "unknown protocol"),
        (np.random.rand(3, 4), [1, 2, 3], [1, 2, 3, 4], {"max_rank": 0}, "max_rank"),
    ],
)
def test_bad_input_is_a_one_line_config_error(distmat, q_pids, g_pids, kwargs, message):
    q_camids, g_camids = np.zeros(len(q_pids), int), np.ones(len(g_pids), int)
    with pytest.raises(ConfigError, match=message) as info:
        evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, **kwargs)
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
