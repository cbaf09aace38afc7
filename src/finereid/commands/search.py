"""`finereid search`: rank a gallery for query images; a text table plus a static HTML page."""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path

from finereid.commands.extract import SOURCE_HELP, add_model_arguments, extract_kwargs, model_loader

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `finereid search`."""
    add_model_arguments(parser, required=False)
    parser.add_argument(
        "--query", required=True, metavar="IMAGE_DIR_OR_FEATS", help=f"{SOURCE_HELP}, or a .npz feature file"
    )
    gallery = parser.add_mutually_exclusive_group(required=True)
    gallery.add_argument(
        "--gallery",
        metavar="DIR_OR_FEATS",
        help="a .npz feature file from `finereid extract` (fast), or images as for --query",
    )
    gallery.add_argument(
        "--index", metavar="INDEX", help="an index file from `finereid index build` (approximate, compressed)"
    )
    parser.add_argument("--top-k", type=int, default=10, help="results per query (default 10)")
    parser.add_argument(
        "--distance",
        choices=["euclidean", "cosine"],
        help="distance (default: the one the checkpoint was validated with, else euclidean)",
    )
    parser.add_argument("--metric", choices=["euclidean", "cosine"], help=argparse.SUPPRESS)  # old --distance
    parser.add_argument(
        "--backend",
        choices=["auto", "torch", "faiss"],
        default="auto",
        help="auto = faiss when installed, else exact chunked torch search (same results)",
    )
    parser.add_argument(
        "--exclude-same-camera",
        action="store_true",
        help="drop gallery items with the query's pid and camera (evaluation protocol; needs labels)",
    )
    parser.add_argument(
        "--html", default="finereid_search.html", help="HTML page (default finereid_search.html)"
    )
    parser.add_argument("--no-html", action="store_true", help="do not write the HTML page")
    parser.add_argument(
        "--images",
        choices=["embed", "link"],
        default="embed",
        help="HTML images: embed thumbnails (self-contained, default) or link to the files",
    )
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument(
        "--threshold", metavar="auto|VALUE",
        help="mark results at or past this distance as not the same person; auto = the threshold "
             "`finereid calibrate` stored in the checkpoint (or in the gallery's feature file)",
    )  # fmt: skip
    parser.add_argument(
        "--nprobe", type=int, help="--index ivfpq: lists searched per query (default: stored)"
    )
    parser.add_argument(
        "--ef-search", type=int, help="--index hnsw: candidates per query (default: the index's)"
    )


def _table(result, query, gallery, threshold: float | None = None) -> str:
    """The ranked results as plain text, one block per query; results past `threshold` are marked."""
    lines = []
    for q, path in enumerate(query.paths):
        label = f" (pid {query.pids[q]})" if query.pids is not None else ""
        lines.append(f"query {q + 1}: {path}{label}")
        for rank, (idx, dist) in enumerate(zip(result.indices[q], result.distances[q], strict=True), start=1):
            if idx < 0:
                continue
            flag = ""
            if query.pids is not None and gallery.pids is not None:
                flag = "  match" if gallery.pids[idx] == query.pids[q] else "  -"
            if threshold is not None and not dist < threshold:
                flag += "  (past the threshold: not the same person)"
            lines.append(f"  {rank:>3}  {dist:10.4f}  {gallery.paths[idx]}{flag}")
    return "\n".join(lines)


def _check_same_model(query, gallery) -> None:
    """Features of different models cannot be compared: an error; different checkpoints: a warning."""
    from finereid.errors import ConfigError

    models = [s.meta.get("model") for s in (query, gallery)]
    if None not in models and models[0] != models[1]:
        raise ConfigError(f"query features come from {models[0]} but gallery features from {models[1]}")
    checkpoints = {
        str(Path(s.meta["checkpoint"]).resolve()) for s in (query, gallery) if s.meta.get("checkpoint")
    }
    if len(checkpoints) > 1:
        logger.warning(
            "query and gallery features come from different checkpoints: %s", ", ".join(checkpoints)
        )


def _threshold(args: argparse.Namespace, gallery, metric: str, get_model) -> float | None:
    """--threshold as a distance: a number, or auto = the gallery features' or checkpoint's calibration."""
    from finereid.errors import ConfigError
    from finereid.evaluation import Calibration

    if args.threshold is None:
        return None
    if args.threshold != "auto":
        try:
            value = float(args.threshold)
        except ValueError:
            raise ConfigError(f"--threshold must be auto or a distance, got {args.threshold!r}") from None
        if not value > 0:
            raise ConfigError(f"--threshold must be a positive distance, got {args.threshold}")
        return value
    entry = gallery.meta.get("calibration")
    if entry:
        calibration = Calibration.from_dict(entry, args.gallery or args.index)
    else:
        calibration = get_model().calibration if args.checkpoint else None
    if calibration is None:
        raise ConfigError(
            "--threshold auto needs a calibrated model: run `finereid calibrate --checkpoint CKPT "
            "--target-fpr 1e-3` (then extract the gallery again), or give --threshold VALUE"
        )
    if calibration.distance != metric:
        raise ConfigError(f"the calibrated threshold is for {calibration.distance} distances, not {metric}")
    return calibration.threshold


def _junk(args: argparse.Namespace, query, gallery):
    """The same-pid-same-camera exclusion of --exclude-same-camera (None without the flag)."""
    from finereid.deploy import SameCameraJunk
    from finereid.errors import ConfigError

    if not args.exclude_same_camera:
        return None
    if any(s.pids is None or s.camids is None for s in (query, gallery)):
        raise ConfigError("--exclude-same-camera needs pids and camids on both sides (dataset features)")
    return SameCameraJunk(query.pids, query.camids, gallery.pids, gallery.camids)


def _search_index(args: argparse.Namespace, query):
    """Search an index file: (result, the gallery's labels as a FeatureSet, distance)."""
    import numpy as np

    from finereid.deploy import FeatureSet, load_index
    from finereid.errors import ConfigError

    index = load_index(args.index)
    index.check_query(query.meta, query.features.shape[1])
    metric = index.meta["distance"]
    if (args.distance or args.metric or metric) != metric:
        raise ConfigError(f"{args.index} was built for {metric} distances; rebuild it for another distance")
    if args.backend != "auto":
        raise ConfigError("--backend applies to --gallery; an --index searches with its own faiss index")
    paths = index.paths if index.paths is not None else np.arange(index.size).astype(str)
    gallery = FeatureSet(np.empty((0, index.meta["dimension"]), np.float32), paths, index.pids, index.camids)
    gallery.meta = index.meta
    junk = _junk(args, query, gallery)
    result = index.search(query.features, args.top_k, junk=junk, nprobe=args.nprobe, ef_search=args.ef_search)
    return result, gallery, metric


def run(args: argparse.Namespace) -> int:
    """Embed what needs embedding, search, print the table, write the page."""
    from finereid.deploy import features_from_source, search
    from finereid.reports import write_search_html

    get_model = model_loader(args)
    query = features_from_source(args.query, "query", get_model, **extract_kwargs(args))
    if args.metric is not None:
        message = "--metric is renamed --distance; the old flag is read until finereid 0.3"
        warnings.warn(message, FutureWarning, stacklevel=2)
    if args.index:
        result, gallery, metric = _search_index(args, query)
    else:
        gallery = features_from_source(args.gallery, "gallery", get_model, **extract_kwargs(args))
        _check_same_model(query, gallery)
        stored = gallery.meta.get("distance", gallery.meta.get("metric"))  # "metric": feature files of 0.1
        metric = (
            args.distance
            or args.metric
            or stored
            or (get_model().distance if args.checkpoint else "euclidean")
        )
        junk = _junk(args, query, gallery)
        result = search(query.features, gallery.features, args.top_k, metric, args.backend, junk=junk)
    threshold = _threshold(args, gallery, metric, get_model)
    print(_table(result, query, gallery, threshold))
    if not args.no_html:
        page = write_search_html(
            args.html, result, query.paths, gallery.paths, query.pids, gallery.pids, images=args.images,
            threshold=threshold,
        )  # fmt: skip
        print(f"HTML: {page}")
    if args.json:
        rows = [
            {
                "query": str(query.paths[q]),
                "results": [
                    {"path": str(gallery.paths[i]), "distance": float(d)}
                    | ({} if threshold is None else {"same_person": bool(d < threshold)})
                    for i, d in zip(result.indices[q], result.distances[q], strict=True)
                    if i >= 0
                ],
            }
            for q in range(len(query))
        ]
        Path(args.json).write_text(
            json.dumps(
                {"distance": metric, "backend": result.backend, "threshold": threshold, "queries": rows},
                indent=1,
            ),
            encoding="utf-8",
        )
    return 0
