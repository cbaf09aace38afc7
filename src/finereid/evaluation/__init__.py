"""Evaluation: load a checkpoint's model, embed query and gallery, score with `finereid.metrics`.

One path for `finereid eval`, `finereid report`, the demo and validation during training:

- `load_model(checkpoint)`: the model only (no losses), its input size, normalisation and distance;
- `extract_features(model, records, height, width)`: eval-mode embeddings, optionally flip-averaged;
- `score(query_feats, gallery_feats, ...)`: CMC/mAP/mINP (plain or re-ranked), optionally ranked lists;
- `rank_features(query, gallery, query_feats, gallery_feats)`: metrics and a `Ranking` of labelled records;
- `evaluate_checkpoint(checkpoint, dataset, root)`: all of the above, metrics plus `ranking.npz`;
- `Ranking`, `save_ranking`, `load_ranking`: the ranked lists with their images, as reports read them;
- `Calibration`, `save_calibration`, `calibrate_checkpoint`: a "same person" distance threshold at a
  target false-positive rate, stored in the checkpoint (`finereid calibrate`).

It sits below `engine` (training validates with `score`) and `deploy` (inference embeds with
`load_model` and `extract_features`), and imports neither.
"""

from __future__ import annotations

from finereid.evaluation.calibrate import calibrate_checkpoint
from finereid.evaluation.checkpoint import (
    Calibration,
    LoadedModel,
    checkpoint_config,
    load_model,
    read_checkpoint,
    save_calibration,
)
from finereid.evaluation.extract import extract_features
from finereid.evaluation.pipeline import (
    Evaluation,
    checkpoint_dataset,
    evaluate_checkpoint,
    evaluate_model,
    evaluate_run,
    format_table,
    rank_features,
    score,
)
from finereid.evaluation.ranking import RANKING_FILE, Ranking, build_ranking, load_ranking, save_ranking

__all__ = [
    "RANKING_FILE",
    "Calibration",
    "Evaluation",
    "LoadedModel",
    "Ranking",
    "build_ranking",
    "calibrate_checkpoint",
    "checkpoint_config",
    "checkpoint_dataset",
    "evaluate_checkpoint",
    "evaluate_model",
    "evaluate_run",
    "extract_features",
    "format_table",
    "load_model",
    "load_ranking",
    "rank_features",
    "read_checkpoint",
    "save_calibration",
    "save_ranking",
    "score",
]
