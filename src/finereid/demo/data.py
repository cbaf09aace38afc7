"""The demo's synthetic dataset: drawn once per settings into a cache folder, then reused.

A dataset counts as complete when its `attributes.json` (written last by the generator) exists and
every split holds the number of images its summary states. Cache folders are written under a
temporary name and renamed when done, so an interrupted run never leaves a half dataset in place.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from finereid.demo.settings import DemoSettings
from finereid.errors import DatasetError, FinereidError

logger = logging.getLogger(__name__)

_SUMMARY_COUNTS = {"train": "num_train_images", "query": "num_query_images", "gallery": "num_gallery_images"}


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/finereid`, else `~/.cache/finereid`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "finereid"


def complete_summary(root: str | Path) -> dict[str, Any] | None:
    """The generator's summary if `root` holds a complete synthetic dataset, else None."""
    from finereid.synth import MANIFEST, SPLIT_DIRS

    root = Path(root)
    try:
        summary = json.loads((root / MANIFEST).read_text(encoding="utf-8"))["summary"]
        expected = {split: int(summary[key]) for split, key in _SUMMARY_COUNTS.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for split, count in expected.items():
        folder = root / SPLIT_DIRS[split]
        if not folder.is_dir() or sum(1 for p in folder.iterdir() if p.suffix == ".jpg") != count:
            return None
    return summary


def prepare_dataset(
    settings: DemoSettings, seed: int, data_dir: str | Path | None = None
) -> tuple[Path, dict]:
    """Return (root, summary) of the demo dataset, drawing it first unless a complete one is there.

    Without `data_dir` the dataset lives in the cache (`synth-<settings hash>`). A given `data_dir`
    is used as it is when it holds a complete synthetic dataset, drawn into when missing or empty,
    and refused otherwise (it is never overwritten).
    """
    if data_dir is None:
        root = default_cache_dir() / f"synth-{settings.dataset_key(seed)}"
        summary = complete_summary(root)
        if summary is None:
            summary = _generate_into_cache(root, settings, seed)
        else:
            logger.info("reusing the synthetic dataset in %s", root)
        return root, summary
    root = Path(data_dir)
    summary = complete_summary(root)
    if summary is not None:
        logger.info("using the synthetic dataset in %s", root)
        _warn_if_different(summary, settings, seed)
        return root, summary
    if root.exists() and not root.is_dir():
        raise DatasetError(f"data folder {root} exists and is not a directory")
    if root.is_dir() and any(root.iterdir()):
        raise DatasetError(
            f"data folder {root} is not empty and holds no complete synthetic dataset; "
            "give a new or empty folder, or leave out --data to use the cache"
        )
    make_writable_dir(root, "data folder")
    return root, _generate(root, settings, seed)


def _generate_into_cache(root: Path, settings: DemoSettings, seed: int) -> dict:
    """Draw into a temporary sibling of `root`, then rename it into place (replacing a stale copy)."""
    make_writable_dir(root.parent, "data folder")
    temp = root.with_name(f"{root.name}.partial-{os.getpid()}")
    shutil.rmtree(temp, ignore_errors=True)
    summary = _generate(temp, settings, seed)
    finished = complete_summary(root)  # another demo may have finished the same dataset meanwhile
    if finished is not None:
        shutil.rmtree(temp, ignore_errors=True)
        return finished
    try:
        shutil.rmtree(root, ignore_errors=True)
        temp.rename(root)
    except OSError as exc:
        raise DatasetError(f"cannot move the synthetic dataset into {root}: {exc.strerror or exc}") from None
    return summary


def _generate(root: Path, settings: DemoSettings, seed: int) -> dict:
    """Run the generator into `root`; file-system failures become one-line DatasetErrors."""
    from finereid.synth import generate_dataset

    logger.info("drawing the synthetic dataset (%s preset, seed %d) into %s", settings.name, seed, root)
    try:
        generate_dataset(root, seed=seed, **settings.dataset)
    except OSError as exc:
        raise DatasetError(f"cannot write the synthetic dataset to {root}: {exc.strerror or exc}") from None
    summary = complete_summary(root)
    if summary is None:
        raise DatasetError(f"the synthetic dataset in {root} is incomplete after generation")
    return summary


def make_writable_dir(folder: Path, what: str, error: type[FinereidError] = DatasetError) -> Path:
    """Create `folder` (and parents) and check that it is writable, or raise a one-line `error`.

    `what` names the folder in the message ("data folder", "report folder").
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(f"cannot create {what} {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise error(f"{what} {folder} is not writable")
    return folder


def _warn_if_different(summary: dict, settings: DemoSettings, seed: int) -> None:
    """Log when a given dataset was drawn with other settings than the preset (timings will differ)."""
    wanted = {"seed": seed, **{k: v for k, v in settings.dataset.items() if k in summary}}
    differing = [k for k, v in wanted.items() if summary.get(k) != (list(v) if isinstance(v, tuple) else v)]
    if differing:
        logger.warning(
            "the dataset was drawn with other settings than the %s preset (%s); its timings do not apply",
            settings.name,
            ", ".join(f"{k}={summary.get(k)}" for k in differing),
        )
