"""Feature extraction and the extract/search commands on a small generated Market-layout dataset."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from deploy_helpers import HEIGHT, WIDTH, write_jpeg

from finereid.cli import main
from finereid.data import build_transforms, read_image
from finereid.deploy import (
    collect_images,
    faiss_available,
    load_features,
    search_faiss,
    search_torch,
)
from finereid.errors import DatasetError
from finereid.evaluation import extract_features
from finereid.evaluation import load_model as load_checkpoint


@pytest.fixture
def folder(tmp_path, market_root):
    """A nested folder of the gallery JPEGs plus a text file, a hidden file and a corrupt .jpg."""
    root = tmp_path / "photos"
    for i, path in enumerate(sorted((market_root / "bounding_box_test").iterdir())):
        target = root / ("a" if i % 2 else "b/c") / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    (root / "notes.txt").write_text("not an image")
    (root / "b" / "list.csv").write_text("a,b\n")
    (root / ".DS_Store").write_bytes(b"\0\0")
    (root / "a" / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    return root


def test_collect_images_is_recursive_and_counts_non_images(folder):
    images, skipped = collect_images(folder)
    assert len(images) == 15 and skipped == 2  # 14 JPEGs + broken.jpg; notes.txt and list.csv skipped
    assert images == sorted(images)
    with pytest.raises(DatasetError, match="not found"):
        collect_images(folder / "missing")


def test_extract_features_matches_the_model_and_flip_averages(checkpoint, market_root):
    from finereid.data import ImageRecord

    loaded = load_checkpoint(checkpoint)
    paths = sorted(str(p) for p in (market_root / "query").iterdir())
    records = [ImageRecord(p, -1, -1) for p in paths]
    feats, kept = extract_features(
        loaded.model, records, HEIGHT, WIDTH, batch_size=3, num_workers=0, progress=False
    )
    flipped, _ = extract_features(
        loaded.model, records, HEIGHT, WIDTH, batch_size=3, num_workers=0, flip=True, progress=False
    )
    transform = build_transforms(HEIGHT, WIDTH, is_train=False)
    x = torch.stack([transform(read_image(p)) for p in paths])
    with torch.no_grad():
        plain, mirror = loaded.model(x), loaded.model(x.flip(3))
    assert kept == [0, 1, 2, 3] and feats.shape == (4, 512) and feats.dtype == np.float32
    np.testing.assert_allclose(feats, plain.numpy(), atol=1e-5)
    np.testing.assert_allclose(flipped, ((plain + mirror) / 2).numpy(), atol=1e-5)
    assert not np.allclose(feats, flipped)


def test_extract_command_on_a_folder_skips_and_counts(checkpoint, folder, tmp_path, capsys):
    out = tmp_path / "feats.npz"
    code = main(
        [
            "extract",
            "--checkpoint",
            str(checkpoint),
            "--images",
            str(folder),
            "--out",
            str(out),
            "--batch-size",
            "4",
            "--num-workers",
            "0",
            "--no-progress",
        ]
    )
    assert code == 0
    assert "skipped 2 non-image file(s), 1 unreadable image(s)" in capsys.readouterr().out
    feats = load_features(out)
    assert feats.features.shape == (14, 512) and feats.pids is None and feats.splits is None
    assert not any(p.endswith("broken.jpg") for p in feats.paths)
    assert feats.meta["model"] == "bot_resnet18" and feats.meta["num_unreadable"] == 1


def test_extract_command_on_a_dataset_keeps_ids_and_splits(checkpoint, market_root, tmp_path):
    out = tmp_path / "market.npz"
    assert (
        main(
            [
                "extract",
                "--checkpoint",
                str(checkpoint),
                "--images",
                f"market1501:{market_root}",
                "--out",
                str(out),
                "--num-workers",
                "0",
                "--no-progress",
                "--flip",
            ]
        )
        == 0
    )
    feats = load_features(out)
    assert feats.features.shape == (4 + 14, 512)
    assert (feats.splits == "query").sum() == 4 and (feats.splits == "gallery").sum() == 14
    assert set(feats.pids[feats.splits == "query"]) == {10, 11, 12, 13}
    assert 0 in set(feats.pids[feats.splits == "gallery"]) and feats.meta["flip"] is True
    assert feats.camids.min() == 0


def test_extract_command_bad_inputs_are_one_line_errors(checkpoint, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    cases = [
        (["--images", str(empty)], "no images"),
        (["--images", "nosuchdataset:/x"], "neither a folder, an image, a .npz file nor NAME:ROOT"),
        (["--images", str(empty), "--model", "mgn_resnet50"], "not 'mgn_resnet50'"),
    ]
    for extra, message in cases:
        code = main(
            [
                "extract",
                "--checkpoint",
                str(checkpoint),
                "--out",
                str(tmp_path / "f.npz"),
                "--no-progress",
                "--num-workers",
                "0",
                *extra,
            ]
        )
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1, err


@pytest.mark.skipif(not faiss_available(), reason="faiss not installed (optional extra)")
def test_search_results_equal_between_faiss_and_torch_on_extracted_features(market_feats_file):
    feats = load_features(market_feats_file)
    query, gallery = feats.for_role("query"), feats.for_role("gallery")
    for metric in ("euclidean", "cosine"):
        a = search_torch(query.features, gallery.features, 10, metric, gallery_chunk=5)
        b = search_faiss(query.features, gallery.features, 10, metric)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_allclose(a.distances, b.distances, atol=1e-4)


def test_search_command_prints_table_and_writes_html_and_json(
    checkpoint, market_feats_file, tmp_path, capsys
):
    import json

    feats = market_feats_file
    capsys.readouterr()
    query_dir = tmp_path / "probe"
    write_jpeg(query_dir / "person.jpg", 11, 99)
    results = {}
    for backend in ("torch", "faiss") if faiss_available() else ("torch",):
        page, js = tmp_path / f"{backend}.html", tmp_path / f"{backend}.json"
        code = main(
            [
                "search",
                "--checkpoint",
                str(checkpoint),
                "--query",
                str(query_dir),
                "--gallery",
                str(feats),
                "--top-k",
                "5",
                "--backend",
                backend,
                "--html",
                str(page),
                "--json",
                str(js),
                "--num-workers",
                "0",
                "--no-progress",
            ]
        )
        out = capsys.readouterr().out
        assert code == 0 and "person.jpg" in out and out.count("bounding_box_test") == 5
        assert page.is_file() and page.read_text().count('<li class="unknown"') == 5
        results[backend] = json.loads(js.read_text())
    rows = results["torch"]["queries"][0]["results"]
    assert len(rows) == 5 and [r["distance"] for r in rows] == sorted(r["distance"] for r in rows)
    if "faiss" in results:
        assert [r["path"] for r in rows] == [r["path"] for r in results["faiss"]["queries"][0]["results"]]


def test_search_command_needs_a_checkpoint_only_to_embed_images(market_root, tmp_path, capsys):
    code = main(
        [
            "search",
            "--query",
            str(market_root / "query"),
            "--gallery",
            str(market_root / "query"),
            "--no-html",
        ]
    )
    assert code == 2 and "--checkpoint is needed" in capsys.readouterr().err


def test_search_refuses_features_of_another_model(market_feats_file, tmp_path, capsys):
    from finereid.deploy import save_features

    feats = market_feats_file
    other = load_features(feats)
    other.meta["model"] = "bot_efficientnet_lite0"
    save_features(tmp_path / "other.npz", other)
    capsys.readouterr()
    code = main(["search", "--query", str(feats), "--gallery", str(tmp_path / "other.npz"), "--no-html"])
    err = capsys.readouterr().err
    assert code == 2 and "come from bot_resnet18 but gallery features from bot_efficientnet_lite0" in err
