"""TransReID: overlapping patches, resized position embeddings, SIE, JPM, input-size errors, bf16."""

from __future__ import annotations

import pytest
import timm
import torch
import torch.nn.functional as F
from model_helpers import HEIGHT, WIDTH, images
from safetensors.torch import save_file

from finereid.errors import ConfigError
from finereid.losses import CrossEntropyLabelSmooth, FDPLoss
from finereid.models import build_model, fill_data_options
from finereid.models.transreid import shift_and_shuffle

SMALL = {"height": HEIGHT, "width": WIDTH}


@pytest.fixture(scope="module")
def vit_small_file(tmp_path_factory):
    """A timm-format ViT-Small state dict (random, with its ImageNet head) as a .safetensors file."""
    torch.manual_seed(5)
    state = timm.create_model("vit_small_patch16_224", pretrained=False).state_dict()
    path = tmp_path_factory.mktemp("vit") / "vit_small.safetensors"
    save_file(state, str(path))
    return path, state


def test_overlapping_patches_give_a_21x10_grid_at_256x128():
    model = build_model("transreid_vit_small", 5)
    assert model.grid == (21, 10) and model.patch_embed.stride == (12, 12)
    assert model.pos_embed.shape == (1, 1 + 21 * 10, 384)


def test_imagenet_file_loads_and_position_embeddings_are_resized(vit_small_file):
    path, state = vit_small_file
    model = build_model("transreid_vit_small", 5, "imagenet", path)
    assert torch.equal(model.patch_embed.weight, state["patch_embed.proj.weight"])
    assert torch.equal(model.blocks[0].attn.qkv.weight, state["blocks.0.attn.qkv.weight"])
    assert torch.equal(model.last_block.mlp.fc2.weight, state["blocks.11.mlp.fc2.weight"])
    assert torch.equal(
        model.jpm_block.mlp.fc2.weight, state["blocks.11.mlp.fc2.weight"]
    )  # JPM starts as a copy
    source = state["pos_embed"]
    assert torch.equal(model.pos_embed[:, :1], source[:, :1])  # the class token's own embedding is kept
    grid = source[:, 1:].reshape(1, 14, 14, 384).permute(0, 3, 1, 2)
    resized = F.interpolate(grid, size=(21, 10), mode="bilinear", align_corners=False)
    torch.testing.assert_close(model.pos_embed[:, 1:], resized.flatten(2).transpose(1, 2))
    assert not model.renorm.identity  # timm's ViT weights expect mean/std 0.5


def test_sie_uses_the_camera_in_training_and_the_mean_camera_without_ids():
    torch.manual_seed(0)
    model = build_model("transreid_vit_small", 5, num_cameras=3, **SMALL)
    assert model.uses_camids and model.sie_embed.shape == (3, 1, 384)
    x = images(2)
    model.eval()
    with torch.no_grad():
        by_camera = [model(x, camids=torch.tensor([c, c])) for c in range(3)]
        no_ids = model(x)
    assert not torch.allclose(by_camera[0], by_camera[1])
    with torch.no_grad():
        model.sie_embed.copy_(model.sie_embed.mean(dim=0, keepdim=True).expand_as(model.sie_embed))
        torch.testing.assert_close(model(x, camids=torch.tensor([0, 2])), no_ids, rtol=1e-5, atol=1e-5)
    assert not build_model("transreid_vit_small", 5, **SMALL).uses_camids  # num_cameras 0: no SIE


def test_camera_id_beyond_the_embeddings_is_one_line():
    model = build_model("transreid_vit_small", 5, num_cameras=2, **SMALL).train()
    with pytest.raises(ConfigError, match="num_cameras") as info:
        model(images(2), camids=torch.tensor([0, 5]))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("size", [(128, 64), (HEIGHT + 12, WIDTH), (12, 12)])
def test_input_that_does_not_fit_the_patch_grid_is_one_line(built_models, size):
    model = built_models["transreid_vit_small"].eval()
    with pytest.raises(ConfigError, match="patch grid") as info:
        model(images(1, *size))
    assert "\n" not in str(info.value) and f"{HEIGHT}x{WIDTH}" in str(info.value)


def test_jpm_option():
    model = build_model("transreid_vit_small", 5, jpm=False, **SMALL).train()
    out = model(images(2))
    assert model.feature_dims == (384,) and len(out.logits) == 1 and not hasattr(model, "jpm_block")
    with pytest.raises(ConfigError, match="jpm needs at least 4 patches"):
        build_model("transreid_vit_small", 5, height=32, width=16)


def test_shift_and_shuffle_is_a_permutation_starting_after_the_shift():
    tokens = torch.arange(10.0).view(1, 10, 1)
    out = shift_and_shuffle(tokens, 10, shift=5, groups=2).flatten().tolist()
    assert sorted(out) == list(range(10)) and out[0] == 5.0
    odd = shift_and_shuffle(torch.arange(9.0).view(1, 9, 1), 9, shift=5, groups=2).flatten().tolist()
    assert len(odd) == 10 and set(odd) == set(range(9))  # one token repeated to fill the two parts


def test_bf16_autocast_training_step_on_cpu():
    torch.manual_seed(0)
    model = build_model("transreid_vit_small", 5, num_cameras=2, **SMALL).train()
    pids, camids = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(images(4), camids=camids)
        fdp, ce = FDPLoss(), CrossEntropyLabelSmooth(num_classes=5)
        loss = sum(fdp(f.float(), pids) for f in out.features) + sum(ce(t.float(), pids) for t in out.logits)
    assert out.logits[0].dtype == torch.bfloat16 and torch.isfinite(loss)  # autocast did run in bf16
    loss.backward()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in trainable)


def test_training_fills_the_input_size_and_camera_count():
    filled = fill_data_options("transreid_vit_base", {"jpm": False}, height=384, width=128, num_cameras=6)
    assert filled == {"jpm": False, "height": 384, "width": 128, "num_cameras": 6}
    assert (
        fill_data_options("transreid_vit_small", {"num_cameras": 8}, height=256, width=128, num_cameras=6)[
            "num_cameras"
        ]
        == 8
    )
    assert fill_data_options("bot_resnet18", {}, height=256, width=128, num_cameras=6) == {}
    with pytest.raises(ConfigError, match=r"differs from data\.height"):
        fill_data_options("transreid_vit_small", {"height": 256}, height=384, width=128, num_cameras=6)


def test_exporting_at_another_input_size_is_one_line(built_models, tmp_path):
    from finereid.deploy import export_model

    model = built_models["transreid_vit_small"].eval()
    with pytest.raises(ConfigError, match="does not fit this ViT's") as info:
        export_model(model, "torchscript", tmp_path / "vit.pt", 2 * HEIGHT, 2 * WIDTH)
    assert "\n" not in str(info.value)
