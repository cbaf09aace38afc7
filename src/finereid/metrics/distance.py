"""Query x gallery distance matrices, euclidean or cosine, in query chunks on the features' device."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch

from finereid.errors import ConfigError, unknown_name_error
from finereid.metrics.checks import as_matrix, rows_per_chunk


class EuclideanDistance:
    """Plain L2 distance ||q - g||_2 (not squared), from ||q||^2 + ||g||^2 - 2 q.g clamped at 0."""

    def __init__(self, gallery: torch.Tensor) -> None:
        self.gallery = gallery
        self.gallery_sq = _squared_norms(gallery, "gallery_feats").unsqueeze(0)

    def __call__(self, query: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Distances from each row of `query` to every gallery row, written into `out` if given."""
        out = torch.addmm(self.gallery_sq, query, self.gallery.T, alpha=-2.0, out=out)
        out.add_(_squared_norms(query, "query_feats").unsqueeze(1))
        return out.clamp_min_(0.0).sqrt_()


class CosineDistance:
    """1 - cosine similarity, in [0, 2]; a zero feature vector is at distance 1 from everything."""

    def __init__(self, gallery: torch.Tensor) -> None:
        self.gallery = gallery
        self.gallery_norm = _squared_norms(gallery, "gallery_feats").sqrt_().clamp_min_(_EPS).unsqueeze(0)

    def __call__(self, query: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Distances from each row of `query` to every gallery row, written into `out` if given."""
        out = torch.mm(query, self.gallery.T, out=out)
        query_norm = _squared_norms(query, "query_feats").sqrt_().clamp_min_(_EPS).unsqueeze(1)
        out.div_(query_norm).div_(self.gallery_norm)
        return out.neg_().add_(1.0).clamp_(0.0, 2.0)


_EPS = 1e-12  # norms below this count as zero vectors (as in torch.nn.functional.normalize)


def _squared_norms(feats: torch.Tensor, name: str) -> torch.Tensor:
    """Squared L2 norm of each row, in row blocks (no full-size temporary); non-finite ones are refused."""
    step = max(1, (1 << 22) // max(1, feats.shape[1]))
    blocks = [feats[a : a + step] for a in range(0, feats.shape[0], step)]
    norms = torch.cat([(block * block).sum(dim=1) for block in blocks])
    if not bool(torch.isfinite(norms).all()):  # a NaN or inf anywhere in a row shows in its norm
        raise ConfigError(f"{name} contains NaN or infinite values (or values too large to square)")
    return norms


DISTANCES: dict[str, Callable[[torch.Tensor], EuclideanDistance | CosineDistance]] = {
    "euclidean": EuclideanDistance,
    "cosine": CosineDistance,
}


def build_distance(name: str, gallery: torch.Tensor) -> EuclideanDistance | CosineDistance:
    """Build the distance `name` against a fixed gallery; unknown names raise a one-line ConfigError."""
    if name not in DISTANCES:
        raise unknown_name_error("distance", name, DISTANCES)
    return DISTANCES[name](gallery)


def prepare_features(query_feats: Any, gallery_feats: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Check and convert query/gallery features: 2-D, same width, same device, finite, >= float32."""
    query = as_matrix(query_feats, "query_feats", allow_empty=True)
    gallery = as_matrix(gallery_feats, "gallery_feats", allow_empty=True)
    if gallery.shape[0] == 0:
        raise ConfigError("gallery_feats is empty; need at least one gallery feature")
    if query.shape[0] == 0:
        raise ConfigError("query_feats is empty; need at least one query feature")
    if query.shape[1] != gallery.shape[1]:
        raise ConfigError(
            f"query_feats has {query.shape[1]} dimensions but gallery_feats has {gallery.shape[1]}"
        )
    if query.device != gallery.device:
        raise ConfigError(f"query_feats is on {query.device} but gallery_feats is on {gallery.device}")
    dtype = torch.promote_types(query.dtype, gallery.dtype)
    if dtype in (torch.float16, torch.bfloat16):
        dtype = torch.float32  # 16-bit sums of squares lose the small distances that decide rank-1
    return query.to(dtype), gallery.to(dtype)


def compute_distmat(
    query_feats: Any,
    gallery_feats: Any,
    distance: str = "euclidean",
    chunk_size: int | None = None,
    *,
    metric: str | None = None,
) -> torch.Tensor:
    """Return the (num_query, num_gallery) distance matrix on the features' device.

    `euclidean` is the plain L2 distance (not squared); `cosine` is 1 - cosine similarity. Queries are
    processed `chunk_size` rows at a time (default: about 8M matrix entries per chunk), writing straight
    into the result, so the only large allocation is the result itself. 16-bit features are computed in
    float32; float64 stays float64. `metric=` is the old name of `distance=` (read with a warning).
    """
    query, gallery = prepare_features(query_feats, gallery_feats)
    measure = build_distance(renamed_distance(distance, metric), gallery)
    rows = rows_per_chunk(chunk_size, gallery.shape[0])
    out = torch.empty(query.shape[0], gallery.shape[0], dtype=query.dtype, device=query.device)
    for start in range(0, query.shape[0], rows):
        measure(query[start : start + rows], out=out[start : start + rows])
    return out


def renamed_distance(distance: str, metric: str | None) -> str:
    """`distance`, or the deprecated `metric=` keyword when a caller still passes it (with a warning)."""
    if metric is None:
        return distance
    warnings.warn(
        "the metric= keyword is renamed distance=; the old name is read until finereid 0.3",
        FutureWarning,
        stacklevel=3,
    )
    return metric
