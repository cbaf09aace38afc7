"""Load a finereid training checkpoint into an eval-mode model, without unpickling arbitrary objects.

The file is read with `torch.load(weights_only=True)` (via `finereid.engine.checkpoint`); the model name,
num_classes and model options come from the checkpoint's hyper-parameters (`ReIDModule.save_hyperparameters`),
the input size from the hyper-parameters or else the run's `config.yaml` next to the checkpoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from finereid.errors import CheckpointError, FinereidError

logger = logging.getLogger(__name__)

MODEL_PREFIX = "model."  # ReIDModule keeps the network in `self.model`
NAME_KEY, OPTIONS_KEY, HEIGHT_KEY, WIDTH_KEY = "model_name", "model_options", "image_height", "image_width"


@dataclass
class LoadedModel:
    """An eval-mode model plus what deployment needs to feed it."""

    model: nn.Module
    model_name: str
    num_classes: int
    height: int
    width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    metric: str
    path: Path
    hparams: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_dim(self) -> int:
        """Size of the embedding the model returns in eval mode."""
        return int(self.model.feature_dim)

    def describe(self) -> dict[str, Any]:
        """JSON-friendly summary stored next to features and exports."""
        return {
            "checkpoint": str(self.path),
            "model": self.model_name,
            "num_classes": self.num_classes,
            "height": self.height,
            "width": self.width,
            "feature_dim": self.feature_dim,
            "mean": list(self.mean),
            "std": list(self.std),
            "metric": self.metric,
        }


def _model_name(hparams: dict[str, Any], path: Path) -> str:
    """The model name `ReIDModule` stored in its hyper-parameters."""
    if isinstance(hparams.get(NAME_KEY), str):
        return hparams[NAME_KEY]
    raise CheckpointError(f"{path} is not a finereid checkpoint: its hyper-parameters name no model")


def _input_size(hparams: dict[str, Any], path: Path) -> tuple[int, int] | None:
    """(height, width) from the hyper-parameters or the run's config.yaml; None when neither has it."""
    if isinstance(hparams.get(HEIGHT_KEY), int) and isinstance(hparams.get(WIDTH_KEY), int):
        return hparams[HEIGHT_KEY], hparams[WIDTH_KEY]
    for folder in (path.parent, path.parent.parent):
        config_path = folder / "config.yaml"
        if config_path.is_file():
            from finereid.config import load_config

            try:
                data = load_config(config_path).data
            except FinereidError as exc:
                logger.warning("cannot read the input size from %s: %s", config_path, exc)
                return None
            return data.height, data.width
    return None


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict, loaded safely; missing, corrupt or pickled-object files are CheckpointErrors."""
    from finereid.engine.checkpoint import load_checkpoint_file

    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory; give a checkpoint file such as {path / 'best.ckpt'}")
    try:
        checkpoint = load_checkpoint_file(path)
    except FinereidError:
        raise
    except Exception as exc:  # the safe unpickler fails on arbitrary bytes with assorted error types
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(checkpoint.get("state_dict"), dict) or not isinstance(
        checkpoint.get("hyper_parameters"), dict
    ):
        raise CheckpointError(f"{path} is not a finereid checkpoint (no state_dict and hyper_parameters)")
    return checkpoint


def load_checkpoint(
    path: str | Path,
    *,
    model_name: str | None = None,
    height: int | None = None,
    width: int | None = None,
    device: str | torch.device = "cpu",
) -> LoadedModel:
    """Rebuild the checkpoint's model in eval mode on `device`.

    `model_name`, if given, must equal the checkpoint's; `height`/`width` override the stored input size.
    """
    from finereid.models import MODELS, build_model

    path = Path(path)
    checkpoint = read_checkpoint(path)
    hparams = dict(checkpoint["hyper_parameters"])
    name = _model_name(hparams, path)
    if model_name is not None and model_name != name:
        raise CheckpointError(f"{path} holds a {name!r} model, not {model_name!r}")
    if name not in MODELS:
        raise CheckpointError(f"{path} holds an unknown model {name!r}; valid: {', '.join(sorted(MODELS))}")
    num_classes = hparams.get("num_classes")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise CheckpointError(f"{path}: hyper-parameter num_classes is missing or invalid ({num_classes!r})")
    options = hparams.get(OPTIONS_KEY) or {}
    if not isinstance(options, dict):
        raise CheckpointError(f"{path}: hyper-parameter {OPTIONS_KEY} must be a dict, got {options!r}")
    try:
        model = build_model(name, num_classes, pretrained="none", **options)
    except FinereidError as exc:
        raise CheckpointError(f"{path}: cannot rebuild model {name!r}: {exc}") from None
    prefix = MODEL_PREFIX
    weights = {k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    if not weights:
        raise CheckpointError(f"{path} has no model weights (no state_dict keys start with {prefix!r})")
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0].rstrip(":. ")
        raise CheckpointError(f"{path}: weights do not fit model {name!r} ({first})") from None
    size = (height, width) if height is not None and width is not None else _input_size(hparams, path)
    if size is None:
        raise CheckpointError(
            f"{path}: input size unknown (no height/width in the checkpoint or a config.yaml "
            "beside it); pass --height and --width"
        )
    size = (height or size[0], width or size[1])
    if min(size) < 1:
        raise CheckpointError(f"input size must be positive, got {size[0]}x{size[1]}")
    mean = tuple(float(v) for v in getattr(model, "mean", (0.485, 0.456, 0.406)))
    std = tuple(float(v) for v in getattr(model, "std", (0.229, 0.224, 0.225)))
    model.eval().to(device)
    logger.info("loaded %s (%s, %d classes, input %dx%d)", path, name, num_classes, *size)
    metric = (
        hparams.get("eval_metric") if hparams.get("eval_metric") in ("euclidean", "cosine") else "euclidean"
    )
    return LoadedModel(model, name, num_classes, size[0], size[1], mean, std, metric, path, hparams)
