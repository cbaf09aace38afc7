"""Write a synthetic pedestrian dataset in the Market-1501 layout and file naming.

    out/bounding_box_train/  train identities (disjoint from the test identities, as in Market)
    out/query/               test identities, one image from each of up to `queries_per_id` cameras
    out/bounding_box_test/   the other images of the test identities, plus pid-0 distractors
    out/attributes.json      cameras, look-alike groups, each pid's attributes, the summary
    out/masks/               only with masks=True: each picture's detail mask (`finereid.synth.masks`)

File names are `PPPP_cCsS_FFFFFF_BB.jpg` (pid, camera, sequence, frame, box index). Every random draw
comes from a numpy generator keyed on (seed, purpose, ...), so one seed gives byte-identical files.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from finereid.errors import ConfigError, DatasetError
from finereid.synth.attributes import Appearance, partition_sizes, sample_appearance, sample_groups
from finereid.synth.camera import Camera, CameraProfile, Shot, sample_cameras, sample_shot
from finereid.synth.masks import MASKS_DIR, MaskWriter

logger = logging.getLogger(__name__)

SPLIT_DIRS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
MANIFEST = "attributes.json"
MAX_CAMERAS = 6  # Market-1501 has cameras c1..c6, and Market parsers check that range
MAX_IDS = 1500  # Market-1501 pids are 1..1501
MAX_DISTRACTORS = 20000  # their frame numbers must fit Market's six digits


@dataclass(frozen=True)
class PlannedImage:
    """One file to write: who (None = empty scene), through which camera, into which split."""

    split: str
    pid: int
    camid: int
    seq: int
    frame: int
    person: Appearance | None
    shot: Shot

    @property
    def name(self) -> str:
        return f"{self.pid:04d}_c{self.camid}s{self.seq}_{self.frame:06d}_01.jpg"


def _check_args(
    num_ids: int,
    num_cameras: int,
    images_per_id: int,
    num_distractors: int,
    image_size: tuple[int, int],
    queries_per_id: int,
    max_group_size: int,
) -> None:
    """Reject values the generator cannot honour, with a one-line ConfigError."""
    if not 4 <= num_ids <= MAX_IDS:
        raise ConfigError(
            f"--ids must be 4..{MAX_IDS} (train and test each need a look-alike group of 2), got {num_ids}"
        )
    if not 2 <= num_cameras <= MAX_CAMERAS:
        raise ConfigError(
            f"--cameras must be 2..{MAX_CAMERAS} (Market-1501 naming has cameras c1..c6), got {num_cameras}"
        )
    if not 4 <= images_per_id <= 100:
        raise ConfigError(f"--images-per-id must be 4..100 (two cameras x two images), got {images_per_id}")
    if not 0 <= num_distractors <= MAX_DISTRACTORS:
        raise ConfigError(f"--distractors must be 0..{MAX_DISTRACTORS}, got {num_distractors}")
    height, width = image_size
    if not (32 <= height <= 512 and 16 <= width <= 256):
        raise ConfigError(f"image size must be 32..512 high and 16..256 wide, got {height}x{width}")
    if not 1 <= queries_per_id <= num_cameras:
        raise ConfigError(f"queries per id must be 1..{num_cameras}, got {queries_per_id}")
    if not 3 <= max_group_size <= 5:
        raise ConfigError(f"max group size must be 3..5, got {max_group_size}")


def _prepare_out(out: Path, overwrite: bool) -> None:
    """Create `out`; refuse a non-empty one unless `overwrite`, which removes only our own outputs."""
    if out.exists() and not out.is_dir():
        raise DatasetError(f"output path {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise DatasetError(f"output directory {out} is not empty; pass --overwrite to replace it")
        for sub in SPLIT_DIRS.values():
            shutil.rmtree(out / sub, ignore_errors=True)
        (out / MANIFEST).unlink(missing_ok=True)
        shutil.rmtree(out / MASKS_DIR, ignore_errors=True)
    for sub in SPLIT_DIRS.values():
        (out / sub).mkdir(parents=True, exist_ok=True)


def _plan_identity(
    pid: int,
    person: Appearance,
    test: bool,
    cams: list[CameraProfile],
    images_per_id: int,
    queries_per_id: int,
    rng: np.random.Generator,
) -> list[PlannedImage]:
    """Tracklets of one identity in 2..4 cameras (>= 2 images each); test ids give some to the query."""
    n = int(rng.integers(max(4, images_per_id - 2), images_per_id + 3))
    k = int(rng.integers(2, min(len(cams), n // 2, 4) + 1))
    chosen = sorted(int(c) for c in rng.choice(len(cams), size=k, replace=False))
    counts = 2 + rng.multinomial(n - 2 * k, [1 / k] * k)
    query_cams = set(chosen[i] for i in rng.choice(k, size=min(queries_per_id, k), replace=False))
    images = []
    for cam_index, count in zip(chosen, counts, strict=True):
        cam = cams[cam_index]
        first = sample_shot(cam, rng)  # the tracklet keeps its view and distance to the camera
        seq, frame = int(rng.integers(1, 7)), int(rng.integers(1, 200000))
        query_at = int(rng.integers(count)) if cam_index in query_cams else -1
        for i in range(int(count)):
            shot = first if i == 0 else sample_shot(cam, rng, view=first.view, scale=first.scale)
            split = ("query" if i == query_at else "gallery") if test else "train"
            images.append(PlannedImage(split, pid, cam.camid, seq, frame, person, shot))
            frame += int(rng.integers(3, 40))
    return images


def _plan_distractors(count: int, cams: list[CameraProfile], rng: np.random.Generator) -> list[PlannedImage]:
    """pid-0 gallery images: strangers, body fragments (too close or cut off) and empty scenes."""
    images = []
    for i in range(count):
        cam = cams[int(rng.integers(len(cams)))]
        kind = rng.choice(3, p=[0.5, 0.25, 0.25])
        shot = sample_shot(cam, rng)
        person: Appearance | None = sample_appearance(rng)
        if kind == 1:  # a fragment: much too large, shifted so part of the body is out of frame
            scale, dx, dy = rng.uniform(1.4, 2.0), rng.uniform(-0.3, 0.3), rng.uniform(0.1, 0.6)
            shot = replace(shot, scale=float(scale), dx=float(dx), dy=float(dy))
        elif kind == 2:
            person = None
        frame = 1 + 13 * i + int(rng.integers(13))
        images.append(PlannedImage("gallery", 0, cam.camid, int(rng.integers(1, 7)), frame, person, shot))
    return images


def _manifest(
    groups: list[tuple[str, list[int], str]],
    people: dict[int, Appearance],
    cams: list[CameraProfile],
    summary: dict,
) -> dict:
    """The attributes.json content: summary, cameras, groups and every pid's attributes."""
    group_of = {pid: g for g, (_, pids, _) in enumerate(groups) for pid in pids}
    split_of = {pid: split for split, pids, _ in groups for pid in pids}
    return {
        "summary": summary,
        "cameras": [asdict(c) for c in cams],
        "groups": [
            {"group": g, "split": split, "differs_in": attribute, "pids": pids}
            for g, (split, pids, attribute) in enumerate(groups)
        ],
        "identities": {
            f"{pid:04d}": {"group": group_of[pid], "split": split_of[pid], **a.as_dict()}
            for pid, a in sorted(people.items())
        },
    }


