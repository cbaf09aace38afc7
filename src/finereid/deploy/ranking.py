"""Per-query ranked lists of an evaluation run (`ranking.npz`), written at evaluation, read by the report.

The ranking follows the market protocol the metrics use: gallery items with the query's pid and camid are
junk and dropped before ranking; a query with no remaining same-pid item has no valid match and does not
count in CMC/mAP. Stored per query: top-k gallery items, distances, match flags, the 1-based rank of the
first correct match (0 = none in the gallery) and the query's average precision.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from finereid.errors import FinereidError

logger = logging.getLogger(__name__)

RANKING_FILE = "ranking.npz"
RANKING_VERSION = 1


class RecordLike(Protocol):
    """Anything with path, pid, camid: `finereid.data.ImageRecord` or a feature file row."""

    path: str
    pid: int
    camid: int


@dataclass
class Ranking:
    """Ranked lists for Q queries; `indices` point into the (deduplicated) `gallery_*` arrays, -1 = empty."""

    query_paths: np.ndarray
    query_pids: np.ndarray
    query_camids: np.ndarray
    gallery_paths: np.ndarray
    gallery_pids: np.ndarray
    gallery_camids: np.ndarray
    indices: np.ndarray
    distances: np.ndarray
    matches: np.ndarray
    first_match: np.ndarray
    average_precision: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> np.ndarray:
        """Bool [Q]: queries with a valid match whose rank-1 result is wrong."""
        return (self.first_match != 1) & (self.first_match > 0)

    def order(self) -> np.ndarray:
        """Query indices, failures first (worst AP first), then correct ones, then queries with no match."""
        group = np.where(self.first_match == 0, 2, np.where(self.failures, 0, 1))
        ap = np.nan_to_num(self.average_precision, nan=1.0)
        return np.lexsort((np.arange(len(group)), ap, group))


def _row_blocks(
    query_feats, gallery_feats, distmat, metric: str, rows: int
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield (first query index, full distance rows [n, G]) a chunk of queries at a time."""
    if distmat is not None:
        dm = torch.as_tensor(np.asarray(distmat) if not isinstance(distmat, torch.Tensor) else distmat)
        for q0 in range(0, dm.shape[0], rows):
            yield q0, dm[q0 : q0 + rows].float().cpu()
        return
    q = (
        torch.as_tensor(np.asarray(query_feats, dtype=np.float32))
        if not isinstance(query_feats, torch.Tensor)
        else query_feats.detach().float().cpu()
    )
    g = (
        torch.as_tensor(np.asarray(gallery_feats, dtype=np.float32))
        if not isinstance(gallery_feats, torch.Tensor)
        else gallery_feats.detach().float().cpu()
    )
    if q.ndim != 2 or g.ndim != 2 or q.shape[1] != g.shape[1]:
        raise FinereidError(
            f"query/gallery features must be [Q, D] and [G, D], got {tuple(q.shape)}, {tuple(g.shape)}"
        )
    if metric == "cosine":
        q, g = torch.nn.functional.normalize(q, dim=1), torch.nn.functional.normalize(g, dim=1)
    g_sq = (g * g).sum(1)
    for q0 in range(0, q.shape[0], rows):
        qc = q[q0 : q0 + rows]
        if metric == "cosine":
            yield q0, 1.0 - qc @ g.T
        else:
            yield q0, ((qc * qc).sum(1)[:, None] + g_sq[None, :] - 2.0 * qc @ g.T).clamp_min_(0).sqrt_()


