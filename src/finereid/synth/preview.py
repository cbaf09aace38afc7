"""A picture of a generated dataset: one row per look-alike group, a few images of each member."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

from finereid.errors import DatasetError
from finereid.synth.generate import MANIFEST, SPLIT_DIRS

_LABEL_H = 14
_GAP = 10


def _member_images(root: Path, pid: int, count: int) -> list[Path]:
    """Up to `count` images of `pid`, taking one camera after another so the views vary."""
    files = sorted(p for sub in SPLIT_DIRS.values() for p in (root / sub).glob(f"{pid:04d}_c*.jpg"))
    by_cam: dict[str, list[Path]] = {}
    for f in files:
        by_cam.setdefault(f.name.split("_")[1][:2], []).append(f)
    picked: list[Path] = []
    while len(picked) < count and any(by_cam.values()):
        for cam in sorted(by_cam):
            if by_cam[cam] and len(picked) < count:
                picked.append(by_cam[cam].pop(0))
    return picked


def pick_groups(groups: list[dict], count: int) -> list[dict]:
    """The first group of each kind of difference, then the others in order; `count` of them."""
    firsts: dict[str, dict] = {}
    for group in groups:
        firsts.setdefault(group["differs_in"], group)
    picked = list(firsts.values())
    return (picked + [g for g in groups if g not in picked])[:count]


def read_manifest(root: str | Path) -> dict:
    """The attributes.json of a dataset written by `generate_dataset` (a one-line DatasetError if none)."""
    path = Path(root) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from None


def lookalike_grid(root: str | Path, num_groups: int = 6, per_member: int = 3) -> Image.Image:
    """Grid of `num_groups` look-alike groups of a dataset written by `generate_dataset`.

    The first group of each kind of difference (shoes, bag, ...) comes first, so the grid shows them all.
    """
    root = Path(root)
    manifest = read_manifest(root)
    groups = pick_groups(manifest["groups"], num_groups)
    height, width = manifest["summary"]["image_size"]
    max_members = max(len(g["pids"]) for g in groups)
    cols = max_members * per_member
    grid = Image.new(
        "RGB", (cols * width + (max_members - 1) * _GAP, len(groups) * (height + _LABEL_H)), "white"
    )
    draw = ImageDraw.Draw(grid)
    for row, group in enumerate(groups):
        y = row * (height + _LABEL_H)
        for m, pid in enumerate(group["pids"]):
            x0 = m * (per_member * width + _GAP)
            value = manifest["identities"][f"{pid:04d}"][group["differs_in"]]
            draw.text((x0 + 2, y + 1), f"pid {pid}: {group['differs_in']}={value}", fill="black")
            for k, path in enumerate(_member_images(root, pid, per_member)):
                with Image.open(path) as tile:
                    grid.paste(tile.convert("RGB"), (x0 + k * width, y + _LABEL_H))
    return grid
