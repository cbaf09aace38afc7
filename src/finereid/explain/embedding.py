"""An embedding map: query and gallery embeddings of a few identities laid out in 2-D by t-SNE (scikit-learn).

Identities are picked whole, with their look-alike groups when the dataset has them, so the map shows
whether look-alikes form separate clusters or one. `reports.embedding_figure` draws the result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finereid.errors import FinereidError
from finereid.evaluation import LoadedModel, extract_features
from finereid.explain.cam import require
from finereid.files import atomic_write
from finereid.synth import read_manifest

log = logging.getLogger(__name__)

MIN_POINTS = 5  # t-SNE needs a few points more than its neighbourhood
TSNE_STEPS = 500  # scikit-learn's default is 1000; a few hundred points settle well before 500


@dataclass
class EmbeddingMap:
    """2-D positions of embeddings with each one's identity, side (query or gallery) and look-alike group."""

    points: np.ndarray  # [N, 2]
    pids: np.ndarray  # [N]
    is_query: np.ndarray  # [N] bool
    groups: np.ndarray  # [N], -1 = no known look-alike group
    attributes: dict[int, str]  # group -> what its members differ in (synthetic data)


def pick_identities(
    pids: Iterable[int], groups: Mapping[int, int], max_ids: int, first: Iterable[int] = ()
) -> list[int]:
    """Up to `max_ids` identities (pid > 0): `first` ones, then the rest in order; whole groups at a time."""
    available = list(dict.fromkeys(int(p) for p in pids if int(p) > 0))
    known = set(available)
    members: dict[int, list[int]] = {}
    for pid in available:
        members.setdefault(groups.get(pid, -pid), []).append(pid)
    chosen: list[int] = []
    for pid in [*[int(p) for p in first if int(p) in known], *available]:
        group = [p for p in members[groups.get(pid, -pid)] if p not in chosen]
        if not group or (chosen and len(chosen) + len(group) > max_ids):
            continue
        chosen += group[:max_ids]
        if len(chosen) >= max_ids:
            break
    return chosen


def dataset_groups(root: str | Path) -> tuple[dict[int, int], dict[int, str]]:
    """(pid -> look-alike group, group -> the attribute its members differ in) of a synthetic dataset.

    Both are empty for any other dataset.
    """
    try:
        groups = read_manifest(root)["groups"]
        return (
            {int(pid): int(g["group"]) for g in groups for pid in g["pids"]},
            {int(g["group"]): str(g["differs_in"]) for g in groups},
        )
    except (FinereidError, KeyError, TypeError, ValueError):
        return {}, {}


def embed_identities(
    loaded: LoadedModel,
    query: Sequence[Any],
    gallery: Sequence[Any],
    root: str | Path | None = None,
    max_ids: int = 20,
    first: Iterable[int] = (),
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> EmbeddingMap:
    """The embedding map of up to `max_ids` identities of a query/gallery split (records with path, pid)."""
    groups, attributes = dataset_groups(root) if root is not None else ({}, {})
    chosen = set(pick_identities([r.pid for r in query], groups, max_ids, first))
    records = [r for r in query if r.pid in chosen] + [r for r in gallery if r.pid in chosen]
    if len(records) < MIN_POINTS:
        raise FinereidError(f"an embedding map needs at least {MIN_POINTS} images, found {len(records)}")
    feats, kept = extract_features(
        loaded.model, records, loaded.height, loaded.width, num_workers=0, device=device, progress=False
    )
    num_query = sum(r.pid in chosen for r in query)
    pids = np.array([records[i].pid for i in kept])
    is_query = np.array([i < num_query for i in kept])
    return embedding_map(feats, pids, is_query, groups, attributes, loaded.distance, seed)


def embedding_map(
    features: np.ndarray,
    pids: np.ndarray,
    is_query: np.ndarray,
    groups: Mapping[int, int] | None = None,
    attributes: Mapping[int, str] | None = None,
    distance: str = "euclidean",
    seed: int = 0,
) -> EmbeddingMap:
    """t-SNE of `features` [N, D] (PCA start, TSNE_STEPS steps, fixed seed: same input, same map)."""
    manifold = require("sklearn.manifold", "embedding maps")
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) < MIN_POINTS:
        raise FinereidError(f"an embedding map needs at least {MIN_POINTS} embeddings, got {len(features)}")
    if distance == "cosine":
        features = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    perplexity = float(min(30.0, (len(features) - 1) / 3))
    tsne = manifold.TSNE(
        n_components=2, perplexity=perplexity, init="pca", max_iter=TSNE_STEPS, random_state=seed
    )
    points = tsne.fit_transform(features).astype(np.float32)
    groups = groups or {}
    group_ids = np.array([groups.get(int(p), -1) for p in pids], dtype=np.int64)
    return EmbeddingMap(
        points,
        np.asarray(pids, dtype=np.int64),
        np.asarray(is_query, dtype=bool),
        group_ids,
        dict(attributes or {}),
    )


def save_embedding_map(path: str | Path, emap: EmbeddingMap) -> Path:
    """Write an EmbeddingMap as .npz (no pickled objects)."""
    keys = np.array(sorted(emap.attributes), dtype=np.int64)
    values = np.array([emap.attributes[int(k)] for k in keys], dtype=str)
    arrays = {
        "points": emap.points,
        "pids": emap.pids,
        "is_query": emap.is_query,
        "groups": emap.groups,
        "attribute_groups": keys,
        "attribute_names": values,
    }
    return atomic_write(Path(path), lambda handle: np.savez_compressed(handle, **arrays))


def load_embedding_map(path: str | Path) -> EmbeddingMap:
    """Read a file written by `save_embedding_map`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            names = dict(
                zip(data["attribute_groups"].tolist(), data["attribute_names"].tolist(), strict=True)
            )
            return EmbeddingMap(data["points"], data["pids"], data["is_query"], data["groups"], names)
    except (OSError, KeyError, ValueError) as exc:
        raise FinereidError(f"{path} is not an embedding map ({type(exc).__name__}: {exc})") from None
