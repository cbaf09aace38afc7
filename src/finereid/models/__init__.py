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
from finereid.models.bot import bot_efficientnet_lite0, bot_resnet18, bot_resnet50, bot_resnet50_ibn, bot_timm
from finereid.models.mgn import mgn_resnet18, mgn_resnet50
from finereid.models.osnet import osnet_ain_x1_0, osnet_x0_5, osnet_x0_25, osnet_x0_75, osnet_x1_0
from finereid.models.output import ReIDOutput
from finereid.models.parts import backbone_modules, backbone_parameters, is_classifier_key
from finereid.models.transreid import transreid_vit_base, transreid_vit_small

MODELS: dict[str, Callable[..., nn.Module]] = {
    "bot_resnet50": bot_resnet50,
    "bot_resnet18": bot_resnet18,
    "bot_efficientnet_lite0": bot_efficientnet_lite0,
    "agw_resnet50": agw_resnet50,
    "mgn_resnet50": mgn_resnet50,
    "agw_resnet18": agw_resnet18,
    "mgn_resnet18": mgn_resnet18,
    "bot_resnet50_ibn": bot_resnet50_ibn,
    "bot_timm": bot_timm,
    "osnet_x1_0": osnet_x1_0,
    "osnet_x0_75": osnet_x0_75,
    "osnet_x0_5": osnet_x0_5,
    "osnet_x0_25": osnet_x0_25,
    "osnet_ain_x1_0": osnet_ain_x1_0,
    "transreid_vit_small": transreid_vit_small,
    "transreid_vit_base": transreid_vit_base,
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


def fill_data_options(
    name: str, options: dict[str, object], *, height: int, width: int, num_cameras: int
) -> dict[str, object]:
    """`options` plus what the training data decides, for models that take it: the input size (`height`,
    `width`: a ViT's patch grid) and `num_cameras` (camera embeddings) when not set (0)."""
    valid = model_options(name)
    filled = dict(options)
    for key, value in (("height", height), ("width", width)):
        if key not in valid:
            continue
        if key in options and options[key] != value:
            raise ConfigError(
                f"model.options.{key}={options[key]} differs from data.{key}={value}: {name} is built "
                f"for the training input size; drop model.options.{key}"
            )
        filled[key] = value
    if "num_cameras" in valid and not options.get("num_cameras"):
        filled["num_cameras"] = num_cameras
    return filled


__all__ = [
    "MODELS",
    "PRETRAINED",
    "ReIDOutput",
    "backbone_modules",
    "backbone_parameters",
    "build_model",
    "fill_data_options",
    "is_classifier_key",
    "model_options",
]
