"""Checkpoints written by finereid 0.1 (flat ReIDModule hyper-parameters) still load, evaluate and resume.

`tests/fixtures/checkpoint_0_1_0.json` was captured from a real checkpoint that finereid 0.1.0 wrote
(commit c5074dc): its top-level keys, hyper-parameters and state-dict shapes. The test rebuilds a file of
exactly that format (weights random, of those shapes) and reads it with today's loader.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from finereid.evaluation import checkpoint_config, load_model, read_checkpoint
from finereid.models import build_model

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoint_0_1_0.json"


def _old_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """Write a checkpoint in the 0.1.0 format; returns its model weights."""
    spec = json.loads(FIXTURE.read_text(encoding="utf-8"))
    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in spec["state_dict"].items():
        dtype = getattr(torch, spec["state_dict_dtypes"][key])
        state[key] = (
            torch.randint(0, 5, shape, generator=generator, dtype=dtype)
            if not dtype.is_floating_point
            else torch.rand(shape, generator=generator, dtype=dtype) + 0.5  # positive: valid BN variances
        )
    data = {key: None for key in spec["top_level_keys"]}
    data.update(hyper_parameters=spec["hyper_parameters"], state_dict=state, epoch=0, global_step=2)
    data.update(callbacks={}, loops={}, lr_schedulers=[], optimizer_states=[])
    data["pytorch-lightning_version"] = "2.6.0"
    torch.save(data, path)
    return {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}


def test_the_fixture_is_the_old_flat_format():
    spec = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert spec["hyper_parameters"]["model_name"] == "bot_resnet18"
    assert "config" not in spec["hyper_parameters"] and "eval_metric" in spec["hyper_parameters"]
    assert any(k.startswith("center_losses.") for k in spec["state_dict"])


def test_old_checkpoint_loads_with_its_settings(tmp_path):
    path = tmp_path / "best.ckpt"
    weights = _old_checkpoint(path)
    config, num_classes = checkpoint_config(read_checkpoint(path), path)
    assert num_classes == 8
    assert (config.model.name, config.model.options) == ("bot_resnet18", {"neck_feat": "before"})
    assert (config.loss.metric_loss, config.loss.metric_loss_kwargs) == ("triplet", {"margin": 0.4})
    assert (config.data.height, config.data.width, config.trainer.eval_distance) == (32, 16, "cosine")
    assert (config.optim.lr, config.optim.milestones) == (0.001, (2,))
    loaded = load_model(path)
    assert (loaded.height, loaded.width, loaded.distance) == (32, 16, "cosine")
    reference = build_model("bot_resnet18", 8, neck_feat="before")
    reference.load_state_dict(weights)
    x = torch.randn(3, 3, 32, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), reference.eval()(x), rtol=0, atol=0)


def test_old_checkpoint_takes_its_dataset_from_the_run_config(tmp_path):
    path = tmp_path / "best.ckpt"
    _old_checkpoint(path)
    (tmp_path / "config.yaml").write_text("data:\n  name: dukemtmc\n  root: /data/duke\n", encoding="utf-8")
    config, _ = checkpoint_config(read_checkpoint(path), path)
    assert (config.data.name, config.data.root) == ("dukemtmc", "/data/duke")
    assert (config.data.height, config.data.width) == (32, 16)  # the checkpoint's own size wins


def test_old_checkpoint_resumes_into_the_new_module(tmp_path):
    from finereid.engine import ReIDModule

    path = tmp_path / "last.ckpt"
    _old_checkpoint(path)
    config, num_classes = checkpoint_config(read_checkpoint(path), path)
    module = ReIDModule(config, num_classes)
    state = torch.load(path, weights_only=True)["state_dict"]
    result = module.load_state_dict(state, strict=True)  # same module layout: model, losses, centers
    assert (result.missing_keys, result.unexpected_keys) == ([], [])
    restored = ReIDModule.load_from_checkpoint(path)  # Lightning's entry point, on the old format
    assert restored.config == config.replace(model={"pretrained": "none", "pretrained_path": None})
    for name, tensor in state.items():
        assert torch.equal(restored.state_dict()[name], tensor), name


def test_a_broken_old_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "best.ckpt"
    _old_checkpoint(path)
    data = torch.load(path, weights_only=True)
    data["hyper_parameters"]["eval_metric"] = "manhattan"
    torch.save(data, path)
    with pytest.raises(Exception, match="eval_distance 'manhattan' unknown") as info:
        load_model(path)
    assert "\n" not in str(info.value)
