"""Deployment: inference with a trained model: embed images into feature files, search galleries, export.

Big galleries: `build_index` / `load_index` give a `SearchIndex`, a compressed approximate faiss index
(IVF-PQ, HNSW or flat) saved as one file with the model, distance and feature width it was built for.

`Embedder.load(path)` embeds images and detection crops with a checkpoint or any exported file
(TorchScript, ONNX, OpenVINO), with the model's own input size and normalization; `TrackerReID` hands
it to a multi-object tracker (BoxMOT's `reid_model=`).

Loading a checkpoint's model and extracting embeddings are `finereid.evaluation`'s (`load_model`,
`extract_features`); this package builds on them and never recomputes a metric: search ranks with
`finereid.metrics`' distances and top-k. HTML pages are rendered by `finereid.reports`.
"""

from __future__ import annotations

from finereid.deploy.embedder import Embedder
from finereid.deploy.export import (
    EXPORTERS,
    ExportResult,
    export_model,
    export_onnx,
    export_openvino,
    export_torchscript,
)
from finereid.deploy.extract import (
    FeatureSet,
    collect_images,
    dataset_records,
    embed_source,
    features_from_source,
    load_features,
    save_features,
)
from finereid.deploy.index import INDEX_KINDS, SearchIndex, build_index, load_index
from finereid.deploy.search import (
    SEARCH_BACKENDS,
    SameCameraJunk,
    SearchResult,
    faiss_available,
    search,
    search_faiss,
    search_torch,
)
from finereid.deploy.tracker import TrackerReID, read_frames, read_mot_file, run_tracker, write_mot_file

__all__ = [
    "EXPORTERS",
    "INDEX_KINDS",
    "SEARCH_BACKENDS",
    "Embedder",
    "ExportResult",
    "FeatureSet",
    "SameCameraJunk",
    "SearchIndex",
    "SearchResult",
    "TrackerReID",
    "build_index",
    "collect_images",
    "dataset_records",
    "embed_source",
    "export_model",
    "export_onnx",
    "export_openvino",
    "export_torchscript",
    "faiss_available",
    "features_from_source",
    "load_features",
    "load_index",
    "read_frames",
    "read_mot_file",
    "run_tracker",
    "save_features",
    "search",
    "search_faiss",
    "search_torch",
    "write_mot_file",
]
