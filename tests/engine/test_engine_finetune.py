"""Fine-tuning (model.init_from, model.freeze_epochs) and camera ids reaching the models that use them."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
import yaml

from finereid.config import config_from_dict
from finereid.convert import convert_checkpoint
from finereid.engine import ReIDModule, run_training
from finereid.errors import CheckpointError
from finereid.files import CONFIG_FILE, LAST_CHECKPOINT
from helpers.configs import tiny_config


class Snapshots(pl.Callback):
    """The model's state when training starts and after each epoch (copies)."""

    def __init__(self) -> None:
        self.states: list[dict[str, torch.Tensor]] = []

    def on_train_start(self, trainer, module) -> None:
        self.states.append(copy.deepcopy(module.model.state_dict()))

    def on_train_epoch_end(self, trainer, module) -> None:
        self.states.append(copy.deepcopy(module.model.state_dict()))


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], prefix: str) -> bool:
    keys = [k for k in a if k.startswith(prefix)]
    assert keys, prefix
    return all(torch.equal(a[k], b[k]) for k in keys)


@pytest.fixture(scope="module")
def converted_osnet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """torchreid's osnet_x0_25 (7 identities, random weights) converted to a finereid checkpoint."""
    from torchreid.reid.models import build_model

    folder = tmp_path_factory.mktemp("osnet")
    torch.manual_seed(0)
    torch.save(
        {"state_dict": build_model("osnet_x0_25", 7, pretrained=False).state_dict()}, folder / "tr.pth"
    )
    return convert_checkpoint("torchreid", folder / "tr.pth", folder / "osnet.ckpt").out


def test_freeze_epochs_trains_only_the_head_first(market_root, tmp_path, one_torch_thread, caplog):
    config = config_from_dict(tiny_config(market_root, model={"freeze_epochs": 1}))
    snapshots = Snapshots()
    with caplog.at_level(logging.INFO, logger="finereid"):
        run_training(config, tmp_path / "run", callbacks=[snapshots])
    start, after_1, after_2 = snapshots.states
    assert _same(start, after_1, "backbone.")  # weights and BatchNorm statistics held in epoch 1
    assert not _same(start, after_1, "neck.classifier.")  # while the head learned
    assert not _same(after_1, after_2, "backbone.layer4.")  # epoch 2 trains everything
    assert "only the head trains" in caplog.text and "the backbone trains again" in caplog.text


def test_init_from_loads_everything_but_the_identity_classifier(
    market_root, converted_osnet, tmp_path, one_torch_thread, caplog
):
    init = tmp_path / "init.ckpt"
    init.write_bytes(converted_osnet.read_bytes())
    # pretrained=imagenet would fail for OSNet (no ImageNet file): init_from must skip it
    model = {"name": "osnet_x0_25", "pretrained": "imagenet", "init_from": str(init),
             "options": {"neck_feat": "before"}}  # fmt: skip
    sections = tiny_config(market_root, model=model, trainer={"max_epochs": 1})
    snapshots = Snapshots()
    with caplog.at_level(logging.INFO, logger="finereid"):
        run_training(config_from_dict(sections), tmp_path / "run", callbacks=[snapshots])
    source = torch.load(init, map_location="cpu", weights_only=True)["state_dict"]
    start = snapshots.states[0]
    assert start["neck.classifier.weight"].shape == (8, 512)  # the tiny Market's 8 ids, not the source's 7
    assert all(torch.equal(v, source[f"model.{k}"]) for k, v in start.items() if "classifier" not in k)
    assert (
        "loaded" in caplog.text and "re-initialised for 8 identities (the checkpoint's had 7)" in caplog.text
    )
    init.unlink()  # a resumed run and a reloaded checkpoint need only their own weights
    sections["trainer"]["max_epochs"] = 2
    run_training(config_from_dict(sections), tmp_path / "run", resume=True)
    assert ReIDModule.load_from_checkpoint(tmp_path / "run" / LAST_CHECKPOINT).model.num_classes == 8


def test_init_from_another_architecture_or_incomplete_weights_is_one_line(converted_osnet, tmp_path):
    config = config_from_dict(
        {"model": {"name": "bot_resnet18", "pretrained": "none", "init_from": str(converted_osnet)}}
    )
    with pytest.raises(CheckpointError, match="holds a 'osnet_x0_25' model, not 'bot_resnet18'"):
        ReIDModule(config, 5)
    checkpoint = torch.load(converted_osnet, map_location="cpu", weights_only=True)
    del checkpoint["state_dict"]["model.backbone.conv5.conv.weight"]
    torch.save(checkpoint, tmp_path / "cut.ckpt")
    osnet = {"name": "osnet_x0_25", "pretrained": "none", "init_from": str(tmp_path / "cut.ckpt")}
    with pytest.raises(CheckpointError, match=r"missing: backbone\.conv5\.conv\.weight") as info:
        ReIDModule(config_from_dict({"model": osnet}), 5)
    assert "\n" not in str(info.value)


def test_transreid_trains_with_camera_ids_and_its_checkpoint_records_them(
    market_root, tmp_path, one_torch_thread
):
    sections = tiny_config(
        market_root, model={"name": "transreid_vit_small", "pretrained": "none", "options": {}},
        data={"height": 64, "width": 32}, trainer={"max_epochs": 1},
    )  # fmt: skip
    calls: list[tuple[bool, torch.Tensor | None]] = []  # (training, camids) of every forward

    class RecordCamids(pl.Callback):
        def on_fit_start(self, trainer, module) -> None:
            def record(model, args, kwargs):
                calls.append((model.training, kwargs.get("camids")))

            module.model.register_forward_pre_hook(record, with_kwargs=True)

    run_training(config_from_dict(sections), tmp_path / "run", callbacks=[RecordCamids()])
    checkpoint = torch.load(tmp_path / "run" / LAST_CHECKPOINT, map_location="cpu", weights_only=True)
    options = checkpoint["hyper_parameters"]["config"]["model"]["options"]
    assert options == {"height": 64, "width": 32, "num_cameras": 2}  # the tiny Market's cameras 1 and 2
    saved = yaml.safe_load((tmp_path / "run" / CONFIG_FILE).read_text())
    assert saved["model"]["options"] == {}  # config.yaml keeps what the user wrote
    training = [camids for is_training, camids in calls if is_training]
    assert training and all(c is not None for c in training)  # every training step saw the batch's cameras
    assert set(torch.cat(training).tolist()) == {0, 1}
    assert all(c is None for is_training, c in calls if not is_training)  # validation embeds images only
