"""Training subsets: fractions of identities or of images per identity, deterministic by seed."""

from __future__ import annotations

from collections import Counter

import pytest

from finereid.data import ImageRecord, subsample_identities, subsample_images
from finereid.errors import ConfigError

# 40 identities with original pids 100, 103, ... and 1..10 images each.
RECORDS = [
    ImageRecord(f"{pid}_{k}.jpg", pid, k % 3)
    for i, pid in enumerate(range(100, 220, 3))
    for k in range(1 + i % 10)
]


def test_fraction_of_identities_keeps_all_their_images_and_relabels() -> None:
    subset = subsample_identities(RECORDS, 0.25, seed=0)
    assert sorted({r.pid for r in subset}) == list(range(10))  # round(0.25 * 40) ids, relabelled
    kept_originals = {int(r.path.split("_")[0]) for r in subset}
    assert len(kept_originals) == 10
    assert len(subset) == sum(1 for r in RECORDS if r.pid in kept_originals)
    order = [r.path for r in RECORDS if r.pid in kept_originals]
    assert [r.path for r in subset] == order  # original order kept
    ranks = {orig: label for label, orig in enumerate(sorted(kept_originals))}
    assert all(r.pid == ranks[int(r.path.split("_")[0])] for r in subset)


def test_fraction_of_images_keeps_at_least_one_per_identity() -> None:
    subset = subsample_images(RECORDS, 0.3, seed=1)
    before = Counter(r.pid for r in RECORDS)
    after = Counter(int(r.path.split("_")[0]) for r in subset)
    assert set(after) == set(before)
    assert all(after[pid] == max(1, round(0.3 * n)) for pid, n in before.items())
    assert sorted({r.pid for r in subset}) == list(range(40))
    assert set(r.path for r in subset) <= set(r.path for r in RECORDS)


@pytest.mark.parametrize("subsample", [subsample_identities, subsample_images])
def test_deterministic_by_seed(subsample) -> None:
    assert subsample(RECORDS, 0.5, seed=7) == subsample(RECORDS, 0.5, seed=7)
    assert subsample(RECORDS, 0.5, seed=7) != subsample(RECORDS, 0.5, seed=8)
    assert subsample(RECORDS, 1.0, seed=3) == subsample(RECORDS, 1.0, seed=4)  # everything kept


def test_tiny_fraction_keeps_one_identity() -> None:
    assert len({r.pid for r in subsample_identities(RECORDS, 0.001, seed=0)}) == 1


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_bad_fraction(fraction: float) -> None:
    with pytest.raises(ConfigError, match=r"fraction must be in \(0, 1\]"):
        subsample_identities(RECORDS, fraction, seed=0)
    with pytest.raises(ConfigError, match=r"fraction must be in \(0, 1\]"):
        subsample_images(RECORDS, fraction, seed=0)
