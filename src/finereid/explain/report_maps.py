"""The pictures `finereid report` adds to a run's page: activation maps of its rank-1 failures and an
embedding map of the identities involved, computed from the run's checkpoint and ranking.npz.

    OUT/maps.json, OUT/q*.jpg   activation-map overlays (`explain_ranking`)
    OUT/embedding.npz           the embedding map (`save_embedding_map`)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from finereid.data import ImageRecord, build_dataset
from finereid.errors import FinereidError
from finereid.evaluation import Ranking, load_model
from finereid.explain.embedding import embed_identities, save_embedding_map
from finereid.explain.pairs import Explainer
from finereid.explain.ranked import explain_ranking, failure_queries

log = logging.getLogger(__name__)

EMBEDDING_FILE = "embedding.npz"


def _records(ranking: Ranking) -> tuple[list[ImageRecord], list[ImageRecord], Path | None]:
    """Query and gallery records of the ranked dataset (its images on disk; else those the ranking holds)."""
    root = ranking.meta.get("root")
    try:
        dataset = build_dataset(str(ranking.meta["dataset"]), str(root))
        return dataset.query, dataset.gallery, Path(str(root))
    except (FinereidError, KeyError, TypeError) as exc:
        log.info("embedding map from the ranked images only (%s)", exc)
    sides = [(ranking.query_paths, ranking.query_pids, ranking.query_camids),
             (ranking.gallery_paths, ranking.gallery_pids, ranking.gallery_camids)]  # fmt: skip
    query, gallery = (
        [ImageRecord(str(p), int(i), int(c)) for p, i, c in zip(*side, strict=True)] for side in sides
    )
    return query, gallery, None


def report_maps(
    ranking: Ranking,
    checkpoint: str | Path,
    out_dir: str | Path,
    num_queries: int = 20,
    top_k: int = 5,
    max_ids: int = 20,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Write the maps of the first `num_queries` failures and the embedding map; returns their paths.

    Raises FinereidError when activation maps cannot be made (no grad-cam, a checkpoint of an unknown
    model, ...): the caller decides whether the page goes without them. Without the embedding map (no
    scikit-learn, too few images) it logs one line and returns the maps alone.
    """
    out = Path(out_dir)
    explainer = Explainer(load_model(checkpoint, device=device))
    try:
        queries = failure_queries(ranking, num_queries)
        index = explain_ranking(explainer, ranking, queries, out, top_k)
    finally:
        explainer.close()
    query, gallery, root = _records(ranking)
    first = [int(ranking.query_pids[q]) for q in queries]
    first += [int(ranking.gallery_pids[ranking.indices[q][0]]) for q in queries if ranking.indices[q][0] >= 0]
    try:
        emap = embed_identities(explainer.loaded, query, gallery, root, max_ids, first, device)
    except FinereidError as exc:
        log.info("no embedding map: %s", exc)
        return {"maps": index}
    return {"maps": index, "embedding": save_embedding_map(out / EMBEDDING_FILE, emap)}
