"""Bad input gives one-line errors that name the path, file, line or value at fault."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from data_fixture_trees import make_market, make_msmt, make_split_tree, make_vehicleid, write_image

from finereid.data import build_dataset
from finereid.errors import ConfigError, DatasetError


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_missing_root_names_path_and_layout(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as exc:
        build_dataset("market1501", tmp_path / "nowhere")
    message = _one_line(exc)
    assert f"root not found: {tmp_path / 'nowhere'}" in message
    assert "bounding_box_train,bounding_box_test,query" in message


def test_root_without_any_layout(tmp_path: Path) -> None:
    (tmp_path / "something_else").mkdir()
    with pytest.raises(DatasetError, match=r"DukeMTMC-reID: no dataset found under .* \(expected layout: "):
        build_dataset("dukemtmc", tmp_path)


def test_missing_split_folder_is_named(tmp_path: Path) -> None:
    make_market(tmp_path)
    shutil.rmtree(tmp_path / "Market-1501-v15.09.15" / "query")
    with pytest.raises(DatasetError) as exc:
        build_dataset("market1501", tmp_path)
    assert f"missing {tmp_path / 'Market-1501-v15.09.15' / 'query'} (expected layout:" in _one_line(exc)


def test_badly_named_file_is_named(tmp_path: Path) -> None:
    make_market(tmp_path)
    bad = write_image(tmp_path / "Market-1501-v15.09.15" / "bounding_box_test" / "person_7.jpg")
    with pytest.raises(DatasetError) as exc:
        build_dataset("market1501", tmp_path)
    assert f"cannot parse image name {bad}" in _one_line(exc)
    assert "0002_c1s1_000451_03.jpg" in str(exc.value)


def test_empty_split_folder(tmp_path: Path) -> None:
    make_market(tmp_path)
    query = tmp_path / "Market-1501-v15.09.15" / "query"
    for path in query.glob("*.jpg"):
        path.unlink()
    with pytest.raises(DatasetError, match=f"split folder {query} has no usable images"):
        build_dataset("market1501", tmp_path)


def test_split_with_only_junk_is_empty(tmp_path: Path) -> None:
    make_market(tmp_path)
    query = tmp_path / "Market-1501-v15.09.15" / "query"
    for path in query.glob("0*.jpg"):
        path.unlink()  # leaves only the -1 junk image
    with pytest.raises(DatasetError, match="has no usable images"):
        build_dataset("market1501", tmp_path)


def test_camera_zero_is_rejected(tmp_path: Path) -> None:
    make_market(tmp_path)
    bad = write_image(tmp_path / "Market-1501-v15.09.15" / "query" / "0003_c0s1_000001_01.jpg")
    with pytest.raises(DatasetError, match=f"camera 0 in {bad}"):
        build_dataset("market1501", tmp_path)


def test_unknown_dataset_and_unknown_option() -> None:
    with pytest.raises(
        ConfigError, match="unknown dataset 'market'; valid: cuhk03, dukemtmc, folder, market1501"
    ):
        build_dataset("market", "/tmp")
    with pytest.raises(ConfigError, match="dataset 'market1501' takes no option variant; its options: none"):
        build_dataset("market1501", "/tmp", variant="labeled")


def test_msmt17_missing_list_file_and_bad_line(tmp_path: Path) -> None:
    make_msmt(tmp_path)
    base = tmp_path / "MSMT17_V1"
    (base / "list_query.txt").write_text("0000/0000_000_01_0303morning_0015_0.jpg 0\nthis line is wrong\n")
    with pytest.raises(DatasetError) as exc:
        build_dataset("msmt17", tmp_path)
    assert f"cannot parse {base / 'list_query.txt'} line 2: 'this line is wrong'" in _one_line(exc)
    (base / "list_gallery.txt").unlink()
    with pytest.raises(DatasetError, match=f"MSMT17: missing {base / 'list_gallery.txt'}"):
        build_dataset("msmt17", tmp_path)


def test_msmt17_list_paired_with_wrong_image_folder(tmp_path: Path) -> None:
    make_msmt(tmp_path)
    shutil.rmtree(tmp_path / "MSMT17_V1" / "test" / "0000")
    with pytest.raises(
        DatasetError, match=r"list_query.txt line 1 names .*0000_000_01_.*, which does not exist"
    ):
        build_dataset("msmt17", tmp_path)


def test_occluded_duke_missing_split_folder_is_named(tmp_path: Path) -> None:
    folders = {"train": "bounding_box_train", "gallery": "bounding_box_test"}
    make_split_tree(
        tmp_path / "Occluded_Duke", folders, {"train": ["0001_c1_f1.jpg"], "gallery": ["0002_c2_f1.jpg"]}
    )
    with pytest.raises(DatasetError) as exc:
        build_dataset("occluded_duke", tmp_path)
    expected = f"Occluded-DukeMTMC: missing {tmp_path / 'Occluded_Duke' / 'query'} (expected layout: "
    assert expected in _one_line(exc)


def test_vehicleid_missing_list_or_image_folder_is_named(tmp_path: Path) -> None:
    make_vehicleid(tmp_path)
    split_dir = tmp_path / "VehicleID_V1.0" / "train_test_split"
    with pytest.raises(DatasetError) as exc:
        build_dataset("vehicleid", tmp_path, test_size="large")  # the fixture has no test_list_2400.txt
    assert f"VehicleID: missing {split_dir / 'test_list_2400.txt'} (expected layout: " in _one_line(exc)
    shutil.rmtree(tmp_path / "VehicleID_V1.0" / "image")
    with pytest.raises(DatasetError, match=f"VehicleID: missing {tmp_path / 'VehicleID_V1.0' / 'image'} "):
        build_dataset("vehicleid", tmp_path)


@pytest.mark.parametrize("bad", ["0007001", "0007001 seven", "0007001 7 extra"])
def test_vehicleid_malformed_list_line(tmp_path: Path, bad: str) -> None:
    make_vehicleid(tmp_path)
    test_list = tmp_path / "VehicleID_V1.0" / "train_test_split" / "test_list_800.txt"
    test_list.write_text(f"0007000 7\n\n{bad}\n")
    with pytest.raises(DatasetError) as exc:
        build_dataset("vehicleid", tmp_path)
    assert f"VehicleID: cannot parse {test_list} line 3: {bad!r} (like '0000001 1')" in _one_line(exc)


def test_vehicleid_list_naming_a_missing_image_or_nothing(tmp_path: Path) -> None:
    make_vehicleid(tmp_path)
    base = tmp_path / "VehicleID_V1.0"
    (base / "image" / "0012000.jpg").unlink()  # first line of train_list.txt
    with pytest.raises(DatasetError) as exc:
        build_dataset("vehicleid", tmp_path)
    assert f"train_list.txt line 1 names {base / 'image' / '0012000.jpg'}, which does not exist" in _one_line(
        exc
    )
    (base / "train_test_split" / "train_list.txt").write_text("\n")
    with pytest.raises(DatasetError, match=r"VehicleID: .*train_list\.txt lists no images"):
        build_dataset("vehicleid", tmp_path)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"test_size": "huge"}, "unknown vehicleid test_size 'huge'; valid: small, medium, large"),
        ({"test_size": 800}, "unknown vehicleid test_size 800; valid: small, medium, large"),
        ({"seed": "3"}, "vehicleid seed must be an integer, got '3'"),
        ({"seed": True}, "vehicleid seed must be an integer, got True"),
    ],
)
def test_vehicleid_bad_option_values(tmp_path: Path, options: dict, expected: str) -> None:
    make_vehicleid(tmp_path)
    with pytest.raises(ConfigError) as exc:
        build_dataset("vehicleid", tmp_path, **options)
    assert _one_line(exc) == expected


def _manifest(tmp_path: Path, text: str) -> Path:
    write_image(tmp_path / "a.jpg")
    (tmp_path / "manifest.csv").write_text(text)
    return tmp_path


def test_manifest_missing_columns(tmp_path: Path) -> None:
    _manifest(tmp_path, "path,pid\na.jpg,1\n")
    with pytest.raises(DatasetError) as exc:
        build_dataset("folder", tmp_path)
    assert "manifest.csv: missing column(s) camid, split; need path,pid,camid,split" in _one_line(exc)


def test_manifest_unknown_split(tmp_path: Path) -> None:
    _manifest(tmp_path, "path,pid,camid,split\na.jpg,1,0,train\na.jpg,1,0,val\n")
    with pytest.raises(DatasetError) as exc:
        build_dataset("folder", tmp_path)
    assert "manifest.csv line 3: unknown split 'val'; valid: train, query, gallery" in _one_line(exc)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("b.jpg,1,0,train", "line 2: image not found: "),
        ("a.jpg,1,cam1,train", "line 2: camid 'cam1' is not a non-negative integer"),
        ("a.jpg,,0,train", "line 2: empty pid"),
    ],
)
def test_manifest_bad_rows(tmp_path: Path, row: str, expected: str) -> None:
    _manifest(tmp_path, f"path,pid,camid,split\n{row}\n")
    with pytest.raises(DatasetError, match=expected):
        build_dataset("folder", tmp_path)


def test_manifest_with_an_empty_split(tmp_path: Path) -> None:
    _manifest(tmp_path, "path,pid,camid,split\na.jpg,1,0,train\na.jpg,2,1,query\n")
    with pytest.raises(DatasetError, match=r"split 'gallery' has no images in .*manifest.csv"):
        build_dataset("folder", tmp_path)


def test_manifest_that_is_not_text(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_bytes(b"\xff\xfe\x00\x81binary")
    with pytest.raises(DatasetError, match=r"manifest\.csv: not a readable CSV file"):
        build_dataset("folder", tmp_path)


def test_named_manifest_must_exist(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=f"manifest not found: {tmp_path / 'mine.csv'}"):
        build_dataset("folder", tmp_path, manifest="mine.csv")


def test_folder_missing_split_no_camera_and_loose_images(tmp_path: Path) -> None:
    write_image(tmp_path / "train" / "1" / "a_c1.jpg")
    write_image(tmp_path / "query" / "2" / "a_c1.jpg")
    with pytest.raises(DatasetError, match=f"missing {tmp_path / 'gallery'} "):
        build_dataset("folder", tmp_path)
    bad = write_image(tmp_path / "gallery" / "2" / "camera1.jpg")
    with pytest.raises(DatasetError, match=f"no camera token in {bad}"):
        build_dataset("folder", tmp_path)
    bad.unlink()
    write_image(tmp_path / "gallery" / "loose_c1.jpg")
    with pytest.raises(DatasetError, match=r"images directly in .*gallery; put them in one folder per pid"):
        build_dataset("folder", tmp_path)


def test_folder_split_without_images(tmp_path: Path) -> None:
    write_image(tmp_path / "train" / "1" / "a_c1.jpg")
    write_image(tmp_path / "query" / "2" / "a_c1.jpg")
    (tmp_path / "gallery" / "2").mkdir(parents=True)
    with pytest.raises(DatasetError, match="split 'gallery' has no images in"):
        build_dataset("folder", tmp_path)
