"""Run-directory callbacks: last.ckpt every epoch, best.ckpt by validation mAP, a one-line epoch summary."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback, Checkpoint
from lightning.pytorch.trainer.states import TrainerFn

from finereid.files import BEST_CHECKPOINT, LAST_CHECKPOINT

log = logging.getLogger(__name__)


class RunCheckpoints(Checkpoint):
    """Write `last.ckpt` at the end of every training epoch and `best.ckpt` when val/mAP improves.

    Being a Lightning `Checkpoint`, it runs after the module's `on_train_epoch_end` (so last.ckpt holds
    the stepped learning-rate schedule); its own state (best mAP and epoch) travels in last.ckpt, so
    a resumed run keeps comparing against the right best. Writes go through the trainer's
    CheckpointIO (atomic with `AtomicCheckpointIO`).
    """

    def __init__(self, dirpath: str | Path, monitor: str = "val/mAP") -> None:
        self.dirpath = Path(dirpath)
        self.monitor = monitor
        self.best_score: float | None = None
        self.best_epoch: int | None = None

    @property
    def last_path(self) -> Path:
        """Where the last checkpoint goes."""
        return self.dirpath / LAST_CHECKPOINT

    @property
    def best_path(self) -> Path:
        """Where the best checkpoint goes."""
        return self.dirpath / BEST_CHECKPOINT

    @property
    def state_key(self) -> str:
        """One instance per run: a fixed key in the checkpoint's callback states."""
        return "RunCheckpoints"

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Save last.ckpt (every rank calls; rank 0 writes)."""
        trainer.save_checkpoint(self.last_path, weights_only=False)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Save best.ckpt when the monitored metric beats the best so far (not during the sanity check)."""
        if trainer.sanity_checking or trainer.state.fn not in (TrainerFn.FITTING, TrainerFn.VALIDATING):
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        score = float(value)
        if self.best_score is None or score > self.best_score:
            epoch = getattr(pl_module, "last_val_epoch", None)
            self.best_score, self.best_epoch = score, trainer.current_epoch if epoch is None else epoch
            trainer.save_checkpoint(self.best_path, weights_only=False)
            if trainer.is_global_zero:
                log.info(
                    "new best %s %.4f after epoch %d -> %s",
                    self.monitor,
                    score,
                    self.best_epoch + 1,
                    self.best_path,
                )

    def state_dict(self) -> dict[str, Any]:
        """Best score and epoch (numbers only: weights_only-safe)."""
        return {"best_score": self.best_score, "best_epoch": self.best_epoch, "monitor": self.monitor}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the best score and epoch from a resumed checkpoint."""
        self.best_score = state_dict.get("best_score")
        self.best_epoch = state_dict.get("best_epoch")


class EpochSummary(Callback):
    """Logs one line per epoch (losses, learning rate, validation metrics, speed) and counts throughput."""

    def __init__(self) -> None:
        self.train_images = 0
        self.train_seconds = 0.0
        self._epoch_images = 0
        self._epoch_start = 0.0
        self._last_batch_end = 0.0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Start the epoch's clock."""
        self._epoch_images = 0
        self._epoch_start = self._last_batch_end = time.perf_counter()

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """Count the images this process trained on (times world size: ranks get equal batches)."""
        self._epoch_images += int(batch["images"].shape[0]) * trainer.world_size
        self._last_batch_end = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Log the summary line (rank 0) and add the epoch's training (not validation) time to the totals."""
        seconds = self._last_batch_end - self._epoch_start
        total = time.perf_counter() - self._epoch_start
        self.train_images += self._epoch_images
        self.train_seconds += seconds
        metrics = trainer.callback_metrics  # on every rank: computing synced metrics is a collective call
        if not trainer.is_global_zero:
            return
        parts = [f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"]
        losses = [
            f"{name.removeprefix('train/')} {float(metrics[name]):.4f}"
            for name in ("train/loss_epoch", "train/id_loss", "train/metric_loss", "train/center_loss")
            if name in metrics
        ]
        parts.append(" ".join(losses))
        if "train/lr" in metrics:
            parts.append(f"lr {float(metrics['train/lr']):.3g}")
        if getattr(pl_module, "last_val_epoch", None) == trainer.current_epoch and pl_module.last_val_metrics:
            val = pl_module.last_val_metrics
            parts.append(" ".join(f"{k} {100 * val[k]:.1f}" for k in ("rank1", "mAP", "mINP")))
            targets = getattr(pl_module, "last_val_targets", {})
            if targets:
                parts.append(
                    "mAP " + " ".join(f"{label} {100 * m['mAP']:.1f}" for label, m in targets.items())
                )
        parts.append(f"{total:.1f}s, train {self._epoch_images / max(seconds, 1e-9):.0f} img/s")
        log.info(" | ".join(parts))
