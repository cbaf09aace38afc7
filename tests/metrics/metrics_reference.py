"""Slow, direct NumPy references for the metrics tests and benchmarks/bench_eval.py.

Written from the definitions (and, for re-ranking, transcribed from the algorithm of the authors'
published NumPy code, zhunzhong07/person-re-ranking python-version/re_ranking_ranklist.py), one query
at a time, with none of the tricks finereid.metrics uses. Not imported by the library.
"""

from __future__ import annotations

import numpy as np


def query_ranks(dist_row, q_pid, q_camid, g_pids, g_camids):
    """0-based positions of the true matches in the query's ranked list after junk removal."""
    order = np.argsort(dist_row, kind="stable")  # ties keep gallery order
    same_pid = g_pids[order] == q_pid
    junk = same_pid & (g_camids[order] == q_camid)
    return np.flatnonzero(same_pid[~junk])


def rank_reference(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    """Market protocol, per query: (cmc, mAP, mINP, num_valid_queries); cmc stays 1 past the list end."""
    distmat, q_pids, g_pids = np.asarray(distmat), np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    cmc, aps, inps = np.zeros(max_rank), [], []
    for i in range(distmat.shape[0]):
        hits = query_ranks(distmat[i], q_pids[i], q_camids[i], g_pids, g_camids)
        _add_query(hits, max_rank, cmc, aps, inps)
    return cmc / len(aps), float(np.mean(aps)), float(np.mean(inps)), len(aps)


def features_reference(query, gallery, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    """Like rank_reference, computing each query's euclidean distances on the fly."""
    gallery_sq = (gallery * gallery).sum(axis=1)
    cmc, aps, inps = np.zeros(max_rank), [], []
    for i in range(query.shape[0]):
        row = np.sqrt(np.maximum(gallery_sq + query[i] @ query[i] - 2.0 * (gallery @ query[i]), 0.0))
        hits = query_ranks(row, q_pids[i], q_camids[i], g_pids, g_camids)
        _add_query(hits, max_rank, cmc, aps, inps)
    return cmc / len(aps), float(np.mean(aps)), float(np.mean(inps)), len(aps)


def _add_query(hits, max_rank, cmc, aps, inps):
    """Accumulate one query's CMC row, AP and INP (nothing if it has no true match)."""
    if len(hits) == 0:
        return
    cmc[hits[0] :] += 1.0  # empty slice when the first hit is beyond max_rank
    aps.append(float(np.mean(np.arange(1, len(hits) + 1) / (hits + 1.0))))
    inps.append(len(hits) / (hits[-1] + 1.0))


def cuhk03_expected_cmc(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    """Exact expectation of the single-gallery-shot CMC (infinitely many repeats), per query by DP.

    Given which true match is drawn (uniformly), every other identity independently puts its drawn
    image ahead of it with probability (its images ranked ahead) / (its images); the rank is a sum of
    independent Bernoullis, whose distribution a dynamic programme gives exactly.
    """
    total, valid = np.zeros(max_rank), 0
    for i in range(distmat.shape[0]):
        order = np.argsort(distmat[i], kind="stable")
        pids, cams = g_pids[order], g_camids[order]
        keep = ~((pids == q_pids[i]) & (cams == q_camids[i]))
        pids = pids[keep]
        true_positions = np.flatnonzero(pids == q_pids[i])
        if len(true_positions) == 0:
            continue
        valid += 1
        others = [np.flatnonzero(pids == p) for p in np.unique(pids) if p != q_pids[i]]
        for position in true_positions:
            probs = [np.count_nonzero(pos < position) / len(pos) for pos in others]
            law = np.array([1.0])  # law[r] = P(r identities ahead)
            for p in probs:
                law = np.append(law * (1 - p), 0.0) + np.append(0.0, law * p)
            cdf = np.cumsum(law)
            curve = np.array([cdf[min(k, len(cdf) - 1)] for k in range(max_rank)])
            total += curve / len(true_positions)
    return total / valid


def re_ranking_reference(q_g_dist, q_q_dist, g_g_dist, k1=20, k2=6, lambda_value=0.3):
    """The published k-reciprocal re-ranking algorithm, step by step, in dense NumPy (float32)."""
    num_query = q_g_dist.shape[0]
    full = np.vstack([np.hstack([q_q_dist, q_g_dist]), np.hstack([q_g_dist.T, g_g_dist])])
    squared = np.square(full).astype(np.float32)
    dist = np.transpose(squared / squared.max(axis=0))  # column r over its max, then transposed
    del full, squared
    num_all = dist.shape[0]
    order = np.argsort(dist, axis=1).astype(np.int32)

    half = int(np.around(k1 / 2.0))
    V = np.zeros((num_all, num_all), dtype=np.float32)
    for i in range(num_all):
        core = _reciprocal(order, i, k1)
        expanded = [core]
        for candidate in core:
            extra = _reciprocal(order, candidate, half)
            if len(np.intersect1d(extra, core)) > 2.0 / 3.0 * len(extra):
                expanded.append(extra)
        members = np.unique(np.concatenate(expanded))
        weight = np.exp(-dist[i, members])
        V[i, members] = weight / np.sum(weight)
    if k2 != 1:
        V_qe = np.zeros_like(V)
        for i in range(num_all):
            V_qe[i] = np.mean(V[order[i, :k2]], axis=0)
        V = V_qe
        del V_qe
    del order
    users = [np.flatnonzero(V[:, k] != 0) for k in range(num_all)]  # rows using column k
    jaccard = np.zeros((num_query, num_all), dtype=np.float32)
    for i in range(num_query):
        overlap = np.zeros(num_all, dtype=np.float32)
        for k in np.flatnonzero(V[i] != 0):
            rows = users[k]
            overlap[rows] += np.minimum(V[i, k], V[rows, k])
        jaccard[i] = 1.0 - overlap / (2.0 - overlap)
    final = jaccard * (1 - lambda_value) + dist[:num_query] * lambda_value
    return final[:, num_query:]


def _reciprocal(order, i, k):
    """Among the k+1 nearest of i, those that have i among their own k+1 nearest."""
    ahead = order[i, : k + 1]
    return np.array([j for j in ahead if i in order[j, : k + 1]], dtype=np.int64)


def make_case(rng, num_query, num_gallery, num_ids, num_cams, ties=False, dim=None, noise=1.5):
    """A random evaluation case: (distmat, q_pids, g_pids, q_camids, g_camids), with distractors.

    Gallery ids include 0 (a distractor id no query has); some query ids are absent from the gallery,
    so some queries have no true match. `ties` rounds distances to a few levels; `dim` makes the
    distances euclidean between random features (identity centre + `noise`; returned too) instead of
    uniform noise.
    """
    q_pids = rng.integers(1, num_ids + 2, size=num_query)  # id num_ids + 1 never in the gallery
    g_pids = rng.integers(0, num_ids + 1, size=num_gallery)
    q_camids = rng.integers(0, num_cams, size=num_query)
    g_camids = rng.integers(0, num_cams, size=num_gallery)
    if dim is None:
        distmat = rng.random((num_query, num_gallery))
        feats = None
    else:
        centers = rng.normal(size=(num_ids + 2, dim))
        query = centers[q_pids] + noise * rng.normal(size=(num_query, dim))
        gallery = centers[g_pids] + noise * rng.normal(size=(num_gallery, dim))
        diff = query[:, None, :] - gallery[None, :, :]
        distmat = np.sqrt((diff * diff).sum(axis=2))
        feats = (query, gallery)
    if ties:
        distmat = np.round(distmat * 4) / 4
    return distmat, q_pids, g_pids, q_camids, g_camids, feats
