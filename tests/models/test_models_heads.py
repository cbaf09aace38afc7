"""BNNeck semantics, GeM pooling, the non-local block and MGN's stripe pooling."""

from __future__ import annotations

import pytest
import torch
from model_helpers import images
from torch import nn

from finereid.models.heads import BNNeck, GeMPooling, GlobalAvgPool
from finereid.models.mgn import stripe_max
from finereid.models.nonlocal_block import NonLocalBlock


def test_bnneck_initialization():
    torch.manual_seed(0)
    neck = BNNeck(256, 751)
    assert torch.equal(neck.bn.weight, torch.ones(256))
    assert torch.equal(neck.bn.bias, torch.zeros(256))
    assert not neck.bn.bias.requires_grad and neck.bn.weight.requires_grad
    assert neck.classifier.bias is None
    assert neck.classifier.weight.std().item() == pytest.approx(0.001, rel=0.05)


def test_bnneck_bias_stays_zero_through_training():
    torch.manual_seed(0)
    neck = BNNeck(8, 3)
    optimizer = torch.optim.SGD([p for p in neck.parameters() if p.requires_grad], lr=1.0)
    for _ in range(3):
        _, logits = neck(torch.randn(6, 8) + 5.0)
        nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0, 1, 2])).backward()
        optimizer.step()
        optimizer.zero_grad()
    assert torch.equal(neck.bn.bias, torch.zeros(8))
    assert not torch.equal(neck.bn.weight, torch.ones(8))  # the scale did learn


@pytest.mark.parametrize("name", ["bot_resnet18", "bot_efficientnet_lite0", "agw_resnet50"])
def test_bot_metric_feature_is_before_bn_and_logits_after(built_models, name):
    model = built_models[name].train()
    batch = images(4, seed=5)
    with torch.no_grad():
        pooled = model.pool(model.backbone(batch))
        out = model(batch)
        after = nn.functional.batch_norm(
            pooled, None, None, model.neck.bn.weight, model.neck.bn.bias, training=True, eps=model.neck.bn.eps
        )
    torch.testing.assert_close(out.features[0], pooled)
    torch.testing.assert_close(out.logits[0], after @ model.neck.classifier.weight.T)


def test_bot_eval_embedding_after_or_before_bn(built_models):
    model = built_models["bot_resnet18"].eval()
    batch = images(3, seed=6)
    with torch.no_grad():
        pooled = model.pool(model.backbone(batch))
        after = model(batch)
        model.neck_feat = "before"
        before = model(batch)
        model.neck_feat = "after"
    bn = model.neck.bn
    expected = (pooled - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    torch.testing.assert_close(after, expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(before, pooled)
    assert not torch.allclose(after, before)


def test_gem_interpolates_between_average_and_max():
    x = torch.rand(2, 4, 5, 3) + 0.1
    torch.testing.assert_close(GeMPooling(p=1.0)(x), GlobalAvgPool()(x))
    high = GeMPooling(p=60.0)(x)
    assert (high <= x.amax(dim=(2, 3)) + 1e-5).all() and (high > 0.9 * x.amax(dim=(2, 3))).all()
    three = GeMPooling(p=3.0)(x)
    assert (three > GlobalAvgPool()(x)).all()  # power mean inequality, strict for non-constant maps


def test_gem_exponent_is_learned():
    gem = GeMPooling(p=3.0)
    gem(torch.rand(2, 4, 5, 3) + 0.1).sum().backward()
    assert gem.p.grad is not None and gem.p.grad.abs() > 0
    assert not GeMPooling(p=3.0, learnable=False).p.requires_grad


def test_gem_handles_zeros_and_negatives():
    x = torch.zeros(1, 2, 3, 3)
    x[0, 1] = -1.0
    out = GeMPooling()(x.requires_grad_())
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()


def test_nonlocal_block_starts_as_identity_and_mixes_positions():
    torch.manual_seed(0)
    block = NonLocalBlock(16).eval()
    x = torch.randn(2, 16, 6, 4)
    torch.testing.assert_close(block(x), x)
    nn.init.ones_(block.out[1].weight)
    y = block(x)
    assert y.shape == x.shape and not torch.allclose(y, x)
    # Non-local: changing one position changes the output at a far-away position.
    x2 = x.clone()
    x2[:, :, 0, 0] += 5.0
    assert not torch.allclose(block(x2)[:, :, 5, 3], y[:, :, 5, 3])


@pytest.mark.parametrize(("height", "stripes"), [(16, 3), (16, 2), (4, 3), (7, 3), (2, 3), (8, 1)])
def test_stripe_max_matches_adaptive_max_pool(height, stripes):
    x = torch.randn(2, 5, height, 3)
    expected = nn.functional.adaptive_max_pool2d(x, (stripes, 1)).squeeze(3)  # [B, C, stripes]
    got = torch.stack(stripe_max(x, stripes), dim=2)
    torch.testing.assert_close(got, expected)
