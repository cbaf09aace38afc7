"""The demo presets: one recipe for every loss, configs/demo_cpu.yaml in step with it, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from finereid.config import load_config
from finereid.demo import LOSS_KWARGS, PRESETS, get_preset
from finereid.errors import ConfigError

DEMO_CPU_YAML = Path(__file__).resolve().parents[2] / "configs" / "demo_cpu.yaml"


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_losses_share_everything_but_the_loss(preset: str) -> None:
    settings = PRESETS[preset]
    triplet, fdp = (settings.config(loss, "/data/synth", seed=3).to_dict() for loss in ("triplet", "fdp"))
    assert triplet["loss"]["metric_loss"] == "triplet" and triplet["loss"]["metric_loss_kwargs"] == {
        "margin": 0.3
    }
    assert fdp["loss"]["metric_loss"] == "fdp" and fdp["loss"]["metric_loss_kwargs"] == LOSS_KWARGS["fdp"]
    triplet.pop("loss"), fdp.pop("loss")
    assert triplet == fdp
    assert fdp["data"]["root"] == "/data/synth" and fdp["trainer"]["seed"] == 3
    assert fdp["model"]["name"] == "bot_efficientnet_lite0" and fdp["model"]["pretrained"] == "imagenet"


def test_quick_preset_is_smaller_than_full() -> None:
    full, quick = PRESETS["full"], PRESETS["quick"]
    assert quick.dataset["num_ids"] < full.dataset["num_ids"]
    assert quick.config("fdp", "x", 0).trainer.max_epochs < full.config("fdp", "x", 0).trainer.max_epochs


def test_demo_cpu_yaml_is_the_full_recipe() -> None:
    from_file = load_config(DEMO_CPU_YAML).to_dict()
    from_preset = PRESETS["full"].config("fdp", from_file["data"]["root"], seed=0).to_dict()
    for config in (from_file, from_preset):  # the file pins the CPU; the demo also runs on a GPU
        for key in ("accelerator", "precision", "progress_bar"):
            config["trainer"].pop(key)
    assert from_file == from_preset


def test_unknown_preset_and_loss_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="unknown demo preset 'slow'; valid: full, quick"):
        get_preset("slow")
    with pytest.raises(ConfigError, match=r"unknown loss.metric_loss 'nope'"):
        PRESETS["quick"].config("nope", "x", 0)


def test_dataset_key_depends_on_dataset_and_seed_only() -> None:
    full, quick = PRESETS["full"], PRESETS["quick"]
    assert full.dataset_key(0) == full.dataset_key(0) != full.dataset_key(1)
    assert full.dataset_key(0) != quick.dataset_key(0)
