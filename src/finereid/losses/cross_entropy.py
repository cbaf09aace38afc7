"""Identity loss: cross-entropy with label smoothing, as the strong baseline trains its classifier."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from finereid.errors import ConfigError
from finereid.losses.checks import as_count, as_float, check_class_labels, check_rows_and_labels


class CrossEntropyLabelSmooth(torch.nn.Module):
    """Cross-entropy against (1 - epsilon) one-hot + epsilon / num_classes, averaged over the batch.

    Takes classifier logits (batch, num_classes), not features. Computed by torch's own
    `cross_entropy(label_smoothing=epsilon)`, which is this target distribution.
    """

    def __init__(self, num_classes: int, epsilon: float = 0.1) -> None:
        super().__init__()
        self.num_classes = as_count("cross_entropy loss", "num_classes", num_classes)
        self.epsilon = as_float("cross_entropy loss", "epsilon", epsilon, low=0.0)
        if self.epsilon >= 1.0:
            raise ConfigError(f"cross_entropy loss: epsilon must be < 1, got {epsilon!r}")

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Scalar loss; labels are training identity indices in [0, num_classes)."""
        check_rows_and_labels("cross_entropy loss", logits, labels, what="logits", width=self.num_classes)
        check_class_labels("cross_entropy loss", labels, self.num_classes)
        return F.cross_entropy(logits, labels, label_smoothing=self.epsilon)

    def extra_repr(self) -> str:
        """Class count and smoothing."""
        return f"num_classes={self.num_classes}, epsilon={self.epsilon}"
