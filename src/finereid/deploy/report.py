"""`finereid report`: one static HTML page for an evaluation run (metrics, CMC curve, ranked queries)."""

from __future__ import annotations

import html
import io
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from finereid.data import ImageRecord
from finereid.deploy import templates
from finereid.deploy.extract import FeatureSet, embed_source
from finereid.deploy.html import Hit, ImageSources, Probe, write_page
from finereid.deploy.ranking import RANKING_FILE, Ranking, load_ranking, save_ranking
from finereid.errors import FinereidError

logger = logging.getLogger(__name__)

SUMMARY_KEYS = ("rank1", "rank5", "rank10", "mAP", "mINP", "num_valid_queries")


def cmc_from_ranking(ranking: Ranking, max_rank: int = 50) -> np.ndarray:
    """CMC (fractions, length max_rank) over queries with a valid match, from their first-match ranks."""
    first = ranking.first_match[ranking.first_match > 0]
    if len(first) == 0:
        return np.zeros(max_rank)
    return np.array([(first <= r).mean() for r in range(1, max_rank + 1)])


def summary_from_ranking(ranking: Ranking) -> dict[str, float]:
    """Rank-1/5/10 and mAP recomputed from the stored ranks and per-query APs (market protocol)."""
    cmc = cmc_from_ranking(ranking, 10)
    valid = ranking.first_match > 0
    ap = ranking.average_precision[valid]
    return {
        "rank1": float(cmc[0]),
        "rank5": float(cmc[4]),
        "rank10": float(cmc[9]),
        "mAP": float(ap.mean()) if len(ap) else 0.0,
        "num_valid_queries": int(valid.sum()),
    }


def cmc_svg(cmc: np.ndarray) -> str:
    """The CMC curve as an inline SVG drawn by matplotlib (no pyplot state, no files)."""
    from matplotlib.figure import Figure

    ranks = np.arange(1, len(cmc) + 1)
    fig = Figure(figsize=(5.2, 3.0), dpi=100)
    ax = fig.subplots()
    ax.plot(ranks, 100 * np.asarray(cmc), marker="o", markersize=3, linewidth=1.5)
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_xlim(1, max(2, len(cmc)))
    ax.set_ylim(max(0.0, 100 * float(np.min(cmc)) - 5), 100.5)
    ax.grid(alpha=0.3)
    ax.set_title("CMC")
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{100 * value:.2f} %" if 0.0 <= value <= 1.0 else f"{value:.4g}"
    return html.escape(str(value))


def _kv_table(rows: dict[str, Any]) -> str:
    cells = "".join(
        f'<tr><th>{html.escape(str(k))}</th><td class="num">{_fmt(v)}</td></tr>' for k, v in rows.items()
    )
    return f'<table class="kv">{cells}</table>'


