"""Model properties that mutants surviving benchmarks/mutation.py showed unguarded (issue #22).

Expected values follow from definitions (GeM's formula, an init std, a clamp to eps) or from timm's own
TF EfficientNet-Lite0, never from a run of the code under test. Every model here is built inside its test:
mutmut runs, for each mutant, only the tests that called the mutated function, and a model built once in a
shared fixture counts only for the first test that used it.
"""

from __future__ import annotations

import pytest
import timm
import torch

from finereid.errors import ConfigError
from finereid.models.backbones.efficientnet import EfficientNetLite0Trunk
from finereid.models.heads import FCEmbedding, GeMPooling, GlobalAvgPool, build_pool

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def _timm_tf_lite0(output_stride: int) -> torch.nn.Module:
    """timm's own TF-ported Lite0 (SAME padding, BN eps 1e-3 built in), headless, randomly initialized."""
    return timm.create_model(
        "tf_efficientnet_lite0", pretrained=False, num_classes=0, global_pool="", output_stride=output_stride
    )


# --- EfficientNet-Lite0 trunk: what its checkpoints hold -------------------------------------------------


def test_lite0_trunk_checkpoint_holds_exactly_timms_lite0_weights():
    # The fixed input affine (in_scale, in_shift) is derived from constants: saved, it would add two keys
    # that every checkpoint written before (and timm's own Lite0 weights) lacks.
    trunk = EfficientNetLite0Trunk()
    reference = _timm_tf_lite0(output_stride=16)
    assert list(trunk.state_dict()) == [f"body.{key}" for key in reference.state_dict()]
    assert {"in_scale", "in_shift"} <= {name for name, _ in trunk.named_buffers()}  # still moved by .to()


def test_lite0_checkpoint_without_input_affine_loads_strictly_and_matches_timm():
    # A checkpoint as finereid saves it (timm's Lite0 weights under `body.`) loads with strict=True into the
    # default trunk (last_stride 1), which then computes timm's TF Lite0 at output stride 16 on TF pixels.
    torch.manual_seed(0)
    reference = _timm_tf_lite0(output_stride=16).eval()
    trunk = EfficientNetLite0Trunk().eval()
    trunk.load_state_dict(
        {f"body.{key}": value for key, value in reference.state_dict().items()}, strict=True
    )
    pixels = torch.rand(2, 3, 64, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = trunk((pixels - IMAGENET_MEAN) / IMAGENET_STD)
        theirs = reference.forward_features((pixels * 255 - 127) / 128)
    assert ours.shape == (2, 1280, 4, 2)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)


# --- heads: GeM, the FC embedding, build_pool ----------------------------------------------------------


def test_gem_default_is_the_cubic_mean_with_a_learnable_exponent():
    # p = 3 is GeM's published initial exponent (Radenović et al.) and build_pool's default too.
    x = torch.rand(2, 3, 4, 5, generator=torch.Generator().manual_seed(2)) + 0.1
    gem = GeMPooling()
    assert gem.p.item() == 3.0 and gem.p.requires_grad
    torch.testing.assert_close(gem(x), x.pow(3).mean(dim=(2, 3)).pow(1 / 3))


def test_gem_repr_shows_the_current_exponent_and_eps():
    gem = GeMPooling(p=3.0, eps=1e-4)
    with torch.no_grad():
        gem.p.fill_(4.25)  # as after training
    assert "p=4.2500, eps=0.0001" in repr(gem)


def test_gem_clamps_zero_and_negative_inputs_to_eps():
    x = torch.zeros(2, 3, 4, 4)
    x[:, 1] = -2.0
    out = GeMPooling(p=2.0, eps=0.25)(x)
    torch.testing.assert_close(out, torch.full((2, 3), 0.25))


def test_gem_with_p_2_is_the_root_mean_square():
    x = torch.rand(2, 3, 4, 5, generator=torch.Generator().manual_seed(3)) + 0.1
    expected = x.pow(2).mean(dim=(2, 3)).sqrt()
    torch.testing.assert_close(GeMPooling(p=2.0)(x), expected)


def test_fc_embedding_starts_as_the_torchreid_init_and_outputs_non_negative_features():
    torch.manual_seed(0)
    embedding = FCEmbedding(256, 512)
    linear, norm = embedding.fc[0], embedding.fc[1]
    assert embedding.out_dim == 512 and linear.out_features == 512
    assert linear.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert torch.equal(linear.bias, torch.zeros(512))
    assert torch.equal(norm.weight, torch.ones(512)) and torch.equal(norm.bias, torch.zeros(512))
    out = embedding.train()(torch.randn(8, 256))
    assert out.shape == (8, 512) and bool((out >= 0).all()) and bool((out > 0).any())


def test_build_pool_gives_each_pool_with_its_exponent():
    assert isinstance(build_pool("avg"), GlobalAvgPool)
    gem = build_pool("gem", 0.5)  # any positive exponent, below 1 too
    assert isinstance(gem, GeMPooling) and gem.p.item() == 0.5 and gem.p.requires_grad
    assert build_pool("gem").p.item() == 3.0  # the default exponent of GeM


@pytest.mark.parametrize(
    ("pool", "gem_p", "message"),
    [
        ("max", 3.0, r"^pool must be one of avg, gem, got 'max'$"),
        ("gem", 0, r"^gem_p must be a positive number, got 0$"),
        ("gem", -1.0, r"^gem_p must be a positive number, got -1.0$"),
        ("gem", True, r"^gem_p must be a positive number, got True$"),
        ("gem", "3", r"^gem_p must be a positive number, got '3'$"),
    ],
)
def test_build_pool_errors_name_the_option_and_the_bad_value(pool, gem_p, message):
    with pytest.raises(ConfigError, match=message):
        build_pool(pool, gem_p)
