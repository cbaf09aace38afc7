"""A user's own data: `root/{train,query,gallery}/<pid>/<image>` folders or a `manifest.csv`."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from finereid.data.datasets.common import list_images, resolve_root
from finereid.data.records import SPLITS, ImageRecord, ReIDDataset, relabel
from finereid.errors import DatasetError

TITLE = "folder dataset"
LAYOUT = "ROOT/{train,query,gallery}/<pid>/<name with a c<camera> token>.jpg, or ROOT/manifest.csv"
COLUMNS = ("path", "pid", "camid", "split")
CAMERA_TOKEN = re.compile(r"(?<![A-Za-z0-9])c(\d+)(?!\d)")
Row = tuple[str, str, int, str]  # path, pid name, camera number, split


def _read_folders(root: Path) -> list[Row]:
    """Rows of the split/pid/image tree; the camera comes from the file name's c<digits> token."""
    rows = []
    for split in SPLITS:
        split_dir = root / split
        if not split_dir.is_dir():
            raise DatasetError(f"{TITLE}: missing {split_dir} (expected layout: {LAYOUT})")
        if list_images(split_dir):
            raise DatasetError(f"{TITLE}: images directly in {split_dir}; put them in one folder per pid")
        for pid_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            for path in list_images(pid_dir):
                match = CAMERA_TOKEN.search(path.stem)
                if match is None:
                    raise DatasetError(f"{TITLE}: no camera token in {path} (names like img_c2_0001.jpg)")
                rows.append((str(path), pid_dir.name, int(match[1]), split))
    return rows


def _read_manifest(manifest: Path) -> list[Row]:
    """Rows of a CSV with columns path,pid,camid,split; paths relative to the manifest's folder."""
    try:
        with manifest.open(newline="", encoding="utf-8-sig") as handle:
            return _manifest_rows(manifest, csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{manifest}: not a readable CSV file ({exc})") from None


def _manifest_rows(manifest: Path, reader: csv.DictReader) -> list[Row]:
    """Validate and convert the manifest's rows, naming the line of the first bad one."""
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DatasetError(f"{manifest}: missing column(s) {', '.join(missing)}; need {','.join(COLUMNS)}")
    rows = []
    for row in reader:
        where = f"{manifest} line {reader.line_num}"
        split, camid = (row["split"] or "").strip(), (row["camid"] or "").strip()
        pid = (row["pid"] or "").strip()
        if split not in SPLITS:
            raise DatasetError(f"{where}: unknown split {split!r}; valid: {', '.join(SPLITS)}")
        if not pid:
            raise DatasetError(f"{where}: empty pid")
        if not re.fullmatch(r"\d+", camid):
            raise DatasetError(f"{where}: camid {camid!r} is not a non-negative integer")
        path = manifest.parent / (row["path"] or "").strip()
        if not path.is_file():
            raise DatasetError(f"{where}: image not found: {path}")
        rows.append((str(path), pid, int(camid), split))
    return rows


def _pid_numbers(names: set[str]) -> dict[str, int]:
    """Integer pid names keep their value; if any name is not an integer, all map to 0..N-1 by sorted name."""
    if all(re.fullmatch(r"-?\d+", n) for n in names):
        return {n: int(n) for n in names}
    return {n: i for i, n in enumerate(sorted(names))}


def load_folder(root: str | Path, manifest: str | None = None) -> ReIDDataset:
    """Parse a user's folders, or a manifest (default ROOT/manifest.csv when it exists)."""
    base = resolve_root(root, TITLE, LAYOUT)
    manifest_path = base / manifest if manifest else base / "manifest.csv"
    if manifest and not manifest_path.is_file():
        raise DatasetError(f"{TITLE}: manifest not found: {manifest_path}")
    rows = _read_manifest(manifest_path) if manifest_path.is_file() else _read_folders(base)
    pid_of = _pid_numbers({pid for _, pid, _, _ in rows})
    camid_of = {cam: i for i, cam in enumerate(sorted({cam for _, _, cam, _ in rows}))}  # 0-based, shared
    splits: dict[str, list[ImageRecord]] = {s: [] for s in SPLITS}
    for path, pid, cam, split in rows:
        splits[split].append(ImageRecord(path, pid_of[pid], camid_of[cam]))
    source = manifest_path if manifest_path.is_file() else base
    for split in SPLITS:
        if not splits[split]:
            raise DatasetError(f"{TITLE}: split {split!r} has no images in {source}")
    return ReIDDataset("folder", base, relabel(splits["train"]), splits["query"], splits["gallery"])
