"""Training-step and optimizer details that mutation testing (benchmarks/mutation.py) found unguarded.

The step runs outside a Trainer (a stand-in trainer and optimizer list), so each test takes a fraction
of a second; expected values are worked out by hand from the config (learning rates, the step number).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from finereid.config import config_from_dict
from finereid.engine import ReIDModule
from finereid.engine.module import NonFiniteLossError

NUM_CLASSES = 4


def _module(loss: dict | None = None, optim: dict | None = None, model: dict | None = None) -> ReIDModule:
    """A bot_resnet18 ReIDModule at 32x16 (triplet + center loss unless `loss` says otherwise)."""
    torch.manual_seed(0)
    config = config_from_dict(
        {"data": {"height": 32, "width": 16},
         "model": {"name": "bot_resnet18", "pretrained": "none", **(model or {})},
         "loss": {"metric_loss": "triplet", **(loss or {})}, "optim": {"lr": 1e-3, **(optim or {})}}
    )  # fmt: skip
    return ReIDModule(config, NUM_CLASSES)


def _batch(size: int = 8) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    pids = torch.arange(size) // 2 % NUM_CLASSES
    camids = torch.arange(size) % 3
    return {"images": torch.randn(size, 3, 32, 16, generator=generator), "pids": pids, "camids": camids}


class _Strategy:
    """Stands in for a DDP strategy: records the NaN decision and answers as if another rank were bad."""

    def __init__(self, other_rank_bad: bool) -> None:
        self.calls: list[tuple[bool, bool]] = []
        self.other_rank_bad = other_rank_bad

    def reduce_boolean_decision(self, decision: bool, all: bool = True) -> bool:
        self.calls.append((decision, all))
        return (decision or self.other_rank_bad) if not all else (decision and self.other_rank_bad)


def _stepping(
    module: ReIDModule, monkeypatch, world_size: int = 1, strategy=None, single=False, epoch: int = 2
) -> list:
    """Make training_step runnable without a Trainer; returns the list the log calls are recorded in."""
    optimizers, _ = module.configure_optimizers()
    logged: list[tuple[str, torch.Tensor, dict]] = []
    trainer = SimpleNamespace(world_size=world_size, num_training_batches=5, strategy=strategy)
    monkeypatch.setattr(type(module), "trainer", property(lambda self: trainer))
    monkeypatch.setattr(type(module), "current_epoch", property(lambda self: epoch))
    monkeypatch.setattr(module, "optimizers", lambda: optimizers[0] if single else optimizers)
    monkeypatch.setattr(module, "manual_backward", lambda loss: loss.backward())
    monkeypatch.setattr(module, "log", lambda name, value, **kwargs: logged.append((name, value, kwargs)))
    module.train()
    return logged


def test_step_logs_the_total_for_the_progress_bar_and_each_term_per_epoch(monkeypatch):
    module = _module({"center_weight": 0.0005})
    logged = _stepping(module, monkeypatch)
    returned = module.training_step(_batch(), 0)
    by_name = {name: (value, kwargs) for name, value, kwargs in logged}
    names = {"train/loss_step", "train/loss_epoch", "train/id_loss", "train/metric_loss", "train/center_loss"}
    assert set(by_name) == names
    total, total_kwargs = by_name["train/loss_step"]
    # the per-step value is not synced (no collective per step); the epoch mean is, once per epoch
    assert total_kwargs == {"on_step": True, "on_epoch": False, "prog_bar": True, "batch_size": 8}
    epoch_total, epoch_kwargs = by_name["train/loss_epoch"]
    assert epoch_kwargs == {"on_step": False, "on_epoch": True, "batch_size": 8, "sync_dist": True}
    assert torch.equal(epoch_total, total)
    terms = [by_name[f"train/{name}"][0] for name in ("id_loss", "metric_loss", "center_loss")]
    torch.testing.assert_close(total, sum(terms))
    torch.testing.assert_close(returned, total)
    assert not returned.requires_grad and not any(t.requires_grad for t in terms)
    for name in ("id_loss", "metric_loss", "center_loss"):
        kwargs = by_name[f"train/{name}"][1]
        assert kwargs == {"on_step": False, "on_epoch": True, "batch_size": 8, "sync_dist": True}


def test_a_one_image_batch_is_skipped_and_a_two_image_batch_trains(monkeypatch):
    module = _module({"center_weight": 0.0})
    _stepping(module, monkeypatch, single=True)  # one optimizer: optimizers() returns it, not a list
    before = [p.detach().clone() for p in module.model.parameters()]
    assert module.training_step(_batch(1), 0) is None
    assert all(torch.equal(a, b) for a, b in zip(before, module.model.parameters(), strict=True))
    assert module.training_step(_batch(2), 0) is not None
    assert not all(torch.equal(a, b) for a, b in zip(before, module.model.parameters(), strict=True))


def test_non_finite_loss_names_epoch_batch_step_and_terms(monkeypatch):
    module = _module({"center_weight": 0.0})
    _stepping(module, monkeypatch)
    batch = _batch()
    batch["images"][0, 0, 0, 0] = float("nan")
    with pytest.raises(NonFiniteLossError) as info:
        module.training_step(batch, 3)
    # epoch 2 of 5 batches, batch 3: training step 2 * 5 + 3 = 13
    message = str(info.value)
    assert message.startswith(
        "non-finite loss at epoch 2, batch 3 (training step 13): id_loss=nan, metric_loss="
    )
    assert "\n" not in message


@pytest.mark.parametrize("other_rank_bad", [False, True])
def test_under_ddp_any_rank_with_a_bad_loss_stops_every_rank(monkeypatch, other_rank_bad):
    module = _module({"center_weight": 0.0})
    strategy = _Strategy(other_rank_bad)
    _stepping(module, monkeypatch, world_size=2, strategy=strategy)
    if other_rank_bad:
        with pytest.raises(NonFiniteLossError, match="training step 11"):
            module.training_step(_batch(), 1)
    else:
        module.training_step(_batch(), 1)
    assert strategy.calls == [(False, False)]  # this rank's loss is finite; "any rank" (all=False) decides


@pytest.mark.parametrize(("name", "momentum"), [("adam", None), ("sgd", 0.8)])
def test_main_optimizer_takes_the_configured_lr_decay_and_momentum(name, momentum):
    optim = {"name": name, "lr": 0.02, "weight_decay": 3e-4, "momentum": 0.8, "warmup_epochs": 0}
    module = _module({"center_weight": 0.0}, optim)
    (main,), _ = module.configure_optimizers()
    group = main.param_groups[0]
    assert group["lr"] == pytest.approx(0.02) and group["weight_decay"] == 3e-4
    if momentum is not None:
        assert isinstance(main, torch.optim.SGD) and group["momentum"] == momentum
    trainable = {id(p) for p in module.model.parameters() if p.requires_grad}
    assert {id(p) for g in main.param_groups for p in g["params"]} == trainable
    assert not module.model.neck.bn.bias.requires_grad  # so the frozen BNNeck shift is left out


def test_schedule_is_the_configured_warmup_and_steps():
    optim = {"lr": 0.01, "warmup_epochs": 2, "warmup_factor": 0.2, "milestones": [3], "gamma": 0.5}
    module = _module({"center_weight": 0.0}, optim)
    (main,), (entry,) = module.configure_optimizers()
    assert set(entry) == {"scheduler", "interval"} and entry["interval"] == "epoch"
    # epoch 0: 0.2 x lr; epoch 1: halfway from 0.2 to 1 (0.6); epoch 2: lr; from epoch 3: x 0.5
    expected = [0.002, 0.006, 0.01, 0.005, 0.005]
    seen = []
    for _ in expected:
        seen.append(main.param_groups[0]["lr"])
        main.step()
        entry["scheduler"].step()
    assert seen == pytest.approx(expected)


def test_metric_loss_with_unit_weight_is_kept():
    module = _module({"center_weight": 0.0, "metric_loss_weight": 1.0})
    module.train()
    batch = _batch()
    terms = module._loss_terms(module.model(batch["images"]), batch["pids"])
    assert set(terms) == {"id_loss", "metric_loss"}


def _spy_forward(module: ReIDModule, monkeypatch, uses_camids: bool | None) -> list[dict]:
    """Record each call of the model (its images and keyword arguments); `uses_camids` None: no attribute."""
    calls: list[dict] = []
    forward = module.model.forward

    def spy(images, **kwargs):
        calls.append({"images": images, **kwargs})
        return forward(images)

    monkeypatch.setattr(module.model, "forward", spy)
    if uses_camids is not None:
        monkeypatch.setattr(module.model, "uses_camids", uses_camids, raising=False)
    return calls


@pytest.mark.parametrize("uses_camids", [True, False, None], ids=["uses", "declines", "silent"])
def test_camera_ids_reach_only_models_that_use_them(monkeypatch, uses_camids):
    module = _module({"center_weight": 0.0})
    _stepping(module, monkeypatch)
    calls = _spy_forward(module, monkeypatch, uses_camids)
    batch = _batch()
    module.training_step(batch, 0)
    assert len(calls) == 1 and torch.equal(calls[0]["images"], batch["images"])
    if uses_camids:  # TransReID's SIE: the batch's own camera ids, by keyword
        assert set(calls[0]) == {"images", "camids"} and torch.equal(calls[0]["camids"], batch["camids"])
    else:  # every other model is called with images only (its forward takes no camera ids)
        assert set(calls[0]) == {"images"}


def _backbone_state(module: ReIDModule) -> list[torch.Tensor]:
    """Copies of the backbone's parameters and BatchNorm buffers."""
    backbone = module.model.backbone
    return [t.detach().clone() for t in (*backbone.parameters(), *backbone.buffers())]


