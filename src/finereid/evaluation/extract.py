"""Embeddings of image records with an eval-mode model: the one feature extractor of finereid."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from finereid.data import build_test_loader
from finereid.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)


@torch.inference_mode()
def extract_features(
    model: nn.Module,
    records: Sequence[Any],
    height: int,
    width: int,
    *,
    batch_size: int = 64,
    num_workers: int = 2,
    flip: bool = False,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> tuple[np.ndarray, list[int]]:
    """Eval-mode embeddings [N, D] float32 of `records` (ImageRecords) and the indices of the readable ones.

    With `flip`, an embedding is the mean of the image's and its horizontal mirror's. Unreadable images
    are skipped and counted (a warning), never stopping the run; none readable is a DatasetError.
    """
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    loader = build_test_loader(records, height, width, batch_size=batch_size, num_workers=num_workers)
    model.eval().to(device)
    chunks, kept = [], []
    with tqdm(total=len(records), unit="img", desc="extract", disable=not progress) as bar:
        for batch in loader:
            bar.update(len(batch["paths"]) + int(batch["num_skipped"]))
            if len(batch["paths"]) == 0:
                continue
            images = batch["images"].to(device, non_blocking=True)
            feats = model(images).float()
            if flip:
                feats = (feats + model(images.flip(3)).float()) / 2
            chunks.append(feats.cpu())
            kept += batch["indices"].tolist()
    if not chunks:
        raise DatasetError(f"none of the {len(records)} images could be read")
    if len(kept) < len(records):
        log.warning("skipped %d unreadable image(s)", len(records) - len(kept))
    return torch.cat(chunks).numpy().astype(np.float32, copy=False), kept
