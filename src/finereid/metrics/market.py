"""Per-query AP, INP and first-match rank under the Market-1501 protocol, for one chunk of queries.

Instead of arg-sorting every query's gallery, each row is value-sorted once and every true match is
located in it with a binary search: a match's rank is the number of kept gallery samples that come
before it, where "before" means a smaller distance, or the same distance and a smaller gallery index
(exactly what a stable sort gives). Junk samples (same pid and same camera as the query) are few and
are subtracted by direct comparison. Ties are counted exactly, on the few entries that have them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from finereid.errors import ConfigError


class GalleryIndex:
    """Gallery ids, grouped by pid so a query's true matches are found without scanning the gallery."""

    def __init__(self, g_pids: torch.Tensor, g_camids: torch.Tensor) -> None:
        self.pids = g_pids
        self.camids = g_camids
        self.size = int(g_pids.numel())
        self.unique_pids, self.labels, counts = torch.unique(g_pids, return_inverse=True, return_counts=True)
        self.by_pid = torch.argsort(self.labels, stable=True)
        self.starts = torch.cumsum(counts, 0) - counts
        self.counts = counts

    def matches(self, q_pids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gallery indices with each query's pid, padded to (num_query, max_matches), and the pad mask."""
        slot = torch.searchsorted(self.unique_pids, q_pids).clamp_(max=self.unique_pids.numel() - 1)
        found = self.unique_pids[slot] == q_pids
        count = torch.where(found, self.counts[slot], torch.zeros_like(slot))
        width = max(1, int(count.max()))  # one padding column when no pid matches: shapes stay simple
        offsets = torch.arange(width, device=q_pids.device)
        present = offsets.unsqueeze(0) < count.unsqueeze(1)
        flat = (self.starts[slot].unsqueeze(1) + offsets).clamp_(max=self.size - 1)
        index = torch.where(present, self.by_pid[flat], torch.zeros_like(flat))
        return index, present


@dataclass
class QueryStats:
    """Per-query results for a chunk; entries of queries without a true match are meaningless."""

    valid: torch.Tensor  # bool (c,): the query has at least one true match
    ap: torch.Tensor  # float64 (c,): average precision
    inp: torch.Tensor  # float64 (c,): inverse negative penalty (matches / rank of the last match)
    first: torch.Tensor  # int64 (c,): 0-based rank of the first true match among kept samples


class RowCounter:
    """For each query's true-match distances: how many gallery distances are smaller / not larger.

    A query's ranks depend only on the distances up to its farthest true match. On CPU (NumPy, whose
    sort and masking are several times faster than torch's here) those entries of every row are packed
    into int64 keys (row, order-preserving float32 bits), sorted once, and the matches are located by
    binary search; when they are most of the matrix, or not float32, whole rows are sorted instead.
    Elsewhere whole rows are sorted with torch. One buffer is reused across chunks.
    """

    def __init__(self) -> None:
        self.buffer: np.ndarray | None = None

    def __call__(
        self, dist: torch.Tensor, values: torch.Tensor, limit: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(count < value, count <= value) per entry of `values` (c, m); rows only matter up to `limit`."""
        if dist.device.type != "cpu":
            if bool(torch.isnan(dist).any()):
                raise _nan_error()
            ordered = torch.sort(dist, dim=1).values
            return _search(ordered, values)
        array = dist.numpy()
        if array.dtype == np.float32:
            outside = np.greater(array, limit.numpy()[:, None])  # NaN is never outside: it is caught below
            if 2 * np.count_nonzero(outside) > array.size:
                return self._packed(array, np.flatnonzero(np.logical_not(outside, out=outside)), values)
        ordered = self._scratch(array.shape, array.dtype)
        np.copyto(ordered, array)
        ordered.sort(axis=1)
        if np.isnan(ordered[:, -1]).any():  # sorting puts NaN last
            raise _nan_error()
        return _search(torch.from_numpy(ordered), values)

    def _packed(
        self, array: np.ndarray, inside: np.ndarray, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Counts from one sort of (row, value) keys of the flat positions `inside` the row limits."""
        kept = array.ravel()[inside]
        if np.isnan(kept).any():
            raise _nan_error()
        rows = inside // array.shape[1]
        keys = (rows << 32) | _orderable(kept)
        keys.sort()
        starts = np.searchsorted(rows, np.arange(array.shape[0]))[:, None]
        targets = (np.arange(array.shape[0], dtype=np.int64)[:, None] << 32) | _orderable(values.numpy())
        left = np.searchsorted(keys, targets) - starts
        right = np.searchsorted(keys, targets, side="right") - starts
        return torch.from_numpy(left), torch.from_numpy(right)

    def _scratch(self, shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
        """A view of the reused buffer with this shape and dtype."""
        size = shape[0] * shape[1]
        if self.buffer is None or self.buffer.size < size or self.buffer.dtype != dtype:
            self.buffer = np.empty(size, dtype=dtype)
        return self.buffer[:size].reshape(shape)


def _orderable(values: np.ndarray) -> np.ndarray:
    """float32 -> int64 in [0, 2**32) with the same order and equalities (-0.0 == 0.0)."""
    bits = (values + np.float32(0.0)).view(np.int32)  # adding +0.0 turns -0.0 into 0.0
    bits = bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))  # negative floats: reverse their order
    return bits.astype(np.int64) + (1 << 31)


def _search(ordered: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(count < value, count <= value) in each sorted row."""
    values = values.contiguous()
    return torch.searchsorted(ordered, values), torch.searchsorted(ordered, values, right=True)


def _nan_error() -> ConfigError:
    return ConfigError("the distance matrix contains NaN values; distances must be numbers")


def _before(d_a: torch.Tensor, i_a: torch.Tensor, d_b: torch.Tensor, i_b: torch.Tensor) -> torch.Tensor:
    """True where sample a comes before sample b in a stable ascending sort (distance, then index)."""
    return (d_a < d_b) | ((d_a == d_b) & (i_a < i_b))


def _equal_before(
    dist: torch.Tensor, rows: torch.Tensor, values: torch.Tensor, index: torch.Tensor
) -> torch.Tensor:
    """For tied entries: how many samples of the row have the same distance and a smaller index."""
    out = torch.zeros_like(index)
    positions = torch.arange(dist.shape[1], device=dist.device)
    block = max(1, (1 << 22) // dist.shape[1])
    for start in range(0, rows.numel(), block):
        stop = start + block
        row_values = dist[rows[start:stop]]
        same = (row_values == values[start:stop, None]) & (positions < index[start:stop, None])
        out[start:stop] = same.sum(dim=1)
    return out


def market_stats(
    dist: torch.Tensor,
    q_pids: torch.Tensor,
    q_camids: torch.Tensor,
    gallery: GalleryIndex,
    count_rows: RowCounter,
) -> QueryStats:
    """AP, INP and first-match rank of each query in `dist` (c, num_gallery), junk removed."""
    index, present = gallery.matches(q_pids)
    junk = present & (gallery.camids[index] == q_camids.unsqueeze(1))
    true = present & ~junk
    values = dist.gather(1, index)
    limit = torch.where(true, values, torch.full_like(values, -float("inf"))).amax(dim=1)
    left, right = count_rows(dist, values, limit)
    tied = true & (right - left > 1)  # another sample has exactly this distance
    if bool(tied.any()):
        rows, cols = tied.nonzero(as_tuple=True)
        left[rows, cols] += _equal_before(dist, rows, values[rows, cols], index[rows, cols])

    # junk samples ranked before each match are not in the kept list: subtract them
    junk_before = junk.unsqueeze(1) & _before(
        values.unsqueeze(1), index.unsqueeze(1), values.unsqueeze(2), index.unsqueeze(2)
    )
    rank = left - junk_before.sum(dim=2)

    num_true = true.sum(dim=1)
    valid = num_true > 0
    rank = torch.where(true, rank, torch.full_like(rank, gallery.size)).sort(dim=1).values
    k = torch.arange(1, rank.shape[1] + 1, device=dist.device, dtype=torch.float64)
    precision = k / (rank.to(torch.float64) + 1.0)
    precision = torch.where(k <= num_true.unsqueeze(1), precision, torch.zeros_like(precision))
    denominator = num_true.clamp(min=1).to(torch.float64)
    ap = precision.sum(dim=1) / denominator
    last = rank.gather(1, (num_true - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
    inp = denominator / (last.to(torch.float64) + 1.0)
    return QueryStats(valid=valid, ap=ap, inp=inp, first=rank[:, 0])
