"""The strong baseline's learning-rate schedule: linear warm-up, then step decay, per epoch."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

import torch
from torch.optim.lr_scheduler import LRScheduler


def lr_factor(
    epoch: int,
    warmup_epochs: int = 10,
    warmup_factor: float = 0.1,
    milestones: Sequence[int] = (40, 70),
    gamma: float = 0.1,
) -> float:
    """Base-lr multiplier in `epoch` (0-based): warmup_factor -> 1 linearly, then x gamma per milestone."""
    warmup = 1.0
    if epoch < warmup_epochs:
        alpha = epoch / warmup_epochs
        warmup = warmup_factor * (1.0 - alpha) + alpha
    return warmup * gamma ** bisect_right(list(milestones), epoch)


class WarmupMultiStepLR(LRScheduler):
    """`lr_factor` as a scheduler stepped once per epoch; its state holds only numbers (weights_only-safe)."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        warmup_epochs: int = 10,
        warmup_factor: float = 0.1,
        milestones: Sequence[int] = (40, 70),
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.warmup_epochs = int(warmup_epochs)
        self.warmup_factor = float(warmup_factor)
        self.milestones = [int(m) for m in milestones]
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Learning rate of every parameter group in the current epoch (closed form, no drift)."""
        epoch = self.last_epoch
        factor = lr_factor(epoch, self.warmup_epochs, self.warmup_factor, self.milestones, self.gamma)
        return [base_lr * factor for base_lr in self.base_lrs]
