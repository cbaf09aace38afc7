"""One training run from a Config into a run directory: the function behind `finereid train`."""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

from finereid.config import Config
from finereid.engine.callbacks import EpochSummary, RunCheckpoints
from finereid.engine.checkpoint import AtomicCheckpointIO
from finereid.engine.datamodule import ReIDDataModule
from finereid.engine.module import NonFiniteLossError, ReIDModule
from finereid.errors import CheckpointError, ConfigError
from finereid.files import CONFIG_FILE, LAST_CHECKPOINT, METRICS_FILE, atomic_write_json, remove_partial_files
from finereid.metrics import SCORE_KEYS
from finereid.models import fill_data_options
from finereid.runtime import is_rank_zero

log = logging.getLogger(__name__)


def run_training(
    config: Config,
    run_dir: str | Path,
    resume: bool = False,
    callbacks: Sequence[Callback] = (),
) -> dict[str, Any]:
    """Train per `config` into `run_dir` (config.yaml, logs, last/best.ckpt, metrics.json); returns metrics.

    `resume=True` continues from `run_dir/last.ckpt` (written at every epoch end); without it an
    existing last.ckpt is an error rather than silently overwritten. Under DDP every process calls
    this function (Lightning re-runs the command); only rank 0 writes files.
    """
    run_dir = Path(run_dir)
    last = run_dir / LAST_CHECKPOINT
    if resume and not last.is_file():
        raise CheckpointError(f"cannot resume: {last} does not exist")
    if not resume and last.exists() and is_rank_zero():
        raise ConfigError(f"{run_dir} already holds a run (last.ckpt); pass --resume or use another run dir")
    _one_line_per_lightning_message()
    _prepare_run_dir(run_dir, config)
    pl.seed_everything(config.trainer.seed, workers=False, verbose=False)
    t = config.trainer
    datamodule = ReIDDataModule(config.data, t.seed, t.val_datasets, t.val_roots, t.best_val_dataset)
    datamodule.setup("fit")
    built = with_data_options(config, datamodule)
    if resume and built.model.init_from is not None:  # last.ckpt holds every weight: read no init file again
        built = built.replace(model={"init_from": None, "pretrained": "none", "pretrained_path": None})
    module = build_module(built, datamodule.num_classes)
    summary, checkpoints = EpochSummary(), RunCheckpoints(run_dir)
    trainer = build_trainer(config, run_dir, [summary, checkpoints, *callbacks])
    start = time.perf_counter()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    deterministic = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    # Deterministic mode also NaN-fills every new torch.empty, a memory pass per allocation that guards
    # against reading uninitialized memory; no finereid operation does, so results are the same without.
    torch.utils.deterministic.fill_uninitialized_memory = False
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=str(last) if resume else None)
        if module.last_val_epoch is None or module.last_val_epoch < config.trainer.max_epochs - 1:
            trainer.validate(module, datamodule=datamodule, verbose=False)  # score the final weights
    except NonFiniteLossError as exc:
        good = f"last good checkpoint: {last}" if last.is_file() else "no checkpoint was saved yet"
        raise NonFiniteLossError(f"{exc}; training stopped, {good}") from None
    finally:  # the Trainer switched deterministic algorithms on for the process: give the caller its own
        torch.utils.deterministic.fill_uninitialized_memory = fill
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])
    metrics = _final_metrics(config, module, summary, checkpoints, time.perf_counter() - start, resume)
    if trainer.is_global_zero:
        atomic_write_json(run_dir / METRICS_FILE, metrics)
        log.info(
            "final: rank1 %.2f%% mAP %.2f%% mINP %.2f%% (%s)",
            100 * metrics["rank1"],
            100 * metrics["mAP"],
            100 * metrics["mINP"],
            run_dir / METRICS_FILE,
        )
    return metrics


def build_module(config: Config, num_classes: int) -> ReIDModule:
    """The LightningModule for `config`: it reads every recipe value from the config itself."""
    return ReIDModule(config, num_classes)


def with_data_options(config: Config, datamodule: ReIDDataModule) -> Config:
    """The config the model is built from (and its checkpoints store): the model options the training data
    decides filled in, for models that take them (input size, camera count; `models.fill_data_options`).
    config.yaml keeps the options as given, so a rerun or resume compares what the user wrote."""
    cameras = max((r.camid for r in datamodule.train_records), default=-1) + 1
    data = config.data
    options = fill_data_options(
        config.model.name, config.model.options, height=data.height, width=data.width, num_cameras=cameras
    )
    return config if options == config.model.options else config.replace(model={"options": options})


