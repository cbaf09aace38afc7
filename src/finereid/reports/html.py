"""Static HTML pages of ranked results that open from file:// (no server, no network, JavaScript optional)."""

from __future__ import annotations

import base64
import html
import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image, UnidentifiedImageError

from finereid import __version__
from finereid.deploy import SearchResult
from finereid.errors import ConfigError
from finereid.files import atomic_write_text
from finereid.reports import templates

logger = logging.getLogger(__name__)

IMAGE_MODES = ("embed", "link")


@dataclass
class Hit:
    """One ranked gallery item: its file, distance and match flag (None when labels are unknown)."""

    path: str
    distance: float
    match: bool | None = None
    caption: str = ""


@dataclass
class MapRow:
    """A row of activation-map pictures under a query's results (one per result, in rank order)."""

    label: str
    paths: list[str]
    captions: list[str] = field(default_factory=list)  # under each picture (the result's rank, distance)


@dataclass
class Probe:
    """One query row: the query image, its status (failure / correct / nomatch / unlabelled) and its hits."""

    path: str
    status: str
    hits: list[Hit] = field(default_factory=list)
    caption: str = ""
    note: str = ""
    maps: list[MapRow] = field(default_factory=list)


class ImageSources:
    """`src` values for images: base64 JPEG thumbnails ("embed") or paths relative to the page ("link").

    A missing or unreadable image gives None, rendered as a placeholder, so a page never has a broken image.
    """

    def __init__(self, mode: str, page_dir: str | Path, thumb_height: int = 128) -> None:
        if mode not in IMAGE_MODES:
            raise ConfigError(f"unknown image mode {mode!r}; valid: {', '.join(IMAGE_MODES)}")
        self.mode, self.page_dir, self.thumb_height = mode, Path(page_dir).resolve(), thumb_height
        self._cache: dict[str, str | None] = {}
        self.missing = 0

    def src(self, path: str) -> str | None:
        """The value of the img src attribute for `path`, or None when the image cannot be shown."""
        if path not in self._cache:
            self._cache[path] = self._embed(path) if self.mode == "embed" else self._link(path)
            if self._cache[path] is None:
                self.missing += 1
                logger.warning("cannot show image %s (missing or unreadable)", path)
        return self._cache[path]

    def _embed(self, path: str) -> str | None:
        try:
            with Image.open(path) as img:
                img = img.convert("RGB")
                scale = self.thumb_height / max(1, img.height)
                if scale < 1:
                    img = img.resize(
                        (max(1, round(img.width * scale)), self.thumb_height), Image.Resampling.BILINEAR
                    )
                buf = io.BytesIO()
                img.save(buf, format="JPEG", quality=85)
        except (OSError, UnidentifiedImageError, ValueError):
            return None
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

    def _link(self, path: str) -> str | None:
        target = Path(path).resolve()
        if not target.is_file():
            return None
        try:
            return quote(Path(os.path.relpath(target, self.page_dir)).as_posix())
        except ValueError:  # another drive on Windows: no relative path exists
            return target.as_uri()


def _img(sources: ImageSources, path: str, lazy: bool) -> str:
    src = sources.src(path)
    if src is None:
        return '<span class="missing thumb-missing">missing</span>'
    loading = ' loading="lazy"' if lazy else ""
    return f'<img class="thumb" src="{html.escape(src)}" alt="{html.escape(Path(path).name)}"{loading}>'


def render_probes(probes: Sequence[Probe], sources: ImageSources, lazy: bool = False) -> str:
    """The HTML of a list of query rows with their ranked hits."""
    rows = []
    for position, probe in enumerate(probes):
        hits = []
        for rank, hit in enumerate(probe.hits, start=1):
            status = "unknown" if hit.match is None else ("match" if hit.match else "nonmatch")
            hits.append(
                templates.HIT.substitute(
                    status=status,
                    title=html.escape(hit.caption or hit.path),
                    image=_img(sources, hit.path, lazy),
                    rank=rank,
                    distance=f"{hit.distance:.4f}",
                )
            )
        rows.append(
            templates.QUERY.substitute(
                status=probe.status,
                position=position,
                image=_img(sources, probe.path, lazy),
                caption=html.escape(probe.caption or Path(probe.path).name),
                note=html.escape(probe.note),
                hits="\n".join(hits),
                maps="".join(_map_row(sources, row, lazy) for row in probe.maps),
            )
        )
    return "\n".join(rows)


