"""Deployment: inference with a trained model: embed images into feature files, search galleries, export.

Loading a checkpoint's model and extracting embeddings are `finereid.evaluation`'s (`load_model`,
`extract_features`); this package builds on them and never recomputes a metric: search ranks with
`finereid.metrics`' distances and top-k. HTML pages are rendered by `finereid.reports`.
"""

from __future__ import annotations

from finereid.deploy.export import EXPORTERS, ExportResult, export_model, export_onnx, export_torchscript
from finereid.deploy.extract import (
    FeatureSet,
    collect_images,
    dataset_records,
    embed_source,
    features_from_source,
    load_features,
    save_features,
)
from finereid.deploy.search import (
    SEARCH_BACKENDS,
    SameCameraJunk,
    SearchResult,
    faiss_available,
    search,
    search_faiss,
    search_torch,
)

__all__ = [
    "EXPORTERS",
    "SEARCH_BACKENDS",
    "ExportResult",
    "FeatureSet",
    "SameCameraJunk",
    "SearchResult",
    "collect_images",
    "dataset_records",
    "embed_source",
    "export_model",
    "export_onnx",
    "export_torchscript",
    "faiss_available",
    "features_from_source",
    "load_features",
    "save_features",
    "search",
    "search_faiss",
    "search_torch",
]
