"""MSMT17 (Wei et al., CVPR 2018): 4,101 identities from 15 cameras, split by list files."""

from __future__ import annotations

import logging
from pathlib import Path

from finereid.data.datasets.common import check_first_listed, list_line_error, read_list_lines, resolve_root
from finereid.data.records import ImageRecord, ReIDDataset, relabel
from finereid.errors import DatasetError

logger = logging.getLogger(__name__)

TITLE = "MSMT17"
LAYOUT = (
    "ROOT/MSMT17_V1/{train,test,list_train.txt,list_val.txt,list_query.txt,list_gallery.txt} "
    "(V2: MSMT17_V2 with mask_train_v2/ and mask_test_v2/)"
)
VERSIONS = {"MSMT17_V1": ("train", "test"), "MSMT17_V2": ("mask_train_v2", "mask_test_v2")}
LISTS = ("list_train.txt", "list_val.txt", "list_query.txt", "list_gallery.txt")
EXAMPLE = "0000/0000_000_01_0303morning_0015_0.jpg 0"


def _find_version(root: Path) -> tuple[Path, Path, Path]:
    """The version folder and its train/test image folders, V1 first, V2 second."""
    for base in [root / v for v in VERSIONS] + [root / "msmt17" / v for v in VERSIONS] + [root]:
        for train_name, test_name in VERSIONS.values():
            if (base / train_name).is_dir() or (base / test_name).is_dir():
                for needed in (base / train_name, base / test_name, *(base / name for name in LISTS)):
                    if not needed.exists():
                        raise DatasetError(f"{TITLE}: missing {needed} (expected layout: {LAYOUT})")
                return base, base / train_name, base / test_name
    raise DatasetError(f"{TITLE}: no dataset found under {root} (expected layout: {LAYOUT})")


def _read_list(list_path: Path, image_dir: Path) -> list[ImageRecord]:
    """Records of one list file, lines `<dir>/<pid>_<idx>_<cam>_<...>.jpg <label>`; cameras 1-based."""
    lines = read_list_lines(list_path, TITLE, EXAMPLE)
    records = []
    for line in lines:
        name_fields = Path(line.name).name.split("_")
        if len(name_fields) < 3 or not name_fields[2].isdigit():
            raise list_line_error(TITLE, list_path, line.number, line.text, EXAMPLE)
        cam = int(name_fields[2])
        if cam < 1:
            raise DatasetError(f"{TITLE}: camera {cam} in {list_path} line {line.number}; cameras start at 1")
        records.append(ImageRecord(str(image_dir / line.name), line.label, cam - 1))
    check_first_listed(TITLE, list_path, lines[0], records[0].path)
    return records


def load_msmt17(root: str | Path, merge_val: bool = True) -> ReIDDataset:
    """Parse MSMT17 V1 or V2; by default list_val.txt joins the training set, as the published counts do."""
    base, train_dir, test_dir = _find_version(resolve_root(root, TITLE, LAYOUT))
    logger.debug("MSMT17 found in %s", base)
    train = _read_list(base / "list_train.txt", train_dir)
    if merge_val:
        train += _read_list(base / "list_val.txt", train_dir)
    query = _read_list(base / "list_query.txt", test_dir)
    gallery = _read_list(base / "list_gallery.txt", test_dir)
    return ReIDDataset("msmt17", base, relabel(train), query, gallery)
