"""Top-k gallery search: exact chunked torch search and faiss, with the same results and tie rule.

Ordering rule (both backends): by distance, then by gallery index; when a tie straddles the k-th place
the lower gallery indices are kept. Euclidean is the plain L2 distance; cosine is 1 - cosine similarity.
Slots with no candidate left (gallery smaller than k, or every remaining item excluded) hold index -1
and distance +inf.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import torch

from finereid.errors import ConfigError, FinereidError, unknown_name_error
from finereid.metrics import build_distance, lexsort_rows, smallest_k
from finereid.metrics.distance import renamed_distance

logger = logging.getLogger(__name__)

DISTANCES = ("euclidean", "cosine")


@dataclass(frozen=True)
class SearchResult:
    """Ranked gallery indices [Q, k] (int64, -1 = empty) and their distances [Q, k] (float32)."""

    indices: np.ndarray
    distances: np.ndarray
    distance: str
    backend: str


@dataclass(frozen=True)
class SameCameraJunk:
    """Market protocol: gallery items with the query's pid AND camid are junk and never returned."""

    query_pids: np.ndarray
    query_camids: np.ndarray
    gallery_pids: np.ndarray
    gallery_camids: np.ndarray

    def mask(self, q: slice, g: slice, device: torch.device | str = "cpu") -> torch.Tensor:
        """Bool [len(q), len(g)]: True where the gallery item is junk for the query."""
        qp = torch.as_tensor(np.asarray(self.query_pids[q], dtype=np.int64), device=device)
        qc = torch.as_tensor(np.asarray(self.query_camids[q], dtype=np.int64), device=device)
        gp = torch.as_tensor(np.asarray(self.gallery_pids[g], dtype=np.int64), device=device)
        gc = torch.as_tensor(np.asarray(self.gallery_camids[g], dtype=np.int64), device=device)
        return (qp[:, None] == gp[None, :]) & (qc[:, None] == gc[None, :])

    def largest_group(self) -> int:
        """Most gallery items sharing one (pid, camid): the most a single query can lose to junk."""
        if len(self.gallery_pids) == 0:
            return 0
        pairs = np.stack([np.asarray(self.gallery_pids), np.asarray(self.gallery_camids)], axis=1)
        return int(np.unique(pairs, axis=0, return_counts=True)[1].max())


def faiss_available() -> bool:
    """True when the optional faiss extra is importable."""
    return importlib.util.find_spec("faiss") is not None


def import_faiss(instead: str = "use --backend torch") -> ModuleType:
    """The faiss module, or a one-line error naming the extra to install and what to do `instead`."""
    # faiss's loader logs each CPU-specific build it fails to find at INFO level: not the user's concern
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
    try:
        import faiss
    except ImportError:
        raise FinereidError(f"faiss is not installed: pip install 'finereid[faiss]' or {instead}") from None
    return faiss


def _check_inputs(query: np.ndarray, gallery: np.ndarray, top_k: int, metric: str) -> None:
    """Reject shapes, sizes and names that would otherwise fail deep inside torch or faiss."""
    if metric not in DISTANCES:
        raise unknown_name_error("distance", metric, DISTANCES)
    if top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}")
    for name, arr in (("query", query), ("gallery", gallery)):
        if arr.ndim != 2:
            raise FinereidError(f"{name} features must be 2-D [N, D], got shape {tuple(arr.shape)}")
    if gallery.shape[0] == 0:
        raise FinereidError("the gallery is empty")
    if query.shape[1] != gallery.shape[1]:
        raise FinereidError(
            f"feature sizes differ: query D={query.shape[1]}, gallery D={gallery.shape[1]} "
            "(were they extracted with the same model?)"
        )


def check_finite(x: torch.Tensor, what: str) -> None:
    """One-line error for NaN/inf features instead of silently wrong rankings."""
    if not bool(torch.isfinite(x).all()):
        raise FinereidError(f"{what} features contain NaN or infinite values")


