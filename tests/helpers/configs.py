"""The one tiny training config of the tests: a seconds-long CPU run on a `make_tiny_market` tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def tiny_config(root: Path | str, **sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A config dict (bot_resnet18 at 32x16, P x K = 2 x 4, 2 epochs, FDP); `sections` update its sections."""
    config: dict[str, dict[str, Any]] = {
        "data": {"name": "market1501", "root": str(root), "height": 32, "width": 16, "batch_size": 8,
                 "num_instances": 4, "num_workers": 0, "test_batch_size": 16, "padding": 2},
        "model": {"name": "bot_resnet18", "pretrained": "none", "options": {}},
        "loss": {"metric_loss": "fdp"},
        "optim": {"lr": 1e-3, "warmup_epochs": 1, "milestones": [2]},
        "trainer": {"max_epochs": 2, "eval_every": 1, "accelerator": "cpu", "progress_bar": False,
                    "log_every_n_steps": 1},
    }  # fmt: skip
    for name, values in sections.items():
        config[name] = {**config[name], **values}
    return config
