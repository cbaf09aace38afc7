"""A compressed, approximate gallery index (faiss IVF-PQ or HNSW, or exact flat) saved as one safe file.

The file is an uncompressed zip: `meta.json` (format, kind, distance, feature width, size, the model and
checkpoint that made the features, build settings), `index.faiss` (faiss's own binary format, streamed
in and out) and, when known, `paths.npy`, `pids.npy`, `camids.npy` (read with allow_pickle=False).
Nothing in it is pickled. faiss always compares squared L2 distances; for cosine the vectors are
L2-normalised first, so 1 - cos = L2^2 / 2. Results follow `finereid.deploy.search`'s conventions.
"""

from __future__ import annotations

import json
import logging
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finereid.deploy.extract import FeatureSet
from finereid.deploy.search import (
    DISTANCES,
    SameCameraJunk,
    SearchResult,
    check_finite,
    finish_result,
    import_faiss,
    keep_top,
)
from finereid.errors import ConfigError, FinereidError, unknown_name_error
from finereid.files import atomic_write

logger = logging.getLogger(__name__)

INDEX_FORMAT = "finereid-index/1"
INDEX_KINDS = ("ivfpq", "hnsw", "flat")
LABELS = ("paths", "pids", "camids")
_BLOCK = 65536  # vectors per add / query chunk
_INSTEAD = "search the .npz feature file with --gallery"


_SETTINGS = {
    "ivfpq": ("nlist", "pq_m", "pq_bits", "nprobe", "train_size", "seed"),
    "hnsw": ("hnsw_m", "ef_search"),
    "flat": (),
}


