"""Training on Lightning: the ReID LightningModule, its data module, checkpoints, runs and evaluation."""

from __future__ import annotations

from finereid.engine.callbacks import EpochSummary, RunCheckpoints
from finereid.engine.checkpoint import AtomicCheckpointIO, atomic_save, load_checkpoint_file
from finereid.engine.datamodule import ReIDDataModule
from finereid.engine.evaluate import evaluate_checkpoint, extract_features, format_table, load_module
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
    "atomic_save",
    "build_module",
    "build_trainer",
    "evaluate_checkpoint",
    "extract_features",
    "format_table",
    "load_checkpoint_file",
    "load_module",
    "lr_factor",
    "run_training",
]
