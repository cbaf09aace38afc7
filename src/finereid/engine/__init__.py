"""Training on Lightning: the ReID LightningModule, its data module, checkpoints and training runs.

Evaluation of a checkpoint lives in `finereid.evaluation` (validation during training uses it too).
"""

from __future__ import annotations

from finereid.engine.callbacks import EpochSummary, RunCheckpoints
from finereid.engine.checkpoint import AtomicCheckpointIO
from finereid.engine.datamodule import ReIDDataModule
from finereid.engine.module import NonFiniteLossError, ReIDModule
from finereid.engine.runner import build_module, build_trainer, run_training
from finereid.engine.schedule import WarmupMultiStepLR, lr_factor

__all__ = [
    "AtomicCheckpointIO",
    "EpochSummary",
    "NonFiniteLossError",
    "ReIDDataModule",
    "ReIDModule",
    "RunCheckpoints",
    "WarmupMultiStepLR",
    "build_module",
    "build_trainer",
    "lr_factor",
    "run_training",
]
