"""Datasets (layouts on disk -> ImageRecords), multi-source sets, the P x K sampler, transforms, loaders."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from finereid.data.datasets.cuhk03 import load_cuhk03
from finereid.data.datasets.dukemtmc import load_dukemtmc
from finereid.data.datasets.folder import load_folder
from finereid.data.datasets.market1501 import load_market1501
from finereid.data.datasets.msmt17 import load_msmt17
from finereid.data.datasets.occluded_duke import load_occluded_duke
from finereid.data.datasets.vehicleid import load_vehicleid
from finereid.data.datasets.veri import load_veri
from finereid.data.image_dataset import ImageDataset, UnreadableImageError, read_image
from finereid.data.loaders import ReIDCollate, SeededIndexSampler, build_test_loader, build_train_loader
from finereid.data.multi_source import SourcePart, camera_offsets, combine_sources, shift, sources_table
from finereid.data.records import ImageRecord, ReIDDataset, relabel
from finereid.data.sampler import RandomIdentitySampler
from finereid.data.subset import subsample_identities, subsample_images
from finereid.data.transforms import AUTO_AUGMENTS, IMAGENET_MEAN, IMAGENET_STD, RandomPatch, build_transforms
from finereid.errors import ConfigError, unknown_name_error

DATASETS: dict[str, Callable[..., ReIDDataset]] = {
    "market1501": load_market1501,
    "dukemtmc": load_dukemtmc,
    "occluded_duke": load_occluded_duke,
    "cuhk03": load_cuhk03,
    "msmt17": load_msmt17,
    "veri": load_veri,
    "vehicleid": load_vehicleid,
    "folder": load_folder,
}


def dataset_options(name: str) -> list[str]:
    """The keyword options a dataset accepts besides root."""
    if name not in DATASETS:
        raise unknown_name_error("dataset", name, DATASETS)
    return [p for p in inspect.signature(DATASETS[name]).parameters if p != "root"]


def build_dataset(name: str, root: str | Path, **options: Any) -> ReIDDataset:
    """Parse dataset `name` under `root`; unknown names or options give a one-line ConfigError."""
    valid = dataset_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(
            f"dataset {name!r} takes no option {', '.join(unknown)}; "
            f"its options: {', '.join(valid) or 'none'}"
        )
    return DATASETS[name](root, **options)


__all__ = [
    "AUTO_AUGMENTS",
    "DATASETS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageDataset",
    "ImageRecord",
    "RandomIdentitySampler",
    "RandomPatch",
    "ReIDCollate",
    "ReIDDataset",
    "SeededIndexSampler",
    "SourcePart",
    "UnreadableImageError",
    "build_dataset",
    "build_test_loader",
    "build_train_loader",
    "build_transforms",
    "camera_offsets",
    "combine_sources",
    "dataset_options",
    "read_image",
    "relabel",
    "shift",
    "sources_table",
    "subsample_identities",
    "subsample_images",
]
