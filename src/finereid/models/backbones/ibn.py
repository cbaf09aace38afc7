"""IBN-a (Pan et al., ECCV 2018, "Two at Once: Enhancing Learning and Generalization Capacities via
IBN-Net"): instance normalisation on half the channels of a block's first norm, batch norm on the rest."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torchvision.models.resnet import Bottleneck


class InstanceNorm2d(nn.InstanceNorm2d):
    """Affine instance normalization without the Python-side size check of torch's module, which turns into
    a TracerWarning (a baked-in value) under `torch.jit.trace`; the same computation otherwise."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        """Normalize every (image, channel) plane, then scale and shift per channel."""
        # torch.instance_norm, not F.instance_norm: that one checks the spatial size in Python too
        return torch.instance_norm(
            x, self.weight, self.bias, None, None, True, 0.0, self.eps, torch.backends.cudnn.enabled
        )


class IBN(nn.Module):
    """InstanceNorm (affine) on the first `channels // 2` channels, BatchNorm on the others, concatenated.

    The submodules are called `IN` and `BN`, the names of IBN-Net's released ImageNet files, so those load
    without renaming.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.half = channels // 2
        self.IN = InstanceNorm2d(self.half)
        self.BN = nn.BatchNorm2d(channels - self.half)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise the two channel groups separately."""
        first, second = torch.split(x, [self.half, x.shape[1] - self.half], dim=1)
        return torch.cat([self.IN(first.contiguous()), self.BN(second.contiguous())], dim=1)


def add_ibn_a(layers: list[nn.Sequential]) -> None:
    """Replace the first norm of every bottleneck in `layers` by an IBN (ResNet-50-IBN-a: stages 1-3)."""
    for layer in layers:
        for block in layer:
            if not isinstance(block, Bottleneck):
                raise TypeError("IBN-a is defined here for bottleneck ResNets only")
            block.bn1 = IBN(block.bn1.num_features)
