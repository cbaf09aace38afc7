"""build_model: the registry, its options and its one-line errors."""

from __future__ import annotations

import pytest

from finereid.errors import CheckpointError, ConfigError
from finereid.models import MODELS, build_model, model_options


def test_registry_holds_every_family():
    assert set(MODELS) == {
        "bot_resnet50",
        "bot_resnet18",
        "bot_efficientnet_lite0",
        "agw_resnet50",
        "mgn_resnet50",
        "agw_resnet18",
        "mgn_resnet18",
        "bot_resnet50_ibn",
        "bot_timm",
        "osnet_x1_0",
        "osnet_x0_75",
        "osnet_x0_5",
        "osnet_x0_25",
        "osnet_ain_x1_0",
        "transreid_vit_small",
        "transreid_vit_base",
    }


@pytest.mark.parametrize(
    ("name", "after"),
    [
        ("agw_resnet50", [[], [2, 3], [3, 4, 5], []]),
        ("agw_resnet18", [[], [1], [1], []]),
    ],
)
def test_agw_places_non_local_blocks_after_the_last_blocks_of_stages_2_and_3(name, after):
    trunk = build_model(name, 10).backbone
    assert trunk.after == after
    assert [len(getattr(trunk, f"nonlocal{s}")) for s in range(1, 5)] == [len(a) for a in after]


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError) as info:
        build_model("bot_resnet51", 10)
    message = str(info.value)
    assert "bot_resnet51" in message and "bot_resnet50" in message and "mgn_resnet50" in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["ImageNet", "true", True, None, "random"])
def test_bad_pretrained_value(value):
    with pytest.raises(ConfigError, match="pretrained must be one of none, imagenet"):
        build_model("bot_resnet18", 10, pretrained=value)


@pytest.mark.parametrize("value", [0, -3, 2.5, "10", True])
def test_bad_num_classes(value):
    with pytest.raises(ConfigError, match="num_classes"):
        build_model("bot_resnet18", value)


def test_unknown_option_lists_valid_options():
    with pytest.raises(ConfigError) as info:
        build_model("bot_resnet18", 10, last_strde=1)
    message = str(info.value)
    assert "last_strde" in message and "last_stride" in message and "neck_feat" in message


def test_mgn_has_no_last_stride_option():
    # MGN's strides are part of its design (stride-2 global branch, stride-1 part branches).
    with pytest.raises(ConfigError, match="last_stride"):
        build_model("mgn_resnet50", 10, last_stride=1)


BAD_VALUES = [
    ("bot_resnet18", "last_stride", 3),
    ("bot_resnet18", "last_stride", 0),
    ("bot_resnet18", "last_stride", 1.0),
    ("bot_resnet18", "neck_feat", "middle"),
    ("agw_resnet50", "gem_p", 0),
    ("agw_resnet50", "gem_p", "3"),
    ("mgn_resnet50", "reduction_dim", 0),
    ("bot_resnet50", "stem_pool", "max"),
    ("bot_timm", "pool", "max"),
    ("bot_timm", "gem_p", -1.0),
    ("osnet_x0_25", "embedding_dim", -1),
    ("osnet_x0_25", "pool", "sum"),
    ("transreid_vit_small", "stride", 17),
    ("transreid_vit_small", "height", 8),
    ("transreid_vit_small", "num_cameras", -2),
    ("transreid_vit_small", "jpm", "yes"),
    ("transreid_vit_small", "sie_weight", -1.0),
]


@pytest.mark.parametrize(("name", "option", "value"), BAD_VALUES)
def test_bad_option_values(name, option, value):
    with pytest.raises(ConfigError, match=option):
        build_model(name, 10, **{option: value})


def test_pretrained_path_needs_imagenet(tmp_path):
    path = tmp_path / "w.pth"
    path.write_bytes(b"")
    with pytest.raises(ConfigError, match="pretrained='imagenet'"):
        build_model("bot_resnet18", 10, pretrained="none", pretrained_path=path)


def test_missing_pretrained_path(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        build_model("bot_resnet18", 10, pretrained="imagenet", pretrained_path=tmp_path / "nope.pth")


def test_model_options_defaults():
    assert model_options("bot_resnet50") == {"last_stride": 1, "neck_feat": "after", "stem_pool": "padded"}
    assert model_options("osnet_x0_25") == {
        "pool": "avg",
        "gem_p": 3.0,
        "embedding_dim": 512,
        "neck_feat": "after",
    }
    assert model_options("bot_timm")["backbone"] == "convnext_tiny"
    assert model_options("transreid_vit_small")["num_cameras"] == 0  # 0: from the training data
    assert model_options("agw_resnet50")["gem_p"] == 3.0
    assert model_options("mgn_resnet50") == {"reduction_dim": 256}
