"""Every YAML shipped in configs/ loads, names real datasets/models/losses, and says what its name says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from finereid.config import Config, load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
FILES = sorted(CONFIGS.glob("*.yaml"))
BENCHMARKS = ("market1501", "dukemtmc", "cuhk03", "msmt17")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_config_loads(path: Path) -> None:
    config = load_config(path)
    assert config.data.root, "every shipped config names a data root"


@pytest.mark.parametrize("dataset", BENCHMARKS)
@pytest.mark.parametrize("loss", ["fdp", "triplet"])
def test_benchmark_configs_exist_and_match_their_names(dataset: str, loss: str) -> None:
    config = load_config(CONFIGS / f"{dataset}_{loss}.yaml")
    assert (config.data.name, config.loss.metric_loss) == (dataset, loss)
    assert config.model.name == "bot_resnet50" and (config.data.height, config.data.width) == (256, 128)
    assert config.optim.lr == 3.5e-4 and config.trainer.max_epochs == 120
    if loss == "triplet":
        assert config.loss.metric_loss_kwargs == {"margin": 0.3}


def test_recipe_defaults_live_in_one_place() -> None:
    # strong_baseline.yaml names the dataset only: every recipe value is config.py's default.
    raw = yaml.safe_load((CONFIGS / "strong_baseline.yaml").read_text())
    assert raw == {"data": {"name": "market1501", "root": "data/market1501"}}
    assert load_config(CONFIGS / "strong_baseline.yaml") == Config().replace(data={"root": "data/market1501"})


def test_cpu_demo_config() -> None:
    config = load_config(CONFIGS / "demo_cpu.yaml")
    assert config.model.name == "bot_efficientnet_lite0" and config.trainer.accelerator == "cpu"
    assert config.data.height * config.data.width <= 128 * 64
    assert config.trainer.precision in ("32-true", "bf16-mixed")
