"""Activation maps on small models: shapes, model families, determinism, flat maps, the target, hooks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from explain_helpers import HEIGHT, WIDTH, NoPaddingCNN, PixelCNN, TinyViT
from torch import nn

from finereid.errors import ConfigError, FinereidError
from finereid.explain import (
    ActivationMapper,
    SimilarityTarget,
    detail_share,
    find_map_layers,
    is_flat,
    overlay,
)
from finereid.models import MODELS, build_model, model_options

pytest.importorskip("pytorch_grad_cam")


def _model(name: str) -> nn.Module:
    torch.manual_seed(0)
    if name == "vit":
        return TinyViT().eval()
    options = {"height": HEIGHT, "width": WIDTH} if name.startswith("transreid") else {}
    model = build_model(name, 5, **options).eval()
    with torch.no_grad():  # give the BN layers non-trivial running statistics
        model.train()(torch.randn(4, 3, HEIGHT, WIDTH))
    return model.eval()


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("bot_resnet18", "cnn"),
        ("agw_resnet18", "cnn"),
        ("mgn_resnet18", "multi-branch"),
        ("vit", "transformer"),
        ("transreid_vit_small", "transformer"),
    ],
)
def test_maps_have_the_input_shape_and_are_deterministic(name: str, kind: str) -> None:
    model = _model(name)
    images = torch.randn(3, 3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(1))
    with ActivationMapper(model, "cosine") as mapper:
        assert mapper.layers.kind == kind
        references = mapper.embed(images).roll(1, dims=0)  # each against another
        first = mapper.maps(images, references)
        again = mapper.maps(images, references)
    assert first.shape == (3, HEIGHT, WIDTH) and first.dtype == np.float32
    assert np.isfinite(first).all() and first.min() >= 0.0 and first.max() <= 1.0
    assert np.array_equal(first, again)
    assert all(not is_flat(m) for m in first)  # random images against other embeddings: something lights up


def test_transreid_maps_read_the_tokens_both_of_its_branches_see() -> None:
    model = _model("transreid_vit_small")  # JPM on: 5 features, its last block kept apart
    layers = find_map_layers(model)
    assert layers.layers == [model.blocks]  # not the last block alone: JPM's copy of it reads these too
    layers.close()
    with ActivationMapper(model) as mapper:
        images = torch.randn(2, 3, HEIGHT, WIDTH)
        maps = mapper.maps(images, mapper.embed(images).flip(0))
        assert mapper.layers.reshape_transform.grid == (5, 2)  # 16x16 patches every 12 pixels at 64x32
    assert maps.shape == (2, HEIGHT, WIDTH) and not any(is_flat(m) for m in maps)


def test_transformer_path_follows_the_input_size() -> None:
    model = TinyViT(96, 48).eval()  # timm ViTs take their own size; the grid is read on every forward
    with ActivationMapper(model) as mapper:
        images = torch.randn(2, 3, 96, 48)
        maps = mapper.maps(images, mapper.embed(images).flip(0))
        assert maps.shape == (2, 96, 48)
        assert mapper.layers.reshape_transform.grid == (12, 6)  # 96x48 in 8-pixel patches


def test_a_constant_image_gives_a_flat_map_that_everything_handles() -> None:
    model = NoPaddingCNN().eval()
    constant = torch.full((1, 3, HEIGHT, WIDTH), 0.3)
    with ActivationMapper(model, "euclidean") as mapper:
        maps = mapper.maps(constant, mapper.embed(torch.randn(1, 3, HEIGHT, WIDTH)))
    assert maps.shape == (1, HEIGHT, WIDTH) and not np.isnan(maps).any()
    assert is_flat(maps[0]) and (maps == 0).all()
    image = np.full((HEIGHT, WIDTH, 3), 90, dtype=np.uint8)
    assert np.array_equal(np.asarray(overlay(image, maps[0])), image)  # no heat drawn
    share, chance = detail_share(maps[0], np.eye(HEIGHT, WIDTH, dtype=bool))
    assert np.isnan(share) and chance == pytest.approx(WIDTH / (HEIGHT * WIDTH))


@pytest.mark.parametrize("name", ["bot_resnet18", "vit"])
def test_real_models_map_a_constant_image_without_nan(name: str) -> None:
    model = _model(name)
    with ActivationMapper(model) as mapper:
        maps = mapper.maps(torch.zeros(1, 3, HEIGHT, WIDTH), mapper.embed(torch.randn(1, 3, HEIGHT, WIDTH)))
    assert np.isfinite(maps).all() and 0.0 <= maps.min() <= maps.max() <= 1.0


def test_the_map_points_where_the_similarity_comes_from() -> None:
    torch.manual_seed(3)
    model = PixelCNN().eval()
    image = torch.full((1, 3, HEIGHT, WIDTH), -0.5)
    image[:, 0, 40:52, 8:20] = 2.0  # a red square on grey
    red = torch.zeros(1, 3, HEIGHT, WIDTH)
    red[:, 0] = 2.0
    with ActivationMapper(model, "euclidean") as mapper:
        activation = mapper.maps(image, mapper.embed(red))[0]
    inside = np.zeros((HEIGHT, WIDTH), dtype=bool)
    inside[40:52, 8:20] = True
    assert activation[inside].min() > 0.9 and activation[~inside].max() < 0.1
    share, chance = detail_share(activation, inside)
    assert share > 0.9 > 0.1 > chance


def test_similarity_target_values() -> None:
    a, b, c = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0]), torch.tensor([0.0, 2.0])
    assert float(SimilarityTarget(b)(a)) == pytest.approx(2**-0.5)
    assert float(SimilarityTarget(b, c)(a)) == pytest.approx(2**-0.5 - 0.0)
    assert float(SimilarityTarget(b, distance="euclidean")(a)) == pytest.approx(-0.5)
    assert float(SimilarityTarget(b, c, distance="euclidean")(a)) == pytest.approx(-0.5 + 2.5)
    with pytest.raises(ConfigError, match="unknown distance"):
        SimilarityTarget(b, distance="manhattan")


def test_mapping_leaves_the_model_as_it_was() -> None:
    model = _model("bot_resnet18")
    flags = [p.requires_grad for p in model.parameters()]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    images = torch.randn(2, 3, HEIGHT, WIDTH)
    mapper = ActivationMapper(model)
    mapper.maps(images, mapper.embed(images).flip(0))
    mapper.close()
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert not model.training
    assert all(not m._forward_hooks for m in model.modules())


def test_vit_hooks_are_removed_on_close() -> None:
    model = TinyViT().eval()
    with ActivationMapper(model):
        assert any(m._forward_hooks for m in model.modules())
    assert all(not m._forward_hooks for m in model.modules())


def test_a_model_without_a_known_layer_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match="no activation-map layer known for Linear") as info:
        find_map_layers(nn.Linear(3, 4))
    assert "\n" not in str(info.value)


def test_mismatched_references_are_refused() -> None:
    model = PixelCNN().eval()
    with ActivationMapper(model) as mapper, pytest.raises(FinereidError, match="and 3 references"):
        mapper.maps(torch.randn(2, 3, 8, 8), torch.randn(3, 16))


# A larger sibling has the same layers as the smaller model listed with it; its maps are not rebuilt here.
SAME_LAYERS_AS = {
    "bot_resnet50": "bot_resnet18",
    "agw_resnet50": "agw_resnet18",
    "mgn_resnet50": "mgn_resnet18",
    "transreid_vit_base": "transreid_vit_small",
}


@pytest.mark.parametrize("name", sorted(set(MODELS) - set(SAME_LAYERS_AS)))
def test_every_registered_model_family_has_maps(name: str) -> None:
    options = {k: v for k, v in {"height": HEIGHT, "width": WIDTH}.items() if k in model_options(name)}
    torch.manual_seed(0)
    model = build_model(name, 5, **options).eval()
    expected = "transformer" if "vit" in name else "multi-branch" if name.startswith("mgn") else "cnn"
    images = torch.randn(2, 3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(2))
    with ActivationMapper(model) as mapper:
        assert mapper.layers.kind == expected
        maps = mapper.maps(images, mapper.embed(images).flip(0))
    assert maps.shape == (2, HEIGHT, WIDTH) and np.isfinite(maps).all()
    assert 0.0 <= maps.min() <= maps.max() <= 1.0
