"""Helpers shared by the parsers: find the layout on disk, list images, parse file names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from finereid.data.records import ImageRecord, ReIDDataset, relabel
from finereid.errors import DatasetError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
JUNK_PID = -1


def resolve_root(root: str | Path, title: str, layout: str) -> Path:
    """The user's root as an absolute path; a missing one names the path and the expected layout."""
    path = Path(root).expanduser().absolute()
    if not path.is_dir():
        raise DatasetError(f"{title} root not found: {path} (expected layout: {layout})")
    return path


def find_layout(
    root: Path,
    candidates: Sequence[str],
    required: Sequence[str],
    title: str,
    layout: str,
    markers: Sequence[str] = (),
) -> Path:
    """First root/candidate holding every required entry, else a one-line error naming what is missing.

    A candidate holding any required entry or marker is a partial layout: its first missing entry is named.
    """
    dirs = [root / c if c else root for c in candidates]
    for d in dirs:
        if all((d / r).exists() for r in required):
            return d
    for d in dirs:
        if any((d / r).exists() for r in (*required, *markers)):
            missing = next(d / r for r in required if not (d / r).exists())
            raise DatasetError(f"{title}: missing {missing} (expected layout: {layout})")
    raise DatasetError(f"{title}: no dataset found under {root} (expected layout: {layout})")


def list_images(folder: Path) -> list[Path]:
    """Image files directly in folder, sorted by name; other files (Thumbs.db, ...) are ignored."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def parse_split(
    folder: Path, pattern: re.Pattern[str], title: str, example: str, drop_junk: bool = True
) -> list[ImageRecord]:
    """Parse every image name in folder with pattern (groups `pid`, `cam`; cameras 1-based on disk)."""
    records = []
    for path in list_images(folder):
        match = pattern.match(path.name)
        if match is None:
            raise DatasetError(f"{title}: cannot parse image name {path} (expected names like {example})")
        pid, cam = int(match["pid"]), int(match["cam"])
        if drop_junk and pid == JUNK_PID:
            continue
        if cam < 1:
            raise DatasetError(f"{title}: camera {cam} in {path}; cameras are numbered from 1")
        records.append(ImageRecord(str(path), pid, cam - 1))
    if not records:
        raise DatasetError(f"{title}: split folder {folder} has no usable images (names like {example})")
    return records


def load_split_folders(
    name: str, base: Path, split_dirs: dict[str, str], pattern: re.Pattern[str], title: str, example: str
) -> ReIDDataset:
    """Parse base/{train,query,gallery folders} into a ReIDDataset with train pids relabelled."""
    splits = {s: parse_split(base / d, pattern, title, example) for s, d in split_dirs.items()}
    return ReIDDataset(name, base, relabel(splits["train"]), splits["query"], splits["gallery"])


class ListLine(NamedTuple):
    """One `<name> <integer label>` line of a split list file, with its 1-based line number."""

    number: int
    text: str
    name: str
    label: int


def list_line_error(title: str, list_path: Path, number: int, text: str, example: str) -> DatasetError:
    """One-line error naming the list file, the line number and the line's text."""
    return DatasetError(f"{title}: cannot parse {list_path} line {number}: {text!r} (like {example!r})")


def read_list_lines(list_path: Path, title: str, example: str) -> list[ListLine]:
    """Non-blank lines of a `<name> <integer label>` list; a malformed line or an empty list is an error."""
    lines = []
    for number, text in enumerate(list_path.read_text().splitlines(), start=1):
        fields = text.split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[1].isdigit():
            raise list_line_error(title, list_path, number, text, example)
        lines.append(ListLine(number, text, fields[0], int(fields[1])))
    if not lines:
        raise DatasetError(f"{title}: {list_path} lists no images")
    return lines


def check_first_listed(title: str, list_path: Path, line: ListLine, path: str) -> None:
    """One stat of the first listed image catches a list paired with the wrong image folder."""
    if not Path(path).is_file():
        raise DatasetError(f"{title}: {list_path} line {line.number} names {path}, which does not exist")
