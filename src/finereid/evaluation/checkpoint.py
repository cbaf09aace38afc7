"""Load a finereid checkpoint's model (and nothing else: no losses, no optimizer) for inference.

A checkpoint stores its training config and class count as hyper-parameters: `{"config": {...},
"num_classes": N}` (the arguments of `finereid.engine.ReIDModule`). Checkpoints of finereid 0.1, whose
hyper-parameters were the flat keyword arguments of the old ReIDModule (`model_name`, `eval_metric`,
...), are read through `LEGACY_HPARAMS`; their dataset comes from the run's config.yaml when present.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from finereid.config import Config, config_from_dict, load_config
from finereid.errors import CheckpointError, FinereidError
from finereid.files import CONFIG_FILE, atomic_save, load_checkpoint_file
from finereid.models import MODELS, build_model

log = logging.getLogger(__name__)

CONFIG_KEY, CLASSES_KEY = "config", "num_classes"  # the hyper-parameters ReIDModule saves
CALIBRATION_KEY = "finereid"  # top-level checkpoint entry `finereid calibrate` writes
MODEL_PREFIX = "model."  # ReIDModule keeps the network in `self.model`
# finereid 0.1 hyper-parameter -> config key (section.key)
LEGACY_HPARAMS = {
    "model_name": "model.name",
    "pretrained": "model.pretrained",
    "pretrained_path": "model.pretrained_path",
    "model_options": "model.options",
    "metric_loss": "loss.metric_loss",
    "metric_loss_kwargs": "loss.metric_loss_kwargs",
    "metric_loss_weight": "loss.metric_loss_weight",
    "id_loss_weight": "loss.id_weight",
    "label_smoothing": "loss.label_smoothing",
    "center_loss_weight": "loss.center_weight",
    "center_lr": "loss.center_lr",
    "optimizer": "optim.name",
    "lr": "optim.lr",
    "weight_decay": "optim.weight_decay",
    "momentum": "optim.momentum",
    "warmup_epochs": "optim.warmup_epochs",
    "warmup_factor": "optim.warmup_factor",
    "milestones": "optim.milestones",
    "gamma": "optim.gamma",
    "eval_metric": "trainer.eval_distance",
    "image_height": "data.height",
    "image_width": "data.width",
}


@dataclass(frozen=True)
class Calibration:
    """A distance threshold for "same person": pairs below it are accepted, at `target_fpr` on `dataset`."""

    threshold: float
    target_fpr: float
    distance: str
    tpr: float | None = None
    fpr: float | None = None
    dataset: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The entry stored in checkpoints and exported files."""
        return {k: v for k, v in vars(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Any, source: str | Path) -> Calibration:
        """Read a stored entry; anything malformed is a one-line CheckpointError."""
        try:
            calibration = cls(**{k: data[k] for k in data if k in cls.__dataclass_fields__})
        except (TypeError, KeyError) as exc:
            raise CheckpointError(f"{source}: malformed calibration entry ({exc})") from None
        numbers = (calibration.threshold, calibration.target_fpr)
        if not all(isinstance(v, int | float) and math.isfinite(v) and v >= 0 for v in numbers):
            raise CheckpointError(f"{source}: calibration threshold/target_fpr are not numbers >= 0: {data}")
        if calibration.distance not in ("euclidean", "cosine"):
            raise CheckpointError(f"{source}: calibration distance {calibration.distance!r} is unknown")
        return calibration


@dataclass
class LoadedModel:
    """An eval-mode model plus what inference needs to feed it and compare its embeddings."""

    model: nn.Module
    model_name: str
    num_classes: int
    height: int
    width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    distance: str
    path: Path
    config: Config
    calibration: Calibration | None = None

    @property
    def feature_dim(self) -> int:
        """Size of the embedding the model returns in eval mode."""
        return int(self.model.feature_dim)

    def describe(self) -> dict[str, Any]:
        """JSON-friendly summary stored with features, rankings and exports."""
        return {
            "checkpoint": str(self.path),
            "model": self.model_name,
            "num_classes": self.num_classes,
            "height": self.height,
            "width": self.width,
            "feature_dim": self.feature_dim,
            "mean": list(self.mean),
            "std": list(self.std),
            "distance": self.distance,
            **({"calibration": self.calibration.to_dict()} if self.calibration else {}),
        }


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict, loaded safely; anything but a finereid checkpoint is a CheckpointError."""
    checkpoint = load_checkpoint_file(path)
    if not isinstance(checkpoint.get("state_dict"), dict) or not isinstance(
        checkpoint.get("hyper_parameters"), dict
    ):
        raise CheckpointError(f"{path} is not a finereid checkpoint (no state_dict and hyper_parameters)")
    return checkpoint


def checkpoint_config(checkpoint: dict[str, Any], path: str | Path) -> tuple[Config, int]:
    """(training config, number of identity classes) stored in a checkpoint of any finereid release."""
    hparams = checkpoint["hyper_parameters"]
    num_classes = hparams.get(CLASSES_KEY)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise CheckpointError(f"{path}: hyper-parameter num_classes is missing or invalid ({num_classes!r})")
    try:
        if isinstance(hparams.get(CONFIG_KEY), dict):
            return config_from_dict(hparams[CONFIG_KEY]), num_classes
        if isinstance(hparams.get("model_name"), str):
            return _legacy_config(hparams, Path(path)), num_classes
    except FinereidError as exc:
        raise CheckpointError(f"{path}: its stored config is not valid here: {exc}") from None
    raise CheckpointError(f"{path} is not a finereid checkpoint: its hyper-parameters name no model")


def _legacy_config(hparams: dict[str, Any], path: Path) -> Config:
    """The Config of a finereid 0.1 checkpoint: its flat hparams over the run's config.yaml (if any)."""
    data: dict[str, dict[str, Any]] = {}
    for folder in (path.parent, path.parent.parent):
        if (folder / CONFIG_FILE).is_file():
            try:
                data = load_config(folder / CONFIG_FILE).to_dict()
            except FinereidError as exc:
                log.warning("ignoring %s: %s", folder / CONFIG_FILE, exc)
            break
    for old, dotted in LEGACY_HPARAMS.items():
        if old in hparams:
            section, key = dotted.split(".")
            data.setdefault(section, {})[key] = hparams[old]
    return config_from_dict(data)


def load_model(
    path: str | Path,
    *,
    model_name: str | None = None,
    height: int | None = None,
    width: int | None = None,
    device: str | torch.device = "cpu",
) -> LoadedModel:
    """Rebuild the checkpoint's model in eval mode on `device` (weights only; no ImageNet download).

    `model_name`, if given, must equal the checkpoint's; `height`/`width` override the stored input size.
    """
    path = Path(path)
    checkpoint = read_checkpoint(path)
    config, num_classes = checkpoint_config(checkpoint, path)
    name = config.model.name
    if model_name is not None and model_name != name:
        raise CheckpointError(f"{path} holds a {name!r} model, not {model_name!r}")
    if name not in MODELS:
        raise CheckpointError(f"{path} holds an unknown model {name!r}; valid: {', '.join(sorted(MODELS))}")
    try:
        model = build_model(name, num_classes, pretrained="none", **config.model.options)
    except FinereidError as exc:
        raise CheckpointError(f"{path}: cannot rebuild model {name!r}: {exc}") from None
    weights = {
        k[len(MODEL_PREFIX) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(MODEL_PREFIX)
    }
    if not weights:
        raise CheckpointError(f"{path} has no model weights (no state_dict keys start with {MODEL_PREFIX!r})")
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0].rstrip(":. ")
        raise CheckpointError(f"{path}: weights do not fit model {name!r} ({first})") from None
    size = (height or config.data.height, width or config.data.width)
    if min(size) < 1:
        raise CheckpointError(f"input size must be positive, got {size[0]}x{size[1]}")
    mean = tuple(float(v) for v in model.mean)
    std = tuple(float(v) for v in model.std)
    model.eval().to(device)
    log.info("loaded %s (%s, %d classes, input %dx%d)", path, name, num_classes, *size)
    return LoadedModel(
        model, name, num_classes, size[0], size[1], mean, std, config.trainer.eval_distance, path, config,
        read_calibration(checkpoint, path),
    )  # fmt: skip


def read_calibration(checkpoint: dict[str, Any], path: str | Path) -> Calibration | None:
    """The checkpoint's calibrated threshold, or None when `finereid calibrate` never ran on it."""
    entry = checkpoint.get(CALIBRATION_KEY)
    if not isinstance(entry, dict) or "threshold" not in entry:
        return None
    return Calibration.from_dict(entry, path)


def save_calibration(path: str | Path, calibration: Calibration) -> Path:
    """Store `calibration` in the checkpoint at `path` (atomically: a reader sees the old or new file)."""
    checkpoint = read_checkpoint(path)
    checkpoint_config(checkpoint, path)  # refuse anything load_model would refuse, before writing
    checkpoint[CALIBRATION_KEY] = {**(checkpoint.get(CALIBRATION_KEY) or {}), **calibration.to_dict()}
    return atomic_save(checkpoint, path)
