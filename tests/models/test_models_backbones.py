"""Backbone geometry: last stride, AGW's non-local placement, MGN's branches."""

from __future__ import annotations

import pytest
import torch
from model_helpers import images

from finereid.errors import ConfigError
from finereid.models.backbones import BACKBONES, build_backbone
from finereid.models.nonlocal_block import NonLocalBlock


def test_resnet50_last_stride_1_gives_16x8_map_at_256x128():
    trunk = build_backbone("resnet50", last_stride=1).eval()
    with torch.no_grad():
        fmap = trunk(images(1, 256, 128))
    assert fmap.shape == (1, 2048, 16, 8)


@pytest.mark.parametrize(
    ("name", "last_stride", "size"),
    [
        ("resnet18", 1, (16, 8)),
        ("resnet18", 2, (8, 4)),
        ("efficientnet_lite0", 1, (16, 8)),
        ("efficientnet_lite0", 2, (8, 4)),
    ],
)
def test_map_size_follows_last_stride(name, last_stride, size):
    trunk = build_backbone(name, last_stride=last_stride).eval()
    with torch.no_grad():
        fmap = trunk(images(1, 256, 128))
    assert fmap.shape[2:] == size and fmap.shape[1] == trunk.out_channels


def test_unknown_backbone():
    with pytest.raises(ConfigError, match="efficientnet_lite0"):
        build_backbone("vgg16")
    assert set(BACKBONES) == {"resnet18", "resnet50", "resnet50_ibn_a", "efficientnet_lite0"}


def test_agw_places_nonlocal_blocks_after_last_blocks_of_stages_2_and_3(built_models):
    trunk = built_models["agw_resnet50"].backbone
    counts = [len(getattr(trunk, f"nonlocal{s}")) for s in range(1, 5)]
    assert counts == [0, 2, 3, 0]
    assert trunk.after == [[], [2, 3], [3, 4, 5], []]
    assert all(isinstance(b, NonLocalBlock) for b in trunk.nonlocal3)
    assert trunk.nonlocal2[0].theta.in_channels == 512 and trunk.nonlocal3[0].theta.in_channels == 1024


def test_agw_uses_gem_and_bnneck(built_models):
    model = built_models["agw_resnet50"]
    assert type(model.pool).__name__ == "GeMPooling" and model.pool.p.item() == pytest.approx(3.0, abs=0.1)
    assert not model.neck.bn.bias.requires_grad


def test_mgn_branch_geometry(built_models):
    model = built_models["mgn_resnet50"].eval()
    with torch.no_grad():
        shared = model.shared(images(1, 128, 64))
        maps = [branch(shared) for branch in model.branches]
    assert shared.shape == (1, 1024, 8, 4)  # stage 3's first block ran (stride 16)
    assert [tuple(m.shape[1:]) for m in maps] == [(2048, 4, 2), (2048, 8, 4), (2048, 8, 4)]
    # each branch has its own copy of the rest of stage 3 and of stage 4
    assert all(len(branch[0]) == 5 for branch in model.branches)
    params = [branch[1][0].conv1.weight for branch in model.branches]
    assert params[0].data_ptr() != params[1].data_ptr() != params[2].data_ptr()


def test_mgn_metric_feature_per_branch(built_models):
    model = built_models["mgn_resnet50"].train()
    out = model(images(4, seed=7))
    assert len(out.features) == 3  # global, 2-stripe and 3-stripe branch: one metric feature each
    assert len(out.logits) == 8
    # the features are different branches, not copies
    assert not torch.allclose(out.features[0], out.features[1])
    # each metric feature drives its own branch: its gradient reaches that branch's stage 4 only
    model.zero_grad(set_to_none=True)
    out.features[1].sum().backward()
    grads = [b[1][-1].conv3.weight.grad for b in model.branches]
    assert grads[0] is None and grads[2] is None and grads[1].abs().sum() > 0
    model.zero_grad(set_to_none=True)
