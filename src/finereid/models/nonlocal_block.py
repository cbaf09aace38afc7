"""Non-local block (Wang et al. 2018), the dot-product form used by the AGW ReID baseline."""

from __future__ import annotations

from torch import Tensor, nn


class NonLocalBlock(nn.Module):
    """x + W(attention(x)): every position attends to every other one, normalized by the position count.

    The output BatchNorm starts at zero (weight and bias), so a freshly inserted block is the identity
    and does not disturb the pretrained trunk it is added to.
    """

    def __init__(self, channels: int, reduction: int = 2) -> None:
        super().__init__()
        inner = max(1, channels // reduction)
        self.theta = nn.Conv2d(channels, inner, kernel_size=1)
        self.phi = nn.Conv2d(channels, inner, kernel_size=1)
        self.g = nn.Conv2d(channels, inner, kernel_size=1)
        self.out = nn.Sequential(nn.Conv2d(inner, channels, kernel_size=1), nn.BatchNorm2d(channels))
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)

    def forward(self, x: Tensor) -> Tensor:
        """Residual non-local update of a feature map [B, C, H, W]."""
        positions = x.shape[2] * x.shape[3]
        theta = self.theta(x).flatten(2).transpose(1, 2)  # [B, N, C']
        phi = self.phi(x).flatten(2)  # [B, C', N]
        g = self.g(x).flatten(2).transpose(1, 2)  # [B, N, C']
        attention = (theta / positions) @ phi  # [B, N, N]; 1/N of the dot-product form, scaled first for fp16
        y = (attention @ g).transpose(1, 2).unflatten(2, x.shape[2:])  # [B, C', H, W]
        return x + self.out(y)
