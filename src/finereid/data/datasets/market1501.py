"""Market-1501 (Zheng et al., ICCV 2015): 1,501 identities from 6 cameras."""

from __future__ import annotations

import re
from pathlib import Path

from finereid.data.datasets.common import find_layout, load_split_folders, resolve_root
from finereid.data.records import ReIDDataset

TITLE = "Market-1501"
SPLIT_DIRS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
LAYOUT = "ROOT[/Market-1501-v15.09.15]/{bounding_box_train,bounding_box_test,query}/PPPP_cCsS_FFFFFF_BB.jpg"
CANDIDATES = ("", "Market-1501-v15.09.15", "market1501", "market1501/Market-1501-v15.09.15")
# pid -1 marks junk boxes (dropped from every split), pid 0 distractors (kept: gallery negatives).
PATTERN = re.compile(r"(?P<pid>-?\d+)_c(?P<cam>\d+)s\d+_\d+")
EXAMPLE = "0002_c1s1_000451_03.jpg"


def load_market1501(root: str | Path) -> ReIDDataset:
    """Parse Market-1501 as downloaded; train pids relabelled, junk (pid -1) dropped."""
    root = resolve_root(root, TITLE, LAYOUT)
    base = find_layout(root, CANDIDATES, tuple(SPLIT_DIRS.values()), TITLE, LAYOUT)
    return load_split_folders("market1501", base, SPLIT_DIRS, PATTERN, TITLE, EXAMPLE)
