"""Training subsets for data-efficiency studies: fewer identities, or fewer images per identity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from finereid.data.records import ImageRecord, relabel
from finereid.errors import ConfigError


def _check(fraction: float, seed: int) -> None:
    """A fraction must be in (0, 1], a seed non-negative."""
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"subset fraction must be in (0, 1], got {fraction!r}")
    if seed < 0:
        raise ConfigError(f"subset seed must be non-negative, got {seed}")


def _indices_by_pid(records: Sequence[ImageRecord]) -> dict[int, list[int]]:
    """Record positions grouped by pid."""
    groups: dict[int, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        groups[record.pid].append(i)
    return groups


def subsample_identities(records: Sequence[ImageRecord], fraction: float, seed: int = 0) -> list[ImageRecord]:
    """Keep round(fraction x N) identities (at least 1) with all their images; pids relabelled 0..M-1."""
    _check(fraction, seed)
    pids = sorted(_indices_by_pid(records))
    keep_count = max(1, round(fraction * len(pids)))
    kept = set(np.random.default_rng(seed).choice(pids, size=keep_count, replace=False).tolist())
    return relabel(r for r in records if r.pid in kept)


def subsample_images(records: Sequence[ImageRecord], fraction: float, seed: int = 0) -> list[ImageRecord]:
    """Keep round(fraction x n) images of each identity (at least 1); pids relabelled 0..N-1."""
    _check(fraction, seed)
    rng = np.random.default_rng(seed)
    kept: set[int] = set()
    for _, positions in sorted(_indices_by_pid(records).items()):
        keep_count = max(1, round(fraction * len(positions)))
        kept.update(rng.choice(positions, size=keep_count, replace=False).tolist())
    return relabel(r for i, r in enumerate(records) if i in kept)
