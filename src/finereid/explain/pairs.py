"""Where a checkpoint looks when it matches a query to gallery images: `finereid explain`'s Python API.

explainer = Explainer.from_checkpoint("runs/fdp/best.ckpt")
pairs = explainer.explain("query.jpg", ["g1.jpg", "g2.jpg", ...], top_k=5)   # the 5 closest, ranked
pairs.query_maps[k]    # [H, W]: where the query has what makes it close to pairs.gallery[k]
pairs.gallery_maps[k]  # [H, W]: where pairs.gallery[k] has what makes it close to the query
write_pair_maps(pairs, "explain_out/")  # explain.png, maps.npz, explain.json
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from finereid.errors import FinereidError
from finereid.evaluation import LoadedModel, load_model
from finereid.explain.cam import METHOD, ActivationMapper, MapLayers, is_flat
from finereid.explain.images import CropLoader
from finereid.explain.overlay import overlay, sheet
from finereid.files import atomic_write, atomic_write_text
from finereid.metrics import compute_distmat

log = logging.getLogger(__name__)

EMBED_CHUNK = 64  # gallery images read and embedded at a time


@dataclass
class PairMaps:
    """Activation maps of one query against K gallery images (in the order given or ranked)."""

    query: str
    gallery: list[str]
    distances: np.ndarray  # [K], the model's distance
    query_maps: np.ndarray  # [K, H, W] in [0, 1]
    gallery_maps: np.ndarray  # [K, H, W] in [0, 1]
    query_image: np.ndarray  # uint8 [h, w, 3], as read
    gallery_images: list[np.ndarray] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


class Explainer:
    """A loaded checkpoint with what activation maps need: the mapper (grad-cam) and the crop reader."""

    def __init__(self, loaded: LoadedModel, layers: MapLayers | None = None, batch_size: int = 32) -> None:
        self.loaded = loaded
        self.mapper = ActivationMapper(loaded.model, loaded.distance, layers, batch_size)
        self.crops = CropLoader(loaded.height, loaded.width, loaded.mean, loaded.std)

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, device: str | torch.device = "cpu") -> Explainer:
        """Load a finereid checkpoint (one-line CheckpointError for anything else) and wrap it."""
        return cls(load_model(checkpoint, device=device))

    def describe(self) -> dict[str, Any]:
        """How the maps are made, for the files that store them."""
        return {**self.loaded.describe(), "method": METHOD, "layers": self.mapper.layers.kind}

    def embed_paths(self, paths: Sequence[str]) -> torch.Tensor:
        """Embeddings [N, D] of image files, read and embedded EMBED_CHUNK at a time."""
        chunks = [
            self.mapper.embed(self.crops.load(paths[i : i + EMBED_CHUNK])[0])
            for i in range(0, len(paths), EMBED_CHUNK)
        ]
        return torch.cat(chunks)

    def pair_maps(self, query: str, gallery: Sequence[str]) -> PairMaps:
        """Maps of the query against each gallery image, in the given order."""
        q_input, (q_image,) = self.crops.load([query])
        g_input, g_images = self.crops.load(gallery)
        q_feat, g_feats = self.mapper.embed(q_input), self.mapper.embed(g_input)
        distances = compute_distmat(q_feat, g_feats, self.loaded.distance)[0].numpy()
        count = len(gallery)
        query_maps = self.mapper.maps(q_input.expand(count, -1, -1, -1), g_feats)
        gallery_maps = self.mapper.maps(g_input, q_feat.expand(count, -1))
        return PairMaps(
            str(query),
            [str(g) for g in gallery],
            distances,
            query_maps,
            gallery_maps,
            q_image,
            g_images,
            self.describe(),
        )

    def explain(self, query: str, gallery: Sequence[str], top_k: int | None = 5) -> PairMaps:
        """Rank `gallery` for `query` by the model's distance; maps of the `top_k` closest.

        `top_k=None` maps every gallery image in the order given, unranked.
        """
        if top_k is not None and top_k < 1:
            raise FinereidError(f"top_k must be >= 1, got {top_k}")
        gallery = [str(g) for g in gallery]
        if top_k is not None and gallery:
            q_feat = self.mapper.embed(self.crops.load([query])[0])
            distances = compute_distmat(q_feat, self.embed_paths(gallery), self.loaded.distance)[0].numpy()
            gallery = [gallery[i] for i in np.argsort(distances, kind="stable")[:top_k]]
        return self.pair_maps(query, gallery)

    def close(self) -> None:
        """Remove the mapper's hooks from the model."""
        self.mapper.close()


def pair_sheet(pairs: PairMaps) -> Image.Image:
    """One row per gallery image: query, query map, gallery image, gallery map, with rank and distance."""
    rows, captions = [], []
    for k, path in enumerate(pairs.gallery):
        query, image = pairs.query_image, pairs.gallery_images[k]
        rows.append(
            [
                Image.fromarray(query),
                overlay(query, pairs.query_maps[k]),
                Image.fromarray(image),
                overlay(image, pairs.gallery_maps[k]),
            ]
        )
        flat = [
            side
            for side, m in (("query", pairs.query_maps[k]), ("gallery", pairs.gallery_maps[k]))
            if is_flat(m)
        ]
        captions.append(
            f"#{k + 1}  distance {pairs.distances[k]:.4f}\n{Path(path).name}"
            + (f"\nflat map: {', '.join(flat)}" if flat else "")
        )
    title = (
        f"{Path(pairs.query).name}: where query and gallery image make their embeddings similar\n"
        f"{pairs.meta.get('method', '')}, {pairs.meta.get('model', '')}; red = high"
    )
    return sheet(rows, captions, title, headers=("query", "query map", "gallery", "gallery map"))


def write_pair_maps(pairs: PairMaps, out_dir: str | Path) -> Path:
    """Write explain.png (the sheet), maps.npz (the maps) and explain.json (their settings) into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pair_sheet(pairs).save(out / "explain.png", optimize=True)
    arrays = {
        "query_maps": pairs.query_maps,
        "gallery_maps": pairs.gallery_maps,
        "distances": pairs.distances,
        "gallery": np.array(pairs.gallery, dtype=str),
        "query": np.array(pairs.query),
    }
    atomic_write(out / "maps.npz", lambda handle: np.savez_compressed(handle, **arrays))
    summary = {
        **pairs.meta,
        "query": pairs.query,
        "pairs": [
            {
                "rank": k + 1,
                "gallery": g,
                "distance": float(pairs.distances[k]),
                "query_map_flat": is_flat(pairs.query_maps[k]),
                "gallery_map_flat": is_flat(pairs.gallery_maps[k]),
            }
            for k, g in enumerate(pairs.gallery)
        ],
    }
    atomic_write_text(out / "explain.json", json.dumps(summary, indent=1) + "\n")
    log.info(
        "wrote activation maps of %s against %d gallery images to %s", pairs.query, len(pairs.gallery), out
    )
    return out
