"""Evaluate a training checkpoint on a dataset's query/gallery: optional flip averaging and re-ranking."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from finereid.data import build_dataset, build_test_loader
from finereid.engine.checkpoint import load_checkpoint_file
from finereid.engine.module import ReIDModule
from finereid.engine.scoring import score_features
from finereid.errors import CheckpointError, ConfigError
from finereid.metrics import compute_distmat, evaluate_rank, re_ranking

log = logging.getLogger(__name__)


def load_module(checkpoint: str | Path, map_location: str | torch.device = "cpu") -> ReIDModule:
    """Rebuild a ReIDModule from a finereid checkpoint (weights_only load; no ImageNet download)."""
    data = load_checkpoint_file(checkpoint, map_location=map_location)
    hparams = data.get("hyper_parameters")
    if not isinstance(hparams, dict) or "model_name" not in hparams or "state_dict" not in data:
        raise CheckpointError(f"{checkpoint} is not a finereid training checkpoint (no ReIDModule hparams)")
    try:
        module = ReIDModule(**{**hparams, "pretrained": "none", "pretrained_path": None})
    except TypeError as exc:
        raise CheckpointError(f"{checkpoint}: hparams do not match this finereid version: {exc}") from None
    try:
        module.load_state_dict(data["state_dict"])
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"{checkpoint}: weights do not fit the model it names: {first}") from None
    return module.eval()


@torch.inference_mode()
def extract_features(
    model: nn.Module, loader: DataLoader, device: torch.device, flip: bool = False
) -> dict[str, Tensor]:
    """Eval-mode embeddings of every batch (averaged with the mirror image when `flip`), ids, indices."""
    model.eval().to(device)
    parts: dict[str, list[Tensor]] = {"feats": [], "pids": [], "camids": [], "indices": []}
    for batch in loader:
        images = batch["images"].to(device)
        if images.shape[0] == 0:
            continue
        feats = model(images).float()
        if flip:
            feats = (feats + model(torch.flip(images, dims=[3])).float()) / 2
        parts["feats"].append(feats.cpu())
        for key in ("pids", "camids", "indices"):
            parts[key].append(batch[key])
    if not parts["feats"]:
        raise ConfigError("no readable image to embed")
    return {key: torch.cat(values) for key, values in parts.items()}


def evaluate_checkpoint(
    checkpoint: str | Path,
    dataset: str,
    root: str | Path,
    options: dict[str, Any] | None = None,
    rerank: bool = False,
    flip: bool = False,
    metric: str | None = None,
    batch_size: int = 128,
    num_workers: int = 2,
    device: str = "auto",
    ranking_path: str | Path | None = None,
) -> dict[str, Any]:
    """CMC/mAP/mINP of `checkpoint` on `dataset` (Market protocol), as a dict with the settings used.

    With `ranking_path`, the per-query ranked lists are also saved there for `finereid report`.
    """
    start = time.perf_counter()
    target = _device(device)
    module = load_module(checkpoint)
    hp = module.hparams
    metric = metric or hp.eval_metric
    data = build_dataset(dataset, root, **(options or {}))
    height, width = hp.image_height, hp.image_width
    embed = {
        split: extract_features(
            module.model,
            build_test_loader(records, height, width, batch_size=batch_size, num_workers=num_workers),
            target,
            flip=flip,
        )
        for split, records in (("query", data.query), ("gallery", data.gallery))
    }
    q, g = embed["query"], embed["gallery"]
    distmat = None
    if rerank:
        distmat = re_ranking(
            compute_distmat(q["feats"], g["feats"], metric=metric),
            compute_distmat(q["feats"], q["feats"], metric=metric),
            compute_distmat(g["feats"], g["feats"], metric=metric),
        )
        result = evaluate_rank(distmat, q["pids"], g["pids"], q["camids"], g["camids"]).to_dict()
    else:
        result = score_features(
            q["feats"], g["feats"], q["pids"], g["pids"], q["camids"], g["camids"], metric=metric
        )
    if ranking_path is not None:
        from finereid.deploy import save_ranking

        features = (
            {"distmat": distmat} if rerank else {"query_feats": q["feats"], "gallery_feats": g["feats"]}
        )
        save_ranking(
            ranking_path,
            [data.query[i] for i in q["indices"].tolist()],
            [data.gallery[i] for i in g["indices"].tolist()],
            **features,
            metric=metric,
            metrics=result,
            meta={"checkpoint": str(checkpoint), "rerank": rerank, "flip": flip},
        )
    return {
        **result,
        "checkpoint": str(checkpoint),
        "dataset": dataset,
        "root": str(root),
        "rerank": rerank,
        "flip": flip,
        "metric": metric,
        "num_query": int(q["feats"].shape[0]),
        "num_gallery": int(g["feats"].shape[0]),
        "seconds": round(time.perf_counter() - start, 3),
    }


def format_table(result: dict[str, Any]) -> str:
    """The metrics as a small text table in percent."""
    keys = ("rank1", "rank5", "rank10", "mAP", "mINP")
    header = " | ".join(f"{k:>6}" for k in keys)
    values = " | ".join(f"{100 * result[k]:6.2f}" for k in keys)
    return f"{header}\n{'-' * len(header)}\n{values}"


def _device(name: str) -> torch.device:
    """`auto` -> CUDA when available, else CPU; asking for CUDA without one is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but no CUDA GPU is available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu or cuda[:N]") from None