def _as_arrays(records: Sequence[RecordLike]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paths (str), pids and camids (int64) of a record list."""
    paths = np.array([str(r.path) for r in records], dtype=str)
    pids = np.array([int(r.pid) for r in records], dtype=np.int64)
    camids = np.array([int(r.camid) for r in records], dtype=np.int64)
    return paths, pids, camids


@torch.inference_mode()
def compute_ranking(
    query: Sequence[RecordLike],
    gallery: Sequence[RecordLike],
    *,
    query_feats=None,
    gallery_feats=None,
    distmat=None,
    metric: str = "euclidean",
    top_k: int = 10,
    chunk_elements: int = 2**25,
    metrics: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Ranking:
    """Rank the gallery for every query from features (chunked, never Q x G) or from a given distmat."""
    if (distmat is None) == (query_feats is None or gallery_feats is None):
        raise FinereidError("give either query_feats and gallery_feats, or distmat")
    if metric not in ("euclidean", "cosine"):
        raise FinereidError(f"unknown metric {metric!r}; valid: cosine, euclidean")
    if top_k < 1:
        raise FinereidError(f"top_k must be >= 1, got {top_k}")
    q_paths, q_pids, q_cams = _as_arrays(query)
    g_paths, g_pids, g_cams = _as_arrays(gallery)
    num_q, num_g = len(q_paths), len(g_paths)
    if num_g == 0 or num_q == 0:
        raise FinereidError(f"cannot rank {num_q} queries against {num_g} gallery items")
    k = min(top_k, num_g)
    indices = np.full((num_q, k), -1, dtype=np.int64)
    distances = np.full((num_q, k), np.inf, dtype=np.float32)
    matches = np.zeros((num_q, k), dtype=bool)
    first_match = np.zeros(num_q, dtype=np.int64)
    ap = np.full(num_q, np.nan, dtype=np.float64)
    gp, gc = torch.from_numpy(g_pids), torch.from_numpy(g_cams)
    rows = max(1, chunk_elements // num_g)
    for q0, dist in _row_blocks(query_feats, gallery_feats, distmat, metric, rows):
        if dist.shape[1] != num_g or q0 + dist.shape[0] > num_q:
            raise FinereidError(f"distances have shape {tuple(dist.shape)}; expected [{num_q}, {num_g}]")
        if not bool(torch.isfinite(dist).all()):
            raise FinereidError("distances contain NaN or infinite values")
        n = dist.shape[0]
        qp = torch.from_numpy(q_pids[q0 : q0 + n])[:, None]
        qc = torch.from_numpy(q_cams[q0 : q0 + n])[:, None]
        junk = (gp[None, :] == qp) & (gc[None, :] == qc)
        order = torch.argsort(dist.masked_fill(junk, float("inf")), dim=1, stable=True)
        valid = ~junk.gather(1, order)  # junk sorts last; `valid` marks the kept prefix of each row
        match = (gp[order] == qp) & valid
        for r in range(n):
            kept = order[r][valid[r]]
            hits = match[r][valid[r]]
            top = kept[:k].numpy()
            indices[q0 + r, : len(top)] = top
            distances[q0 + r, : len(top)] = dist[r, kept[:k]].numpy()
            matches[q0 + r, : len(top)] = hits[:k].numpy()
            if bool(hits.any()):
                positions = hits.nonzero().squeeze(1).double() + 1.0
                first_match[q0 + r] = int(positions[0])
                ap[q0 + r] = float((torch.arange(1, len(positions) + 1) / positions).mean())
    used = np.unique(indices[indices >= 0])
    remap = np.full(num_g, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    indices = np.where(indices >= 0, remap[np.clip(indices, 0, None)], -1)
    info = {
        "version": RANKING_VERSION,
        "metric": metric,
        "top_k": k,
        "protocol": "market",
        "num_query": num_q,
        "num_gallery": num_g,
        "metrics": metrics or {},
        **(meta or {}),
    }
    return Ranking(
        q_paths,
        q_pids,
        q_cams,
        g_paths[used],
        g_pids[used],
        g_cams[used],
        indices,
        distances,
        matches,
        first_match,
        ap.astype(np.float32),
        info,
    )


def save_ranking(
    path: str | Path, query: Sequence[RecordLike], gallery: Sequence[RecordLike], **kwargs
) -> Path:
    """Compute the ranking (see `compute_ranking` for keyword arguments) and write it as a `.npz` file."""
    ranking = compute_ranking(query, gallery, **kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    arrays = {k: getattr(ranking, k) for k in ranking.__dataclass_fields__ if k != "meta"}
    np.savez_compressed(tmp, meta=np.array(json.dumps(ranking.meta, default=float)), **arrays)
    tmp.replace(path)
    logger.info("wrote ranked lists of %d queries to %s", len(ranking.query_paths), path)
    return path


def load_ranking(path: str | Path) -> Ranking:
    """Read a `ranking.npz` written by `save_ranking` (no pickled objects are loaded)."""
    path = Path(path)
    if not path.is_file():
        raise FinereidError(f"no ranking file at {path} (run `finereid eval` on the run's checkpoint first)")
    try:
        with np.load(path, allow_pickle=False) as data:
            fields = {k: data[k] for k in Ranking.__dataclass_fields__ if k != "meta"}
            meta = json.loads(str(data["meta"]))
    except (KeyError, ValueError, OSError) as exc:
        raise FinereidError(f"{path} is not a finereid ranking file ({type(exc).__name__}: {exc})") from exc
    return Ranking(**fields, meta=meta)
