"""The written dataset: Market-1501 layout and names, splits, counts, manifest, determinism, bad input."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from PIL import Image
from synth_helpers import SMALL

from finereid.errors import ConfigError, DatasetError, FinereidError
from finereid.synth import MANIFEST, SPLIT_DIRS, Appearance, differing_attributes, generate_dataset

# Market-1501 file names: 4-digit pid (0000 = distractor), camera, sequence, 6-digit frame, 2-digit box.
MARKET_NAME = re.compile(r"^(\d{4})_c([1-6])s([1-9])_(\d{6})_(\d{2})\.jpg$")
TINY = {"num_ids": 4, "num_cameras": 2, "images_per_id": 4, "num_distractors": 2, "image_size": (32, 16)}


def _records(root: Path) -> dict[str, list[tuple[int, int, str]]]:
    """split -> [(pid, camid, name)] parsed with the Market regex; fails on any other file name."""
    out: dict[str, list[tuple[int, int, str]]] = {}
    for split, sub in SPLIT_DIRS.items():
        names = sorted(p.name for p in (root / sub).iterdir())
        for name in names:
            assert MARKET_NAME.match(name), name
        out[split] = [(int(n[:4]), int(MARKET_NAME.match(n)[2]), n) for n in names]  # type: ignore[index]
    return out


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_layout_names_and_counts(synth_dataset: tuple[Path, dict]) -> None:
    root, summary = synth_dataset
    assert sorted(p.name for p in root.iterdir()) == sorted([*SPLIT_DIRS.values(), MANIFEST])
    recs = _records(root)
    assert len(recs["train"]) == summary["num_train_images"]
    assert len(recs["query"]) == summary["num_query_images"]
    assert len(recs["gallery"]) == summary["num_gallery_images"]
    assert len({pid for pid, _, _ in recs["train"]}) == summary["num_train_ids"] == 6
    assert len({pid for pid, _, _ in recs["query"]}) == summary["num_test_ids"] == 6
    assert sum(pid == 0 for pid, _, _ in recs["gallery"]) == summary["num_distractors"] == 4
    assert {cam for split in recs.values() for _, cam, _ in split} == {1, 2, 3}
    names = [n for split in recs.values() for _, _, n in split]
    assert len(names) == len(set(names))


def test_splits_follow_the_market_protocol(synth_dataset: tuple[Path, dict]) -> None:
    recs = _records(synth_dataset[0])
    train = {pid for pid, _, _ in recs["train"]}
    query = {pid for pid, _, _ in recs["query"]}
    gallery = {pid for pid, _, _ in recs["gallery"]}
    assert 0 not in train | query  # distractors only in the gallery
    assert not train & (query | gallery)  # train and test identities are disjoint
    assert gallery - {0} == query
    cams_of = defaultdict(set)
    for pid, cam, _ in recs["gallery"]:
        cams_of[pid].add(cam)
    for pid, cam, _ in recs["query"]:  # every query has a true match seen by another camera
        assert cams_of[pid] - {cam}, (pid, cam)
    per_id = defaultdict(list)
    for pid, cam, _ in recs["train"] + recs["query"] + recs["gallery"]:
        per_id[pid].append(cam)
    for pid, cams in per_id.items():
        if pid:
            assert len(set(cams)) >= 2 and 3 <= len(cams) <= 7  # 5 +- 2 images, at least two cameras


def test_images_are_jpegs_of_the_asked_size(synth_dataset: tuple[Path, dict]) -> None:
    for path in itertools.islice((synth_dataset[0] / SPLIT_DIRS["train"]).iterdir(), 10):
        with Image.open(path) as img:
            assert img.format == "JPEG" and img.size == (32, 64) and img.mode == "RGB"


def test_manifest_groups_are_lookalikes_in_one_split(synth_dataset: tuple[Path, dict]) -> None:
    root, summary = synth_dataset
    manifest = json.loads((root / MANIFEST).read_text())
    assert manifest["summary"] == {k: v for k, v in summary.items() if k != "root"}
    recs = _records(root)
    split_of = {pid: "train" for pid, _, _ in recs["train"]}
    split_of.update({pid: "test" for pid, _, _ in recs["query"]})
    people = {int(pid): v for pid, v in manifest["identities"].items()}
    assert sorted(people) == list(range(1, 13))
    assert len(manifest["groups"]) == summary["num_groups"]
    for group in manifest["groups"]:
        assert 2 <= len(group["pids"]) <= 3
        assert {split_of[pid] for pid in group["pids"]} == {group["split"]}
        members = [Appearance(**{k: v for k, v in people[pid].items() if k not in ("group", "split")})
                   for pid in group["pids"]]  # fmt: skip
        for a, b in itertools.combinations(members, 2):
            assert differing_attributes(a, b) == [group["differs_in"]]
    assert len(manifest["cameras"]) == 3


def test_same_seed_gives_byte_identical_files(synth_dataset: tuple[Path, dict], tmp_path: Path) -> None:

    again = tmp_path / "again"
    generate_dataset(again, **SMALL)
    assert _digests(again) == _digests(synth_dataset[0])
    other = tmp_path / "other"
    generate_dataset(other, **{**SMALL, "seed": SMALL["seed"] + 1})
    assert set(_digests(other).values()).isdisjoint(_digests(synth_dataset[0]).values())


def test_market1501_parser_reads_it(synth_dataset: tuple[Path, dict]) -> None:
    data = pytest.importorskip("finereid.data")
    root, summary = synth_dataset
    dataset = data.build_dataset("market1501", root)
    assert len(dataset.train) == summary["num_train_images"]
    assert len(dataset.query) == summary["num_query_images"]
    assert len(dataset.gallery) == summary["num_gallery_images"]
    assert len({r.pid for r in dataset.train}) == summary["num_train_ids"]
    assert len({r.pid for r in dataset.query}) == summary["num_test_ids"]
    assert {r.pid for r in dataset.gallery} >= {0}


def test_non_empty_out_needs_overwrite_which_replaces_only_our_files(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not empty; pass --overwrite"):
        generate_dataset(out, **TINY)
    (out / "bounding_box_train").mkdir()
    stale = out / "bounding_box_train" / "9999_c1s1_000001_01.jpg"
    stale.write_bytes(b"old")
    summary = generate_dataset(out, overwrite=True, **TINY)
    assert not stale.exists() and (out / "notes.txt").read_text() == "keep me"
    assert len(list((out / "bounding_box_train").iterdir())) == summary["num_train_images"]
    with pytest.raises(DatasetError, match="not a directory"):
        generate_dataset(tmp_path / "ds" / "notes.txt", **TINY)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"num_ids": 3}, "--ids must be 4"),
        ({"num_ids": 1501}, "--ids must be 4..1500"),
        ({"num_cameras": 1}, "--cameras must be 2..6"),
        ({"num_cameras": 7}, "--cameras must be 2..6"),
        ({"images_per_id": 3}, "--images-per-id must be 4..100"),
        ({"num_distractors": -1}, "--distractors must be 0..20000"),
        ({"num_distractors": 20001}, "--distractors must be 0..20000"),
        ({"image_size": (16, 8)}, "image size must be"),
        ({"seed": -1}, "--seed must be >= 0"),
        ({"queries_per_id": 3}, "queries per id must be 1..2"),
        ({"max_group_size": 6}, "max group size must be 3..5"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path: Path, override: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        generate_dataset(tmp_path / "ds", **{**TINY, **override})
    assert isinstance(info.value, FinereidError) and "\n" not in str(info.value)
    assert not (tmp_path / "ds").exists()  # nothing written before the arguments are checked


def test_smallest_dataset_still_has_lookalikes_in_both_splits(tmp_path: Path) -> None:
    summary = generate_dataset(tmp_path / "ds", **TINY)
    assert summary["num_train_ids"] == summary["num_test_ids"] == 2
    assert summary["num_groups"] == 2
