"""Loading checkpoints for deployment: the right model in eval mode, one-line errors, no unpickling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from deploy_helpers import HEIGHT, WIDTH, save_checkpoint

from finereid.errors import CheckpointError
from finereid.evaluation import load_model as load_checkpoint


class _Payload:
    """Pickles to a call that creates a file: loading must never run it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _edited(src: Path, dst: Path, edit) -> Path:
    """A copy of checkpoint `src` with `edit(dict)` applied."""
    data = torch.load(src, weights_only=True)
    edit(data)
    torch.save(data, dst)
    return dst


def test_loaded_model_equals_the_trained_one(tmp_path):
    torch.manual_seed(1)
    module = save_checkpoint(tmp_path / "best.ckpt", model_name="bot_resnet18", num_classes=3)
    loaded = load_checkpoint(tmp_path / "best.ckpt")
    assert (loaded.model_name, loaded.num_classes, loaded.height, loaded.width) == (
        "bot_resnet18",
        3,
        HEIGHT,
        WIDTH,
    )
    assert not loaded.model.training and loaded.feature_dim == 512 and loaded.distance == "euclidean"
    x = torch.randn(3, 3, HEIGHT, WIDTH)
    module.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), module.model(x), rtol=0, atol=0)


def test_expected_model_name_must_match(checkpoint):
    with pytest.raises(CheckpointError, match="holds a 'bot_resnet18' model, not 'bot_resnet50'") as info:
        load_checkpoint(checkpoint, model_name="bot_resnet50")
    assert "\n" not in str(info.value)


def test_weights_of_another_architecture_are_refused(checkpoint, tmp_path):
    def claim_resnet50(data):
        data["hyper_parameters"]["config"]["model"]["name"] = "bot_resnet50"

    path = _edited(checkpoint, tmp_path / "liar.ckpt", claim_resnet50)
    with pytest.raises(CheckpointError, match="weights do not fit model 'bot_resnet50'") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_unknown_model_name_is_refused(checkpoint, tmp_path):
    path = _edited(
        checkpoint,
        tmp_path / "x.ckpt",
        lambda d: d["hyper_parameters"]["config"]["model"].update(name="vit_huge"),
    )
    with pytest.raises(CheckpointError, match="unknown model 'vit_huge'; valid: agw_resnet18, agw_resnet50"):
        load_checkpoint(path)


def test_pickled_objects_are_never_unpickled(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"model_name": _Payload(marker)}}, path)
    with pytest.raises(CheckpointError, match="weights_only") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"hello, not a checkpoint\n", b"PK\x03\x04garbage"])
def test_non_checkpoint_files_are_one_line_errors(tmp_path, content):
    path = tmp_path / "notes.ckpt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_plain_state_dict_and_missing_files_are_refused(tmp_path):
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "weights.pt")
    with pytest.raises(CheckpointError, match="not a finereid checkpoint"):
        load_checkpoint(tmp_path / "weights.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.ckpt")
    with pytest.raises(CheckpointError, match="is a directory"):
        load_checkpoint(tmp_path)


def test_input_size_from_the_checkpoint_or_arguments(checkpoint):
    assert (load_checkpoint(checkpoint).height, load_checkpoint(checkpoint).width) == (HEIGHT, WIDTH)
    assert (load_checkpoint(checkpoint, height=96, width=48).height, 96) == (96, 96)
