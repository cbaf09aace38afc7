"""Feature files: embeddings of a folder of images or a dataset split as `.npz` (no pickled objects)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from finereid.errors import ConfigError, DatasetError, FinereidError
from finereid.evaluation import LoadedModel, extract_features

logger = logging.getLogger(__name__)

EVAL_SPLITS = ("query", "gallery")


@dataclass
class FeatureSet:
    """Features [N, D] float32 with their image paths; pids/camids/splits when the source knows them."""

    features: np.ndarray
    paths: np.ndarray
    pids: np.ndarray | None = None
    camids: np.ndarray | None = None
    splits: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.paths)

    def select(self, mask: np.ndarray) -> FeatureSet:
        """The rows where `mask` is True."""
        pick = lambda a: None if a is None else a[mask]  # noqa: E731
        return replace(
            self,
            features=self.features[mask],
            paths=self.paths[mask],
            pids=pick(self.pids),
            camids=pick(self.camids),
            splits=pick(self.splits),
        )

    def for_role(self, role: str) -> FeatureSet:
        """Rows of split `role` if the file has such rows (a dataset extraction), else all rows."""
        if self.splits is None or not (self.splits == role).any():
            return self
        return self.select(self.splits == role)


def save_features(path: str | Path, features: FeatureSet) -> Path:
    """Write a FeatureSet as `.npz`: features, paths, and pids/camids/splits when known, plus meta JSON."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ConfigError(f"feature file must end in .npz, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "features": np.ascontiguousarray(features.features, dtype=np.float32),
        "paths": np.asarray(features.paths, dtype=str),
        "meta": np.array(json.dumps(features.meta)),
    }
    for key in ("pids", "camids"):
        if getattr(features, key) is not None:
            arrays[key] = np.asarray(getattr(features, key), dtype=np.int64)
    if features.splits is not None:
        arrays["splits"] = np.asarray(features.splits, dtype=str)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    logger.info("wrote %d features of dimension %d to %s", *features.features.shape, path)
    return path


