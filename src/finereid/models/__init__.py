"""ReID models by name: `build_model(name, num_classes, pretrained=..., **options)`.

Every model follows one output convention: train mode returns `ReIDOutput(features, logits)` (lists, one
entry per branch, of widths `model.feature_dims`), eval mode returns the inference embedding
`[B, model.feature_dim]`. Inputs are ImageNet-normalized images (`model.mean`, `model.std`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

from torch import nn

from finereid.errors import CheckpointError, ConfigError, unknown_name_error
from finereid.models.agw import agw_resnet18, agw_resnet50
from finereid.models.bot import bot_efficientnet_lite0, bot_resnet18, bot_resnet50
from finereid.models.mgn import mgn_resnet18, mgn_resnet50
from finereid.models.output import ReIDOutput

MODELS: dict[str, Callable[..., nn.Module]] = {
    "bot_resnet50": bot_resnet50,
    "bot_resnet18": bot_resnet18,
    "bot_efficientnet_lite0": bot_efficientnet_lite0,
    "agw_resnet50": agw_resnet50,
    "mgn_resnet50": mgn_resnet50,
    "agw_resnet18": agw_resnet18,
    "mgn_resnet18": mgn_resnet18,
}

PRETRAINED = ("none", "imagenet")


def model_options(name: str) -> dict[str, object]:
    """The options (keyword-only arguments) a model accepts, with their defaults."""
    if name not in MODELS:
        raise unknown_name_error("model", name, MODELS)
    params = inspect.signature(MODELS[name]).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def build_model(
    name: str,
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    **options: object,
) -> nn.Module:
    """Build a ReID model by name; `pretrained="imagenet"` loads backbone weights offline."""
    valid_options = model_options(name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}")
    if pretrained not in PRETRAINED:
        raise ConfigError(f"pretrained must be one of {', '.join(PRETRAINED)}, got {pretrained!r}")
    if pretrained_path is not None:
        if pretrained != "imagenet":
            raise ConfigError("pretrained_path is only used with pretrained='imagenet'")
        if not Path(pretrained_path).is_file():
            raise CheckpointError(f"pretrained_path not found: {pretrained_path}")
    unknown = sorted(set(options) - set(valid_options))
    if unknown:
        raise ConfigError(
            f"unknown option(s) for model {name!r}: {', '.join(unknown)}; valid: {', '.join(valid_options)}"
        )
    return MODELS[name](num_classes, pretrained, pretrained_path, **options)


__all__ = ["MODELS", "PRETRAINED", "ReIDOutput", "build_model", "model_options"]