def default_settings(kind: str, dim: int, size: int, **given: Any) -> dict[str, Any]:
    """The build and search settings of a `kind` index for `size` vectors of width `dim`; `given` wins."""
    if kind not in INDEX_KINDS:
        raise unknown_name_error("index kind", kind, INDEX_KINDS)
    given = {key: value for key, value in given.items() if value is not None}
    for key, value in given.items():
        if key not in _SETTINGS[kind]:
            valid = ", ".join(sorted(_SETTINGS[kind])) or "none"
            raise ConfigError(f"{kind} index has no setting {key!r}; valid: {valid}")
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "seed" else 1):
            raise ConfigError(f"index setting {key} must be a positive integer, got {value!r}")
    if kind == "hnsw":
        return {"hnsw_m": 32, "ef_search": 128, **given}
    if kind == "flat":
        return {}
    nlist = given.get("nlist") or 2 ** max(0, round(math.log2(max(1.0, math.sqrt(size)))))  # ~sqrt(size)
    halves = [m for m in range(2, dim // 2 + 1, 2) if dim % m == 0] or [1]  # even: 4-bit codes pair up
    settings = {
        "nlist": nlist,
        "pq_m": halves[-1],  # with 4-bit codes: D/4 bytes a vector
        "pq_bits": 4,
        "nprobe": min(nlist, max(8, nlist // 64)),
        "train_size": min(size, max(40 * nlist, 10_000), max(2**29 // (4 * dim), 1)),  # <= 512 MiB
        "seed": 0,
        **given,
    }
    _check_pq(settings["pq_m"], settings["pq_bits"], dim)
    return settings


def _check_pq(pq_m: int, pq_bits: int, dim: int) -> None:
    """Product-quantizer settings faiss accepts: m divides D; 4-bit (fast scan, m even) or 8-bit codes."""
    if pq_bits not in (4, 8):
        raise ConfigError(f"pq_bits must be 4 (fast scan) or 8, got {pq_bits}")
    if dim % pq_m:
        raise ConfigError(f"pq_m={pq_m} must divide the feature width {dim}")
    if pq_bits == 4 and pq_m % 2:
        raise ConfigError(f"pq_m={pq_m} must be even with 4-bit codes")


class SearchIndex:
    """A faiss index over gallery features with what it was built from (`meta`) and the gallery labels."""

    def __init__(self, index: Any, meta: dict[str, Any], labels: dict[str, np.ndarray] | None = None) -> None:
        self.index, self.meta = index, meta
        labels = labels or {}
        self.paths, self.pids, self.camids = (labels.get(name) for name in LABELS)

    @classmethod
    def create(
        cls, dim: int, size: int, kind: str = "ivfpq", distance: str = "euclidean",
        meta: dict[str, Any] | None = None, **settings: Any,
    ) -> SearchIndex:  # fmt: skip
        """An empty index for about `size` vectors of width `dim`; `train` it (ivfpq), then `add` blocks."""
        if distance not in DISTANCES:
            raise unknown_name_error("distance", distance, DISTANCES)
        settings = default_settings(kind, dim, size, **settings)
        faiss = import_faiss(_INSTEAD)
        spec = {"flat": "Flat", "hnsw": f"HNSW{settings.get('hnsw_m')}"}.get(kind)
        spec = spec or f"IVF{settings['nlist']},PQ{settings['pq_m']}x{settings['pq_bits']}"
        spec += "fs" if kind == "ivfpq" and settings["pq_bits"] == 4 else ""  # 4-bit codes: SIMD fast scan
        index = faiss.index_factory(dim, spec, faiss.METRIC_L2)
        if kind == "ivfpq":
            ivf = faiss.downcast_index(index)
            if hasattr(ivf, "do_polysemous_training"):  # 8-bit codes: only for polysemous search, and slow
                ivf.do_polysemous_training = False
        info = {"format": INDEX_FORMAT, "kind": kind, "distance": distance, "dimension": dim}
        return cls(index, {**(meta or {}), **info, "settings": settings})

    @property
    def size(self) -> int:
        """Vectors in the index."""
        return int(self.index.ntotal)

    def train(self, sample: np.ndarray) -> None:
        """Learn the coarse lists and product codebooks (ivfpq) from a sample of the gallery."""
        sample = self._prepared(sample, "gallery")
        if self.meta["kind"] == "ivfpq":
            self._check_training_size(len(sample))
        self.index.train(sample)

    def _check_training_size(self, count: int) -> None:
        """Too few vectors for the centroids: an error; fewer than faiss advises: one warning (not 1 + m)."""
        settings = self.meta["settings"]
        needed = max(settings["nlist"], 2 ** settings["pq_bits"])
        if count < needed:
            raise ConfigError(
                f"an ivfpq index with nlist={settings['nlist']}, pq_bits={settings['pq_bits']} needs at "
                f"least {needed} gallery vectors to train, got {count}; use --kind flat or hnsw"
            )
        advised = 39 * max(settings["nlist"], 2 ** settings["pq_bits"])  # faiss's min_points_per_centroid
        if count < advised:
            logger.warning(
                "training the ivfpq index on %d vectors; faiss advises at least %d", count, advised
            )
        ivf = import_faiss(_INSTEAD).downcast_index(self.index)
        ivf.cp.min_points_per_centroid = ivf.pq.cp.min_points_per_centroid = 1  # warned above

    def add(self, block: np.ndarray) -> None:
        """Append gallery vectors (in gallery order) to a trained index."""
        if not self.index.is_trained:
            raise ConfigError("train the ivfpq index on a gallery sample before adding vectors")
        for start in range(0, len(block), _BLOCK):
            self.index.add(self._prepared(block[start : start + _BLOCK], "gallery"))

    def _prepared(self, block: np.ndarray, what: str) -> np.ndarray:
        """A float32 copy of `block`, checked (width, finite) and L2-normalised for cosine."""
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != self.meta["dimension"]:
            model = self.meta.get("model") or "an unknown model"
            raise FinereidError(
                f"{what} features have shape {tuple(block.shape)} but the index holds "
                f"{self.meta['dimension']}-dimensional features of {model}"
            )
        block = np.array(block, dtype=np.float32, order="C")  # a copy: normalize_L2 works in place
        check_finite(torch.from_numpy(block), what)
        if self.meta["distance"] == "cosine":
            import_faiss(_INSTEAD).normalize_L2(block)
        return block

    def search(
        self, query: np.ndarray, top_k: int = 10, *, junk: SameCameraJunk | None = None,
        nprobe: int | None = None, ef_search: int | None = None,
    ) -> SearchResult:  # fmt: skip
        """Approximate top-k (flat: exact) in `search`'s format; junk is dropped, as by search_faiss."""
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ConfigError(f"top_k must be >= 1, got {top_k}")
        if self.size == 0:
            raise FinereidError("the index is empty")
        k = min(top_k, self.size)
        fetch = min(self.size, k + (junk.largest_group() if junk is not None else 0))
        params = self._search_params(nprobe, ef_search)
        out_d, out_i = [], []
        for start in range(0, len(query), _BLOCK):
            rows = slice(start, start + _BLOCK)
            squared, found = self.index.search(self._prepared(query[rows], "query"), fetch, params=params)
            dist = torch.from_numpy(squared).clamp_min_(0.0)
            dist = (dist / 2).clamp_max_(2.0) if self.meta["distance"] == "cosine" else dist.sqrt_()
            dist, idx = keep_top(dist, torch.from_numpy(found.astype(np.int64)), k, self.size, junk, rows)
            out_d.append(dist)
            out_i.append(idx)
        return finish_result(torch.cat(out_d), torch.cat(out_i), self.meta["distance"], self.meta["kind"])

    def _search_params(self, nprobe: int | None, ef_search: int | None) -> Any:
        """faiss search parameters: the stored nprobe / ef_search unless given here."""
        faiss, kind, stored = import_faiss(_INSTEAD), self.meta["kind"], self.meta["settings"]
        for name, value in (("nprobe", nprobe), ("ef_search", ef_search)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if kind == "ivfpq":
            return faiss.SearchParametersIVF(nprobe=nprobe or stored["nprobe"])
        if kind == "hnsw":
            return faiss.SearchParametersHNSW(efSearch=ef_search or stored["ef_search"])
        return None

    def check_query(self, meta: dict[str, Any], dim: int, what: str = "query features") -> None:
        """One-line errors for queries of another width or model; another checkpoint is a warning."""
        model, source = self.meta.get("model"), self.meta.get("path", "the index")
        if dim != self.meta["dimension"]:
            raise FinereidError(
                f"{what} have {dim} dimensions but {source} holds {self.meta['dimension']}-dimensional "
                f"features of {model or 'an unknown model'}"
            )
        if meta.get("model") and model and meta["model"] != model:
            raise ConfigError(
                f"{what} come from {meta['model']} but {source} was built from {model} features"
            )
        checkpoints = {str(m["checkpoint"]) for m in (meta, self.meta) if m.get("checkpoint")}
        if len(checkpoints) > 1:
            logger.warning(
                "%s and %s come from different checkpoints: %s", what, source, ", ".join(checkpoints)
            )

    def save(self, path: str | Path) -> Path:
        """Write the index file atomically (meta.json, index.faiss, label arrays; nothing pickled)."""
        faiss = import_faiss(_INSTEAD)
        meta = {**self.meta, "size": self.size}
        meta.pop("path", None)

        def write(handle: Any) -> None:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                archive.writestr("meta.json", json.dumps(meta, indent=1))
                with archive.open("index.faiss", "w", force_zip64=True) as member:
                    faiss.write_index(self.index, faiss.PyCallbackIOWriter(member.write))
                for name in LABELS:
                    if getattr(self, name) is not None:
                        with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                            np.lib.format.write_array(member, getattr(self, name), allow_pickle=False)

        return atomic_write(path, write, what="index")


def load_index(path: str | Path) -> SearchIndex:
    """Read an index file written by `SearchIndex.save`; anything else is a one-line FinereidError."""
    path = Path(path)
    if not path.is_file():
        raise FinereidError(f"index file not found: {path}")
    faiss = import_faiss(_INSTEAD)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if not {"meta.json", "index.faiss"} <= names:
                raise FinereidError(f"{path} is not a finereid index file (no meta.json and index.faiss)")
            meta = json.loads(archive.read("meta.json"))
            found = meta.get("format") if isinstance(meta, dict) else None
            if found != INDEX_FORMAT:
                raise FinereidError(f"{path}: unknown index format {found!r}; need {INDEX_FORMAT}")
            with archive.open("index.faiss") as member:
                index = faiss.read_index(faiss.PyCallbackIOReader(member.read))
            labels = {}
            for name in LABELS:
                if f"{name}.npy" in names:
                    with archive.open(f"{name}.npy") as member:
                        labels[name] = np.lib.format.read_array(member, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, RuntimeError, AttributeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FinereidError(f"cannot read index file {path}: {reason}") from None
    loaded = SearchIndex(index, {**meta, "path": str(path)}, labels)
    sizes = {"index": loaded.size, **{name: len(array) for name, array in labels.items()}}
    if index.d != meta.get("dimension") or set(sizes.values()) != {meta.get("size")}:
        raise FinereidError(
            f"{path} is inconsistent: dimension {index.d}, sizes {sizes}, meta {meta.get('size')}"
        )
    return loaded


def build_index(
    gallery: FeatureSet | np.ndarray, kind: str = "ivfpq", distance: str | None = None,
    meta: dict[str, Any] | None = None, **settings: Any,
) -> SearchIndex:  # fmt: skip
    """An index of a gallery: a FeatureSet (its gallery rows; labels and model kept) or an [N, D] array.

    The distance defaults to the feature file's (else euclidean); ivfpq trains on `train_size` rows
    drawn with `seed`. For galleries too big for memory use `SearchIndex.create`, `train` and `add`.
    """
    labels: dict[str, np.ndarray] = {}
    if isinstance(gallery, FeatureSet):
        gallery = gallery.for_role("gallery")
        meta = {**gallery.meta, **(meta or {})}
        labels = {name: getattr(gallery, name) for name in LABELS if getattr(gallery, name) is not None}
        gallery = gallery.features
    meta = meta or {}
    gallery = np.asarray(gallery)
    if gallery.ndim != 2 or len(gallery) == 0:
        raise FinereidError(f"gallery features must be a non-empty [N, D] array, got shape {gallery.shape}")
    distance = distance or meta.get("distance") or "euclidean"
    index = SearchIndex.create(gallery.shape[1], len(gallery), kind, distance, meta, **settings)
    if kind == "ivfpq":
        chosen = index.meta["settings"]
        rng = np.random.default_rng(chosen["seed"])
        rows = np.sort(rng.choice(len(gallery), min(chosen["train_size"], len(gallery)), replace=False))
        index.train(gallery[rows])
    index.add(gallery)
    index.paths, index.pids, index.camids = (labels.get(name) for name in LABELS)
    return index
