"""Where each picture shows the detail that tells its identity from its look-alikes (`data synth --masks`).

The members of a look-alike group differ in one fine attribute. The detail mask of a picture is the set
of its pixels that change when the identity is swapped for another member of its group, through the same
camera and shot (pose, place, occluder): in the picture's own coordinates, after the camera transform.
A detail the view hides (a logo seen from behind) gives an empty mask. The sidecar files are

    ROOT/masks/<split folder>/<image stem>.png   8-bit mask of the picture's size, 255 = detail
    ROOT/masks/<split folder>.json               per image name: pid, attribute, bounding box, area

and nothing else in the dataset changes: the images and attributes.json stay byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from finereid.errors import DatasetError
from finereid.synth.attributes import Appearance
from finereid.synth.camera import SUPERSAMPLE, Camera, Shot

MASKS_DIR = "masks"
BLUR_LIMIT = 0.05  # the camera blurs above this radius; its masks then grow by one pixel


def detail_mask(
    camera: Camera, person: Appearance, lookalikes: Sequence[Appearance], shot: Shot
) -> np.ndarray:
    """Bool [H, W]: pixels of `person`'s picture that differ from any look-alike's under the same shot.

    Compared before optics and noise at the supersampled size; an output pixel is in the mask when any of
    its sub-pixels changed, and one pixel more around it when the camera blurs.
    """
    base = np.asarray(camera.compose(person, shot))
    changed = np.zeros(base.shape[:2], dtype=bool)
    for other in lookalikes:
        changed |= np.any(np.asarray(camera.compose(other, shot)) != base, axis=2)
    mask = changed.reshape(camera.height, SUPERSAMPLE, camera.width, SUPERSAMPLE).any(axis=(1, 3))
    if camera.profile.blur > BLUR_LIMIT:
        grown = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(3))
        mask = np.asarray(grown) > 0
    return mask


def _bbox(mask: np.ndarray) -> list[int] | None:
    """[x0, y0, x1, y1) of the mask's pixels, None when it is empty."""
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1] if xs.size else None


class MaskWriter:
    """Writes the detail mask of every pictured identity (pid > 0) and one JSON index per split folder."""

    def __init__(self, out: Path, split_dirs: Sequence[str], groups: Sequence[tuple[str, list[int], str]],
                 people: dict[int, Appearance]) -> None:  # fmt: skip
        self.root = Path(out) / MASKS_DIR
        self.lookalikes = {
            pid: [people[o] for o in pids if o != pid] for _, pids, _ in groups for pid in pids
        }
        self.attribute = {pid: attribute for _, pids, attribute in groups for pid in pids}
        self.index: dict[str, dict[str, dict]] = {folder: {} for folder in split_dirs}
        for folder in split_dirs:
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def add(self, folder: str, name: str, pid: int, person: Appearance | None, shot: Shot,
            camera: Camera) -> None:  # fmt: skip
        """Mask one written picture (`folder`/`name`); pictures of no identity or of no group are skipped."""
        if person is None or pid not in self.lookalikes:
            return
        mask = detail_mask(camera, person, self.lookalikes[pid], shot)
        Image.fromarray(mask.astype(np.uint8) * 255).save(self.root / folder / f"{Path(name).stem}.png")
        self.index[folder][name] = {"pid": pid, "attribute": self.attribute[pid], "bbox": _bbox(mask),
                                    "area": int(mask.sum())}  # fmt: skip

    def close(self) -> None:
        """Write the per-split JSON indexes."""
        for folder, entries in self.index.items():
            text = json.dumps({"images": entries}, indent=0, sort_keys=True)
            (self.root / f"{folder}.json").write_text(text + "\n", encoding="utf-8")


def mask_path(image: str | Path) -> Path:
    """Where the detail mask of a dataset picture ROOT/<split folder>/<name> lives."""
    image = Path(image)
    return image.parent.parent / MASKS_DIR / image.parent.name / f"{image.stem}.png"


def read_detail_mask(image: str | Path) -> np.ndarray | None:
    """Bool [H, W] detail mask of a dataset picture; None when it has none (a distractor, no --masks)."""
    path = mask_path(image)
    if not path.is_file():
        return None
    try:
        with Image.open(path) as mask:
            return np.asarray(mask.convert("L")) > 127
    except OSError as exc:
        raise DatasetError(f"cannot read detail mask {path}: {exc}") from None


def has_masks(root: str | Path) -> bool:
    """True when a synthetic dataset was written with --masks."""
    return (Path(root) / MASKS_DIR).is_dir()
