"""Image records and the parsed dataset object that every parser returns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from finereid.errors import DatasetError

SPLITS = ("train", "query", "gallery")


@dataclass(frozen=True)
class ImageRecord:
    """One image: its file, its identity and its 0-based camera."""

    path: str
    pid: int
    camid: int


def relabel(records: Iterable[ImageRecord]) -> list[ImageRecord]:
    """Map pids to 0..N-1 in sorted order of the original pids (order of records kept)."""
    records = list(records)
    label_of = {pid: label for label, pid in enumerate(sorted({r.pid for r in records}))}
    return [ImageRecord(r.path, label_of[r.pid], r.camid) for r in records]


def split_statistics(records: Sequence[ImageRecord]) -> dict[str, int]:
    """Number of identities, images and cameras of one split."""
    return {
        "ids": len({r.pid for r in records}),
        "images": len(records),
        "cameras": len({r.camid for r in records}),
    }


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table: counts right-aligned, text columns left-aligned, a rule under the header."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    counts = [i > 0 and all(row[i].isdigit() or row[i] == "-" for row in rows) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(
            c.rjust(w) if right else c.ljust(w) for c, w, right in zip(cells, widths, counts, strict=True)
        ).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


class ReIDDataset:
    """A parsed ReID dataset: train (pids relabelled 0..N-1), query and gallery (original pids)."""

    def __init__(
        self,
        name: str,
        root: str | Path,
        train: Sequence[ImageRecord],
        query: Sequence[ImageRecord],
        gallery: Sequence[ImageRecord],
    ) -> None:
        self.name = name
        self.root = str(root)
        self.train = list(train)
        self.query = list(query)
        self.gallery = list(gallery)
        for split in SPLITS:
            if not getattr(self, split):
                raise DatasetError(f"{name}: split {split!r} is empty under {self.root}")

    @property
    def num_train_pids(self) -> int:
        """Number of training identities, i.e. the classifier's output size."""
        return len({r.pid for r in self.train})

    @property
    def num_train_cams(self) -> int:
        """Number of cameras seen in the training split."""
        return len({r.camid for r in self.train})

    def statistics_dict(self) -> dict[str, dict[str, int]]:
        """Per split: {"ids", "images", "cameras"}."""
        return {split: split_statistics(getattr(self, split)) for split in SPLITS}

    def statistics(self) -> str:
        """The statistics as a text table: subset | # ids | # images | # cameras."""
        header = ("subset", "# ids", "# images", "# cameras")
        rows = [
            (split, str(s["ids"]), str(s["images"]), str(s["cameras"]))
            for split, s in self.statistics_dict().items()
        ]
        return f"{self.name} ({self.root})\n{text_table(header, rows)}"

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(getattr(self, s))}" for s in SPLITS)
        return f"ReIDDataset({self.name!r}, {sizes})"
