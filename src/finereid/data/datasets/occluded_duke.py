"""Occluded-DukeMTMC (Miao et al., ICCV 2019): DukeMTMC-reID re-split so that every query is occluded."""

from __future__ import annotations

from pathlib import Path

from finereid.data.datasets.common import find_layout, load_split_folders, resolve_root
from finereid.data.datasets.dukemtmc import EXAMPLE, PATTERN, SPLIT_DIRS
from finereid.data.records import ReIDDataset

TITLE = "Occluded-DukeMTMC"
# The official convert_duke_to_occduke.py writes Duke's folder layout and file names into Occluded_Duke/.
LAYOUT = "ROOT[/Occluded_Duke]/{bounding_box_train,bounding_box_test,query}/PPPP_cC_fFFFFFFF.jpg"
CANDIDATES = ("Occluded_Duke", "", "occluded_duke/Occluded_Duke")


def load_occluded_duke(root: str | Path) -> ReIDDataset:
    """Parse Occluded-DukeMTMC with the DukeMTMC-reID name pattern; train pids relabelled."""
    root = resolve_root(root, TITLE, LAYOUT)
    base = find_layout(root, CANDIDATES, tuple(SPLIT_DIRS.values()), TITLE, LAYOUT)
    return load_split_folders("occluded_duke", base, SPLIT_DIRS, PATTERN, TITLE, EXAMPLE)
