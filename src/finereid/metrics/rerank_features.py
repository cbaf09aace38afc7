"""k-reciprocal re-ranking (Zhong et al., CVPR 2017) straight from features, never holding an N x N matrix.

`re_ranking_features(q, g, ...)` equals `re_ranking(compute_distmat(q, g), compute_distmat(q, q),
compute_distmat(g, g), ...)` (to float32 rounding, for tie-free neighbour lists) without the three
distance blocks, whose (G, G) part alone is 1 GB at Market-1501 size. With N = Q + G, the (N, N)
matrix M (squared distances over each row's maximum, taken over all N columns) is never built: one
pass over row chunks computes each distance once (a chunk meets only the columns from its own first
row on) and folds it, row-wise and column-wise, into running row maxima and running k-nearest lists
(exact `topk`, values kept); the query rows' gallery columns, the original term, go straight into the
result. The weights need M only on each row's expanded k-reciprocal set: almost all of it is in the
kept lists, the rest is recomputed pair by pair from the features. The sparse steps (reciprocal sets,
weights, query expansion) are the dense module's own, so the two cannot drift apart; the Jaccard join
runs over an inverted index of the gallery rows of V, a chunk of query rows at a time.

`re_ranking_chunks` yields those query chunks as they are finished (the original term recomputed per
chunk), so a caller that scores each chunk at once (`evaluate_features(..., rerank=True)`) never holds
(Q, G) either; `re_ranking_features` is the same generator writing into one (Q, G) result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch

from finereid.errors import ConfigError, unknown_name_error
from finereid.metrics.checks import as_fraction, as_positive_int, rows_per_chunk
from finereid.metrics.distance import DISTANCES, _squared_norms, build_distance, prepare_features
from finereid.metrics.rerank import _PAIRS, _encode, _expand, _ranges, _spans, _square

_CHUNK = 1 << 22  # distance-matrix entries per row chunk when chunk_size is not given


class _FeatureRows:
    """M (N, N) from query and gallery features: one chunked pass for neighbours and scales, then lookups."""

    def __init__(self, query: torch.Tensor, gallery: torch.Tensor, distance: str, rows: int, k: int) -> None:
        self.query, self.gallery, self.distance, self.rows = query, gallery, distance, rows
        self.Q, self.G = query.shape[0], gallery.shape[0]
        self.N = self.Q + self.G
        to_query, to_gallery = build_distance(distance, query), build_distance(distance, gallery)
        if distance == "euclidean":
            self.norms = torch.cat([to_query.gallery_sq[0], to_gallery.gallery_sq[0]])
        else:
            self.norms = torch.cat([to_query.gallery_norm[0], to_gallery.gallery_norm[0]])
        device = query.device
        self.top = torch.zeros(self.N, dtype=torch.float32, device=device)  # each row's largest distance
        self.scale = torch.ones(self.N, dtype=torch.float32, device=device)
        self.nearest = torch.zeros(self.N, k, dtype=torch.long, device=device)
        self.nearest_values = torch.full((self.N, k), torch.inf, dtype=torch.float32, device=device)

    def scan(self, original: torch.Tensor | None) -> None:
        """Set scale, nearest (N, k) and their M values, ascending; write M's (Q, G) block into `original`.

        Each distance is computed once: a row chunk meets only the columns from its own first row on,
        and the block updates the maxima and running neighbour lists of its rows and, column-wise, of
        the later columns.
        """
        for offset, feats in ((0, self.query), (self.Q, self.gallery)):
            for a in range(0, feats.shape[0], self.rows):
                chunk = feats[a : a + self.rows]
                rows = slice(offset + a, offset + a + len(chunk))
                parts = [(rows.start, feats[a:])] + ([(self.Q, self.gallery)] if offset == 0 else [])
                for start, part in parts:
                    dist = build_distance(self.distance, part)(chunk).to(torch.float32)
                    self._update(rows, start, dist, skip=len(chunk) if start == rows.start else 0)
                    if start != rows.start and original is not None:  # the original term, unscaled
                        original[rows] = dist
        # as in the dense module: square the row maximum (over all N columns) in float32
        scale = _square(self.top)
        self.scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row stays 0
        _scaled(self.nearest_values, self.scale)
        for a in range(0, self.Q if original is not None else 0, self.rows):
            _scaled(original[a : a + self.rows], self.scale[a : min(a + self.rows, self.Q)])

    def _update(self, rows: slice, start: int, dist: torch.Tensor, skip: int) -> None:
        """Fold the block dist (rows, columns start:...) into the maxima and neighbour lists of both sides."""
        cols = slice(start, start + dist.shape[1])
        self.top[rows] = torch.maximum(self.top[rows], dist.amax(dim=1))
        self.top[cols] = torch.maximum(self.top[cols], dist.amax(dim=0))
        k = self.nearest.shape[1]
        values, index = torch.topk(dist, min(k, dist.shape[1]), dim=1, largest=False, sorted=True)
        self._merge(rows, values, index + start)
        if dist.shape[1] > skip:  # columns past the chunk's own rows, which got those entries row-wise
            values, index = torch.topk(dist[:, skip:], min(k, dist.shape[0]), dim=0, largest=False)
            self._merge(slice(start + skip, cols.stop), values.T, index.T + rows.start)

    def _merge(self, rows: slice, values: torch.Tensor, index: torch.Tensor) -> None:
        """Keep, for `rows`, the k smallest of their running list and the candidates, ascending."""
        values = torch.cat([self.nearest_values[rows], values], dim=1)
        index = torch.cat([self.nearest[rows], index], dim=1)
        values, order = torch.topk(values, self.nearest.shape[1], dim=1, largest=False, sorted=True)
        self.nearest_values[rows], self.nearest[rows] = values, index.gather(1, order)

    def lookup(self, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        """M[row, col] for index vectors: from the scan where col is a kept neighbour, else recomputed."""
        out = torch.empty(row.shape, dtype=torch.float32, device=row.device)
        step = max(1, self.rows * self.N // max(self.query.shape[1], self.nearest.shape[1]))
        for a in range(0, row.numel(), step):
            r, c = row[a : a + step], col[a : a + step]
            hit = self.nearest[r] == c[:, None]  # at most one hit per pair: neighbour lists are distinct
            block = (self.nearest_values[r] * hit).sum(dim=1)  # exact: one value plus zeros
            miss = ~hit.any(dim=1)
            if bool(miss.any()):
                r, c = r[miss], c[miss]
                block[miss] = _square(self._pairs(r, c)) / self.scale[r]
            out[a : a + step] = block
        return out

    def _pairs(self, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        """Distances between the images `row` and `col` (indices into query then gallery), elementwise."""
        dot = (self._gather(row) * self._gather(col)).sum(dim=1)
        if self.distance == "euclidean":  # same formula and clamp as EuclideanDistance
            return (self.norms[col] - 2.0 * dot + self.norms[row]).clamp_min_(0.0).sqrt_()
        return (dot / self.norms[row] / self.norms[col]).neg_().add_(1.0).clamp_(0.0, 2.0)

    def _gather(self, index: torch.Tensor) -> torch.Tensor:
        """Feature rows of images `index` (query images first), without concatenating the two sets."""
        is_query = index < self.Q
        out = torch.empty(len(index), self.query.shape[1], dtype=self.query.dtype, device=index.device)
        out[is_query] = self.query[index[is_query]]
        out[~is_query] = self.gallery[index[~is_query] - self.Q]
        return out


def _scaled(dist: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """float32 distances, squared and divided by their row's scale in place: M's entries."""
    return dist.mul_(dist).div_(scale[:, None])


def _combined(
    keys: torch.Tensor,
    values: torch.Tensor,
    original: Callable[[int, int], torch.Tensor],
    shape: tuple[int, int],
    lambda_value: float,
    rows: int,
) -> Iterator[tuple[int, torch.Tensor]]:
    """(a, rows a:b of (1 - lambda) * Jaccard + lambda * original) for query chunks of `rows` rows.

    Jaccard is 1 - s / (2 - s) with s[q, g] = sum over k of min(V[q, k], V[Q + g, k]), joined through
    an inverted index (gallery rows of V by column). `original(a, b)` gives M's (b - a, G) query-gallery
    block; the chunk is written into it.
    """
    Q, G = shape
    N, device = Q + G, keys.device
    bounds = torch.searchsorted(keys, torch.arange(Q + 1, device=device) * N).tolist()
    g_col = keys[bounds[Q] :] % N
    order = torch.argsort(g_col, stable=True)
    g_row, g_val = keys[bounds[Q] :][order] // N - Q, values[bounds[Q] :][order]
    col_count = torch.bincount(g_col, minlength=N)
    col_start = torch.cumsum(col_count, 0) - col_count
    for a in range(0, Q, rows):
        b = min(a + rows, Q)
        q_keys, q_val = keys[bounds[a] : bounds[b]], values[bounds[a] : bounds[b]]
        q_row, q_col = q_keys // N - a, q_keys % N
        count = col_count[q_col]
        shared = torch.zeros((b - a) * G, dtype=torch.float32, device=device)
        for s, e in _spans(count, _PAIRS):
            position = _ranges(col_start[q_col[s:e]], count[s:e])
            source = torch.arange(s, e, device=device).repeat_interleave(
                count[s:e], output_size=len(position)
            )
            pair_min = torch.minimum(q_val[source], g_val[position])
            shared.index_add_(0, q_row[source] * G + g_row[position], pair_min)
        shared = shared.view(b - a, G)
        jaccard = 1.0 - shared / (2.0 - shared)
        out = original(a, b)
        out[:] = jaccard * (1.0 - lambda_value) + out * lambda_value
        yield a, out


def _reranked(
    query: torch.Tensor,
    gallery: torch.Tensor,
    settings: tuple[int, int, float, str],
    rows: int,
    result: torch.Tensor | None,
) -> Iterator[tuple[int, torch.Tensor]]:
    """The re-ranked query chunks, written into `result` (Q, G) when given, else each recomputed on its own.

    Both ways compute the original term with the same calls on the same row chunks, so their values are
    the same bits.
    """
    k1, k2, lambda_value, distance = settings
    Q, G = query.shape[0], gallery.shape[0]
    N = Q + G
    feats = _FeatureRows(query, gallery, distance, rows, min(max(k1 + 1, k2), N))
    feats.scan(result)
    if not bool(torch.isfinite(feats.scale).all()):
        raise ConfigError("re_ranking_features: the features' distances overflow float32")
    keys, values = _encode(feats, feats.nearest, k1)  # type: ignore[arg-type]  # duck-types rerank._Blocks
    if k2 != 1:  # the published code skips the expansion for k2 == 1
        keys, values = _expand(keys, values, feats.nearest[:, : min(k2, N)], N)
    scale = feats.scale[:Q]
    del feats
    measure = build_distance(distance, gallery) if result is None else None

    def original(a: int, b: int) -> torch.Tensor:
        if measure is None:
            return result[a:b]  # written and scaled by the scan
        return _scaled(measure(query[a:b]).to(torch.float32), scale[a:b])

    yield from _combined(keys, values, original, (Q, G), lambda_value, rows)


def _checked(
    query_feats: Any, gallery_feats: Any, k1: Any, k2: Any, lambda_value: Any, distance: str, chunk_size: Any
) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int, float, str], int]:
    """Features as tensors, the settings (k1, k2, lambda, distance) and the rows per chunk, all checked."""
    query, gallery = prepare_features(query_feats, gallery_feats)
    if distance not in DISTANCES:
        raise unknown_name_error("distance", distance, DISTANCES)
    k1, k2 = as_positive_int(k1, "k1"), as_positive_int(k2, "k2")
    lambda_value = as_fraction(lambda_value, "lambda_value")
    rows = rows_per_chunk(chunk_size, query.shape[0] + gallery.shape[0], budget=_CHUNK)
    _squared_norms(query, "query_feats")  # refuse NaN / inf under the right name before any work
    return query, gallery, (k1, k2, lambda_value, distance), rows


def re_ranking_chunks(
    query_feats: Any,
    gallery_feats: Any,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    distance: str = "euclidean",
    chunk_size: int | None = None,
) -> Iterator[tuple[int, torch.Tensor]]:
    """Re-ranked distances a query chunk at a time: (first query row, float32 (c, G)), never all of (Q, G).

    The chunks, in query order, are the rows of `re_ranking_features`' result, to the bit (before its
    cast to the features' dtype). Settings and features are checked at the call; the work starts at the
    first chunk. Memory: `re_ranking_features`' without the (Q, G) result, plus one (chunk_size, G) chunk
    and its original term at a time; the chunks' query-gallery distances are computed a second time.
    """
    query, gallery, settings, rows = _checked(
        query_feats, gallery_feats, k1, k2, lambda_value, distance, chunk_size
    )
    return _reranked(query, gallery, settings, rows, None)


def re_ranking_features(
    query_feats: Any,
    gallery_feats: Any,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    distance: str = "euclidean",
    chunk_size: int | None = None,
) -> torch.Tensor:
    """k-reciprocal re-ranked (Q, G) distances from features, on their device, never holding (N, N).

    Equals `re_ranking` on the three `compute_distmat(..., distance)` blocks (to 1e-5 when neighbour
    lists have no ties): float32 work, result in the features' dtype (float32 for 16-bit features).
    Distances are computed once, `chunk_size` rows of all N = Q + G images at a time (default: about 4M
    entries per chunk). Memory besides the features: the (Q, G) result, O(chunk_size * N) for the
    chunks, N * max(k1 + 1, k2) neighbours with their values, and the sparse weights (as re_ranking).
    """
    query, gallery, settings, rows = _checked(
        query_feats, gallery_feats, k1, k2, lambda_value, distance, chunk_size
    )
    final = torch.empty(query.shape[0], gallery.shape[0], dtype=torch.float32, device=query.device)
    for _ in _reranked(query, gallery, settings, rows, final):
        pass  # each chunk is written into `final`
    return final.to(query.dtype)
