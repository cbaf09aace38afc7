"""Detail attention: does a model look at the one detail that tells an identity from its look-alikes?

On a synthetic dataset written with `finereid data synth --masks`, every query has a mask of its
distinguishing detail. For each query whose look-alikes are in the gallery (and whose detail is in view),
two activation maps of the query are scored:

- match: where the query has what makes it close to its nearest true match (rank order of the model);
- contrast: where it has what makes it closer to that match than to its nearest look-alike
  (the similarity difference as grad-cam's target).

A map's score is the share of its mass on the detail mask; chance is the mask's share of the image (what
a uniform map would give). `summarize` averages them over the queries of one model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finereid.data import build_dataset
from finereid.errors import DatasetError
from finereid.evaluation import extract_features
from finereid.explain.overlay import resize_map
from finereid.explain.pairs import Explainer
from finereid.metrics import compute_distmat
from finereid.synth import has_masks, read_detail_mask, read_manifest

SCORES = ("share_match", "share_contrast")


def detail_share(activation_map: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(share of the map's mass on the mask, the mask's share of the image); the first is nan for a flat map.

    The map is resized (bilinear) to the mask's size, the image's own.
    """
    if mask.ndim != 2 or not mask.size:
        raise DatasetError(f"a detail mask must be a 2-D array, got shape {mask.shape}")
    weights = resize_map(activation_map, *mask.shape).astype(np.float64)
    total = float(weights.sum())
    chance = float(mask.mean())
    return (float(weights[mask].sum() / total) if total > 0 else math.nan), chance


@dataclass
class DetailAttention:
    """One scored query: its detail, the two gallery images used as references, and its scores."""

    query: str
    pid: int
    attribute: str
    match: str
    lookalike: str
    share_match: float
    share_contrast: float
    chance: float
    maps: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # match, contrast, mask, image

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly (no arrays)."""
        return {k: v for k, v in self.__dict__.items() if k != "maps"}


def _groups(root: Path) -> tuple[dict[int, list[int]], dict[int, str]]:
    """pid -> the other members of its look-alike group, and pid -> the attribute they differ in."""
    groups = read_manifest(root).get("groups", [])
    others = {pid: [o for o in g["pids"] if o != pid] for g in groups for pid in g["pids"]}
    return others, {pid: g["differs_in"] for g in groups for pid in g["pids"]}


def _embed(explainer: Explainer, records: list, device: torch.device) -> tuple[torch.Tensor, list]:
    """Features of the readable records (finereid's one extractor) and those records."""
    loaded = explainer.loaded
    feats, kept = extract_features(
        loaded.model, records, loaded.height, loaded.width, num_workers=0, device=device, progress=False
    )
    return torch.from_numpy(feats), [records[i] for i in kept]


def score_detail_attention(
    explainer: Explainer, root: str | Path, max_queries: int | None = None
) -> tuple[list[DetailAttention], dict[str, int]]:
    """Score every eligible query of a masked synthetic dataset; returns (records, skipped counts)."""
    root = Path(root)
    if not has_masks(root):
        raise DatasetError(f"{root} has no detail masks: write it with `finereid data synth --masks`")
    others, attribute = _groups(root)
    dataset = build_dataset("market1501", root)
    device = explainer.mapper.device
    q_feats, query = _embed(explainer, dataset.query, device)
    g_feats, gallery = _embed(explainer, dataset.gallery, device)
    distances = compute_distmat(q_feats, g_feats, explainer.loaded.distance).numpy()
    g_pids = np.array([r.pid for r in gallery])
    g_cams = np.array([r.camid for r in gallery])
    skipped = {"no_lookalike_in_gallery": 0, "no_true_match": 0, "detail_not_in_view": 0}
    picks = []
    for i, record in enumerate(query):
        true = (g_pids == record.pid) & (g_cams != record.camid)
        look = np.isin(g_pids, others.get(record.pid, []))
        mask = read_detail_mask(record.path)
        reason = (
            "no_lookalike_in_gallery"
            if not look.any()
            else "no_true_match"
            if not true.any()
            else "detail_not_in_view"
            if mask is None or not mask.any()
            else None
        )
        if reason is not None:
            skipped[reason] += 1
            continue
        match = int(np.argmin(np.where(true, distances[i], np.inf)))
        lookalike = int(np.argmin(np.where(look, distances[i], np.inf)))
        picks.append((record, match, lookalike, mask))
    picks = picks[:max_queries] if max_queries is not None else picks
    if not picks:
        raise DatasetError(f"no query of {root} has a look-alike in the gallery and its detail in view")
    inputs, images = explainer.crops.load([record.path for record, *_ in picks])
    matches = g_feats[[m for _, m, _, _ in picks]]
    match_maps = explainer.mapper.maps(inputs, matches)
    contrast_maps = explainer.mapper.maps(inputs, matches, g_feats[[k for _, _, k, _ in picks]])
    records = []
    for n, (record, match, lookalike, mask) in enumerate(picks):
        share_match, chance = detail_share(match_maps[n], mask)
        share_contrast, _ = detail_share(contrast_maps[n], mask)
        records.append(
            DetailAttention(
                str(record.path),
                int(record.pid),
                attribute[record.pid],
                str(gallery[match].path),
                str(gallery[lookalike].path),
                share_match,
                share_contrast,
                chance,
                {"match": match_maps[n], "contrast": contrast_maps[n], "mask": mask, "image": images[n]},
            )
        )
    return records, skipped


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def summarize(records: list[DetailAttention]) -> dict[str, Any]:
    """Mean shares, mean chance, lift (mean share / mean chance) and how often a share beats chance.

    Flat maps (nan shares) are left out of the means and counted.
    """
    out: dict[str, Any] = {"queries": len(records), "chance": _mean([r.chance for r in records])}
    for score in SCORES:
        values = [getattr(r, score) for r in records]
        name = score.removeprefix("share_")
        out[score] = _mean(values)
        out[f"lift_{name}"] = out[score] / out["chance"] if out["chance"] > 0 else math.nan
        finite = [(v, r.chance) for v, r in zip(values, records, strict=True) if math.isfinite(v)]
        out[f"above_chance_{name}"] = float(np.mean([v > c for v, c in finite])) if finite else math.nan
        out[f"flat_{name}"] = len(values) - len(finite)
    return out


def by_attribute(records: list[DetailAttention]) -> dict[str, dict[str, Any]]:
    """`summarize` per kind of detail (shoes, bag, ...)."""
    kinds = sorted({r.attribute for r in records})
    return {kind: summarize([r for r in records if r.attribute == kind]) for kind in kinds}
