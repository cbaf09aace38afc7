"""`finereid convert` gives the source toolkit's own embeddings (to 1e-5) through finereid's loader."""

from __future__ import annotations

import pytest
import torch
from convert_helpers import NUM_FASTREID_IDS, NUM_TORCHREID_IDS, fastreid_checkpoint, torchreid_checkpoint

from finereid.convert import convert_checkpoint
from finereid.evaluation import load_model
from finereid.imagenet import IMAGENET_MEAN, IMAGENET_STD

HEIGHT, WIDTH = 128, 64
TOLERANCE = 1e-5


def _pixels(batch: int = 3) -> torch.Tensor:
    """Images in [0, 1], float64 so that the comparison measures the models, not float32 rounding."""
    return torch.rand(
        batch, 3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(7), dtype=torch.float64
    )


def _normalized(pixels: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN, dtype=pixels.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=pixels.dtype).view(1, 3, 1, 1)
    return (pixels - mean) / std


def _finereid_embedding(checkpoint, pixels: torch.Tensor) -> torch.Tensor:
    loaded = load_model(checkpoint, height=HEIGHT, width=WIDTH)
    with torch.no_grad():
        return loaded.model.double()(_normalized(pixels))


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("osnet_x1_0", "osnet_x1_0"),
        ("osnet_x0_75", "osnet_x0_75"),
        ("osnet_x0_5", "osnet_x0_5"),
        ("osnet_x0_25", "osnet_x0_25"),
        ("osnet_ain_x1_0", "osnet_ain_x1_0"),
        ("resnet50", "bot_resnet50"),
    ],
)
def test_torchreid_models_convert_to_the_same_embeddings(tmp_path, source, target):
    model, path = torchreid_checkpoint(source, tmp_path)
    result = convert_checkpoint("torchreid", path, tmp_path / "converted.ckpt")
    assert (result.model, result.num_classes) == (target, NUM_TORCHREID_IDS)
    assert list(result.dropped) == ["classifier.bias"]
    assert sorted(result.left_at_init) == sorted(f"neck.bn.{k}" for k in
                                                  ("weight", "bias", "running_mean", "running_var",
                                                   "num_batches_tracked"))  # fmt: skip
    pixels = _pixels()
    with torch.no_grad():
        expected = model.double()(_normalized(pixels))  # torchreid takes ImageNet-normalized images too
    got = _finereid_embedding(result.out, pixels)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() <= TOLERANCE * max(1.0, expected.abs().max().item())


@pytest.mark.parametrize(
    ("ibn", "bnneck", "target"),
    [(False, True, "bot_resnet50"), (True, True, "bot_resnet50_ibn"), (False, False, "bot_resnet50")],
)
def test_fastreid_bot_converts_to_the_same_embeddings(tmp_path, ibn, bnneck, target):
    model, path = fastreid_checkpoint(ibn, tmp_path, bnneck)
    result = convert_checkpoint("fastreid", path, tmp_path / "converted.ckpt")
    assert (result.model, result.num_classes) == (target, NUM_FASTREID_IDS)
    assert result.dropped == {}
    assert len(result.left_at_init) == (0 if bnneck else 5)  # without fast-reid's BNNeck ours is unused
    pixels = _pixels()
    with torch.no_grad():
        expected = model.double()(pixels * 255)  # fast-reid normalizes 0-255 pixels itself
    got = _finereid_embedding(result.out, pixels)
    assert got.shape == expected.shape == (3, 2048)
    assert (got - expected).abs().max() <= TOLERANCE * max(1.0, expected.abs().max().item())


def test_a_converted_checkpoint_is_a_plain_finereid_checkpoint(tmp_path, osnet_x0_25_file):
    out = convert_checkpoint(
        "torchreid", osnet_x0_25_file, tmp_path / "x.ckpt", overrides=["data.height=96"]
    ).out
    checkpoint = torch.load(out, map_location="cpu", weights_only=True)
    assert all(key.startswith("model.") for key in checkpoint["state_dict"])
    hparams = checkpoint["hyper_parameters"]
    assert hparams["num_classes"] == NUM_TORCHREID_IDS and hparams["config"]["data"]["height"] == 96
    assert hparams["config"]["model"]["options"] == {"neck_feat": "before", "embedding_dim": 512}
    assert checkpoint["converted_from"]["toolkit"] == "torchreid"
