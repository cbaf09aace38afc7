"""OSNet (Zhou et al., ICCV 2019, "Omni-Scale Feature Learning for Person Re-Identification") and OSNet-AIN
(Zhou et al., TPAMI 2021, "Learning Generalisable Omni-Scale Representations for Person Re-Identification").

Written from the papers: a 7x7 stem and max pool; three stages of two omni-scale (OS) blocks with a
transition (1x1 conv, 2x2 average pool) after the first two; a 1x1 conv; global pooling; a 512-d fully
connected embedding. An OS block reduces the width by 4, runs T = 4 streams of 1..4 lite 3x3 convolutions
(1x1 linear + depthwise 3x3, BN, ReLU), weighs each stream with one shared unified aggregation gate
(global pool, FC, ReLU, FC, sigmoid, per channel), sums them, expands back (1x1 + BN) and adds the input.
OSNet-AIN puts instance normalization in the stem and, instead of the expansion's BN, in the blocks the
paper's search chose. The head is finereid's (pooling, BNNeck), so FDP plugs in as in BoT.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch.nn.functional as F
from torch import Tensor, nn

from finereid.errors import CheckpointError, ConfigError
from finereid.models.backbones.ibn import InstanceNorm2d
from finereid.models.bot import BoT
from finereid.models.heads import FCEmbedding, build_pool

WIDTHS = {
    "x1_0": (64, 256, 384, 512),
    "x0_75": (48, 192, 288, 384),
    "x0_5": (32, 128, 192, 256),
    "x0_25": (16, 64, 96, 128),
}
# OSNet-AIN x1.0: which blocks of stages 2, 3, 4 normalize their expansion with IN instead of BN.
AIN_BLOCKS = ((True, True), (False, True), (True, False))
STREAMS = 4  # T, the number of scales (streams of 1..T lite 3x3 convolutions)


class ConvNormAct(nn.Module):
    """Conv (no bias), BN (or affine IN), optional ReLU."""

    def __init__(
        self, cin: int, cout: int, kernel: int = 1, stride: int = 1, instance: bool = False, act: bool = True
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.norm = InstanceNorm2d(cout) if instance else nn.BatchNorm2d(cout)
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """conv -> norm -> act."""
        return self.act(self.norm(self.conv(x)))


class LiteConv3x3(nn.Module):
    """The paper's Lite 3x3: a linear 1x1 conv then a depthwise 3x3 conv, BN, ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pointwise = nn.Conv2d(channels, channels, 1, bias=False)
        self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)
        self.norm = nn.BatchNorm2d(channels)

    def forward(self, x: Tensor) -> Tensor:
        """1x1 -> depthwise 3x3 -> BN -> ReLU."""
        return F.relu(self.norm(self.depthwise(self.pointwise(x))))


class AggregationGate(nn.Module):
    """The unified aggregation gate: channel weights in (0, 1) from the stream's global average."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """x * sigmoid(fc2(relu(fc1(mean(x)))))."""
        weights = self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True))))
        return x * weights.sigmoid()


class OSBlock(nn.Module):
    """Omni-scale residual block; `instance=True` normalizes the expansion with IN (OSNet-AIN)."""

    def __init__(self, cin: int, cout: int, instance: bool = False) -> None:
        super().__init__()
        mid = cout // 4
        self.reduce = ConvNormAct(cin, mid)
        self.streams = nn.ModuleList(
            nn.Sequential(*(LiteConv3x3(mid) for _ in range(depth))) for depth in range(1, STREAMS + 1)
        )
        self.gate = AggregationGate(mid)  # one gate, shared by every stream
        self.expand = ConvNormAct(mid, cout, instance=instance, act=False)
        self.shortcut = ConvNormAct(cin, cout, act=False) if cin != cout else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """relu(expand(sum_t gate(stream_t(reduce(x)))) + shortcut(x))."""
        reduced = self.reduce(x)
        mixed = self.gate(self.streams[0](reduced))
        for stream in self.streams[1:]:
            mixed = mixed + self.gate(stream(reduced))
        return F.relu(self.expand(mixed) + self.shortcut(x))


class OSNetTrunk(nn.Module):
    """Image [B, 3, H, W] -> feature map [B, C4, H/16, W/16] (stem, stages 2-4 with transitions, conv5)."""

    def __init__(self, widths: tuple[int, int, int, int], ain: bool = False) -> None:
        super().__init__()
        c1, c2, c3, c4 = widths
        instance = AIN_BLOCKS if ain else ((False, False),) * 3
        self.stem = ConvNormAct(3, c1, kernel=7, stride=2, instance=ain)
        self.stem_pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.stage2 = nn.Sequential(OSBlock(c1, c2, instance[0][0]), OSBlock(c2, c2, instance[0][1]))
        self.transition2 = nn.Sequential(ConvNormAct(c2, c2), nn.AvgPool2d(2, stride=2))
        self.stage3 = nn.Sequential(OSBlock(c2, c3, instance[1][0]), OSBlock(c3, c3, instance[1][1]))
        self.transition3 = nn.Sequential(ConvNormAct(c3, c3), nn.AvgPool2d(2, stride=2))
        self.stage4 = nn.Sequential(OSBlock(c3, c4, instance[2][0]), OSBlock(c4, c4, instance[2][1]))
        self.conv5 = ConvNormAct(c4, c4)
        self.out_channels: int = c4
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        """The convolutional part of OSNet."""
        x = self.stem_pool(self.stem(x))
        x = self.transition2(self.stage2(x))
        x = self.transition3(self.stage3(x))
        return self.conv5(self.stage4(x))


def _osnet(
    width: str,
    ain: bool,
    num_classes: int,
    pretrained: str,
    pool: str,
    gem_p: float,
    embedding_dim: int,
    neck_feat: str,
) -> BoT:
    """OSNet trunk + pooling + FC embedding (0: none) + BNNeck."""
    if pretrained == "imagenet":
        raise CheckpointError(
            "OSNet ImageNet weights: convert torchreid's file with `finereid convert --from torchreid` and "
            "start from the result with model.init_from=CKPT (model.pretrained=none)"
        )
    if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim < 0:
        raise ConfigError(
            f"embedding_dim must be a non-negative integer (0: no FC layer), got {embedding_dim!r}"
        )
    trunk = OSNetTrunk(WIDTHS[width], ain=ain)
    embedding = FCEmbedding(trunk.out_channels, embedding_dim) if embedding_dim > 0 else None
    return BoT(trunk, num_classes, pool=build_pool(pool, gem_p), neck_feat=neck_feat, embedding=embedding)


def _builder(width: str, ain: bool = False) -> Callable[..., BoT]:
    """The registry entry of one OSNet variant (the same options for every width)."""

    def build(
        num_classes: int,
        pretrained: str = "none",
        pretrained_path: str | Path | None = None,
        *,
        pool: str = "avg",
        gem_p: float = 3.0,
        embedding_dim: int = 512,
        neck_feat: str = "after",
    ) -> BoT:
        return _osnet(width, ain, num_classes, pretrained, pool, gem_p, embedding_dim, neck_feat)

    build.__name__ = f"osnet_{'ain_' if ain else ''}{width}"
    build.__doc__ = f"OSNet{'-AIN' if ain else ''} {width.replace('_', '.')}: widths {WIDTHS[width]}, " + (
        "512-d FC embedding, BNNeck."
    )
    return build


osnet_x1_0 = _builder("x1_0")
osnet_x0_75 = _builder("x0_75")
osnet_x0_5 = _builder("x0_5")
osnet_x0_25 = _builder("x0_25")
osnet_ain_x1_0 = _builder("x1_0", ain=True)
