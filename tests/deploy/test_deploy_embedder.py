"""Embedder: the four model formats give the same embeddings as `finereid extract`; inputs and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from finereid.cli import main
from finereid.data import ImageRecord
from finereid.deploy import Embedder
from finereid.deploy.export import sidecar_path
from finereid.errors import CheckpointError, ConfigError, FinereidError
from finereid.evaluation import extract_features, load_model

FORMATS = ("torchscript", "onnx", "openvino")


@pytest.fixture(scope="module")
def exported(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The session checkpoint exported to every format by `finereid export`, with default names."""
    folder = tmp_path_factory.mktemp("exported")
    ckpt = folder / "model.ckpt"
    ckpt.write_bytes(checkpoint.read_bytes())
    for fmt in FORMATS:
        assert main(["export", "--checkpoint", str(ckpt), "--format", fmt]) == 0
    return {
        "checkpoint": ckpt,
        "torchscript": folder / "model.torchscript",
        "onnx": folder / "model.onnx",
        "openvino": folder / "model_openvino_model",
    }


@pytest.fixture(scope="module")
def images(market_root: Path) -> list[Path]:
    return (
        sorted((market_root / "query").glob("*.jpg"))
        + sorted((market_root / "bounding_box_test").glob("*.jpg"))[:4]
    )


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_checkpoint_embedder_equals_finereid_extract(exported, images):
    embedder = Embedder.load(exported["checkpoint"])
    loaded = load_model(exported["checkpoint"])
    records = [ImageRecord(str(p), -1, -1) for p in images]
    expected, _ = extract_features(
        loaded.model, records, loaded.height, loaded.width, num_workers=0, progress=False
    )
    np.testing.assert_allclose(embedder.embed(images), expected, rtol=0, atol=1e-5)
    assert (embedder.height, embedder.width, embedder.distance) == (64, 32, "euclidean")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_gives_the_checkpoint_embeddings(exported, images, fmt):
    reference = Embedder.load(exported["checkpoint"])
    embedder = Embedder.load(exported[fmt], batch_size=3)  # several batches, one of them short
    assert embedder.format == fmt and embedder.meta["model"] == "bot_resnet18"
    assert (embedder.height, embedder.width, embedder.feature_dim) == (64, 32, 512)
    assert embedder.mean == reference.mean and embedder.std == reference.std
    frame = np.asarray(Image.open(images[0]).convert("RGB").resize((120, 90)))
    boxes = [[5, 5, 40, 80], [30.5, 10.2, 90.7, 89.9], [100, -20, 140, 50]]
    for got, want in (
        (embedder.embed(images), reference.embed(images)),
        (
            embedder.embed_crops(frame, boxes, channels="rgb"),
            reference.embed_crops(frame, boxes, channels="rgb"),
        ),
    ):
        assert got.shape == want.shape and got.dtype == np.float32
        assert _cosine(got, want).min() >= 0.9999


def test_paths_pil_images_and_arrays_in_either_channel_order_agree(exported, images):
    embedder = Embedder.load(exported["checkpoint"])
    rgb = [np.asarray(Image.open(p).convert("RGB")) for p in images[:3]]
    by_path = embedder.embed([str(p) for p in images[:3]])
    np.testing.assert_allclose(embedder.embed([Image.open(p) for p in images[:3]]), by_path, atol=1e-6)
    np.testing.assert_allclose(embedder.embed(rgb, channels="rgb"), by_path, atol=1e-6)
    np.testing.assert_allclose(
        embedder.embed([a[:, :, ::-1] for a in rgb], channels="bgr"), by_path, atol=1e-6
    )
    np.testing.assert_allclose(embedder.embed(rgb[0], channels="rgb"), by_path[:1], atol=1e-6)
    swapped = embedder.embed(
        rgb[0][:, :, ::-1].copy(), channels="rgb"
    )  # the wrong order changes the embedding
    assert _cosine(swapped, by_path[:1])[0] < 0.9999


