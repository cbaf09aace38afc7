"""The strong-baseline recipe's details, pinned: loss weights, the center loss and its own optimizer.

Each test recomputes the expected value independently (losses from finereid.losses or by hand, an SGD
step by hand), so removing a weight, the 1/weight gradient rescale or the separate optimizer fails.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from finereid.config import config_from_dict
from finereid.engine import ReIDModule
from finereid.losses import build_loss

NUM_CLASSES = 4


def _module(**loss) -> ReIDModule:
    """A bot_resnet18 ReIDModule at 32x16 with the given loss section."""
    torch.manual_seed(0)
    config = config_from_dict(
        {"data": {"height": 32, "width": 16}, "model": {"name": "bot_resnet18", "pretrained": "none"},
         "loss": {"metric_loss": "triplet", **loss}, "optim": {"lr": 1e-3}}
    )  # fmt: skip
    return ReIDModule(config, NUM_CLASSES)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(8, 3, 32, 16, generator=generator), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])


def test_loss_terms_are_the_weighted_losses(one_torch_thread):
    module = _module(id_weight=0.7, metric_loss_weight=1.9, center_weight=0.01, label_smoothing=0.2)
    images, pids = _batch()
    module.train()
    output = module.model(images)
    terms = module._loss_terms(output, pids)
    feats, logits = output.features[0], output.logits[0]
    smooth = torch.full((8, NUM_CLASSES), 0.2 / NUM_CLASSES).scatter_add_(
        1, pids[:, None], torch.full((8, 1), 0.8)
    )  # label smoothing by hand: (1 - eps) on the true class + eps / C everywhere
    ce = -(smooth * F.log_softmax(logits, 1)).sum(1).mean()
    triplet = build_loss("triplet")(feats, pids)
    centers = module.center_losses[0].centers
    center = ((feats - centers[pids]) ** 2).sum(1).mean()  # the strong baseline's center loss
    torch.testing.assert_close(terms["id_loss"], 0.7 * ce)
    torch.testing.assert_close(terms["metric_loss"], 1.9 * triplet)
    torch.testing.assert_close(terms["center_loss"], 0.01 * center, rtol=1e-5, atol=1e-7)


def test_zero_weights_drop_their_terms(one_torch_thread):
    module = _module(metric_loss_weight=0.0, center_weight=0.0)
    images, pids = _batch()
    module.train()
    assert set(module._loss_terms(module.model(images), pids)) == {"id_loss"}
    assert len(module.center_losses) == 0


def test_centers_have_their_own_sgd_at_center_lr():
    module = _module(center_weight=0.0005, center_lr=0.5)
    optimizers, schedulers = module.configure_optimizers()
    main, centers = optimizers
    center_params = {id(p) for p in module.center_losses.parameters()}
    assert isinstance(centers, torch.optim.SGD) and centers.param_groups[0]["lr"] == 0.5
    assert centers.param_groups[0]["momentum"] == 0 and centers.param_groups[0]["weight_decay"] == 0
    assert {id(p) for g in centers.param_groups for p in g["params"]} == center_params
    assert not center_params & {id(p) for g in main.param_groups for p in g["params"]}
    assert isinstance(main, torch.optim.Adam) and main.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.1)
    assert schedulers[0]["interval"] == "epoch"  # warm-up and steps move once per epoch


def test_center_step_undoes_the_loss_weight(one_torch_thread, monkeypatch):
    """The centers move by center_lr x the gradient of the *unweighted* center loss (strong baseline)."""
    module = _module(center_weight=0.0005, center_lr=0.5)
    before = copy.deepcopy(module)
    optimizers, _ = module.configure_optimizers()
    monkeypatch.setattr(module, "optimizers", lambda: optimizers)
    monkeypatch.setattr(module, "manual_backward", lambda loss: loss.backward())
    monkeypatch.setattr(module, "_stop_if_not_finite", lambda *args: None)
    monkeypatch.setattr(module, "log", lambda *args, **kwargs: None)
    images, pids = _batch()
    module.train()
    module.training_step({"images": images, "pids": pids}, 0)

    before.train()
    feats = before.model(images).features[0]
    centers = before.center_losses[0].centers
    unweighted = build_loss("center", num_classes=NUM_CLASSES, feat_dim=feats.shape[1])
    unweighted.centers = centers
    (grad,) = torch.autograd.grad(unweighted(feats, pids), centers)
    expected = centers.detach() - 0.5 * grad
    torch.testing.assert_close(module.center_losses[0].centers.detach(), expected, rtol=1e-5, atol=1e-6)
    moved = (module.center_losses[0].centers - centers).abs().max()
    assert moved > 1e-4  # a weighted (0.0005 x) step would move them 2000 times less
