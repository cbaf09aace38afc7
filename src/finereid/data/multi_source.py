"""Several datasets as one training set: pids and camera ids offset so that no two datasets share one.

Dataset i's training pids (relabelled 0..N_i-1) become N_0 + ... + N_{i-1} + pid, so the identity
classifier has one class per identity of every dataset; its camera ids move past every camera id of
the datasets before it (all splits counted), so camera-aware code never mixes two datasets' cameras.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from finereid.data.records import ImageRecord, ReIDDataset, text_table
from finereid.errors import DatasetError


@dataclass(frozen=True)
class SourcePart:
    """One training dataset inside a combined set: its label, records there and offsets."""

    label: str
    records: list[ImageRecord]  # pids and camids already offset
    pid_offset: int
    camid_offset: int

    @property
    def num_pids(self) -> int:
        """Identities this dataset brings to the classifier."""
        return len({r.pid for r in self.records})


def camera_offsets(datasets: Sequence[ReIDDataset]) -> list[int]:
    """Each dataset's first camera id: one past the largest camera id (any split) of those before it."""
    offsets, start = [], 0
    for dataset in datasets:
        offsets.append(start)
        start += 1 + max(r.camid for split in (dataset.train, dataset.query, dataset.gallery) for r in split)
    return offsets


def shift(records: Sequence[ImageRecord], pid_offset: int, camid_offset: int) -> list[ImageRecord]:
    """The records with pid + pid_offset and camid + camid_offset (the same list when both are 0)."""
    if pid_offset == 0 and camid_offset == 0:
        return list(records)
    return [ImageRecord(r.path, r.pid + pid_offset, r.camid + camid_offset) for r in records]


def combine_sources(
    labels: Sequence[str], train_splits: Sequence[Sequence[ImageRecord]], camid_offsets: Sequence[int]
) -> list[SourcePart]:
    """Offset each (relabelled 0..N-1) training split past the identities of the ones before it."""
    parts, pid_offset = [], 0
    for label, records, camid_offset in zip(labels, train_splits, camid_offsets, strict=True):
        pids = sorted({r.pid for r in records})
        if pids != list(range(len(pids))):
            raise DatasetError(f"{label}: training pids must be relabelled 0..N-1 before combining")
        parts.append(SourcePart(label, shift(records, pid_offset, camid_offset), pid_offset, camid_offset))
        pid_offset += len(pids)
    return parts


def sources_table(
    parts: Sequence[SourcePart],
    roots: dict[str, str],
    targets: dict[str, tuple[int, int]],
) -> str:
    """Per-dataset statistics as text: role, training ids/images/cameras, offsets, query/gallery, folder.

    `roots` maps every label to its folder, `targets` each validation label to (query, gallery) sizes.
    """
    header = ("dataset", "role", "train ids", "train images", "train cams", "pid offset", "cam offset",
              "query", "gallery", "folder")  # fmt: skip
    rows = []
    for part in parts:
        query, gallery = targets.get(part.label, (None, None))
        role = "train + val" if part.label in targets else "train"
        cams = len({r.camid for r in part.records})
        rows.append((part.label, role, str(part.num_pids), str(len(part.records)), str(cams),
                     str(part.pid_offset), str(part.camid_offset), _count(query), _count(gallery),
                     roots[part.label]))  # fmt: skip
    trained = {p.label for p in parts}
    for label, (query, gallery) in targets.items():
        if label not in trained:
            rows.append((label, "val", "-", "-", "-", "-", "-", str(query), str(gallery), roots[label]))
    return text_table(header, rows)


def _count(value: int | None) -> str:
    """A count, or a dash where the dataset has no such split in this run."""
    return "-" if value is None else str(value)