def _plan(
    num_ids: int,
    cams: list[CameraProfile],
    seed: int,
    images_per_id: int,
    num_distractors: int,
    queries_per_id: int,
    max_group_size: int,
) -> tuple[list[tuple[str, list[int], str]], dict[int, Appearance], list[PlannedImage]]:
    """Draw the look-alike groups, give them pids, and plan every image: (groups, people, plan)."""
    num_train = (num_ids + 1) // 2
    rng = np.random.default_rng([seed, 0])
    train_sizes = partition_sizes(num_train, max_group_size, rng)
    test_sizes = partition_sizes(num_ids - num_train, max_group_size, rng)
    lookalikes = sample_groups(train_sizes + test_sizes, rng)
    splits = ["train"] * len(train_sizes) + ["test"] * len(test_sizes)
    plan_rng = np.random.default_rng([seed, 2])
    groups, people, plan = [], {}, []
    for g in rng.permutation(len(lookalikes)):  # interleave train and test pids, as Market does
        pids = list(range(len(people) + 1, len(people) + 1 + len(lookalikes[g].members)))
        groups.append((splits[g], pids, lookalikes[g].attribute))
        for pid, person in zip(pids, lookalikes[g].members, strict=True):
            people[pid] = person
            test = splits[g] == "test"
            plan += _plan_identity(pid, person, test, cams, images_per_id, queries_per_id, plan_rng)
    plan += _plan_distractors(num_distractors, cams, np.random.default_rng([seed, 3]))
    return groups, people, plan


