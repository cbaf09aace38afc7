"""k-reciprocal re-ranking (Zhong et al., CVPR 2017) in torch, with sparse encodings, no N x N matrices.

Same result (to float32 rounding) as the authors' published NumPy code, which, with N = Q + G:
squares the input distances (so pass plain, not squared, euclidean distances); divides each row of
the squared (N, N) matrix by the row's maximum; takes each sample's k1+1 nearest neighbours and keeps
the k-reciprocal ones (the sample is among *their* k1+1 nearest too); adds a kept neighbour's
round(k1/2)-reciprocal set when more than 2/3 of it is already in; weights the expanded set by
exp(-distance), normalized to sum 1 (vector V_i); averages V over the k2 nearest neighbours (query
expansion); and returns (1 - lambda) * Jaccard(V_q, V_g) + lambda * normalized squared distance.

The published code holds four dense (N, N) arrays (about 8 GB at Market-1501 size). Here the only
dense array is the (Q, G) result: neighbour lists come from `topk` on row chunks built on the fly from
the three input blocks, V keeps at most (k1+1)(round(k1/2)+2) entries per row (252 for k1=20; k2 times
that after query expansion), and the Jaccard term is a sparse join over V's non-zeros.
"""

from __future__ import annotations

from typing import Any

import torch

from finereid.errors import ConfigError
from finereid.metrics.checks import as_fraction, as_matrix, as_positive_int

_CHUNK = 1 << 23  # matrix entries per row chunk
_PAIRS = 1 << 22  # (query entry, gallery entry) pairs per block of the Jaccard join


