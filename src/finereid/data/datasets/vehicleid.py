"""VehicleID (Liu et al., CVPR 2016): 26,267 vehicles, split by list files, without camera ids.

The protocol draws, for every test identity, one image at random into the gallery; the identity's other
images are queries. Papers repeat the draw (usually 10 times) and average: `seed` picks the draw, so a
caller loops over seeds; `finereid eval` scores one draw.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from finereid.data.datasets.common import check_first_listed, find_layout, read_list_lines, resolve_root
from finereid.data.records import ImageRecord, ReIDDataset, relabel
from finereid.errors import ConfigError

TITLE = "VehicleID"
TEST_LISTS = {"small": "test_list_800.txt", "medium": "test_list_1600.txt", "large": "test_list_2400.txt"}
LAYOUT = (
    "ROOT[/VehicleID_V1.0]/image/NNNNNNN.jpg and ROOT[/VehicleID_V1.0]/train_test_split/"
    "{train_list.txt,test_list_800.txt,test_list_1600.txt,test_list_2400.txt}"
)
CANDIDATES = ("VehicleID_V1.0", "", "vehicleid/VehicleID_V1.0")
EXAMPLE = "0000001 1"
# No cameras: train images share camid 0; query and gallery camids differ, so the Market-style evaluation
# never drops a gallery image as same-camera junk.
TRAIN_CAMID, GALLERY_CAMID, QUERY_CAMID = 0, 0, 1


def _read_list(list_path: Path, image_dir: Path) -> list[ImageRecord]:
    """Records of a `<image name without .jpg> <vehicle id>` list, all with the train camid."""
    lines = read_list_lines(list_path, TITLE, EXAMPLE)
    records = [ImageRecord(str(image_dir / f"{line.name}.jpg"), line.label, TRAIN_CAMID) for line in lines]
    check_first_listed(TITLE, list_path, lines[0], records[0].path)
    return records


def draw_gallery(test: Sequence[ImageRecord], seed: int = 0) -> tuple[list[ImageRecord], list[ImageRecord]]:
    """(query, gallery): one image per identity drawn into the gallery with `seed`; the rest are queries."""
    by_pid: dict[int, list[int]] = defaultdict(list)
    for index, record in enumerate(test):
        by_pid[record.pid].append(index)
    rng = random.Random(seed)
    chosen = {rng.choice(by_pid[pid]) for pid in sorted(by_pid)}
    query = [ImageRecord(r.path, r.pid, QUERY_CAMID) for i, r in enumerate(test) if i not in chosen]
    gallery = [ImageRecord(r.path, r.pid, GALLERY_CAMID) for i, r in enumerate(test) if i in chosen]
    return query, gallery


def load_vehicleid(root: str | Path, test_size: str = "small", seed: int = 0) -> ReIDDataset:
    """Parse VehicleID with the small/medium/large test list (800/1,600/2,400 ids); `seed` picks the draw."""
    if test_size not in TEST_LISTS:
        raise ConfigError(f"unknown vehicleid test_size {test_size!r}; valid: {', '.join(TEST_LISTS)}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"vehicleid seed must be an integer, got {seed!r}")
    lists = ("train_test_split/train_list.txt", f"train_test_split/{TEST_LISTS[test_size]}")
    root = resolve_root(root, TITLE, LAYOUT)
    base = find_layout(root, CANDIDATES, ("image", *lists), TITLE, LAYOUT, markers=("train_test_split",))
    train = _read_list(base / lists[0], base / "image")
    query, gallery = draw_gallery(_read_list(base / lists[1], base / "image"), seed)
    return ReIDDataset(f"vehicleid-{test_size}", base, relabel(train), query, gallery)
