"""VeRi-776 (Liu et al., ICME 2016 / ECCV 2016): 776 vehicles from 20 cameras."""

from __future__ import annotations

import re
from pathlib import Path

from finereid.data.datasets.common import find_layout, load_split_folders, resolve_root
from finereid.data.records import ReIDDataset

TITLE = "VeRi-776"
SPLIT_DIRS = {"train": "image_train", "query": "image_query", "gallery": "image_test"}
LAYOUT = "ROOT[/VeRi]/{image_train,image_query,image_test}/VVVV_cCCC_FFFFFFFF_N.jpg"
CANDIDATES = ("", "VeRi", "veri", "VeRi-776")
PATTERN = re.compile(r"(?P<pid>-?\d+)_c(?P<cam>\d+)_")
EXAMPLE = "0001_c001_00016450_0.jpg"


def load_veri(root: str | Path) -> ReIDDataset:
    """Parse VeRi-776 as downloaded; train vehicle ids relabelled."""
    root = resolve_root(root, TITLE, LAYOUT)
    base = find_layout(root, CANDIDATES, tuple(SPLIT_DIRS.values()), TITLE, LAYOUT)
    return load_split_folders("veri", base, SPLIT_DIRS, PATTERN, TITLE, EXAMPLE)
