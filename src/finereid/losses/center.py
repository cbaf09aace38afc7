"""Center loss: pulls each feature towards a learnable center of its identity."""

from __future__ import annotations

import torch

from finereid.losses.checks import as_count, check_class_labels, check_rows_and_labels


class CenterLoss(torch.nn.Module):
    """Mean over the batch of ||f_i - c_{y_i}||^2, with one learnable center per identity.

    As in the strong baseline: centers start as N(0, 1), there is no 1/2 factor, and the centers are
    parameters of this module, so the engine can give them their own optimizer group (SGD, lr 0.5)
    and the loss its own small weight (0.0005).
    """

    def __init__(self, num_classes: int, feat_dim: int) -> None:
        super().__init__()
        self.num_classes = as_count("center loss", "num_classes", num_classes)
        self.feat_dim = as_count("center loss", "feat_dim", feat_dim)
        self.centers = torch.nn.Parameter(torch.randn(self.num_classes, self.feat_dim))

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Scalar loss; labels are training identity indices in [0, num_classes)."""
        check_rows_and_labels("center loss", features, labels, width=self.feat_dim)
        check_class_labels("center loss", labels, self.num_classes)
        return (features - self.centers[labels]).pow(2).sum(1).mean()

    def extra_repr(self) -> str:
        """Sizes of the center table."""
        return f"num_classes={self.num_classes}, feat_dim={self.feat_dim}"
