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
    parser.add_argument(
        "--gallery",
        required=True,
        metavar="DIR_OR_FEATS",
        help="a .npz feature file from `finereid extract` (fast), or images as for --query",
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


def _table(result, query, gallery) -> str:
    """The ranked results as plain text, one block per query."""
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


def run(args: argparse.Namespace) -> int:
    """Embed what needs embedding, search, print the table, write the page."""
    from finereid.deploy import SameCameraJunk, features_from_source, search
    from finereid.errors import ConfigError
    from finereid.reports import write_search_html

    get_model = model_loader(args)
    query = features_from_source(args.query, "query", get_model, **extract_kwargs(args))
    gallery = features_from_source(args.gallery, "gallery", get_model, **extract_kwargs(args))
    _check_same_model(query, gallery)
    if args.metric is not None:
        message = "--metric is renamed --distance; the old flag is read until finereid 0.3"
        warnings.warn(message, FutureWarning, stacklevel=2)
    stored = gallery.meta.get("distance", gallery.meta.get("metric"))  # "metric": feature files of 0.1
    metric = (
        args.distance or args.metric or stored or (get_model().distance if args.checkpoint else "euclidean")
    )
    junk = None
    if args.exclude_same_camera:
        if any(s.pids is None or s.camids is None for s in (query, gallery)):
            raise ConfigError("--exclude-same-camera needs pids and camids on both sides (dataset features)")
        junk = SameCameraJunk(query.pids, query.camids, gallery.pids, gallery.camids)
    result = search(query.features, gallery.features, args.top_k, metric, args.backend, junk=junk)
    print(_table(result, query, gallery))
    if not args.no_html:
        page = write_search_html(
            args.html, result, query.paths, gallery.paths, query.pids, gallery.pids, images=args.images
        )
        print(f"HTML: {page}")
    if args.json:
        rows = [
            {
                "query": str(query.paths[q]),
                "results": [
                    {"path": str(gallery.paths[i]), "distance": float(d)}
                    for i, d in zip(result.indices[q], result.distances[q], strict=True)
                    if i >= 0
                ],
            }
            for q in range(len(query))
        ]
        Path(args.json).write_text(
            json.dumps({"distance": metric, "backend": result.backend, "queries": rows}, indent=1),
            encoding="utf-8",
        )
    return 0