def float32_rows(array: np.ndarray, rows: slice) -> np.ndarray:
    """A float32, C-contiguous, writable block of rows (read-only memmaps are copied chunk by chunk)."""
    block = np.ascontiguousarray(array[rows], dtype=np.float32)
    return block if block.flags.writeable else block.copy()


def finish_result(dist: torch.Tensor, index: torch.Tensor, metric: str, backend: str) -> SearchResult:
    """Mark empty slots, move to numpy."""
    index = torch.where(torch.isinf(dist), torch.full_like(index, -1), index)
    return SearchResult(
        indices=index.cpu().numpy().astype(np.int64),
        distances=dist.cpu().numpy().astype(np.float32),
        distance=metric,
        backend=backend,
    )


@torch.inference_mode()
def search_torch(
    query: np.ndarray | torch.Tensor,
    gallery: np.ndarray | torch.Tensor,
    top_k: int = 10,
    distance: str = "euclidean",
    *,
    metric: str | None = None,
    junk: SameCameraJunk | None = None,
    query_chunk: int = 256,
    gallery_chunk: int = 32768,
    device: str | torch.device = "cpu",
) -> SearchResult:
    """Exact top-k search that never holds more than one query_chunk x gallery_chunk block.

    The gallery may be a numpy memmap: it is read one chunk at a time and only a [Q, k] running result is
    kept, so memory is the gallery itself plus O(query_chunk * gallery_chunk).
    """
    metric = renamed_distance(distance, metric)
    query = query.detach().cpu().numpy() if isinstance(query, torch.Tensor) else np.asarray(query)
    if isinstance(gallery, torch.Tensor):
        gallery = gallery.detach().cpu().numpy()
    _check_inputs(query, gallery, top_k, metric)
    num_q, num_g = query.shape[0], gallery.shape[0]
    k = min(top_k, num_g)
    q_all = torch.from_numpy(float32_rows(query, slice(None))).to(device)
    check_finite(q_all, "query")
    best_d = torch.full((num_q, k), float("inf"), device=device)
    best_i = torch.full((num_q, k), -1, dtype=torch.int64, device=device)
    for g0 in range(0, num_g, gallery_chunk):
        g_slice = slice(g0, min(g0 + gallery_chunk, num_g))
        g = torch.from_numpy(float32_rows(gallery, g_slice)).to(device)
        check_finite(g, "gallery")
        measure = build_distance(metric, g)  # finereid.metrics owns every distance
        kk = min(k, g.shape[0])
        for q0 in range(0, num_q, query_chunk):
            q_slice = slice(q0, min(q0 + query_chunk, num_q))
            dist = measure(q_all[q_slice])
            if junk is not None:
                dist.masked_fill_(junk.mask(q_slice, g_slice, device), float("inf"))
            block_d, block_i = smallest_k(dist, kk)
            cand_d = torch.cat([best_d[q_slice], block_d], dim=1)
            cand_i = torch.cat([best_i[q_slice], block_i + g0], dim=1)
            # Empty slots (-1, inf) must lose to real items at inf: give them the largest index.
            cand_i = torch.where(cand_i < 0, torch.full_like(cand_i, num_g), cand_i)
            cand_d, cand_i = lexsort_rows(cand_d, cand_i)
            best_d[q_slice], best_i[q_slice] = cand_d[:, :k], cand_i[:, :k]
    return finish_result(best_d, best_i, metric, "torch")