class _Blocks:
    """M = squared distances over each row's maximum, (N, N), read from the three blocks, never built."""

    def __init__(self, q_g: torch.Tensor, q_q: torch.Tensor, g_g: torch.Tensor) -> None:
        self.q_g, self.q_q, self.g_g = q_g, q_q, g_g
        self.Q, self.G = q_g.shape
        self.N = self.Q + self.G
        # the published code divides column r of [[q_q, q_g], [q_g^T, g_g]] by its max, then transposes
        top = torch.maximum(_abs_max(q_q, 0), _abs_max(q_g, 1))
        bottom = torch.maximum(_abs_max(q_g, 0), _abs_max(g_g, 0))
        scale = _square(torch.cat([top, bottom]))
        self.has_nan = bool(torch.isnan(scale).any())  # every entry feeds some maximum, so NaN shows here
        self.scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row stays 0

    def rows(self, start: int, stop: int, out: torch.Tensor) -> torch.Tensor:
        """Rows start:stop of M written into `out` (a range never straddles the query/gallery boundary)."""
        Q = self.Q
        if stop <= Q:
            left, right = self.q_q[:, start:stop].T, self.q_g[start:stop]
        else:
            left, right = self.q_g[:, start - Q : stop - Q].T, self.g_g[:, start - Q : stop - Q].T
        _copy(out[:, :Q], left)
        _copy(out[:, Q:], right)
        return out.mul_(out).div_(self.scale[start:stop, None])

    def lookup(self, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        """M[row, col] for index vectors, gathered from the input blocks."""
        Q = self.Q
        out = torch.empty(row.shape, dtype=self.q_g.dtype, device=row.device)
        row_q, col_q = row < Q, col < Q
        for mask, block, r, c in (
            (row_q & col_q, self.q_q, col, row),
            (~row_q & col_q, self.q_g, col, row - Q),
            (row_q & ~col_q, self.q_g, row, col - Q),
            (~row_q & ~col_q, self.g_g, col - Q, row - Q),
        ):
            out[mask] = block[r[mask], c[mask]]
        return _square(out) / self.scale[row]

    def nearest(self, k: int) -> torch.Tensor:
        """(N, k) indices of each row's k smallest entries of M, ascending (buffers reused across chunks)."""
        step = max(1, _CHUNK // self.N)
        device = self.q_g.device
        rows = torch.empty(min(step, self.N), self.N, dtype=torch.float32, device=device)
        values = torch.empty(min(step, self.N), k, dtype=torch.float32, device=device)
        nearest = torch.empty(self.N, k, dtype=torch.long, device=device)
        for lo, hi in ((0, self.Q), (self.Q, self.N)):
            for a in range(lo, hi, step):
                b = min(a + step, hi)
                chunk = self.rows(a, b, rows[: b - a])
                torch.topk(chunk, k, dim=1, largest=False, sorted=True, out=(values[: b - a], nearest[a:b]))
        return nearest


def _copy(dst: torch.Tensor, src: torch.Tensor, tile: int = 512) -> None:
    """dst.copy_(src), in column tiles when src is a transposed view (a plain strided copy thrashes cache)."""
    if src.stride(-1) == 1:
        dst.copy_(src)
        return
    for a in range(0, src.shape[1], tile):
        dst[:, a : a + tile].copy_(src[:, a : a + tile])


def _square(x: torch.Tensor) -> torch.Tensor:
    """x**2 in float32 (the published code squares, then works in float32)."""
    x = x.to(torch.float32)
    return x * x


def _abs_max(x: torch.Tensor, dim: int) -> torch.Tensor:
    """max |x| along `dim` (NaN if a NaN is there), in row chunks with no full-size temporary."""
    step = max(1, _CHUNK // max(1, x.shape[1]))
    parts = [
        torch.maximum(x[a : a + step].amax(dim=dim), -x[a : a + step].amin(dim=dim))
        for a in range(0, x.shape[0], step)
    ]
    return torch.cat(parts) if dim == 1 else torch.stack(parts).amax(dim=0)


def _spans(cost: torch.Tensor, budget: int) -> list[tuple[int, int]]:
    """Split range(len(cost)) into consecutive spans of total cost about `budget` (one item at least)."""
    cumulative = torch.cumsum(cost, 0).cpu()
    spans, start, done = [], 0, 0
    while start < len(cumulative):
        stop = max(int(torch.searchsorted(cumulative, done + budget, right=True)), start + 1)
        spans.append((start, stop))
        done, start = int(cumulative[stop - 1]), stop
    return spans


def _ranges(starts: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Concatenation of arange(s, s + c) over the pairs (s, c)."""
    total = int(counts.sum())
    shift = (starts - (torch.cumsum(counts, 0) - counts)).repeat_interleave(counts, output_size=total)
    return torch.arange(total, device=starts.device) + shift


def _is_reciprocal(neighbours: torch.Tensor, who: torch.Tensor) -> torch.Tensor:
    """mask[..., j]: `who` is among the neighbours of its own j-th neighbour."""
    return (neighbours[neighbours[who]] == who[..., None, None]).any(dim=-1)


def _encode(blocks: _Blocks, nearest: torch.Tensor, k1: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparse V as sorted keys row * N + col and float32 values: weights on each expanded reciprocal set."""
    N = blocks.N
    forward = nearest[:, : min(k1 + 1, N)]
    half = nearest[:, : min(round(k1 / 2) + 1, N)]  # Python's round is half-to-even, like numpy.around
    all_rows = torch.arange(N, device=nearest.device)
    half_rec = torch.cat([_is_reciprocal(half, part) for part in all_rows.split(1 << 16)])
    parts = []
    for rows in all_rows.split(max(1, _CHUNK // (forward.shape[1] * half.shape[1]))):
        fwd = forward[rows]
        is_rec = _is_reciprocal(forward, rows)
        # a candidate's half-reciprocal set joins when more than 2/3 of it is already in the row's set
        members = torch.where(is_rec, fwd, N).sort(dim=1).values
        cand_sets = half[fwd]  # (rows, k1+1, half)
        cand_mask = half_rec[fwd] & is_rec[:, :, None]
        flat = cand_sets.reshape(len(rows), -1)
        found = torch.searchsorted(members, flat).clamp_(max=members.shape[1] - 1)
        inside = ((members.gather(1, found) == flat).view_as(cand_sets) & cand_mask).sum(dim=2)
        size = cand_mask.sum(dim=2).to(torch.float64)
        accept = is_rec & (inside.to(torch.float64) > size * (2.0 / 3.0))
        keys = torch.cat(
            [
                (rows[:, None] * N + fwd)[is_rec],
                (rows[:, None, None] * N + cand_sets)[cand_mask & accept[:, :, None]],
            ]
        )
        parts.append(torch.unique(keys))
    keys = torch.cat(parts)
    row = keys // N
    weight = torch.exp(-blocks.lookup(row, keys % N))
    total = torch.zeros(N, dtype=weight.dtype, device=weight.device).index_add_(0, row, weight)
    return keys, weight / total[row]


def _expand(
    keys: torch.Tensor, values: torch.Tensor, nearest: torch.Tensor, N: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Query expansion: V_i becomes the mean of V over i's k2 nearest neighbours (rows of `nearest`)."""
    k2 = nearest.shape[1]
    starts = torch.searchsorted(keys, torch.arange(N + 1, device=keys.device) * N)
    lengths = starts[1:] - starts[:-1]
    out_keys, out_values = [], []
    for a, b in _spans(lengths[nearest].sum(dim=1), _CHUNK):
        source = nearest[a:b].reshape(-1)
        count = lengths[source]
        position = _ranges(starts[source], count)
        owner = torch.arange(a, b, device=keys.device).repeat_interleave(k2).repeat_interleave(count)
        new_keys, inverse = torch.unique(owner * N + keys[position] % N, return_inverse=True)
        sums = torch.zeros(new_keys.numel(), dtype=values.dtype, device=values.device)
        out_keys.append(new_keys)
        out_values.append(sums.index_add_(0, inverse, values[position]) / k2)
    return torch.cat(out_keys), torch.cat(out_values)


def _overlap(keys: torch.Tensor, values: torch.Tensor, Q: int, G: int) -> torch.Tensor:
    """(Q, G) float32 sum over k of min(V[q, k], V[Q + g, k]): a join of query and gallery non-zeros."""
    N = Q + G
    split = int(torch.searchsorted(keys, torch.tensor(Q * N, device=keys.device)))
    q_row, q_col, q_val = keys[:split] // N, keys[:split] % N, values[:split]
    g_col = keys[split:] % N
    order = torch.argsort(g_col, stable=True)
    g_row, g_val = keys[split:][order] // N - Q, values[split:][order]
    col_count = torch.bincount(g_col, minlength=N)
    col_start = torch.cumsum(col_count, 0) - col_count
    out = torch.zeros(Q, G, dtype=torch.float32, device=keys.device)
    flat_out = out.view(-1)
    count = col_count[q_col]
    for a, b in _spans(count, _PAIRS):
        position = _ranges(col_start[q_col[a:b]], count[a:b])
        source = torch.arange(a, b, device=keys.device)
        source = source.repeat_interleave(count[a:b], output_size=len(position))
        shared = torch.minimum(q_val[source], g_val[position])
        flat_out.index_add_(0, q_row[source] * G + g_row[position], shared)
    return out


def re_ranking(
    q_g_dist: Any, q_q_dist: Any, g_g_dist: Any, k1: int = 20, k2: int = 6, lambda_value: float = 0.3
) -> Any:
    """k-reciprocal re-ranked (Q, G) distances; numpy in -> numpy out, tensor in -> tensor (same device).

    Inputs are plain (not squared) distances; computation is float32 on the input's device, like the
    published code; the result has the input's dtype. Memory besides the inputs: the (Q, G) float32
    result, a few hundred MB of chunked temporaries, and O(N k1^2 k2) for the sparse encodings.
    """
    q_g = as_matrix(q_g_dist, "q_g_dist")
    q_q = as_matrix(q_q_dist, "q_q_dist")
    g_g = as_matrix(g_g_dist, "g_g_dist")
    Q, G = q_g.shape
    if q_q.shape != (Q, Q) or g_g.shape != (G, G):
        raise ConfigError(
            f"re_ranking needs q_q_dist ({Q}, {Q}) and g_g_dist ({G}, {G}) for q_g_dist ({Q}, {G}); "
            f"got {tuple(q_q.shape)} and {tuple(g_g.shape)}"
        )
    if not q_g.device == q_q.device == g_g.device:
        raise ConfigError("q_g_dist, q_q_dist and g_g_dist must be on the same device")
    k1, k2 = as_positive_int(k1, "k1"), as_positive_int(k2, "k2")
    lambda_value = as_fraction(lambda_value, "lambda_value")

    blocks = _Blocks(q_g, q_q, g_g)
    if blocks.has_nan:
        raise ConfigError("re_ranking: the distance matrices contain NaN values")
    N = blocks.N
    nearest = blocks.nearest(min(max(k1 + 1, k2), N))
    keys, values = _encode(blocks, nearest, k1)
    if k2 != 1:  # the published code skips the expansion for k2 == 1
        keys, values = _expand(keys, values, nearest[:, : min(k2, N)], N)
    final = _overlap(keys, values, Q, G)
    step = max(1, _CHUNK // G)
    for a in range(0, Q, step):
        b = min(a + step, Q)
        jaccard = 1.0 - final[a:b] / (2.0 - final[a:b])
        original = _square(q_g[a:b]) / blocks.scale[a:b, None]
        final[a:b] = jaccard * (1.0 - lambda_value) + original * lambda_value
    final = final.to(q_g.dtype)
    return final if isinstance(q_g_dist, torch.Tensor) else final.cpu().numpy()