def load_features(path: str | Path) -> FeatureSet:
    """Read a feature file written by `save_features` (allow_pickle=False)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "features" not in data or "paths" not in data:
                raise FinereidError(
                    f"{path} is not a finereid feature file (needs arrays features and paths)"
                )
            get = lambda k: data.get(k)  # noqa: E731
            fs = FeatureSet(
                data["features"].astype(np.float32, copy=False),
                data["paths"].astype(str),
                get("pids"),
                get("camids"),
                get("splits"),
                json.loads(str(data["meta"])) if "meta" in data else {},
            )
    except (OSError, ValueError) as exc:
        raise FinereidError(f"cannot read feature file {path}: {exc}") from None
    if fs.features.ndim != 2 or len(fs.features) != len(fs.paths):
        raise FinereidError(f"{path}: features {fs.features.shape} do not match {len(fs.paths)} paths")
    return fs


def collect_images(root: str | Path) -> tuple[list[str], int]:
    """Image files under `root` (recursive, sorted) and the number of non-image files skipped."""
    from finereid.data.datasets.common import IMAGE_EXTENSIONS

    root = Path(root)
    if root.is_file():
        if root.suffix.lower() not in IMAGE_EXTENSIONS:
            raise DatasetError(f"{root} is not an image ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        return [str(root)], 0
    if not root.is_dir():
        raise DatasetError(f"image folder not found: {root}")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    images = [str(p) for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    skipped = len(files) - len(images)
    if skipped:
        logger.warning("skipped %d non-image file(s) under %s", skipped, root)
    if not images:
        raise DatasetError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {root}")
    return images, skipped


def dataset_records(
    spec: str, splits: Sequence[str] = EVAL_SPLITS, options: dict[str, Any] | None = None
) -> tuple[list, list[str]]:
    """Records and their split names for a `NAME:ROOT` dataset spec (e.g. market1501:/data/Market-1501)."""
    from finereid.data import DATASETS, build_dataset

    name, _, root = spec.partition(":")
    if name not in DATASETS or not root:
        raise ConfigError(
            f"{spec!r} is neither a folder, an image, a .npz file nor NAME:ROOT with NAME one of "
            f"{', '.join(sorted(DATASETS))}"
        )
    dataset = build_dataset(name, root, **(options or {}))
    records, names = [], []
    for split in splits:
        if split not in ("train", *EVAL_SPLITS):
            raise ConfigError(f"unknown split {split!r}; valid: train, query, gallery")
        records += getattr(dataset, split)
        names += [split] * len(getattr(dataset, split))
    return records, names


def source_records(
    source: str | Path, splits: Sequence[str] = EVAL_SPLITS, dataset_options: dict[str, Any] | None = None
) -> tuple[list, list[str] | None, int]:
    """Records of an image, a folder (recursive) or the `splits` of a `NAME:ROOT` dataset, in a fixed order.

    Also each record's split name (datasets only, else None) and the number of non-image files skipped.
    """
    from finereid.data import ImageRecord

    text = str(source)
    if Path(text).exists():
        paths, non_images = collect_images(text)
        return [ImageRecord(p, -1, -1) for p in paths], None, non_images
    records, split_names = dataset_records(text, splits, dataset_options)
    return records, split_names, 0


def feature_set(
    records: Sequence[Any],
    split_names: Sequence[str] | None,
    feats: np.ndarray,
    kept: Sequence[int],
    meta: dict[str, Any],
) -> FeatureSet:
    """The FeatureSet of the readable records `kept` (their features `feats`); ids and splits for datasets."""
    kept_records = [records[i] for i in kept]
    labelled = split_names is not None
    return FeatureSet(
        features=feats,
        paths=np.array([r.path for r in kept_records], dtype=str),
        pids=np.array([r.pid for r in kept_records], dtype=np.int64) if labelled else None,
        camids=np.array([r.camid for r in kept_records], dtype=np.int64) if labelled else None,
        splits=np.array([split_names[i] for i in kept], dtype=str) if labelled else None,
        meta={**meta, "num_images": len(kept), "num_unreadable": len(records) - len(kept)},
    )


def embed_source(
    source: str | Path,
    loaded: LoadedModel,
    splits: Sequence[str] = EVAL_SPLITS,
    dataset_options: dict[str, Any] | None = None,
    **extract_kwargs: Any,
) -> FeatureSet:
    """Embed an image, a folder of images (recursive) or the `splits` of a `NAME:ROOT` dataset.

    Pids/camids/splits are kept only for datasets.
    """
    records, split_names, non_images = source_records(source, splits, dataset_options)
    feats, kept = extract_features(loaded.model, records, loaded.height, loaded.width, **extract_kwargs)
    return feature_set(
        records, split_names, feats, kept, source_meta(loaded, source, non_images, extract_kwargs)
    )


def source_meta(
    loaded: LoadedModel, source: str | Path, non_images: int, extract_kwargs: dict[str, Any]
) -> dict[str, Any]:
    """What a feature file records about how it was made: the model's summary, source, flip, skips."""
    flip = bool(extract_kwargs.get("flip", False))
    return {**loaded.describe(), "source": str(source), "flip": flip, "num_non_image_files": non_images}


def features_from_source(
    source: str | Path, role: str, get_model: Callable[[], Any], **extract_kwargs: Any
) -> FeatureSet:
    """Features for a search side: a `.npz` feature file (its `role` split if it has splits), or images.

    `role` is "query" or "gallery"; `get_model()` returns a `LoadedModel`, called only to embed images.
    """
    path = Path(str(source))
    if path.suffix == ".npz":
        if not path.is_file():
            raise FinereidError(f"feature file not found: {path}")
        return load_features(path).for_role(role)
    return embed_source(source, get_model(), (role,), **extract_kwargs)