def build_trainer(config: Config, run_dir: Path, callbacks: Sequence[Callback]) -> pl.Trainer:
    """A Lightning Trainer for `config`: DDP when several processes, atomic checkpoints, CSV/TB logs."""
    t = config.trainer
    cuda = _uses_cuda(t.accelerator)
    distributed = t.devices * t.num_nodes > 1 or t.devices == -1
    try:
        return pl.Trainer(
            max_epochs=t.max_epochs,
            accelerator=t.accelerator,
            devices=t.devices,
            num_nodes=t.num_nodes,
            strategy="ddp" if distributed else "auto",
            precision=resolve_precision(t.precision, cuda),
            deterministic=("warn" if cuda else True) if t.deterministic else False,
            check_val_every_n_epoch=t.eval_every,
            num_sanity_val_steps=0,
            use_distributed_sampler=False,  # the P x K sampler shards identities by rank itself
            logger=_loggers(run_dir),
            callbacks=list(callbacks),
            enable_progress_bar=t.progress_bar,
            enable_model_summary=False,
            log_every_n_steps=t.log_every_n_steps,
            plugins=[AtomicCheckpointIO()],
            default_root_dir=str(run_dir),
        )
    except (MisconfigurationException, ValueError) as exc:
        raise ConfigError(f"trainer settings rejected by Lightning: {str(exc).splitlines()[0]}") from None


def resolve_precision(precision: str, cuda: bool) -> str:
    """`auto` -> 16-mixed on CUDA, 32-true on CPU; 16-mixed without CUDA is an error (use bf16-mixed)."""
    if precision == "auto":
        return "16-mixed" if cuda else "32-true"
    if precision == "16-mixed" and not cuda:
        raise ConfigError("trainer.precision=16-mixed needs a CUDA GPU; on CPU use bf16-mixed or 32-true")
    return precision


def _uses_cuda(accelerator: str) -> bool:
    """Whether the run will use CUDA; asking for a GPU without one is a ConfigError."""
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(f"trainer.accelerator={accelerator} but no CUDA GPU is available; use cpu or auto")
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


def _loggers(run_dir: Path) -> list[Logger]:
    """CSV logs always, TensorBoard when installed; a new version folder per (resumed) session."""
    loggers: list[Logger] = [CSVLogger(save_dir=str(run_dir), name="csv")]
    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        loggers.append(TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", default_hp_metric=False))
    return loggers


def _one_line_per_lightning_message() -> None:
    """Drop the console handler `lightning` adds at import when the root logger already prints its lines."""
    if logging.getLogger().hasHandlers():
        lightning_log = logging.getLogger("lightning")
        for handler in list(lightning_log.handlers):
            if type(handler) is logging.StreamHandler:
                lightning_log.removeHandler(handler)


@rank_zero_only
def _prepare_run_dir(run_dir: Path, config: Config) -> None:
    """Create the run dir, drop partial files of a killed save, write the resolved config.yaml."""
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_partial_files(run_dir)
    config.save(run_dir / CONFIG_FILE)


def _final_metrics(
    config: Config,
    module: ReIDModule,
    summary: EpochSummary,
    checkpoints: RunCheckpoints,
    wall_time: float,
    resumed: bool,
) -> dict[str, Any]:
    """metrics.json content: final CMC/mAP/mINP, best mAP, wall time and training throughput.

    With named validation targets the top-level scores are those of the target best.ckpt follows, and
    each target adds `<label>/<key>` scores plus the `val_datasets` and `best_val_dataset` labels.
    """
    final = dict(module.last_val_metrics or {})
    seconds = summary.train_seconds
    targets = module.last_val_targets
    if targets:
        labels = list(targets)
        best = config.trainer.best_val_dataset or labels[0]
        final.update({"val_datasets": labels, "best_val_dataset": best})
        final.update(
            {f"{label}/{key}": scores[key] for label, scores in targets.items() for key in SCORE_KEYS}
        )
    return {
        **final,
        "epochs": config.trainer.max_epochs,
        "best_mAP": checkpoints.best_score,
        "best_epoch": None if checkpoints.best_epoch is None else checkpoints.best_epoch + 1,
        "wall_time_s": round(wall_time, 3),
        "train_images": summary.train_images,
        "images_per_s": round(summary.train_images / seconds, 2) if seconds else None,
        "resumed": resumed,
        "dataset": config.data.name,
        "model": config.model.name,
        "metric_loss": config.loss.metric_loss,
        "seed": config.trainer.seed,
    }
