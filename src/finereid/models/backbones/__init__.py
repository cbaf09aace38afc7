"""Backbone trunks: image -> feature map, each with `out_channels`; ImageNet weights via models.pretrained."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

from finereid.errors import unknown_name_error
from finereid.models.backbones.efficientnet import EfficientNetLite0Trunk, build_efficientnet_lite0
from finereid.models.backbones.resnet import ResNetTrunk, build_resnet, build_resnet50_ibn

BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "resnet18": partial(build_resnet, "resnet18"),
    "resnet50": partial(build_resnet, "resnet50"),
    "resnet50_ibn_a": build_resnet50_ibn,
    "efficientnet_lite0": build_efficientnet_lite0,
}


def build_backbone(name: str, **kwargs) -> nn.Module:
    """Build a trunk by name: kwargs are last_stride, pretrained (bool), pretrained_path."""
    if name not in BACKBONES:
        raise unknown_name_error("backbone", name, BACKBONES)
    return BACKBONES[name](**kwargs)


__all__ = ["BACKBONES", "EfficientNetLite0Trunk", "ResNetTrunk", "build_backbone"]
