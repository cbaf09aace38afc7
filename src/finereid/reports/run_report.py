"""`finereid report`: one static HTML page of an evaluation run: its metrics, CMC curve and ranked queries.

Everything on the page comes from the run's `ranking.npz` (metrics and ranked lists computed together by
`finereid.metrics` during `finereid eval`) and its metrics.json: the report renders, never recomputes.
"""

from __future__ import annotations

import html
import json
import logging
import math
from pathlib import Path
from typing import Any

from finereid.errors import FinereidError
from finereid.evaluation import Ranking, load_ranking
from finereid.files import METRICS_FILE, RANKING_FILE
from finereid.metrics import SCORE_KEYS
from finereid.reports import templates
from finereid.reports.explain_view import attach_maps, embedding_section, maps_note
from finereid.reports.html import Hit, ImageSources, Probe, write_page
from finereid.reports.plots import cmc_figure, figure_svg
from finereid.reports.verification_view import verification_section

logger = logging.getLogger(__name__)

SUMMARY_KEYS = (*SCORE_KEYS, "num_valid_queries")
MAX_CMC_RANK = 50


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
    path = run_dir / METRICS_FILE
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


def write_run_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    ranking_path: str | Path | None = None,
    images: str = "link",
    max_queries: int | None = 1000,
    maps: str | Path | None = None,
    embedding: str | Path | None = None,
) -> Path:
    """Write RUN_DIR/report/index.html (or `out`) from the run's ranking.npz and metrics; returns its path.

    `maps` (an activation-map index) and `embedding` (an embedding map), written by `finereid.explain`,
    add map rows under the failures they cover and an embedding-map section.
    """
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
    mapped = attach_maps(shown, maps) if maps is not None else 0
    metrics = ranking.meta.get("metrics", {})
    stored = {k: metrics[k] for k in SUMMARY_KEYS if k in metrics}
    distance = ranking.meta.get("distance", ranking.meta.get("metric"))  # "metric": ranking files of 0.1
    cmc = metrics.get("cmc") or []
    figure = figure_svg(cmc_figure({"": cmc}, MAX_CMC_RANK, size=(5.2, 3.0))) if cmc else ""
    cmc_html = f'<h2>CMC curve</h2><div class="cmc">{figure}</div>' if cmc else ""
    header = "".join(
        [
            f'<p class="summary">run: {html.escape(str(run_dir.resolve()))}<br>'
            f"{ranking.meta.get('num_query')} queries, gallery of {ranking.meta.get('num_gallery')} images, "
            f"{html.escape(str(distance))} distance{', re-ranked' if ranking.meta.get('rerank') else ''}, "
            "market protocol (same pid and camera = junk).</p>",
            "<h2>Metrics</h2>",
            _kv_table(stored) if stored else "<p>This ranking file holds no metrics.</p>",
            cmc_html,
            verification_section(metrics["verification"]) if "verification" in metrics else "",
            ("<h2>Run (metrics.json)</h2>" + _kv_table(info)) if (info := _run_info(run_dir)) else "",
            embedding_section(embedding) if embedding is not None else "",
            f'<h2>Queries</h2><p class="summary">showing {len(shown)} of {len(probes)} queries, '
            "rank-1 failures first (lowest AP first), then correct ones, then queries without a match "
            "in the gallery. Green border: same identity; red: different identity.</p>",
            maps_note(maps, mapped) if mapped else "",
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
