"""ranking.npz: per-query ranked lists under the market protocol, consistent with finereid.metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from finereid.data import ImageRecord
from finereid.errors import FinereidError
from finereid.evaluation import build_ranking, load_ranking, save_ranking
from finereid.metrics import evaluate_features, evaluate_rank


def compute_ranking(query, gallery, *, query_feats=None, gallery_feats=None, distmat=None,
                    metric="euclidean", top_k=10, chunk_elements=None, metrics=None, meta=None):  # fmt: skip
    """Ranked lists as `finereid eval` makes them: finereid.metrics' lists with the records attached."""
    ids = (
        [r.pid for r in query],
        [r.pid for r in gallery],
        [r.camid for r in query],
        [r.camid for r in gallery],
    )
    if distmat is not None:
        result = evaluate_rank(distmat, *ids, top_k=top_k)
    else:
        chunk = None if chunk_elements is None else max(1, chunk_elements // len(gallery))
        result = evaluate_features(
            query_feats, gallery_feats, *ids, distance=metric, top_k=top_k, chunk_size=chunk
        )
    return build_ranking(
        query, gallery, result.ranked, {"metrics": metrics or result.to_dict(), **(meta or {})}
    )


def make_case(num_q: int = 25, num_g: int = 120, seed: int = 0):
    """Random features and ids with same-camera junk, distractors and queries without a match."""
    rng = np.random.default_rng(seed)
    q_pids = rng.integers(0, 15, num_q)
    g_pids = rng.integers(0, 12, num_g)  # query pids 12-14 have no gallery image at all
    query = [
        ImageRecord(f"/q/{i}.jpg", int(p), int(c))
        for i, (p, c) in enumerate(zip(q_pids, rng.integers(0, 3, num_q), strict=True))
    ]
    gallery = [
        ImageRecord(f"/g/{i}.jpg", int(p), int(c))
        for i, (p, c) in enumerate(zip(g_pids, rng.integers(0, 3, num_g), strict=True))
    ]
    return (
        query,
        gallery,
        rng.normal(size=(num_q, 16)).astype(np.float32),
        rng.normal(size=(num_g, 16)).astype(np.float32),
    )


def slow_reference(query, gallery, dist: np.ndarray, k: int):
    """Per query, in plain Python: drop junk, stable sort, top-k paths, first match rank, AP."""
    out = []
    for i, q in enumerate(query):
        kept = [
            j
            for j in np.argsort(dist[i], kind="stable")
            if not (gallery[j].pid == q.pid and gallery[j].camid == q.camid)
        ]
        hits = [gallery[j].pid == q.pid for j in kept]
        positions = [n + 1 for n, h in enumerate(hits) if h]
        ap = float(np.mean([(m + 1) / p for m, p in enumerate(positions)])) if positions else float("nan")
        out.append(([gallery[j].path for j in kept[:k]], hits[:k], positions[0] if positions else 0, ap))
    return out


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_ranking_matches_a_slow_reference_and_chunks_do_not_matter(metric):
    query, gallery, qf, gf = make_case()
    if metric == "cosine":
        qn, gn = (
            torch.nn.functional.normalize(torch.tensor(x, dtype=torch.float64), dim=1) for x in (qf, gf)
        )
        dist = (1 - qn @ gn.T).numpy()
    else:
        dist = torch.cdist(
            torch.tensor(qf, dtype=torch.float64), torch.tensor(gf, dtype=torch.float64)
        ).numpy()
    ranking = compute_ranking(
        query, gallery, query_feats=qf, gallery_feats=gf, metric=metric, top_k=5, chunk_elements=300
    )  # 2 queries per chunk
    for i, (paths, hits, first, ap) in enumerate(slow_reference(query, gallery, dist, 5)):
        got = [ranking.gallery_paths[j] for j in ranking.indices[i]]
        assert got == paths
        assert ranking.matches[i].tolist() == hits
        assert ranking.first_match[i] == first
        if first:
            assert ranking.average_precision[i] == pytest.approx(ap, abs=1e-6)
        else:
            assert np.isnan(ranking.average_precision[i])
    assert (ranking.first_match == 0).any() and (ranking.first_match > 1).any()  # the case covers both


def test_ranking_from_a_distmat_equals_ranking_from_features():
    query, gallery, qf, gf = make_case(seed=1)
    dist = torch.cdist(torch.tensor(qf), torch.tensor(gf))
    a = compute_ranking(query, gallery, query_feats=qf, gallery_feats=gf, top_k=8)
    b = compute_ranking(query, gallery, distmat=dist, top_k=8)
    assert [list(a.gallery_paths[r]) for r in a.indices] == [list(b.gallery_paths[r]) for r in b.indices]
    np.testing.assert_array_equal(a.first_match, b.first_match)


def test_the_ranked_lists_agree_with_the_metrics_of_the_same_pass():
    query, gallery, qf, gf = make_case(num_q=40, num_g=200, seed=2)
    ranking = compute_ranking(query, gallery, query_feats=qf, gallery_feats=gf, top_k=3)
    dist = torch.cdist(torch.tensor(qf), torch.tensor(gf))
    result = evaluate_rank(
        dist,
        [r.pid for r in query],
        [r.pid for r in gallery],
        [r.camid for r in query],
        [r.camid for r in gallery],
        max_rank=20,
    )
    first = ranking.first_match[ranking.first_match > 0]
    np.testing.assert_allclose([(first <= r).mean() for r in range(1, 21)], result.cmc, atol=1e-9)
    assert np.nanmean(ranking.average_precision) == pytest.approx(result.mAP, abs=1e-6)
    assert int((ranking.first_match > 0).sum()) == result.num_valid_queries
    assert ranking.meta["metrics"]["mAP"] == pytest.approx(result.mAP, abs=1e-12)


def test_order_puts_failures_first_then_correct_then_no_match():
    query, gallery, qf, gf = make_case(seed=3)
    ranking = compute_ranking(query, gallery, query_feats=qf, gallery_feats=gf)
    groups = [
        0 if ranking.failures[q] else (1 if ranking.first_match[q] == 1 else 2) for q in ranking.order()
    ]
    assert groups == sorted(groups) and set(groups) == {0, 1, 2}
    failure_ap = [ranking.average_precision[q] for q in ranking.order() if ranking.failures[q]]
    assert failure_ap == sorted(failure_ap)


def test_save_and_load_round_trip_without_pickle(tmp_path):
    query, gallery, qf, gf = make_case(seed=4)
    path = save_ranking(
        tmp_path / "run" / "ranking.npz",
        compute_ranking(
            query, gallery, query_feats=qf, gallery_feats=gf,
            metrics={"mAP": 0.5, "cmc": [0.1, 0.2]}, meta={"checkpoint": "x.ckpt"},
        ),
    )  # fmt: skip
    loaded = load_ranking(path)
    direct = compute_ranking(query, gallery, query_feats=qf, gallery_feats=gf)
    np.testing.assert_array_equal(loaded.indices, direct.indices)
    np.testing.assert_array_equal(loaded.gallery_paths, direct.gallery_paths)
    assert loaded.meta["metrics"]["mAP"] == 0.5 and loaded.meta["checkpoint"] == "x.ckpt"
    assert len(loaded.gallery_paths) <= 10 * len(query)  # only referenced gallery paths are stored
    with np.load(path, allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)


def test_bad_ranking_inputs_are_one_line_errors(tmp_path):
    query, gallery, _, _ = make_case(num_q=3, num_g=10)
    with pytest.raises(FinereidError, match="g_pids has 10 entries but there are 9 distmat columns"):
        compute_ranking(query, gallery, distmat=np.zeros((3, 9)))
    with pytest.raises(FinereidError, match="NaN"):
        compute_ranking(query, gallery, distmat=np.full((3, 10), np.nan))
    with pytest.raises(FinereidError, match="3 ranked lists for 2 queries"):
        build_ranking(
            query[:2],
            gallery,
            evaluate_rank(np.zeros((3, 10)), *[[1] * 3, [1] * 10, [0] * 3, [1] * 10], top_k=2).ranked,
        )
    with pytest.raises(FinereidError, match="no ranking file"):
        load_ranking(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(FinereidError, match="not a finereid ranking file"):
        load_ranking(tmp_path / "bad.npz")
