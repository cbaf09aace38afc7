"""MGN, the multiple granularity network (Wang et al. 2018): a global branch and 2- and 3-stripe branches.

ResNet-50 shared up to the first block of stage 3; each branch has its own copy of the rest of stage 3 and
of stage 4 (stride 2 in the global branch, stride 1 in the part branches). Every pooled feature is reduced
to 256-d (linear, BN, ReLU). The metric loss sees each branch's reduced global feature; the identity loss
sees each branch's 2048-d global feature and every reduced stripe feature. Eval: the 8 reduced features
concatenated (8 x 256 = 2048-d).
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import Tensor, nn

from finereid.errors import ConfigError
from finereid.imagenet import IMAGENET_MEAN, IMAGENET_STD
from finereid.models.backbones import build_backbone
from finereid.models.backbones.resnet import set_first_stride
from finereid.models.output import ReIDOutput, check_images

STRIPES = (1, 2, 3)  # stripes per branch; 1 = global branch only


def stripe_max(x: Tensor, stripes: int) -> list[Tensor]:
    """Max-pool a map [B, C, H, W] over `stripes` horizontal bands -> list of [B, C].

    Band i covers rows floor(i*H/n) .. ceil((i+1)*H/n), the bins of adaptive pooling, written with static
    slices so it traces and exports for any H (16 rows at 256x128 do not split evenly into 3).
    """
    height = x.shape[2]
    bands = []
    for i in range(stripes):
        # ceil as (a + n - 1) // n: exporters may trace H as a tensor, where // truncates negatives.
        start, end = (i * height) // stripes, ((i + 1) * height + stripes - 1) // stripes
        bands.append(x[:, :, start:end].amax(dim=(2, 3)))
    return bands


def _reduction(in_dim: int, out_dim: int) -> nn.Sequential:
    """The per-feature 1x1 reduction of MGN (as linear on the pooled vector), BN and ReLU."""
    linear = nn.Linear(in_dim, out_dim, bias=False)
    nn.init.kaiming_normal_(linear.weight, mode="fan_in")
    return nn.Sequential(linear, nn.BatchNorm1d(out_dim), nn.ReLU(inplace=True))


def _classifier(in_dim: int, num_classes: int) -> nn.Linear:
    """Bias-free identity classifier initialized like the BNNeck's (normal, std 0.001)."""
    fc = nn.Linear(in_dim, num_classes, bias=False)
    nn.init.normal_(fc.weight, std=0.001)
    return fc


class MGN(nn.Module):
    """Train: ReIDOutput(3 reduced global features, 3 + 5 logits); eval: [B, 8 * reduction_dim]."""

    head_modules = ("global_reductions", "part_reductions", "global_classifiers", "part_classifiers")

    def __init__(self, resnet: nn.Module, num_classes: int, reduction_dim: int = 256) -> None:
        super().__init__()
        self.shared = nn.Sequential(
            resnet.conv1,
            resnet.bn1,
            resnet.relu,
            resnet.maxpool,
            resnet.layer1,
            resnet.layer2,
            resnet.layer3[0],
        )
        rest_of_stage3 = nn.Sequential(*resnet.layer3[1:])
        stage4_fine = copy.deepcopy(resnet.layer4)
        set_first_stride(stage4_fine, 1)
        stage4 = {1: resnet.layer4, 2: stage4_fine, 3: stage4_fine}
        self.branches = nn.ModuleList(
            nn.Sequential(copy.deepcopy(rest_of_stage3), copy.deepcopy(stage4[n])) for n in STRIPES
        )
        channels = resnet.out_channels
        num_parts = sum(n for n in STRIPES if n > 1)
        self.global_reductions = nn.ModuleList(_reduction(channels, reduction_dim) for _ in STRIPES)
        self.part_reductions = nn.ModuleList(_reduction(channels, reduction_dim) for _ in range(num_parts))
        self.global_classifiers = nn.ModuleList(_classifier(channels, num_classes) for _ in STRIPES)
        self.part_classifiers = nn.ModuleList(
            _classifier(reduction_dim, num_classes) for _ in range(num_parts)
        )
        self.feature_dim: int = reduction_dim * (len(STRIPES) + num_parts)
        self.feature_dims: tuple[int, ...] = (reduction_dim,) * len(STRIPES)  # ReIDOutput.features widths
        self.num_classes = num_classes
        self.mean, self.std = IMAGENET_MEAN, IMAGENET_STD

    def forward(self, x: Tensor) -> ReIDOutput | Tensor:
        """Images (ImageNet-normalized) -> ReIDOutput in train mode, [B, feature_dim] in eval mode."""
        check_images(x, self.training)
        shared = self.shared(x)
        pooled_globals, pooled_parts = [], []
        for branch, stripes in zip(self.branches, STRIPES, strict=True):
            fmap = branch(shared)
            pooled_globals.append(fmap.amax(dim=(2, 3)))
            if stripes > 1:
                pooled_parts.extend(stripe_max(fmap, stripes))
        globals_ = [red(p) for red, p in zip(self.global_reductions, pooled_globals, strict=True)]
        parts = [red(p) for red, p in zip(self.part_reductions, pooled_parts, strict=True)]
        if not self.training:
            return torch.cat(globals_ + parts, dim=1)
        logits = [fc(p) for fc, p in zip(self.global_classifiers, pooled_globals, strict=True)]
        logits += [fc(p) for fc, p in zip(self.part_classifiers, parts, strict=True)]
        return ReIDOutput(features=globals_, logits=logits)


def _mgn(
    depth: str, num_classes: int, pretrained: str, pretrained_path: str | Path | None, reduction_dim: int
) -> MGN:
    """MGN on a torchvision ResNet (stage 4 keeps stride 2 for the global branch)."""
    if isinstance(reduction_dim, bool) or not isinstance(reduction_dim, int) or reduction_dim < 1:
        raise ConfigError(f"reduction_dim must be a positive integer, got {reduction_dim!r}")
    resnet = build_backbone(
        depth, last_stride=2, pretrained=pretrained == "imagenet", pretrained_path=pretrained_path
    )
    return MGN(resnet, num_classes, reduction_dim)


def mgn_resnet50(
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    *,
    reduction_dim: int = 256,
) -> MGN:
    """MGN on ResNet-50 (paper layout; 2048-d embedding with the default 256-d reductions)."""
    return _mgn("resnet50", num_classes, pretrained, pretrained_path, reduction_dim)


def mgn_resnet18(
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    *,
    reduction_dim: int = 256,
) -> MGN:
    """MGN on ResNet-18 for CPU runs: the same branches on 512-channel maps, 2048-d embedding."""
    return _mgn("resnet18", num_classes, pretrained, pretrained_path, reduction_dim)
