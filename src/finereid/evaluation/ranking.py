"""An evaluation's ranked lists with the images they rank: `ranking.npz`, written by eval, read by reports.

The lists themselves (top-k, match flags, first match, AP) are computed by `finereid.metrics` in the same
pass as CMC/mAP; this module attaches the query and gallery images and the evaluation's metrics and
settings, and stores them without pickled objects. Gallery arrays keep only the items some list shows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from finereid.errors import FinereidError
from finereid.files import RANKING_FILE, atomic_write
from finereid.metrics import RankedLists

log = logging.getLogger(__name__)

RANKING_VERSION = 2


class RecordLike(Protocol):
    """Anything with path, pid, camid: `finereid.data.ImageRecord` or a feature-file row."""

    path: str
    pid: int
    camid: int


@dataclass
class Ranking:
    """Ranked lists for Q queries; `indices` point into the `gallery_*` arrays, -1 = empty slot.

    `meta` holds the evaluation's metrics (`meta["metrics"]`: rank1 ... mINP, cmc) and its settings.
    """

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


def _arrays(records: Sequence[RecordLike]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paths (str), pids and camids (int64) of a record list."""
    paths = np.array([str(r.path) for r in records], dtype=str)
    pids = np.array([int(r.pid) for r in records], dtype=np.int64)
    camids = np.array([int(r.camid) for r in records], dtype=np.int64)
    return paths, pids, camids


def build_ranking(
    query: Sequence[RecordLike],
    gallery: Sequence[RecordLike],
    lists: RankedLists,
    meta: dict[str, Any] | None = None,
) -> Ranking:
    """Attach the images to metrics' ranked lists (rows = `query`, indices into `gallery`)."""
    if len(lists.first_match) != len(query):
        raise FinereidError(f"{len(lists.first_match)} ranked lists for {len(query)} queries")
    q_paths, q_pids, q_cams = _arrays(query)
    g_paths, g_pids, g_cams = _arrays(gallery)
    used = np.unique(lists.indices[lists.indices >= 0])
    remap = np.full(len(g_paths), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    indices = np.where(lists.indices >= 0, remap[np.clip(lists.indices, 0, None)], -1)
    info = {"version": RANKING_VERSION, "protocol": "market", "num_query": len(query),
            "num_gallery": len(gallery), "top_k": int(lists.indices.shape[1]), **(meta or {})}  # fmt: skip
    return Ranking(
        q_paths, q_pids, q_cams, g_paths[used], g_pids[used], g_cams[used], indices,
        lists.distances, lists.matches, lists.first_match, lists.average_precision.astype(np.float32), info,
    )  # fmt: skip


def save_ranking(path: str | Path, ranking: Ranking) -> Path:
    """Write a Ranking as a compressed `.npz` (arrays plus its meta as JSON)."""
    path = Path(path)
    arrays = {f.name: getattr(ranking, f.name) for f in fields(Ranking) if f.name != "meta"}
    meta = np.array(json.dumps(ranking.meta, default=float))
    atomic_write(path, lambda handle: np.savez_compressed(handle, meta=meta, **arrays))
    log.info("wrote ranked lists of %d queries to %s", len(ranking.query_paths), path)
    return path


def load_ranking(path: str | Path) -> Ranking:
    """Read a `ranking.npz` written by `save_ranking` (no pickled objects are loaded)."""
    path = Path(path)
    if not path.is_file():
        raise FinereidError(f"no ranking file at {path} (run `finereid eval` on the run's checkpoint first)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {f.name: data[f.name] for f in fields(Ranking) if f.name != "meta"}
            meta = json.loads(str(data["meta"]))
    except (KeyError, ValueError, OSError) as exc:
        raise FinereidError(f"{path} is not a finereid ranking file ({type(exc).__name__}: {exc})") from None
    return Ranking(**arrays, meta=meta)


__all__ = ["RANKING_FILE", "Ranking", "build_ranking", "load_ranking", "save_ranking"]
