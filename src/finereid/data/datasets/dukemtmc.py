"""DukeMTMC-reID (Zheng et al., ICCV 2017; from Ristani et al., ECCVW 2016): 8 cameras."""

from __future__ import annotations

import re
from pathlib import Path

from finereid.data.datasets.common import find_layout, load_split_folders, resolve_root
from finereid.data.records import ReIDDataset

TITLE = "DukeMTMC-reID"
SPLIT_DIRS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
LAYOUT = "ROOT/DukeMTMC-reID/{bounding_box_train,bounding_box_test,query}/PPPP_cC_fFFFFFFF.jpg"
CANDIDATES = ("DukeMTMC-reID", "", "dukemtmc-reid/DukeMTMC-reID", "dukemtmc/DukeMTMC-reID")
PATTERN = re.compile(r"(?P<pid>-?\d+)_c(?P<cam>\d+)_f?\d+")
EXAMPLE = "0001_c2_f0046182.jpg"


def load_dukemtmc(root: str | Path) -> ReIDDataset:
    """Parse DukeMTMC-reID as downloaded; train pids relabelled."""
    root = resolve_root(root, TITLE, LAYOUT)
    base = find_layout(root, CANDIDATES, tuple(SPLIT_DIRS.values()), TITLE, LAYOUT)
    return load_split_folders("dukemtmc", base, SPLIT_DIRS, PATTERN, TITLE, EXAMPLE)