@pytest.mark.parametrize(("epoch", "frozen"), [(0, True), (1, True), (2, False)])
def test_freeze_epochs_keep_the_backbone_and_its_statistics_while_the_head_trains(monkeypatch, epoch, frozen):
    # model.freeze_epochs = 2: epochs 0 and 1 train only the head; from epoch 2 everything trains
    module = _module({"center_weight": 0.0}, model={"freeze_epochs": 2})
    _stepping(module, monkeypatch, epoch=epoch)
    backbone_before = _backbone_state(module)
    head_before = [p.detach().clone() for p in module.model.neck.parameters()]
    module.training_step(_batch(), 0)
    unchanged = [torch.equal(a, b) for a, b in zip(backbone_before, _backbone_state(module), strict=True)]
    assert all(unchanged) if frozen else not any(unchanged[:3])
    head = zip(head_before, module.model.neck.parameters(), strict=True)
    assert not all(torch.equal(a, b) for a, b in head)  # the head trains in every epoch


def test_center_losses_need_one_feature_each(monkeypatch):
    # one center loss per entry of the model's feature_dims; a model that returns fewer features than it
    # declares must fail, not silently train fewer centers
    module = _module({"center_weight": 0.0005})
    _stepping(module, monkeypatch)
    module.train()
    batch = _batch()
    output = module.model(batch["images"])
    assert len(module.center_losses) == len(output.features)
    with pytest.raises(ValueError, match="zip"):
        module._loss_terms(output._replace(features=[]), batch["pids"])
