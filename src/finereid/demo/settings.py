"""The demo's two presets: how big a synthetic dataset to draw and how to train on it, per loss.

Both losses train the same recipe (the strong baseline with EfficientNet-Lite0, scaled down to a CPU)
with the same seed and schedule; only `loss.metric_loss` and its arguments differ. `configs/demo_cpu.yaml`
is the "full" recipe as a config file for `finereid train`; a test keeps the two equal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finereid import __version__
from finereid.config import Config, apply_override, check_names, config_from_dict, parse_override
from finereid.errors import ConfigError

# Metric-loss arguments the demo uses: the strong baseline's triplet margin; FDP keeps its defaults.
LOSS_KWARGS: dict[str, dict[str, Any]] = {"triplet": {"margin": 0.3}, "fdp": {}}

_RECIPE: dict[str, dict[str, Any]] = {
    "data": {
        "name": "market1501",
        "height": 96,
        "width": 48,
        "batch_size": 32,
        "num_instances": 4,
        "num_workers": 2,
        "cache_images": True,  # decoded and resized once: the workers then take little from training
        "padding": 5,
        # No mirroring: a mirrored image shows the shoulder bag on the other side, which is exactly the
        # detail that tells some look-alikes apart (see docs/synth.md).
        "flip_prob": 0.0,
    },
    "model": {
        "name": "bot_efficientnet_lite0",
        "pretrained": "imagenet",
        "options": {"last_stride": 1, "neck_feat": "after"},
    },
    "optim": {"lr": 1.0e-3, "warmup_epochs": 1, "milestones": [8]},
    "trainer": {
        "max_epochs": 10,
        "eval_every": 10,
        "accelerator": "auto",
        "precision": "auto",
        "progress_bar": False,
    },
}


@dataclass(frozen=True)
class DemoSettings:
    """One demo mode: `generate_dataset` keywords (besides out and seed) and config sections to train."""

    name: str
    dataset: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def dataset_key(self, seed: int) -> str:
        """A short hash of everything that decides the dataset's bytes (names its cache folder)."""
        text = json.dumps({"dataset": dict(self.dataset), "seed": seed, "finereid": __version__},
                          sort_keys=True, default=list)  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def config(self, loss: str, root: str | Path, seed: int, overrides: Sequence[str] = ()) -> Config:
        """The training config of one loss: the preset's sections, this loss, data root, seed, `--set` items.

        `overrides` are `section.key=value` items read by finereid's one override parser; the loss,
        the dataset and its folder are the demo's to choose, so overriding them is an error.
        """
        sections = {name: dict(values) for name, values in self.training.items()}
        sections.setdefault("data", {})["root"] = str(root)
        sections.setdefault("trainer", {})["seed"] = seed
        sections["loss"] = {**sections.get("loss", {}), "metric_loss": loss,
                            "metric_loss_kwargs": dict(LOSS_KWARGS.get(loss, {}))}  # fmt: skip
        for item in overrides:  # after the demo's own choices, so e.g. loss.metric_loss_kwargs.* merges in
            dotted, value = parse_override(item)
            key = ".".join(dotted.split(".")[:2])
            if key in ("loss.metric_loss", "data.name", "data.root"):
                raise ConfigError(f"--set {item!r}: the demo chooses {key} itself")
            apply_override(sections, dotted, value)
        config = config_from_dict(sections)
        check_names(config)
        return config


def _merge(base: dict[str, dict[str, Any]], **sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Copy of `base` with some keys of some sections replaced."""
    merged = {name: dict(values) for name, values in base.items()}
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    return merged


PRESETS: dict[str, DemoSettings] = {
    "full": DemoSettings(
        "full",
        dataset={"num_ids": 250, "num_cameras": 6, "images_per_id": 10, "image_size": (128, 64)},
        training=_RECIPE,
    ),
    "quick": DemoSettings(
        "quick",
        dataset={"num_ids": 100, "num_cameras": 6, "images_per_id": 8, "image_size": (128, 64)},
        training=_merge(
            _RECIPE,
            data={"height": 64, "width": 32, "padding": 4},
            optim={"milestones": [6]},
            trainer={"max_epochs": 8, "eval_every": 8},
        ),
    ),
}


def get_preset(name: str) -> DemoSettings:
    """The preset called `name` (full, quick)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown demo preset {name!r}; valid: {', '.join(PRESETS)}")
    return PRESETS[name]
