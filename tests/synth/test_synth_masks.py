"""Detail masks (`data synth --masks`): they cover what tells look-alikes apart, and change nothing else."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from synth_helpers import PLAIN, SMALL

from finereid.commands import data_synth
from finereid.synth import (
    MASKS_DIR,
    SPLIT_DIRS,
    Camera,
    detail_mask,
    generate_dataset,
    plan_dataset,
    read_detail_mask,
    sample_cameras,
    sample_shot,
)
from finereid.synth.attributes import FINE_VALUES, allowed_values
from finereid.synth.masks import mask_path

# A rendered pixel that changes by more than this (of 255) between two look-alikes must be in the mask;
# smaller changes are the far tails of the camera's blur.
VISIBLE_CHANGE = 8
PLAN_ARGS = {k: SMALL[k] for k in ("num_ids", "num_cameras", "seed", "images_per_id", "num_distractors")}


@pytest.fixture(scope="module")
def masked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small session dataset written again, with masks."""
    root = tmp_path_factory.mktemp("masked") / "ds"
    generate_dataset(root, masks=True, **SMALL)
    return root


def _digests(root: Path) -> dict[str, str]:
    files = (p for p in sorted(root.rglob("*")) if p.is_file() and MASKS_DIR not in p.relative_to(root).parts)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _changed(camera: Camera, a, b, shot) -> np.ndarray:
    """Pixels whose rendered value differs by more than VISIBLE_CHANGE between `a` and `b` (same noise)."""
    pa = np.asarray(camera.render(a, shot, np.random.default_rng(3)), dtype=int)
    pb = np.asarray(camera.render(b, shot, np.random.default_rng(3)), dtype=int)
    return np.abs(pa - pb).max(axis=2) > VISIBLE_CHANGE


def test_masks_leave_the_dataset_byte_identical(synth_dataset: tuple[Path, dict], masked: Path) -> None:
    assert _digests(masked) == _digests(synth_dataset[0])
    assert not (synth_dataset[0] / MASKS_DIR).exists()  # opt-in only


def test_written_masks_cover_what_differs_from_the_lookalikes(masked: Path) -> None:
    cams, groups, people, plan = plan_dataset(**PLAN_ARGS)
    cameras = {c.camid: Camera(c, SMALL["image_size"]) for c in cams}
    members = {pid: pids for _, pids, _ in groups for pid in pids}
    checked = 0
    for item in plan:
        path = masked / SPLIT_DIRS[item.split] / item.name
        mask = read_detail_mask(path)
        if item.pid == 0:
            assert mask is None  # distractors belong to no group
            continue
        assert mask is not None and mask.shape == SMALL["image_size"]
        changed = np.zeros_like(mask)
        for other in members[item.pid]:
            if other != item.pid:
                changed |= _changed(cameras[item.camid], item.person, people[other], item.shot)
        assert not (changed & ~mask).any(), item.name
        assert mask.sum() <= 3 * changed.sum() + 2 * mask.shape[1], item.name  # no blanket masks
        checked += bool(changed.any())
    assert checked > len(plan) // 2


def test_mask_index_lists_every_mask_with_its_box(masked: Path) -> None:
    manifest = json.loads((masked / "attributes.json").read_text())
    for folder in SPLIT_DIRS.values():
        index = json.loads((masked / MASKS_DIR / f"{folder}.json").read_text())["images"]
        names = sorted(p.name for p in (masked / folder).glob("*.jpg") if not p.name.startswith("0000"))
        assert sorted(index) == names
        for name, entry in index.items():
            mask = read_detail_mask(masked / folder / name)
            assert entry["area"] == int(mask.sum())
            assert (
                entry["attribute"]
                == manifest["groups"][manifest["identities"][name[:4]]["group"]]["differs_in"]
            )
            if entry["bbox"] is None:
                assert entry["area"] == 0
            else:
                x0, y0, x1, y1 = entry["bbox"]
                assert mask[y0:y1, x0:x1].sum() == entry["area"]
                assert mask[y0, x0:x1].any() and mask[y1 - 1, x0:x1].any()


@pytest.mark.parametrize("attribute", sorted(FINE_VALUES))
def test_each_kind_of_detail_is_masked_where_it_is_drawn(attribute: str) -> None:
    camera = Camera(sample_cameras(1, np.random.default_rng(4))[0], (128, 64))
    values = [v for v in allowed_values(attribute, PLAIN) if v != getattr(PLAIN, attribute)]
    other = PLAIN.__class__(**{**PLAIN.as_dict(), attribute: values[0]})
    for view in ("front", "right"):
        shot = sample_shot(camera.profile, np.random.default_rng(5), view=view)
        mask = detail_mask(camera, PLAIN, [other], shot)
        changed = _changed(camera, PLAIN, other, shot)
        assert not (changed & ~mask).any()
        if changed.any():
            assert 0 < mask.mean() < 0.25  # a detail, not the person


def test_an_identical_lookalike_gives_an_empty_mask() -> None:
    camera = Camera(sample_cameras(1, np.random.default_rng(0))[0], (64, 32))
    shot = sample_shot(camera.profile, np.random.default_rng(1))
    assert not detail_mask(camera, PLAIN, [PLAIN], shot).any()


def test_cli_flag_writes_masks(tmp_path: Path) -> None:
    parser = __import__("argparse").ArgumentParser()
    data_synth.add_arguments(parser)
    out = tmp_path / "ds"
    args = parser.parse_args(["--out", str(out), "--ids", "4", "--cameras", "2", "--images-per-id", "4",
                              "--distractors", "1", "--size", "64x32", "--masks"])  # fmt: skip
    assert data_synth.run(args) == 0
    query = sorted((out / "query").glob("*.jpg"))
    assert query and all(mask_path(p).is_file() for p in query)
    # --overwrite removes old masks too, so a dataset redrawn without --masks has none
    assert data_synth.run(parser.parse_args(["--out", str(out), "--ids", "4", "--overwrite"])) == 0
    assert not (out / MASKS_DIR).exists()
