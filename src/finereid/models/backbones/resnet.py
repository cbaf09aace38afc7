"""torchvision ResNet trunks for ReID: no pooling, no classifier, last stride configurable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import Tensor, nn
from torchvision.models import resnet18, resnet50
from torchvision.models.resnet import Bottleneck

from finereid.errors import ConfigError
from finereid.models.backbones.ibn import add_ibn_a
from finereid.models.pretrained import load_pretrained

# The stem's 3x3/2 max pool: torchvision pads it by one pixel; fast-reid uses no padding and ceil mode.
# Both give the same map size at even input sizes, but different windows, so converted fast-reid weights
# need theirs to give fast-reid's embeddings.
STEM_POOLS = {
    "padded": lambda: nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    "ceil": lambda: nn.MaxPool2d(kernel_size=3, stride=2, padding=0, ceil_mode=True),
}

_TORCHVISION: dict[str, Callable[..., nn.Module]] = {"resnet18": resnet18, "resnet50": resnet50}


def set_first_stride(layer: nn.Sequential, stride: int) -> None:
    """Set the spatial stride of a ResNet stage: its first block's strided conv and its shortcut."""
    block = layer[0]
    # torchvision puts the stride on the 3x3 conv: conv2 in Bottleneck (ResNet v1.5), conv1 in BasicBlock.
    strided = block.conv2 if isinstance(block, Bottleneck) else block.conv1
    strided.stride = (stride, stride)
    if block.downsample is not None:
        block.downsample[0].stride = (stride, stride)
    block.stride = stride


class ResNetTrunk(nn.Module):
    """Image [B, 3, H, W] -> feature map [B, C, H/s, W/s] with s = 16 * last_stride.

    Parameter names are torchvision's (conv1, bn1, layer1..layer4), so its ImageNet state dict loads as is.
    `ibn=True` turns stages 1-3 into IBN-a blocks (IBN-Net's names: `bn1.IN`, `bn1.BN`).
    """

    def __init__(
        self, arch: str = "resnet50", last_stride: int = 1, ibn: bool = False, stem_pool: str = "padded"
    ) -> None:
        super().__init__()
        if stem_pool not in STEM_POOLS:
            raise ConfigError(f"stem_pool must be one of {', '.join(STEM_POOLS)}, got {stem_pool!r}")
        net = _TORCHVISION[arch](weights=None)
        self.conv1, self.bn1, self.relu = net.conv1, net.bn1, net.relu
        self.maxpool = STEM_POOLS[stem_pool]()
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        set_first_stride(self.layer4, last_stride)
        if ibn:
            add_ibn_a([self.layer1, self.layer2, self.layer3])
        self.arch = arch
        self.out_channels: int = net.fc.in_features

    def stem(self, x: Tensor) -> Tensor:
        """conv1, bn1, relu, maxpool: the stride-4 stem."""
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward(self, x: Tensor) -> Tensor:
        """Full trunk: stem and the four stages."""
        x = self.stem(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def build_resnet(
    arch: str,
    last_stride: int = 1,
    pretrained: bool = False,
    pretrained_path: str | Path | None = None,
    stem_pool: str = "padded",
) -> ResNetTrunk:
    """A ResNet trunk, with torchvision's ImageNet weights when `pretrained`."""
    trunk = ResNetTrunk(arch, last_stride, stem_pool=stem_pool)
    if pretrained:
        load_pretrained(arch, trunk, pretrained_path)
    return trunk


def build_resnet50_ibn(
    last_stride: int = 1,
    pretrained: bool = False,
    pretrained_path: str | Path | None = None,
    stem_pool: str = "padded",
) -> ResNetTrunk:
    """A ResNet-50-IBN-a trunk; ImageNet weights only from `pretrained_path` (IBN-Net's released file)."""
    trunk = ResNetTrunk("resnet50", last_stride, ibn=True, stem_pool=stem_pool)
    if pretrained:
        load_pretrained("resnet50_ibn_a", trunk, pretrained_path)
    return trunk