def _map_row(sources: ImageSources, row: MapRow, lazy: bool) -> str:
    """One row of activation-map pictures, aligned with the results above it."""
    captions = [*row.captions, *[""] * (len(row.paths) - len(row.captions))]
    items = "".join(
        f"<li>{_img(sources, path, lazy)}<span>{html.escape(caption)}</span></li>"
        for path, caption in zip(row.paths, captions, strict=False)
    )
    return templates.MAPS.substitute(label=html.escape(row.label), items=items)


def write_page(
    out: str | Path,
    title: str,
    header: str,
    probes: Sequence[Probe],
    sources: ImageSources,
    lazy: bool = False,
) -> Path:
    """Write one complete page (header HTML + query rows) to `out`."""
    out = Path(out)
    page = templates.PAGE.substitute(
        version=__version__,
        title=html.escape(title),
        style=templates.STYLE,
        header=header,
        num_queries=len(probes),
        queries=render_probes(probes, sources, lazy),
        script=templates.FILTER_SCRIPT,
    )
    atomic_write_text(out, page)
    logger.info("wrote %s (%d queries, %d images not shown)", out, len(probes), sources.missing)
    return out


def search_probes(
    result: SearchResult,
    query_paths: Sequence[str],
    gallery_paths: Sequence[str],
    query_pids: np.ndarray | None = None,
    gallery_pids: np.ndarray | None = None,
    threshold: float | None = None,
) -> list[Probe]:
    """Query rows of a search; matches are known (green/red) only when both sides have pids.

    With a `threshold`, results at or past it are marked as not the same person (red when unlabelled).
    """
    labelled = query_pids is not None and gallery_pids is not None
    probes = []
    for q, path in enumerate(query_paths):
        hits = []
        for idx, dist in zip(result.indices[q], result.distances[q], strict=True):
            if idx < 0:
                continue
            match = bool(gallery_pids[idx] == query_pids[q]) if labelled else None
            caption = f"{gallery_paths[idx]}" + (
                f" (pid {gallery_pids[idx]})" if gallery_pids is not None else ""
            )
            if threshold is not None:
                match = match if labelled else bool(dist < threshold)
                caption += "" if dist < threshold else " - past the threshold: not the same person"
            hits.append(Hit(str(gallery_paths[idx]), float(dist), match, caption))
        status = ("correct" if hits and hits[0].match else "failure") if labelled else "unlabelled"
        note = f"pid {query_pids[q]}" if query_pids is not None else ""
        probes.append(Probe(str(path), status, hits, note=note))
    return probes


def write_search_html(
    out: str | Path,
    result: SearchResult,
    query_paths: Sequence[str],
    gallery_paths: Sequence[str],
    query_pids: np.ndarray | None = None,
    gallery_pids: np.ndarray | None = None,
    images: str = "embed",
    title: str = "finereid search",
    threshold: float | None = None,
) -> Path:
    """A self-contained (images="embed") or linked (images="link") page of search results."""
    sources = ImageSources(images, Path(out).parent)
    probes = search_probes(result, query_paths, gallery_paths, query_pids, gallery_pids, threshold)
    cut = (
        "" if threshold is None else f"; results at distance {threshold:.4g} or more are not the same person"
    )
    header = (
        f'<p class="summary">{len(query_paths)} queries, gallery of {len(gallery_paths)} images, '
        f"top {result.indices.shape[1]} by {result.distance} distance ({result.backend} search){cut}.</p>"
    )
    return write_page(out, title, header, probes, sources)
