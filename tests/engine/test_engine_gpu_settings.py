"""The GPU settings of docs/training.md, checked on CPU: each switch exists, is off by default, and reaches
the model or the Trainer; channels-last changes the memory layout, not the outputs (to 1e-5)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import lightning.pytorch as pl
import pytest
import torch

from finereid.config import Config, config_from_dict
from finereid.engine import ReIDModule, run_training
from finereid.engine.datamodule import ReIDDataModule
from finereid.engine.runner import build_trainer
from helpers.configs import tiny_config

NUM_CLASSES = 4


def _config(**trainer) -> Config:
    return config_from_dict(
        {"data": {"height": 32, "width": 16}, "model": {"name": "bot_resnet18", "pretrained": "none"},
         "loss": {"metric_loss": "fdp"}, "trainer": {"accelerator": "cpu", **trainer}}
    )  # fmt: skip


def _module(**trainer) -> ReIDModule:
    torch.manual_seed(0)
    return ReIDModule(_config(**trainer), NUM_CLASSES)


def _conv_weights(module: ReIDModule) -> list[torch.Tensor]:
    return [m.weight for m in module.model.modules() if isinstance(m, torch.nn.Conv2d)]


def test_speed_switches_are_off_by_default():
    trainer = Config().trainer
    assert trainer.channels_last is False and trainer.compile is False
    module = _module()
    assert module.model._compiled_call_impl is None
    assert all(w.is_contiguous() for w in _conv_weights(module))


def test_channels_last_reaches_weights_and_input_and_keeps_outputs():
    plain, nhwc = _module(), _module(channels_last=True)
    weights = _conv_weights(nhwc)
    assert weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    assert not all(w.is_contiguous() for w in weights)  # really NHWC, not a 1x1 no-op
    images = torch.randn(6, 3, 32, 16, generator=torch.Generator().manual_seed(1))
    assert nhwc._model_input(images).is_contiguous(memory_format=torch.channels_last)
    assert plain._model_input(images) is images
    for name, tensor in plain.state_dict().items():
        assert torch.equal(tensor, nhwc.state_dict()[name]), name  # same values, other layout
    plain.eval(), nhwc.eval()
    with torch.no_grad():
        torch.testing.assert_close(nhwc(nhwc._model_input(images)), plain(images), rtol=1e-5, atol=1e-5)
    plain.train(), nhwc.train()
    a, b = plain.model(images), nhwc.model(nhwc._model_input(images))
    # training mode: BatchNorm over 6 images divides by small batch variances, so allow 1e-4 of the scale
    for x, y in ((b.features[0], a.features[0]), (b.logits[0], a.logits[0])):
        assert float((x - y).detach().abs().max()) <= 1e-4 * float(y.detach().abs().max())


def test_compile_switch_compiles_the_forward_and_keeps_parameter_names():
    plain, compiled = _module(), _module(compile=True)
    assert compiled.model._compiled_call_impl is not None  # compiled lazily, at the first call
    assert list(compiled.state_dict()) == list(plain.state_dict())  # checkpoints load either way


@pytest.mark.parametrize(("precision", "expected"), [("auto", "32-true"), ("bf16-mixed", "bf16-mixed")])
def test_precision_reaches_the_trainer(precision: str, expected: str, tmp_path: Path):
    trainer = build_trainer(_config(precision=precision, progress_bar=False), tmp_path, [])
    assert trainer.precision == expected


def test_num_workers_is_per_process(market_root: Path):
    config = config_from_dict(tiny_config(market_root, data={"num_workers": 2}))
    loaders = []
    for rank in (0, 1):
        datamodule = ReIDDataModule(config.data, seed=0)
        datamodule.trainer = SimpleNamespace(global_rank=rank, world_size=2, current_epoch=0)
        loaders.append(datamodule.train_dataloader())
    assert [loader.num_workers for loader in loaders] == [2, 2]  # each rank (GPU) starts its own workers
    assert {loader.sampler.base.rank for loader in loaders} == {0, 1}


def test_training_leaves_the_process_deterministic_settings_as_it_found_them(
    market_root: Path, tmp_path: Path
):
    config = config_from_dict(tiny_config(market_root, trainer={"max_epochs": 1, "deterministic": True}))
    before = torch.are_deterministic_algorithms_enabled(), torch.utils.deterministic.fill_uninitialized_memory
    seen = []

    class Record(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            seen.append(
                (
                    torch.are_deterministic_algorithms_enabled(),
                    torch.utils.deterministic.fill_uninitialized_memory,
                )
            )

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_training(config, tmp_path / "run", callbacks=[Record()])
    finally:
        torch.set_num_threads(previous_threads)
    assert seen and all(s == (True, False) for s in seen)  # deterministic algorithms, no NaN fill
    assert (
        torch.are_deterministic_algorithms_enabled(),
        torch.utils.deterministic.fill_uninitialized_memory,
    ) == before
