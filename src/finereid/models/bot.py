"""The strong baseline ("Bag of Tricks", Luo et al. 2019): trunk, global pooling, BNNeck."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn

from finereid.errors import ConfigError
from finereid.imagenet import IMAGENET_MEAN, IMAGENET_STD
from finereid.models.backbones import build_backbone
from finereid.models.backbones.timm_trunk import TimmTrunk
from finereid.models.heads import BNNeck, GlobalAvgPool, build_pool
from finereid.models.output import ReIDOutput, check_images
from finereid.models.pretrained import load_timm_weights

NECK_FEATS = ("after", "before")


class BoT(nn.Module):
    """Trunk -> pooling -> [embedding] -> BNNeck. Train: ReIDOutput([feature before BN], [logits]); eval: one
    embedding.

    `neck_feat` picks the eval embedding: "after" the BN (the strong baseline's default) or "before" it.
    AGW is this model with a non-local trunk and GeM pooling; OSNet adds its FC `embedding` layer.
    """

    head_modules = ("pool", "embedding", "neck")  # the rest is backbone (see models.parts)

    def __init__(
        self,
        trunk: nn.Module,
        num_classes: int,
        pool: nn.Module | None = None,
        neck_feat: str = "after",
        embedding: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if neck_feat not in NECK_FEATS:
            raise ConfigError(f"neck_feat must be one of {', '.join(NECK_FEATS)}, got {neck_feat!r}")
        self.backbone = trunk
        self.pool = pool if pool is not None else GlobalAvgPool()
        width = trunk.out_channels if embedding is None else embedding.out_dim
        self.embedding = embedding if embedding is not None else nn.Identity()
        self.neck = BNNeck(width, num_classes)
        self.neck_feat = neck_feat
        self.feature_dim: int = width
        self.feature_dims: tuple[int, ...] = (width,)  # widths of ReIDOutput.features
        self.num_classes = num_classes
        self.mean, self.std = IMAGENET_MEAN, IMAGENET_STD

    def forward(self, x: Tensor) -> ReIDOutput | Tensor:
        """Images (ImageNet-normalized) -> ReIDOutput in train mode, [B, feature_dim] in eval mode."""
        check_images(x, self.training)
        feat = self.embedding(self.pool(self.backbone(x)))
        if self.training:
            _, logits = self.neck(feat)
            return ReIDOutput(features=[feat], logits=[logits])
        return self.neck.bn(feat) if self.neck_feat == "after" else feat


def check_last_stride(last_stride: int) -> None:
    """last_stride is 1 (ReID default: 16x8 map at 256x128 for ResNet-50) or 2 (ImageNet's)."""
    if isinstance(last_stride, bool) or not isinstance(last_stride, int) or last_stride not in (1, 2):
        raise ConfigError(f"last_stride must be 1 or 2, got {last_stride!r}")


def _bot(
    backbone: str,
    num_classes: int,
    pretrained: str,
    pretrained_path: str | Path | None,
    last_stride: int,
    neck_feat: str,
    **trunk_options: object,
) -> BoT:
    """Shared body of the BoT builders."""
    check_last_stride(last_stride)
    trunk = build_backbone(
        backbone,
        last_stride=last_stride,
        pretrained=pretrained == "imagenet",
        pretrained_path=pretrained_path,
        **trunk_options,
    )
    return BoT(trunk, num_classes, neck_feat=neck_feat)


def bot_resnet50(
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    *,
    last_stride: int = 1,
    neck_feat: str = "after",
    stem_pool: str = "padded",
) -> BoT:
    """Strong baseline on ResNet-50 (2048-d embedding); stem_pool "ceil" is fast-reid's stem max pool."""
    return _bot(
        "resnet50", num_classes, pretrained, pretrained_path, last_stride, neck_feat, stem_pool=stem_pool
    )


def bot_resnet50_ibn(
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    *,
    last_stride: int = 1,
    neck_feat: str = "after",
    stem_pool: str = "padded",
) -> BoT:
    """Strong baseline on ResNet-50-IBN-a (IBN in stages 1-3; fast-reid's cross-domain baseline), 2048-d."""
    return _bot(
        "resnet50_ibn_a",
        num_classes,
        pretrained,
        pretrained_path,
        last_stride,
        neck_feat,
        stem_pool=stem_pool,
    )


def bot_resnet18(
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    *,
    last_stride: int = 1,
    neck_feat: str = "after",
) -> BoT:
    """Strong baseline on ResNet-18 (512-d embedding)."""
    return _bot("resnet18", num_classes, pretrained, pretrained_path, last_stride, neck_feat)


def bot_efficientnet_lite0(
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    *,
    last_stride: int = 1,
    neck_feat: str = "after",
) -> BoT:
    """Strong-baseline neck on timm's EfficientNet-Lite0 (1280-d embedding); the offline CPU default."""
    return _bot("efficientnet_lite0", num_classes, pretrained, pretrained_path, last_stride, neck_feat)


def bot_timm(
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    *,
    backbone: str = "convnext_tiny",
    last_stride: int = 1,
    pool: str = "avg",
    gem_p: float = 3.0,
    neck_feat: str = "after",
) -> BoT:
    """Strong-baseline head on any convolutional timm model (`backbone`: a timm name, e.g. resnest50d).

    ImageNet weights only from `pretrained_path` (timm's .safetensors or .pth file; never downloaded).
    """
    check_last_stride(last_stride)
    pooling = build_pool(pool, gem_p)
    trunk = TimmTrunk(backbone, last_stride)
    if pretrained == "imagenet":
        load_timm_weights(trunk.body, backbone, pretrained_path)
    return BoT(trunk, num_classes, pool=pooling, neck_feat=neck_feat)
