"""Parsers: counts, relabelling, camids and the layouts each dataset is found in."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_fixture_trees import (
    MARKET,
    VEHICLEID,
    make_market,
    make_msmt,
    make_split_tree,
    make_vehicleid,
    write_image,
)

from finereid.data import DATASETS, ImageRecord, ReIDDataset, build_dataset
from finereid.data.datasets.vehicleid import draw_gallery
from finereid.errors import ConfigError, DatasetError

MARKET_DIRS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}


def _pids(records: list[ImageRecord]) -> list[int]:
    return sorted({r.pid for r in records})


@pytest.mark.parametrize("subdir", ["", "Market-1501-v15.09.15", "market1501/Market-1501-v15.09.15"])
def test_market1501_counts_junk_distractors_relabel(tmp_path: Path, subdir: str) -> None:
    ds = build_dataset("market1501", make_market(tmp_path, subdir))
    # junk (pid -1) dropped everywhere; 9 train, 2 query, 6 gallery images remain.
    assert (len(ds.train), len(ds.query), len(ds.gallery)) == (9, 2, 6)
    assert _pids(ds.train) == [0, 1, 2]  # original 2, 7, 9 relabelled in sorted order
    assert _pids(ds.query) == [3, 5]  # original pids kept
    assert _pids(ds.gallery) == [0, 3, 5]  # distractors (pid 0) stay as negatives
    assert ds.num_train_pids == 3
    assert ds.num_train_cams == 6
    assert sorted({r.camid for r in ds.train}) == [0, 1, 2, 3, 4, 5]  # c1..c6 -> 0..5
    assert {r.camid for r in ds.gallery} == {c - 1 for p, c in MARKET["gallery"] if p != -1}


def test_market1501_relabel_follows_sorted_original_pids(tmp_path: Path) -> None:
    ds = build_dataset("market1501", make_market(tmp_path))
    by_name = {Path(r.path).name[:4]: r.pid for r in ds.train}
    assert by_name == {"0002": 0, "0007": 1, "0009": 2}
    first = next(r for r in ds.train if Path(r.path).name == "0007_c4s1_000004_01.jpg")
    assert first == ImageRecord(first.path, 1, 3)  # camera c4 -> camid 3
    assert Path(first.path).is_file()


def test_statistics_table_and_dict(tmp_path: Path) -> None:
    ds = build_dataset("market1501", make_market(tmp_path))
    stats = ds.statistics_dict()
    assert stats["train"] == {"ids": 3, "images": 9, "cameras": 6}
    assert stats["query"] == {"ids": 2, "images": 2, "cameras": 2}
    assert stats["gallery"] == {"ids": 3, "images": 6, "cameras": 5}
    lines = ds.statistics().splitlines()
    assert lines[1].split("|")[0].strip() == "subset" and "# cameras" in lines[1]
    assert [cell.strip() for cell in lines[3].split("|")] == ["train", "3", "9", "6"]
    assert [cell.strip() for cell in lines[5].split("|")] == ["gallery", "3", "6", "5"]


def test_dukemtmc(tmp_path: Path) -> None:
    names = {
        "train": ["0005_c2_f0046182.jpg", "0005_c8_f0046999.jpg", "0001_c1_f0000001.jpg"],
        "query": ["0010_c3_f0001000.jpg"],
        "gallery": ["0010_c4_f0001200.jpg", "0011_c5_f0001300.jpg"],
    }
    make_split_tree(tmp_path / "DukeMTMC-reID", MARKET_DIRS, names)
    ds = build_dataset("dukemtmc", tmp_path)
    assert [(Path(r.path).name[:4], r.pid, r.camid) for r in ds.train] == [
        ("0001", 0, 0),
        ("0005", 1, 1),
        ("0005", 1, 7),
    ]
    assert _pids(ds.gallery) == [10, 11] and ds.query[0].camid == 2


@pytest.mark.parametrize("variant", ["labeled", "detected"])
def test_cuhk03_variants(tmp_path: Path, variant: str) -> None:
    for v, n in (("labeled", 2), ("detected", 3)):  # different train sizes tell the variants apart
        names = {
            "train": [f"{pid:04d}_c{1 + k % 2}_{k}.png" for k, pid in enumerate([4, 4, 9][:n])],
            "query": ["0100_c1_1.png"],
            "gallery": ["0100_c2_1.png", "0101_c2_2.png"],
        }
        make_split_tree(tmp_path / "cuhk03-np" / v, MARKET_DIRS, names)
    ds = build_dataset("cuhk03", tmp_path, variant=variant)
    assert len(ds.train) == (2 if variant == "labeled" else 3)
    assert ds.name == f"cuhk03-{variant}" and ds.root.endswith(variant)
    assert {r.camid for r in ds.train} == {0, 1} and _pids(ds.query) == [100]


def test_cuhk03_default_variant_and_bad_variant(tmp_path: Path) -> None:
    names = {"train": ["0001_c1_1.png"], "query": ["0002_c1_1.png"], "gallery": ["0002_c2_1.png"]}
    make_split_tree(tmp_path / "cuhk03-np" / "detected", MARKET_DIRS, names)
    assert build_dataset("cuhk03", tmp_path).name == "cuhk03-detected"
    with pytest.raises(ConfigError, match="unknown cuhk03 variant 'both'; valid: labeled, detected"):
        build_dataset("cuhk03", tmp_path, variant="both")
    with pytest.raises(DatasetError, match=r"missing .*cuhk03-np/labeled/bounding_box_train"):
        build_dataset("cuhk03", tmp_path, variant="labeled")


@pytest.mark.parametrize("version", ["MSMT17_V1", "MSMT17_V2"])
def test_msmt17_lists_and_merge_val(tmp_path: Path, version: str) -> None:
    make_msmt(tmp_path, version)
    merged = build_dataset("msmt17", tmp_path)
    plain = build_dataset("msmt17", tmp_path, merge_val=False)
    assert (len(merged.train), len(plain.train)) == (7, 5)
    assert _pids(merged.train) == [0, 1, 2] and merged.num_train_cams == 5
    assert sorted({r.camid for r in merged.train}) == [0, 1, 2, 3, 14]
    assert (len(merged.query), len(merged.gallery)) == (2, 3)
    assert [r.camid for r in merged.query] == [0, 4]
    train_folder = "train" if version == "MSMT17_V1" else "mask_train_v2"
    assert all(f"/{version}/{train_folder}/" in r.path and Path(r.path).is_file() for r in merged.train)


def test_msmt17_root_may_be_the_version_folder(tmp_path: Path) -> None:
    make_msmt(tmp_path)
    assert len(build_dataset("msmt17", tmp_path / "MSMT17_V1").gallery) == 3


def test_veri(tmp_path: Path) -> None:
    names = {
        "train": ["0001_c001_00016450_0.jpg", "0001_c020_00016460_0.jpg", "0003_c002_00000001_1.jpg"],
        "query": ["0002_c003_00000100_0.jpg"],
        "gallery": ["0002_c004_00000100_0.jpg", "0005_c019_00000100_0.jpg"],
    }
    make_split_tree(
        tmp_path / "VeRi", {"train": "image_train", "query": "image_query", "gallery": "image_test"}, names
    )
    ds = build_dataset("veri", tmp_path)
    assert [(r.pid, r.camid) for r in ds.train] == [(0, 0), (0, 19), (1, 1)]
    assert [(r.pid, r.camid) for r in ds.gallery] == [(2, 3), (5, 18)]


@pytest.mark.parametrize("subdir", ["Occluded_Duke", "", "occluded_duke/Occluded_Duke"])
def test_occluded_duke(tmp_path: Path, subdir: str) -> None:
    names = {
        "train": ["0005_c2_f0046182.jpg", "0005_c8_f0046999.jpg", "0001_c1_f0000001.jpg"],
        "query": ["0019_c1_f0051230.jpg", "0019_c6_f0039590.jpg"],
        "gallery": ["0019_c4_f0001200.jpg", "7140_c5_f0001300.jpg"],
    }
    make_split_tree(tmp_path / subdir, MARKET_DIRS, names)
    ds = build_dataset("occluded_duke", tmp_path)
    assert ds.name == "occluded_duke" and Path(ds.root) == tmp_path / subdir
    assert [(Path(r.path).name[:4], r.pid, r.camid) for r in ds.train] == [
        ("0001", 0, 0),
        ("0005", 1, 1),
        ("0005", 1, 7),
    ]
    assert [(r.pid, r.camid) for r in ds.query] == [(19, 0), (19, 5)]
    assert _pids(ds.gallery) == [19, 7140]


def test_occluded_duke_is_not_read_from_a_plain_duke_folder(tmp_path: Path) -> None:
    names = {"train": ["0001_c1_f0000001.jpg"], "query": ["0002_c1_f1.jpg"], "gallery": ["0002_c2_f1.jpg"]}
    make_split_tree(tmp_path / "DukeMTMC-reID", MARKET_DIRS, names)
    make_split_tree(tmp_path / "Occluded_Duke", MARKET_DIRS, {**names, "query": ["0002_c3_f1.jpg"]})
    assert build_dataset("occluded_duke", tmp_path).query[0].camid == 2
    assert build_dataset("dukemtmc", tmp_path).query[0].camid == 0


def _test_images(list_name: str) -> set[tuple[str, int]]:
    return {(f"{vid:04d}{k:03d}.jpg", vid) for vid, n in VEHICLEID[list_name] for k in range(n)}


@pytest.mark.parametrize(
    ("test_size", "list_name"), [("small", "test_list_800.txt"), ("medium", "test_list_1600.txt")]
)
def test_vehicleid_lists_and_gallery_draw(tmp_path: Path, test_size: str, list_name: str) -> None:
    ds = build_dataset("vehicleid", make_vehicleid(tmp_path), test_size=test_size)
    assert ds.name == f"vehicleid-{test_size}" and ds.root.endswith("VehicleID_V1.0")
    # train: vehicles 12 (3 images) and 40 (2 images) relabelled 0, 1; no cameras, so all camid 0
    assert [(Path(r.path).name, r.pid, r.camid) for r in ds.train] == [
        ("0012000.jpg", 0, 0),
        ("0012001.jpg", 0, 0),
        ("0012002.jpg", 0, 0),
        ("0040000.jpg", 1, 0),
        ("0040001.jpg", 1, 0),
    ]
    assert all(Path(r.path).is_file() for r in ds.train + ds.query + ds.gallery)
    # one gallery image per test vehicle (camid 0), every other test image a query (camid 1)
    vids = [vid for vid, _ in VEHICLEID[list_name]]
    assert sorted(r.pid for r in ds.gallery) == vids
    assert {r.camid for r in ds.gallery} == {0} and {r.camid for r in ds.query} == {1}
    assert {(Path(r.path).name, r.pid) for r in ds.query + ds.gallery} == _test_images(list_name)
    assert len(ds.query) == len(_test_images(list_name)) - len(vids)
    assert 9 not in {r.pid for r in ds.query}  # vehicle 9's only image is its gallery image


def test_vehicleid_seed_picks_a_reproducible_draw(tmp_path: Path) -> None:
    make_vehicleid(tmp_path)
    galleries = [
        tuple(r.path for r in build_dataset("vehicleid", tmp_path, seed=s).gallery) for s in range(8)
    ]
    assert galleries[3] == tuple(r.path for r in build_dataset("vehicleid", tmp_path, seed=3).gallery)
    assert len(set(galleries)) > 1  # 12 possible draws: eight seeds giving one draw would be a bug
    default = build_dataset("vehicleid", tmp_path)
    assert tuple(r.path for r in default.gallery) == galleries[0]  # seed 0 is the default


def test_draw_gallery_keeps_order_and_sets_camids() -> None:
    test = [ImageRecord(f"{i}.jpg", pid, 0) for i, pid in enumerate([5, 5, 2, 5, 2, 8])]
    query, gallery = draw_gallery(test, seed=1)
    assert sorted(r.pid for r in gallery) == [2, 5, 8]
    assert sorted(r.path for r in query + gallery) == sorted(r.path for r in test)
    assert [r.path for r in query] == [r.path for r in test if r.path not in {g.path for g in gallery}]
    assert {r.camid for r in query} == {1} and {r.camid for r in gallery} == {0}


def test_folder_tree_with_camera_tokens(tmp_path: Path) -> None:
    for split, pid, name in [
        ("train", "17", "a_c3_1.jpg"),
        ("train", "17", "c5.png"),
        ("train", "4", "0004_c3s1_01.jpg"),
        ("query", "30", "q_c5_1.jpg"),
        ("gallery", "30", "g-c7-1.jpg"),
        ("gallery", "31", "x_c3_9.jpg"),
    ]:
        write_image(tmp_path / split / pid / name)
    (tmp_path / "train" / "17" / "notes.txt").write_text("ignored")
    ds = build_dataset("folder", tmp_path)
    # cameras 3, 5, 7 seen anywhere -> camids 0, 1, 2 in every split
    assert sorted((r.pid, r.camid) for r in ds.train) == [(0, 0), (1, 0), (1, 1)]
    assert [(r.pid, r.camid) for r in ds.query] == [(30, 1)]
    assert sorted((r.pid, r.camid) for r in ds.gallery) == [(30, 2), (31, 0)]


def test_folder_named_identities_share_numbers_across_splits(tmp_path: Path) -> None:
    for split, pid in [("train", "zoe"), ("query", "bob"), ("gallery", "bob"), ("gallery", "amy")]:
        write_image(tmp_path / split / pid / "img_c1_0.jpg")
    ds = build_dataset("folder", tmp_path)
    assert ds.query[0].pid == next(r.pid for r in ds.gallery if "/bob/" in r.path)
    assert _pids(ds.gallery) == [0, 1] and _pids(ds.train) == [0]


def test_folder_manifest(tmp_path: Path) -> None:
    for name in ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]:
        write_image(tmp_path / "imgs" / name)
    (tmp_path / "manifest.csv").write_text(
        "path,pid,camid,split,note\n"
        "imgs/a.jpg,8,1,train,x\n"
        "imgs/b.jpg,6,2,train,\n"
        "imgs/c.jpg,100,1,query,\n"
        f"{tmp_path / 'imgs' / 'd.jpg'},100,2,gallery,\n"
    )
    ds = build_dataset("folder", tmp_path)
    assert [(Path(r.path).name, r.pid, r.camid) for r in ds.train] == [("a.jpg", 1, 0), ("b.jpg", 0, 1)]
    assert (ds.query[0].pid, ds.gallery[0].camid) == (100, 1)


def test_every_registered_dataset_has_a_test_here() -> None:
    tested = {"market1501", "dukemtmc", "occluded_duke", "cuhk03", "msmt17", "veri", "vehicleid", "folder"}
    assert set(DATASETS) == tested


def test_reid_dataset_rejects_empty_split() -> None:
    record = ImageRecord("x.jpg", 0, 0)
    with pytest.raises(DatasetError, match="split 'gallery' is empty"):
        ReIDDataset("mine", "/data", [record], [record], [])
