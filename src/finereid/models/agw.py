"""AGW (Ye et al. 2021, "Deep Learning for Person Re-identification: A Survey and Outlook").

ResNet-50 with non-local blocks after the last 2 blocks of stage 2 and the last 3 of stage 3,
generalized-mean pooling and the BNNeck; the weighted-triplet loss of the paper is replaced by FDP.
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn

from finereid.errors import ConfigError
from finereid.models.backbones import build_backbone
from finereid.models.bot import BoT, check_last_stride
from finereid.models.heads import GeMPooling
from finereid.models.nonlocal_block import NonLocalBlock


class NonLocalResNetTrunk(nn.Module):
    """A ResNet trunk with non-local blocks inserted after the last `counts[i]` blocks of stage i+1.

    The ResNet keeps its own (torchvision) parameter names under `resnet`; the blocks live in
    `nonlocal{stage}` so pretrained weights load before insertion and nothing is renamed.
    """

    def __init__(self, resnet: nn.Module, counts: tuple[int, int, int, int] = (0, 2, 3, 0)) -> None:
        super().__init__()
        self.resnet = resnet
        self.out_channels: int = resnet.out_channels
        self.after: list[list[int]] = []
        for stage, count in enumerate(counts, start=1):
            layer = getattr(resnet, f"layer{stage}")
            channels = layer[-1].conv1.in_channels  # a block's input width is the stage's output width
            self.add_module(f"nonlocal{stage}", nn.ModuleList(NonLocalBlock(channels) for _ in range(count)))
            self.after.append(list(range(len(layer) - count, len(layer))))

    def forward(self, x: Tensor) -> Tensor:
        """Stem, then each stage block by block, applying a non-local block after the chosen ones."""
        x = self.resnet.stem(x)
        for stage in range(1, 5):
            layer = getattr(self.resnet, f"layer{stage}")
            blocks = iter(getattr(self, f"nonlocal{stage}"))
            for index, block in enumerate(layer):
                x = block(x)
                if index in self.after[stage - 1]:
                    x = next(blocks)(x)
        return x


def _agw(
    depth: str,
    counts: tuple[int, int, int, int],
    num_classes: int,
    pretrained: str,
    pretrained_path: str | Path | None,
    last_stride: int,
    neck_feat: str,
    gem_p: float,
) -> BoT:
    """AGW on a torchvision ResNet: non-local blocks after the last `counts[i]` blocks of stage i+1."""
    check_last_stride(last_stride)
    if isinstance(gem_p, bool) or not isinstance(gem_p, int | float) or not gem_p > 0:
        raise ConfigError(f"gem_p must be a positive number, got {gem_p!r}")
    resnet = build_backbone(
        depth, last_stride=last_stride, pretrained=pretrained == "imagenet", pretrained_path=pretrained_path
    )
    trunk = NonLocalResNetTrunk(resnet, counts)
    return BoT(trunk, num_classes, pool=GeMPooling(p=gem_p), neck_feat=neck_feat)


def agw_resnet50(
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    *,
    last_stride: int = 1,
    neck_feat: str = "after",
    gem_p: float = 3.0,
) -> BoT:
    """AGW on ResNet-50: non-local blocks (2 in stage 2, 3 in stage 3), GeM (p learnable), BNNeck."""
    return _agw(
        "resnet50", (0, 2, 3, 0), num_classes, pretrained, pretrained_path, last_stride, neck_feat, gem_p
    )


def agw_resnet18(
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    *,
    last_stride: int = 1,
    neck_feat: str = "after",
    gem_p: float = 3.0,
) -> BoT:
    """AGW scaled to ResNet-18 for CPU runs: one non-local block after the last block of stages 2 and 3.

    ResNet-50's AGW puts them after half the blocks of those stages (2 of 4, 3 of 6); ResNet-18 has 2 blocks
    per stage, so half is one. The published AGW has no ResNet-18 layout; this one is ours.
    """
    return _agw(
        "resnet18", (0, 1, 1, 0), num_classes, pretrained, pretrained_path, last_stride, neck_feat, gem_p
    )