def test_crops_are_the_clipped_boxes(exported, images):
    embedder = Embedder.load(exported["checkpoint"])
    frame = np.asarray(Image.open(images[1]).convert("RGB").resize((100, 80)))
    crops = embedder.embed_crops(
        frame, [[10, 5, 40, 70], [-30, -10, 25, 200], [95, 70, 300, 300]], channels="rgb"
    )
    expected = embedder.embed([frame[5:70, 10:40], frame[0:80, 0:25], frame[70:80, 95:100]], channels="rgb")
    np.testing.assert_allclose(crops, expected, atol=1e-6)
    bgr = embedder.embed_crops(frame[:, :, ::-1].copy(), [[10, 5, 40, 70]], channels="bgr")
    np.testing.assert_allclose(bgr, crops[:1], atol=1e-6)
    for empty in ([], np.zeros((0, 4))):
        assert embedder.embed_crops(frame, empty, channels="rgb").shape == (0, 512)
    outside = embedder.embed_crops(frame, [[500, 500, 600, 600]], channels="rgb")
    assert outside.shape == (1, 512) and np.isfinite(outside).all()


def test_export_at_another_size_carries_it(exported, tmp_path):
    out = tmp_path / "tall.torchscript"
    args = [
        "export",
        "--checkpoint",
        str(exported["checkpoint"]),
        "--format",
        "torchscript",
        "--out",
        str(out),
    ]
    assert main([*args, "--height", "96", "--width", "48"]) == 0
    embedder = Embedder.load(out)
    assert (embedder.height, embedder.width) == (96, 48)
    sidecar = json.loads(sidecar_path(out).read_text())
    assert sidecar["img_size"] == sidecar["model_kwargs"]["img_size"] == [96, 48]  # BoxMOT reads these
    assert sidecar["height"] == 96 and sidecar["mean"] == [0.485, 0.456, 0.406]


def test_bad_inputs_are_one_line_errors(exported):
    embedder = Embedder.load(exported["checkpoint"])
    frame = np.zeros((50, 40, 3), np.uint8)
    cases = [
        (lambda: embedder.embed(frame), ConfigError, "channel order"),
        (
            lambda: embedder.embed(np.zeros((50, 40), np.uint8), channels="rgb"),
            FinereidError,
            "uint8 H x W x 3",
        ),
        (lambda: embedder.embed(frame.astype(np.float32), channels="rgb"), FinereidError, "uint8 H x W x 3"),
        (lambda: embedder.embed([42]), FinereidError, "cannot embed a int"),
        (lambda: embedder.embed("/no/such.jpg"), FinereidError, "cannot read image"),
        (lambda: embedder.embed_crops(frame, [[1, 2, 3]], channels="rgb"), FinereidError, r"\[N, 4\]"),
        (lambda: embedder.embed_crops(frame, [[5, 5, 1, 1]], channels="rgb"), FinereidError, "x2 >= x1"),
        (lambda: embedder.embed_crops(frame, [[0, 0, np.nan, 9]], channels="rgb"), FinereidError, "NaN"),
        (lambda: embedder.embed_crops(frame[None], [[0, 0, 9, 9]], channels="rgb"), FinereidError, "frame"),
        (lambda: Embedder.load(exported["checkpoint"], half=True), ConfigError, "CUDA"),
        (lambda: Embedder.load(exported["checkpoint"], batch_size=0), ConfigError, "batch_size"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message) as info:
            call()
        assert "\n" not in str(info.value)


def test_corrupt_and_foreign_model_files_are_one_line_errors(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    for name in ("x.ckpt", "x.torchscript", "x.pt", "x.onnx", "x.xml"):
        (tmp_path / name).write_bytes(noise)
        with pytest.raises(CheckpointError) as info:
            Embedder.load(tmp_path / name)
        assert "\n" not in str(info.value) and "x." in str(info.value)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    ).eval()
    x = torch.randn(1, 3, 16, 8)
    torch.jit.save(torch.jit.trace(net, x), str(tmp_path / "other.torchscript"))
    torch.onnx.export(net, (x,), str(tmp_path / "other.onnx"), dynamo=False)
    for name in ("other.torchscript", "other.onnx"):
        with pytest.raises(CheckpointError, match="carries no finereid metadata"):
            Embedder.load(tmp_path / name)
    (tmp_path / "x.h5").write_bytes(noise)
    with pytest.raises(CheckpointError, match="unknown model file type"):
        Embedder.load(tmp_path / "x.h5")
    with pytest.raises(CheckpointError, match="not found"):
        Embedder.load(tmp_path / "missing.onnx")
    with pytest.raises(CheckpointError, match="OpenVINO"):
        Embedder.load(tmp_path)  # a folder with no .xml model


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_half_precision_on_cuda_matches_float32(exported, images):
    full = Embedder.load(exported["checkpoint"]).embed(images)
    for path in (exported["checkpoint"], exported["torchscript"]):
        half = Embedder.load(path, device="cuda", half=True).embed(images)
        assert _cosine(half, full).min() >= 0.999
