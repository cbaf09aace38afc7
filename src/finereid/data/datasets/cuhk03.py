"""CUHK03 (Li et al., CVPR 2014), new 767/700 protocol (Zhong et al., CVPR 2017), CUHK03-NP layout."""

from __future__ import annotations

import re
from pathlib import Path

from finereid.data.datasets.common import find_layout, load_split_folders, resolve_root
from finereid.data.records import ReIDDataset
from finereid.errors import ConfigError

TITLE = "CUHK03-NP"
VARIANTS = ("labeled", "detected")
SPLIT_DIRS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
LAYOUT = "ROOT/cuhk03-np/{labeled,detected}/{bounding_box_train,bounding_box_test,query}/PPPP_cC_N.png"
CANDIDATES = ("cuhk03-np", "", "cuhk03/cuhk03-np")
PATTERN = re.compile(r"(?P<pid>-?\d+)_c(?P<cam>\d+)_\d+")
EXAMPLE = "0001_c1_1.png"


def load_cuhk03(root: str | Path, variant: str = "detected") -> ReIDDataset:
    """Parse the labeled or detected boxes of CUHK03-NP; train pids relabelled."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown cuhk03 variant {variant!r}; valid: {', '.join(VARIANTS)}")
    required = tuple(f"{variant}/{d}" for d in SPLIT_DIRS.values())
    root = resolve_root(root, TITLE, LAYOUT)
    base = find_layout(root, CANDIDATES, required, TITLE, LAYOUT, markers=VARIANTS) / variant
    return load_split_folders(f"cuhk03-{variant}", base, SPLIT_DIRS, PATTERN, TITLE, EXAMPLE)
