"""bot_timm: the strong-baseline head on any convolutional timm model; weights from a local timm file."""

from __future__ import annotations

import logging

import pytest
import timm
import torch
from model_helpers import images
from safetensors.torch import save_file

from finereid.errors import CheckpointError, ConfigError
from finereid.models import build_model
from finereid.models.heads import GeMPooling
from finereid.models.input_norm import InputRenorm


@pytest.mark.parametrize("backbone", ["convnext_tiny", "resnest50d", "regnety_016"])
def test_last_stride_1_halves_the_total_stride(backbone):
    strides, maps = {}, {}
    for last_stride in (1, 2):
        model = build_model("bot_timm", 5, backbone=backbone, last_stride=last_stride).eval()
        strides[last_stride] = model.backbone.stride
        with torch.no_grad():
            maps[last_stride] = tuple(model.backbone(images(1, 128, 64)).shape[2:])
    assert strides == {1: 16, 2: 32}
    assert maps == {1: (8, 4), 2: (4, 2)}


def test_architecture_without_output_stride_keeps_its_stride(caplog):
    with caplog.at_level(logging.INFO, logger="finereid"):
        model = build_model("bot_timm", 5, backbone="mobilenetv3_small_100", last_stride=1)
    assert model.backbone.stride == 32
    assert "no output_stride" in caplog.text


def test_unknown_timm_name_is_one_line_with_close_names():
    with pytest.raises(ConfigError) as info:
        build_model("bot_timm", 5, backbone="convnext_tinny")
    message = str(info.value)
    assert "convnext_tinny" in message and "convnext_tiny" in message and "\n" not in message


def test_a_vit_backbone_is_refused_with_a_pointer_to_transreid():
    with pytest.raises(ConfigError, match="transreid_vit") as info:
        build_model("bot_timm", 5, backbone="vit_tiny_patch16_224")
    assert "\n" not in str(info.value)


def test_parameters_forward_features_never_uses_are_frozen():
    model = build_model("bot_timm", 5, backbone="convnext_tiny")
    head_norm = model.backbone.body.head.norm  # ConvNeXt's ImageNet head norm runs after forward_features
    assert not head_norm.weight.requires_grad
    assert model.backbone.body.stem[0].weight.requires_grad


def test_gem_pool_option():
    model = build_model("bot_timm", 5, backbone="resnet10t", pool="gem", gem_p=4.0)
    assert isinstance(model.pool, GeMPooling) and model.pool.p.item() == pytest.approx(4.0)


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_imagenet_weights_from_a_local_timm_file(tmp_path, suffix):
    torch.manual_seed(3)
    source = timm.create_model("resnet10t", pretrained=False).state_dict()  # with its ImageNet classifier
    path = tmp_path / f"resnet10t{suffix}"
    save_file(source, str(path)) if suffix == ".safetensors" else torch.save(source, path)
    model = build_model("bot_timm", 5, "imagenet", path, backbone="resnet10t")
    loaded = model.backbone.body.state_dict()
    assert set(loaded) == {k for k in source if not k.startswith("fc.")}
    assert all(torch.equal(value, source[key]) for key, value in loaded.items())
    assert model.backbone.stride == 16  # the last stride is removed after loading too


def test_weight_file_of_another_model_is_one_line(tmp_path):
    torch.save(timm.create_model("resnet18", pretrained=False).state_dict(), tmp_path / "r18.pth")
    with pytest.raises(CheckpointError, match="does not match the model") as info:
        build_model("bot_timm", 5, "imagenet", tmp_path / "r18.pth", backbone="resnet10t")
    assert "\n" not in str(info.value)


def test_imagenet_without_a_file_is_never_downloaded():
    with pytest.raises(CheckpointError, match="never downloaded"):
        build_model("bot_timm", 5, "imagenet", backbone="resnet10t")


def test_input_renorm_maps_imagenet_normalization_to_other_statistics():
    pixels = torch.rand(2, 3, 4, 4)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    renorm = InputRenorm((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    torch.testing.assert_close(renorm((pixels - mean) / std), (pixels - 0.5) / 0.5)
    imagenet = InputRenorm((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert imagenet.identity and torch.equal(imagenet(pixels), pixels)
