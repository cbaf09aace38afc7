"""The evaluation pipeline: checkpoint -> embeddings of query and gallery -> metrics and ranked lists.

`finereid eval`, `finereid report`, the demo and validation during training all score with `score`,
so the same checkpoint and data give the same numbers everywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finereid.config import load_config
from finereid.data import ReIDDataset, build_dataset
from finereid.errors import ConfigError, FinereidError
from finereid.evaluation.checkpoint import LoadedModel, load_model
from finereid.evaluation.extract import extract_features
from finereid.evaluation.ranking import Ranking, RecordLike, build_ranking, save_ranking
from finereid.files import BEST_CHECKPOINT, CONFIG_FILE, LAST_CHECKPOINT, RANKING_FILE
from finereid.metrics import (
    SCORE_KEYS,
    RankResult,
    VerificationResult,
    evaluate_features,
    evaluate_verification,
)
from finereid.runtime import resolve_device

log = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """What one evaluation produced: the metrics (rank1 ... mINP, cmc, settings) and the ranked lists.

    `verification` holds the full genuine/impostor distance histograms (thresholds at any FPR) when they
    were computed; `metrics["verification"]` is their summary.
    """

    metrics: dict[str, Any]
    ranking: Ranking
    verification: VerificationResult | None = None


def score(
    query_feats: Any,
    gallery_feats: Any,
    q_pids: Any,
    g_pids: Any,
    q_camids: Any,
    g_camids: Any,
    *,
    distance: str = "cosine",
    rerank: bool = False,
    top_k: int = 0,
    max_rank: int = 50,
) -> RankResult:
    """Market-protocol CMC/mAP/mINP of query vs gallery embeddings (optionally re-ranked), chunked.

    Re-ranking is k-reciprocal (k1=20, k2=6, lambda=0.3), scored a query chunk at a time. With `top_k`,
    the result also holds each query's ranked list from the same distances.
    """
    return evaluate_features(
        query_feats, gallery_feats, q_pids, g_pids, q_camids, g_camids,
        distance=distance, max_rank=max_rank, top_k=top_k, rerank=rerank,
    )  # fmt: skip


def evaluate_model(
    loaded: LoadedModel,
    dataset: ReIDDataset,
    *,
    distance: str | None = None,
    rerank: bool = False,
    flip: bool = False,
    top_k: int = 10,
    batch_size: int = 128,
    num_workers: int = 2,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> Evaluation:
    """Embed `dataset`'s query and gallery with `loaded`, score them, keep every query's top-k."""
    start = time.perf_counter()
    distance = distance or loaded.distance
    embed = {
        split: _embed(loaded, getattr(dataset, split), flip, batch_size, num_workers, device, progress)
        for split in ("query", "gallery")
    }
    (q_feats, query), (g_feats, gallery) = embed["query"], embed["gallery"]
    settings = {"checkpoint": str(loaded.path), "model": loaded.model_name, "dataset": dataset.name,
                "root": str(dataset.root), "flip": flip}  # fmt: skip
    evaluation = rank_features(
        query, gallery, q_feats, g_feats, distance=distance, rerank=rerank, top_k=top_k, meta=settings
    )
    evaluation.metrics["seconds"] = round(time.perf_counter() - start, 3)
    return evaluation


def rank_features(
    query: Sequence[RecordLike],
    gallery: Sequence[RecordLike],
    query_feats: Any,
    gallery_feats: Any,
    *,
    distance: str = "cosine",
    rerank: bool = False,
    top_k: int = 10,
    meta: dict[str, Any] | None = None,
    verification: bool = True,
) -> Evaluation:
    """Score labelled query/gallery records by their features: metrics plus every query's ranked list.

    With `verification`, also the ROC, TPR@FPR and EER of every cross-camera pair under the plain
    (never re-ranked) distance: `metrics["verification"]`.
    """
    result = score(
        query_feats,
        gallery_feats,
        *_ids(query, gallery),
        distance=distance,
        rerank=rerank,
        top_k=max(1, top_k),
    )
    settings = {**(meta or {}), "distance": distance, "rerank": rerank,
                "num_query": len(query), "num_gallery": len(gallery)}  # fmt: skip
    scores = result.to_dict()
    pairs = None
    if verification:
        pairs = evaluate_verification(query_feats, gallery_feats, *_ids(query, gallery), distance=distance)
        scores["verification"] = pairs.to_dict()
    metrics = {**scores, **settings}
    return Evaluation(
        metrics, build_ranking(query, gallery, result.ranked, {**settings, "metrics": scores}), pairs
    )


def evaluate_checkpoint(
    checkpoint: str | Path,
    dataset: str | None = None,
    root: str | Path | None = None,
    options: dict[str, Any] | None = None,
    *,
    ranking_path: str | Path | None = None,
    device: str | torch.device = "auto",
    **kwargs: Any,
) -> dict[str, Any]:
    """Metrics of `checkpoint` on a dataset (default: the one it was trained on); writes `ranking_path`.

    `kwargs` go to `evaluate_model` (distance, rerank, flip, top_k, batch_size, num_workers, progress).
    """
    target = resolve_device(device)
    loaded = load_model(checkpoint, device=target)
    evaluation = evaluate_model(
        loaded, checkpoint_dataset(loaded, dataset, root, options), device=target, **kwargs
    )
    if ranking_path is not None:
        save_ranking(ranking_path, evaluation.ranking)
    return evaluation.metrics


def checkpoint_dataset(
    loaded: LoadedModel,
    dataset: str | None = None,
    root: str | Path | None = None,
    options: dict[str, Any] | None = None,
) -> ReIDDataset:
    """Dataset `dataset` at `root` (default: the one the checkpoint was trained on, with its options)."""
    data = loaded.config.data
    name, root = dataset or data.name, root if root is not None else data.root
    if not str(root):
        raise ConfigError(f"{loaded.path}: no dataset root stored in the checkpoint; pass --root")
    options = dict(options if options is not None else (data.options if name == data.name else {}))
    return build_dataset(name, root, **options)


def evaluate_run(run_dir: str | Path, checkpoint: str | Path | None = None, **kwargs: Any) -> Path:
    """Evaluate a run's best.ckpt (else last.ckpt) on its config.yaml dataset into RUN_DIR/ranking.npz."""
    run_dir = Path(run_dir)
    if checkpoint is None:
        names = (BEST_CHECKPOINT, LAST_CHECKPOINT)
        checkpoint = next((run_dir / n for n in names if (run_dir / n).is_file()), None)
        if checkpoint is None:
            raise FinereidError(f"{run_dir} has no {RANKING_FILE}, {BEST_CHECKPOINT} or {LAST_CHECKPOINT}")
    data = load_config(run_dir / CONFIG_FILE).data if (run_dir / CONFIG_FILE).is_file() else None
    evaluate_checkpoint(
        checkpoint, data.name if data else None, data.root if data else None,
        dict(data.options) if data else None, ranking_path=run_dir / RANKING_FILE, **kwargs,
    )  # fmt: skip
    return run_dir / RANKING_FILE


def format_table(result: dict[str, Any]) -> str:
    """The scores as a small text table in percent."""
    header = " | ".join(f"{k:>6}" for k in SCORE_KEYS)
    values = " | ".join(f"{100 * result[k]:6.2f}" for k in SCORE_KEYS)
    return f"{header}\n{'-' * len(header)}\n{values}"


def _embed(loaded: LoadedModel, records: list, flip: bool, batch_size: int, num_workers: int,
           device: Any, progress: bool) -> tuple[np.ndarray, list]:  # fmt: skip
    """Features of the readable `records` and those records."""
    feats, kept = extract_features(
        loaded.model, records, loaded.height, loaded.width, batch_size=batch_size,
        num_workers=num_workers, flip=flip, device=device, progress=progress,
    )  # fmt: skip
    return feats, [records[i] for i in kept]


def _ids(query: Sequence[RecordLike], gallery: Sequence[RecordLike]) -> tuple[np.ndarray, ...]:
    """(q_pids, g_pids, q_camids, g_camids) of two record lists."""
    return tuple(
        np.array([getattr(r, attr) for r in records], dtype=np.int64)
        for attr, records in (("pid", query), ("pid", gallery), ("camid", query), ("camid", gallery))
    )