def _run_info(run_dir: Path) -> dict[str, Any]:
    """Scalar entries of the run's metrics.json (training summary), if the run has one."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        logger.warning("ignoring unreadable %s", path)
        return {}
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}{k}.", v)
        elif isinstance(value, (int, float, str, bool)) and not (
            isinstance(value, float) and math.isnan(value)
        ):
            flat[prefix.rstrip(".")] = value

    walk("", data)
    return flat


def report_probes(ranking: Ranking) -> list[Probe]:
    """Query rows in report order: rank-1 failures (worst AP first), correct queries, then no-match ones."""
    probes = []
    for q in ranking.order():
        hits = []
        for idx, dist, match in zip(
            ranking.indices[q], ranking.distances[q], ranking.matches[q], strict=True
        ):
            if idx < 0:
                continue
            path = str(ranking.gallery_paths[idx])
            caption = f"{path} (pid {ranking.gallery_pids[idx]}, cam {ranking.gallery_camids[idx]})"
            hits.append(Hit(path, float(dist), bool(match), caption))
        first = int(ranking.first_match[q])
        if first == 0:
            status, note = "nomatch", "no match in gallery"
        else:
            status = "correct" if first == 1 else "failure"
            note = f"AP {100 * float(ranking.average_precision[q]):.1f} %, first match at rank {first}"
        path = str(ranking.query_paths[q])
        caption = f"{Path(path).name} (pid {ranking.query_pids[q]}, cam {ranking.query_camids[q]})"
        probes.append(Probe(path, status, hits, caption, note))
    return probes


def rank_run(
    run_dir: str | Path, checkpoint: str | Path | None = None, top_k: int = 10, **extract_kwargs: Any
) -> Path:
    """Write RUN_DIR/ranking.npz with the run's best.ckpt (else last.ckpt) on its config.yaml dataset.

    The fallback when `finereid eval` has not written the ranking: embeds the dataset's query and gallery.
    """
    from finereid.config import load_config
    from finereid.deploy.checkpoint import load_checkpoint
    from finereid.metrics import evaluate_features

    run_dir = Path(run_dir)
    if checkpoint is None:
        checkpoint = next((run_dir / n for n in ("best.ckpt", "last.ckpt") if (run_dir / n).is_file()), None)
        if checkpoint is None:
            raise FinereidError(f"{run_dir} has no {RANKING_FILE}, best.ckpt or last.ckpt")
    if not (run_dir / "config.yaml").is_file():
        raise FinereidError(f"{run_dir} has no {RANKING_FILE} and no config.yaml naming its dataset")
    data = load_config(run_dir / "config.yaml").data
    loaded = load_checkpoint(checkpoint, device=extract_kwargs.get("device", "cpu"))
    feats = embed_source(
        f"{data.name}:{data.root}", loaded, ("query", "gallery"), dict(data.options), **extract_kwargs
    )
    query, gallery = feats.for_role("query"), feats.for_role("gallery")
    metrics = evaluate_features(
        query.features,
        gallery.features,
        query.pids,
        gallery.pids,
        query.camids,
        gallery.camids,
        metric=loaded.metric,
    ).to_dict()
    return save_ranking(
        run_dir / RANKING_FILE,
        _records(query),
        _records(gallery),
        query_feats=query.features,
        gallery_feats=gallery.features,
        metric=loaded.metric,
        top_k=top_k,
        metrics=metrics,
        meta={"checkpoint": str(checkpoint)},
    )


def _records(feats: FeatureSet) -> list[ImageRecord]:
    """ImageRecords of a labelled FeatureSet."""
    return [
        ImageRecord(str(p), int(i), int(c))
        for p, i, c in zip(feats.paths, feats.pids, feats.camids, strict=True)
    ]


def write_run_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    ranking_path: str | Path | None = None,
    images: str = "link",
    max_queries: int | None = 1000,
) -> Path:
    """Write RUN_DIR/report/index.html (or `out`) from the run's ranking.npz and metrics; returns its path."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FinereidError(f"run directory {run_dir} does not exist")
    if max_queries is not None and max_queries < 1:
        raise FinereidError(f"max_queries must be >= 1, got {max_queries}")
    ranking = load_ranking(ranking_path or run_dir / RANKING_FILE)
    out = Path(out) if out is not None else run_dir / "report" / "index.html"
    probes = report_probes(ranking)
    counts = {s: sum(p.status == s for p in probes) for s in ("failure", "correct", "nomatch")}
    shown = probes[:max_queries] if max_queries else probes
    stored = {k: v for k, v in ranking.meta.get("metrics", {}).items() if k in SUMMARY_KEYS}
    cmc = ranking.meta.get("metrics", {}).get("cmc") or cmc_from_ranking(ranking, 50)
    cmc = np.asarray(cmc, dtype=float)[: min(50, ranking.meta.get("num_gallery", 50))]
    header = "".join(
        [
            f'<p class="summary">run: {html.escape(str(run_dir.resolve()))}<br>'
            f"{ranking.meta.get('num_query')} queries, gallery of {ranking.meta.get('num_gallery')} images, "
            f"{html.escape(str(ranking.meta.get('metric')))} "
            f"distance, market protocol (same pid and camera = junk).</p>",
            "<h2>Metrics</h2>",
            _kv_table(stored) if stored else "",
            "<p>Recomputed from the ranked lists:</p>" if stored else "",
            _kv_table(summary_from_ranking(ranking)),
            f'<h2>CMC curve</h2><div class="cmc">{cmc_svg(cmc)}</div>',
            ("<h2>Run (metrics.json)</h2>" + _kv_table(info)) if (info := _run_info(run_dir)) else "",
            f'<h2>Queries</h2><p class="summary">showing {len(shown)} of {len(probes)} queries, '
            "rank-1 failures first (lowest AP first), then correct ones, then queries without a match "
            "in the gallery. Green border: same identity; red: different identity.</p>",
            templates.FILTERS.substitute(
                total=len(probes),
                failures=counts["failure"],
                correct=counts["correct"],
                nomatch=counts["nomatch"],
            ),
        ]
    )
    sources = ImageSources(images, out.parent)
    return write_page(out, f"finereid report: {run_dir.name}", header, shown, sources, lazy=True)
