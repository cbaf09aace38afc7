"""Helpers of the explain tests: tiny models of each family and a checkpoint writer."""

from __future__ import annotations

from pathlib import Path

import timm
from torch import Tensor, nn

HEIGHT, WIDTH = 64, 32


class TinyViT(nn.Module):
    """A 2-block timm ViT (patch 8, class token) as a ReID model: eval mode returns the class embedding."""

    def __init__(self, height: int = HEIGHT, width: int = WIDTH) -> None:
        super().__init__()
        self.backbone = timm.create_model(
            "vit_tiny_patch16_224",
            pretrained=False,
            num_classes=0,
            img_size=(height, width),
            patch_size=8,
            embed_dim=32,
            depth=2,
            num_heads=2,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.backbone(x)


class NoPaddingCNN(nn.Module):
    """Convolutions without padding, then mean pooling: a constant image gives a constant feature map."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))

    def forward(self, x: Tensor) -> Tensor:
        return self.backbone(x).mean(dim=(2, 3))


class PixelCNN(nn.Module):
    """A 1x1 convolution and mean pooling: the embedding is a linear function of the mean colour."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(3, 16, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.backbone(x).mean(dim=(2, 3))


def save_checkpoint(path: Path, model_name: str = "bot_resnet18", num_classes: int = 4) -> Path:
    """A real checkpoint at this folder's input size (helpers.checkpoints); returns its path."""
    from helpers.checkpoints import save_random_checkpoint

    save_random_checkpoint(path, model_name, num_classes, HEIGHT, WIDTH)
    return path