def search_faiss(
    query: np.ndarray | torch.Tensor,
    gallery: np.ndarray | torch.Tensor,
    top_k: int = 10,
    distance: str = "euclidean",
    *,
    metric: str | None = None,
    junk: SameCameraJunk | None = None,
    query_chunk: int = 4096,
    gallery_chunk: int = 65536,
) -> SearchResult:
    """faiss IndexFlatL2 (euclidean) or IndexFlatIP on unit vectors (cosine), re-sorted by the tie rule.

    With junk exclusion, faiss is asked for k + (largest same-pid-same-camera group) neighbours so that the
    k survivors are exact. The index holds a float32 copy of the gallery.
    """
    faiss = import_faiss()
    metric = renamed_distance(distance, metric)
    query = query.detach().cpu().numpy() if isinstance(query, torch.Tensor) else np.asarray(query)
    if isinstance(gallery, torch.Tensor):
        gallery = gallery.detach().cpu().numpy()
    _check_inputs(query, gallery, top_k, metric)
    num_q, num_g = query.shape[0], gallery.shape[0]
    k = min(top_k, num_g)
    index = faiss.IndexFlatIP(gallery.shape[1]) if metric == "cosine" else faiss.IndexFlatL2(gallery.shape[1])
    for g0 in range(0, num_g, gallery_chunk):
        g = float32_rows(gallery, slice(g0, g0 + gallery_chunk))
        check_finite(torch.from_numpy(g), "gallery")
        if metric == "cosine":
            g = g.copy()  # normalize_L2 works in place: never touch the caller's array
            faiss.normalize_L2(g)
        index.add(g)
    fetch = min(num_g, k + (junk.largest_group() if junk is not None else 0))
    out_d, out_i = [], []
    for q0 in range(0, num_q, query_chunk):
        q_slice = slice(q0, min(q0 + query_chunk, num_q))
        q = float32_rows(query, q_slice).copy()
        check_finite(torch.from_numpy(q), "query")
        if metric == "cosine":
            faiss.normalize_L2(q)
        d, i = index.search(q, fetch)
        dist = torch.from_numpy(d)
        dist = 1.0 - dist if metric == "cosine" else dist.clamp_min(0.0).sqrt()  # faiss gives squared L2
        dist, idx = keep_top(dist, torch.from_numpy(i.astype(np.int64)), k, num_g, junk, q_slice)
        out_d.append(dist)
        out_i.append(idx)
    return finish_result(torch.cat(out_d), torch.cat(out_i), metric, "faiss")


def keep_top(
    dist: torch.Tensor,
    idx: torch.Tensor,
    k: int,
    num_g: int,
    junk: SameCameraJunk | None = None,
    q_slice: slice = slice(None),
) -> tuple[torch.Tensor, torch.Tensor]:
    """The k best of faiss candidates (-1 = none) by the tie rule, junk of the queries `q_slice` dropped."""
    empty = idx < 0
    if junk is not None:
        g_pid = torch.as_tensor(np.asarray(junk.gallery_pids, dtype=np.int64))[idx.clamp_min(0)]
        g_cam = torch.as_tensor(np.asarray(junk.gallery_camids, dtype=np.int64))[idx.clamp_min(0)]
        q_pid = torch.as_tensor(np.asarray(junk.query_pids[q_slice], dtype=np.int64))[:, None]
        q_cam = torch.as_tensor(np.asarray(junk.query_camids[q_slice], dtype=np.int64))[:, None]
        empty |= (g_pid == q_pid) & (g_cam == q_cam)
    dist = dist.masked_fill(empty, float("inf"))
    idx = idx.masked_fill(empty, num_g)
    dist, idx = lexsort_rows(dist, idx)
    return dist[:, :k], idx[:, :k]


# backend name -> search function; "auto" picks faiss when installed, else torch.
SEARCH_BACKENDS = {"torch": search_torch, "faiss": search_faiss}


def search(
    query: np.ndarray | torch.Tensor,
    gallery: np.ndarray | torch.Tensor,
    top_k: int = 10,
    distance: str = "euclidean",
    backend: str = "auto",
    **kwargs,
) -> SearchResult:
    """Top-k search with a named backend ("auto", "torch", "faiss"); same results either way."""
    if backend == "auto":
        backend = "faiss" if faiss_available() else "torch"
    if backend not in SEARCH_BACKENDS:
        raise unknown_name_error("search backend", backend, [*SEARCH_BACKENDS, "auto"])
    logger.debug("searching %d queries in %d gallery items with %s", len(query), len(gallery), backend)
    return SEARCH_BACKENDS[backend](query, gallery, top_k, distance, **kwargs)
