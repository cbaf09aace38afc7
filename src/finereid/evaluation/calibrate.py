"""Calibrate a "same person" distance threshold: the one that gives a target false-positive rate.

The threshold comes from the verification metrics of the evaluation pipeline (every cross-camera
query-gallery pair of a labelled dataset, `finereid.metrics.evaluate_verification`) and is stored in the
checkpoint (`Calibration`), so `finereid verify`, `finereid search --threshold auto` and every exported
file use it. Calibrate on data the model did not train on: the test split of the training dataset, or
better a held-out one; the false-positive rate holds for data like it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from finereid.errors import ConfigError
from finereid.evaluation.checkpoint import Calibration, load_model, save_calibration
from finereid.evaluation.pipeline import Evaluation, checkpoint_dataset, evaluate_model
from finereid.runtime import resolve_device

log = logging.getLogger(__name__)


def calibrate_checkpoint(
    checkpoint: str | Path,
    target_fpr: float,
    dataset: str | None = None,
    root: str | Path | None = None,
    options: dict[str, Any] | None = None,
    *,
    distance: str | None = None,
    save: bool = True,
    device: str | torch.device = "auto",
    **kwargs: Any,
) -> tuple[Calibration, Evaluation]:
    """The threshold at `target_fpr` on a dataset (default: the checkpoint's), stored in it if `save`.

    `kwargs` go to `evaluate_model` (batch_size, num_workers, progress).
    """
    if isinstance(target_fpr, bool) or not isinstance(target_fpr, int | float) or not 0 < target_fpr < 1:
        raise ConfigError(f"the target false-positive rate must be in (0, 1), got {target_fpr!r}")
    target = resolve_device(device)
    loaded = load_model(checkpoint, device=target)
    data = checkpoint_dataset(loaded, dataset, root, options)
    evaluation = evaluate_model(loaded, data, distance=distance, device=target, top_k=1, **kwargs)
    pairs = evaluation.verification
    if pairs is None:  # evaluate_model computes verification unless told otherwise
        raise ConfigError("calibration needs the verification metrics of the evaluation")
    if pairs.num_impostor * target_fpr < 1:
        log.warning(
            "only %d impostor pairs: a false-positive rate of %g cannot be measured on them (the threshold "
            "accepts no impostor pair at all)", pairs.num_impostor, target_fpr,
        )  # fmt: skip
    tpr, fpr, threshold = pairs.at_fpr(target_fpr)
    calibration = Calibration(threshold, float(target_fpr), pairs.distance, tpr, fpr, data.name)
    if save:
        save_calibration(checkpoint, calibration)
    return calibration, evaluation
