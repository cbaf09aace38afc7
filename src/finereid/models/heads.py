"""ReID heads: global pooling (average or generalized mean), an optional FC embedding, the BNNeck."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from finereid.errors import ConfigError

POOLS = ("avg", "gem")


class GlobalAvgPool(nn.Module):
    """Global average pooling: feature map [B, C, H, W] -> vector [B, C]."""

    def forward(self, x: Tensor) -> Tensor:
        """Average over the spatial dimensions."""
        return x.mean(dim=(2, 3))


class GeMPooling(nn.Module):
    """Generalized-mean pooling (Radenović et al.): (mean x^p)^(1/p); p=1 is average, p->inf is max."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6, learnable: bool = True) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)), requires_grad=learnable)
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        """Pool [B, C, H, W] -> [B, C]; inputs are clamped to eps so the power is defined."""
        return x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)

    def extra_repr(self) -> str:
        """Show the current exponent."""
        return f"p={self.p.item():.4f}, eps={self.eps}"


class BNNeck(nn.Module):
    """BatchNorm without bias shift, then a bias-free classifier (Luo et al. 2019, "Bag of Tricks").

    The metric loss sees the feature before the BN; the classifier (identity loss) sees the feature after it.
    """

    def __init__(self, in_dim: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(in_dim)
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)
        self.bn.bias.requires_grad_(False)  # no shift: keeps the BN output centred for the classifier
        self.classifier = nn.Linear(in_dim, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(self, feat: Tensor) -> tuple[Tensor, Tensor]:
        """Return (after-BN feature, logits)."""
        bn_feat = self.bn(feat)
        return bn_feat, self.classifier(bn_feat)


class FCEmbedding(nn.Module):
    """Linear, BatchNorm1d, ReLU: the fully connected embedding layer of OSNet (and torchreid's models)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.out_dim = out_dim
        self.fc = nn.Sequential(nn.Linear(in_dim, out_dim), nn.BatchNorm1d(out_dim), nn.ReLU(inplace=True))
        nn.init.normal_(self.fc[0].weight, std=0.01)
        nn.init.zeros_(self.fc[0].bias)

    def forward(self, x: Tensor) -> Tensor:
        """[B, in_dim] -> [B, out_dim]."""
        return self.fc(x)


def build_pool(pool: str, gem_p: float = 3.0) -> nn.Module:
    """Global pooling by name: "avg" (the strong baseline) or "gem" (generalized mean, p learnable)."""
    if pool not in POOLS:
        raise ConfigError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
    if isinstance(gem_p, bool) or not isinstance(gem_p, int | float) or not gem_p > 0:
        raise ConfigError(f"gem_p must be a positive number, got {gem_p!r}")
    return GlobalAvgPool() if pool == "avg" else GeMPooling(p=gem_p)
