"""ResNet-50-IBN-a and the fast-reid stem pool: IN on half the channels, weights by IBN-Net names."""

from __future__ import annotations

import pytest
import torch
from model_helpers import images

from finereid.errors import CheckpointError
from finereid.models import build_model
from finereid.models.backbones.ibn import IBN


def test_ibn_normalizes_the_first_half_per_image_and_the_rest_per_batch():
    ibn = IBN(8).train()
    x = torch.randn(4, 8, 5, 5) * 3 + 2
    x[:, :4] += torch.arange(4.0).view(4, 1, 1, 1)  # per-image offsets only the instance norm removes
    out = ibn(x)
    per_image = out[:, :4].mean(dim=(2, 3))
    assert per_image.abs().max() < 1e-5  # every (image, channel) plane centred
    per_batch = out[:, 4:].mean(dim=(0, 2, 3))
    assert per_batch.abs().max() < 1e-5 and out[:, 4:].mean(dim=(2, 3)).abs().max() > 1e-3


def test_ibn_a_in_stages_1_to_3_only(built_models):
    trunk = built_models["bot_resnet50_ibn"].backbone
    kinds = [{type(block.bn1).__name__ for block in getattr(trunk, f"layer{s}")} for s in range(1, 5)]
    assert kinds == [{"IBN"}, {"IBN"}, {"IBN"}, {"BatchNorm2d"}]
    assert trunk.layer1[0].bn1.IN.num_features == 32 and trunk.layer1[0].bn1.BN.num_features == 32


def test_stem_pool_ceil_keeps_the_size_but_moves_the_windows():
    torch.manual_seed(0)
    padded = build_model("bot_resnet50", 5, stem_pool="padded").backbone.eval()
    ceil = build_model("bot_resnet50", 5, stem_pool="ceil").backbone.eval()
    ceil.load_state_dict(padded.state_dict())
    x = images(1, 64, 32)
    with torch.no_grad():
        a, b = padded.stem(x), ceil.stem(x)
    assert a.shape == b.shape == (1, 64, 16, 8) and not torch.allclose(a, b)


def test_ibn_net_weight_file_loads_by_its_names(tmp_path):
    torch.manual_seed(1)
    source = build_model("bot_resnet50_ibn", 5).backbone.state_dict()  # IBN-Net's key names: bn1.IN, bn1.BN
    source["fc.weight"] = torch.zeros(1000, 2048)  # an ImageNet classifier, dropped
    torch.save(source, tmp_path / "resnet50_ibn_a.pth")
    model = build_model("bot_resnet50_ibn", 5, "imagenet", tmp_path / "resnet50_ibn_a.pth")
    assert torch.equal(model.backbone.layer2[1].bn1.IN.weight, source["layer2.1.bn1.IN.weight"])
    torch.save(build_model("bot_resnet50", 5).backbone.state_dict(), tmp_path / "plain.pth")
    with pytest.raises(CheckpointError, match="missing"):
        build_model("bot_resnet50_ibn", 5, "imagenet", tmp_path / "plain.pth")
