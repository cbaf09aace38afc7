"""`finereid explain` and its Python API on a real (random-weight) checkpoint: ranking, files, bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from explain_helpers import HEIGHT, WIDTH
from PIL import Image

from finereid.cli import main
from finereid.errors import CheckpointError, DatasetError
from finereid.explain import Explainer, write_pair_maps

pytest.importorskip("pytorch_grad_cam")


def _query(market_root: Path) -> str:
    return str(sorted((market_root / "query").glob("0013_*.jpg"))[0])


def test_explain_ranks_the_gallery_and_maps_the_closest(checkpoint: Path, market_root: Path) -> None:
    gallery = sorted(str(p) for p in (market_root / "bounding_box_test").glob("*.jpg"))
    explainer = Explainer.from_checkpoint(checkpoint)
    try:
        pairs = explainer.explain(_query(market_root), gallery, top_k=3)
        features = explainer.embed_paths(gallery)
        query_feature = explainer.embed_paths([_query(market_root)])
        again = explainer.pair_maps(_query(market_root), pairs.gallery)
    finally:
        explainer.close()
    distances = torch.cdist(query_feature, features)[0].numpy()  # the checkpoint's distance is Euclidean
    expected = [gallery[i] for i in np.argsort(distances, kind="stable")[:3]]
    assert pairs.gallery == expected
    assert np.allclose(pairs.distances, np.sort(distances)[:3], atol=1e-4)
    assert pairs.query_maps.shape == pairs.gallery_maps.shape == (3, HEIGHT, WIDTH)
    assert np.array_equal(pairs.query_maps, again.query_maps)  # deterministic
    assert np.array_equal(pairs.gallery_maps, again.gallery_maps)
    assert not np.array_equal(pairs.query_maps[0], pairs.query_maps[1])  # each pair has its own query map
    explainer = Explainer.from_checkpoint(checkpoint)
    few = explainer.explain(_query(market_root), list(reversed(expected)), top_k=5)  # fewer than top_k
    explainer.close()
    assert few.gallery == expected  # ranked all the same
    assert pairs.query_image.shape == (HEIGHT, WIDTH, 3) and len(pairs.gallery_images) == 3


def test_write_pair_maps_files(checkpoint: Path, market_root: Path, tmp_path: Path) -> None:
    gallery = sorted(str(p) for p in (market_root / "bounding_box_test").glob("001[01]_*.jpg"))
    explainer = Explainer.from_checkpoint(checkpoint)
    pairs = explainer.explain(_query(market_root), gallery, top_k=None)
    explainer.close()
    out = write_pair_maps(pairs, tmp_path / "out")
    summary = json.loads((out / "explain.json").read_text())
    assert [p["gallery"] for p in summary["pairs"]] == pairs.gallery == gallery  # top_k=None keeps the order
    assert (
        summary["layers"] == "cnn" and "Grad-CAM" in summary["method"] and summary["model"] == "bot_resnet18"
    )
    with np.load(out / "maps.npz") as data:
        assert np.array_equal(data["query_maps"], pairs.query_maps)
        assert data["gallery"].tolist() == gallery
    with Image.open(out / "explain.png") as sheet:
        assert sheet.width > 4 * 64 and sheet.height > len(gallery) * 128


def test_cli_explains_a_folder(checkpoint: Path, market_root: Path, tmp_path: Path, capsys) -> None:
    argv = [
        "explain",
        "--checkpoint",
        str(checkpoint),
        "--query",
        _query(market_root),
        "--gallery",
        str(market_root / "bounding_box_test"),
        "--out",
        str(tmp_path / "out"),
        "--top-k",
        "2",
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len([line for line in printed if line.strip().startswith(("1 ", "2 "))]) == 2
    assert (tmp_path / "out" / "explain.png").is_file()


def _one_line_error(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("finereid explain: error:") and "\n" not in err
    return err


@pytest.mark.parametrize(("size", "why"), [((128, 32), "32x128"), ((12, 6), "6x12"), ((40, 400), "400x40")])
def test_an_image_that_is_no_person_crop_is_one_line(checkpoint, market_root, tmp_path, capsys, size, why):
    bad = tmp_path / "frame.jpg"
    Image.new("RGB", size, "grey").save(bad)  # PIL sizes are (width, height)
    argv = [
        "explain",
        "--checkpoint",
        str(checkpoint),
        "--query",
        str(bad),
        "--gallery",
        str(market_root / "bounding_box_test"),
        "--out",
        str(tmp_path / "o"),
    ]
    assert f"is {why} (height x width): not a crop this model can read" in _one_line_error(argv, capsys)


def test_a_checkpoint_of_another_model_is_one_line(market_root: Path, tmp_path: Path, capsys) -> None:
    import torchvision

    other = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), other)
    argv = [
        "explain",
        "--checkpoint",
        str(other),
        "--query",
        _query(market_root),
        "--gallery",
        str(market_root / "bounding_box_test"),
        "--out",
        str(tmp_path / "o"),
    ]
    assert "is not a finereid checkpoint" in _one_line_error(argv, capsys)
    with pytest.raises(CheckpointError):
        Explainer.from_checkpoint(other)


def test_bad_arguments_are_one_line(checkpoint: Path, market_root: Path, tmp_path: Path, capsys) -> None:
    base = ["explain", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "o")]
    assert "give --query and --gallery" in _one_line_error([*base, "--query", _query(market_root)], capsys)
    missing = [*base, "--query", _query(market_root), "--gallery", str(tmp_path / "nowhere")]
    assert "not found" in _one_line_error(missing, capsys)
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    unreadable = [*base, "--query", str(text), "--gallery", str(market_root / "bounding_box_test")]
    assert "cannot read image" in _one_line_error(unreadable, capsys)
    with pytest.raises(DatasetError, match="no images to explain"):
        Explainer.from_checkpoint(checkpoint).explain(_query(market_root), [])


def test_without_grad_cam_the_error_says_what_to_install(
    checkpoint, market_root, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "pytorch_grad_cam", None)  # an import of it now fails
    argv = [
        "explain",
        "--checkpoint",
        str(checkpoint),
        "--query",
        _query(market_root),
        "--gallery",
        str(market_root / "bounding_box_test"),
        "--out",
        str(tmp_path / "o"),
    ]
    assert "need grad-cam: pip install 'finereid[explain]'" in _one_line_error(argv, capsys)
