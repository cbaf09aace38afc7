"""Deployment: load checkpoints safely, extract features, search galleries, export models, HTML reports."""

from __future__ import annotations

from finereid.deploy.checkpoint import LoadedModel, load_checkpoint, read_checkpoint
from finereid.deploy.export import EXPORTERS, ExportResult, export_model, export_onnx, export_torchscript
from finereid.deploy.extract import (
    FeatureSet,
    collect_images,
    dataset_records,
    embed_source,
    extract_features,
    features_from_source,
    load_features,
    save_features,
)
from finereid.deploy.html import write_search_html
from finereid.deploy.ranking import RANKING_FILE, Ranking, compute_ranking, load_ranking, save_ranking
from finereid.deploy.report import write_run_report
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
    "RANKING_FILE",
    "SEARCH_BACKENDS",
    "ExportResult",
    "FeatureSet",
    "LoadedModel",
    "Ranking",
    "SameCameraJunk",
    "SearchResult",
    "collect_images",
    "compute_ranking",
    "dataset_records",
    "embed_source",
    "export_model",
    "export_onnx",
    "export_torchscript",
    "extract_features",
    "faiss_available",
    "features_from_source",
    "load_checkpoint",
    "load_features",
    "load_ranking",
    "read_checkpoint",
    "save_features",
    "save_ranking",
    "search",
    "search_faiss",
    "search_torch",
    "write_run_report",
    "write_search_html",
]