def plan_dataset(
    num_ids: int,
    num_cameras: int,
    seed: int,
    images_per_id: int,
    num_distractors: int,
    queries_per_id: int = 2,
    max_group_size: int = 3,
) -> tuple[list[CameraProfile], list[tuple[str, list[int], str]], dict[int, Appearance], list[PlannedImage]]:
    """What `generate_dataset` draws before rendering: (cameras, groups, people, every planned image)."""
    cams = sample_cameras(num_cameras, np.random.default_rng([seed, 1]))
    groups, people, plan = _plan(
        num_ids, cams, seed, images_per_id, num_distractors, queries_per_id, max_group_size
    )
    return cams, groups, people, plan


def generate_dataset(
    out: str | Path,
    num_ids: int = 250,
    num_cameras: int = 6,
    seed: int = 0,
    images_per_id: int = 10,
    num_distractors: int | None = None,
    image_size: tuple[int, int] = (128, 64),
    queries_per_id: int = 2,
    max_group_size: int = 3,
    overwrite: bool = False,
    masks: bool = False,
) -> dict:
    """Draw and write the dataset; returns a summary of what was written (also in attributes.json).

    Half the identities (rounded up) are train, the rest test; every identity belongs to a look-alike
    group of 2..max_group_size members that lies wholly in one split. Each identity gets
    images_per_id +- 2 images in 2..4 cameras. `num_distractors` pid-0 gallery images default to one
    per test identity. `image_size` is (height, width). `masks` also writes each picture's detail mask
    (`finereid.synth.masks`); the images and attributes.json are the same bytes either way.
    """
    num_distractors = (num_ids // 2) if num_distractors is None else num_distractors
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    _check_args(
        num_ids, num_cameras, images_per_id, num_distractors, image_size, queries_per_id, max_group_size
    )
    out = Path(out)
    _prepare_out(out, overwrite)
    cams, groups, people, plan = plan_dataset(
        num_ids, num_cameras, seed, images_per_id, num_distractors, queries_per_id, max_group_size
    )
    cameras = {c.camid: Camera(c, image_size) for c in cams}
    masker = MaskWriter(out, list(SPLIT_DIRS.values()), groups, people) if masks else None
    for item in plan:
        camera = cameras[item.camid]
        rng = np.random.default_rng([seed, 4, item.pid, item.camid, item.frame])
        camera.render(item.person, item.shot, rng).save(
            out / SPLIT_DIRS[item.split] / item.name, "JPEG", quality=camera.profile.jpeg_quality
        )
        if masker is not None:
            masker.add(SPLIT_DIRS[item.split], item.name, item.pid, item.person, item.shot, camera)
    if masker is not None:
        masker.close()
    counts = {split: sum(1 for p in plan if p.split == split) for split in SPLIT_DIRS}
    summary = {
        "seed": seed,
        "image_size": list(image_size),
        "num_cameras": num_cameras,
        "num_ids": num_ids,
        "num_train_ids": sum(len(pids) for split, pids, _ in groups if split == "train"),
        "num_test_ids": sum(len(pids) for split, pids, _ in groups if split == "test"),
        "num_groups": len(groups),
        "num_train_images": counts["train"],
        "num_query_images": counts["query"],
        "num_gallery_images": counts["gallery"],
        "num_distractors": num_distractors,
    }
    with open(out / MANIFEST, "w", encoding="utf-8") as f:
        json.dump(_manifest(groups, people, cams, summary), f, indent=1)
    logger.info(
        "wrote %d train, %d query and %d gallery images (%d of them pid-0 distractors) to %s",
        *(counts[k] for k in SPLIT_DIRS),
        num_distractors,
        out,
    )
    return {"root": str(out), **summary}
