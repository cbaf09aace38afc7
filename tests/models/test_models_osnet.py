"""OSNet and OSNet-AIN: the paper's layout at every width, the gate, instance normalization, the head."""

from __future__ import annotations

import pytest
import torch
from model_helpers import images

from finereid.errors import CheckpointError
from finereid.models import build_model
from finereid.models.backbones.ibn import InstanceNorm2d
from finereid.models.heads import GeMPooling
from finereid.models.osnet import AggregationGate, OSBlock

WIDTHS = {  # Zhou et al. 2019, Table 1 and section 4: conv1, conv2, conv3, conv4 widths of each size
    "osnet_x1_0": (64, 256, 384, 512),
    "osnet_x0_75": (48, 192, 288, 384),
    "osnet_x0_5": (32, 128, 192, 256),
    "osnet_x0_25": (16, 64, 96, 128),
}


@pytest.mark.parametrize("name", sorted(WIDTHS))
def test_widths_and_stride_16(built_models, name):
    trunk = built_models[name].backbone.eval()
    c1, c2, c3, c4 = WIDTHS[name]
    assert trunk.stem.conv.out_channels == c1
    assert [stage[-1].expand.conv.out_channels for stage in (trunk.stage2, trunk.stage3, trunk.stage4)] == [
        c2,
        c3,
        c4,
    ]
    with torch.no_grad():
        fmap = trunk(images(1, 256, 128))
    assert fmap.shape == (1, c4, 16, 8)


def test_os_block_has_four_streams_of_growing_depth_and_one_shared_gate(built_models):
    block = built_models["osnet_x1_0"].backbone.stage3[0]
    assert isinstance(block, OSBlock)
    assert [len(stream) for stream in block.streams] == [1, 2, 3, 4]
    assert sum(isinstance(m, AggregationGate) for m in block.modules()) == 1
    assert block.reduce.conv.out_channels == 384 // 4  # bottleneck reduction by 4


def test_gate_weights_lie_between_zero_and_one():
    gate = AggregationGate(32)
    x = torch.rand(2, 32, 5, 5) + 0.1
    ratio = gate(x) / x  # the per-channel weight, the same at every position
    assert ((ratio > 0) & (ratio < 1)).all()
    torch.testing.assert_close(ratio, ratio[:, :, :1, :1].expand_as(ratio))


def test_ain_puts_instance_norm_in_the_stem_and_the_searched_blocks(built_models):
    trunk = built_models["osnet_ain_x1_0"].backbone
    assert isinstance(trunk.stem.norm, InstanceNorm2d)
    layout = [[isinstance(block.expand.norm, InstanceNorm2d) for block in stage]
              for stage in (trunk.stage2, trunk.stage3, trunk.stage4)]  # fmt: skip
    assert layout == [[True, True], [False, True], [True, False]]
    plain = built_models["osnet_x1_0"].backbone
    assert not any(isinstance(m, InstanceNorm2d) for m in plain.modules())


def test_head_options():
    model = build_model("osnet_x0_25", 5, embedding_dim=0, pool="gem")
    assert model.feature_dim == 128 and isinstance(model.pool, GeMPooling)
    model = build_model("osnet_x0_25", 5, embedding_dim=256)
    assert model.feature_dim == 256 and model.feature_dims == (256,)


def test_imagenet_weights_point_to_convert_and_init_from():
    with pytest.raises(CheckpointError, match="finereid convert") as info:
        build_model("osnet_x0_25", 5, pretrained="imagenet")
    assert "init_from" in str(info.value)
