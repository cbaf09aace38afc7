"""What `finereid.explain` made, drawn: the embedding-map figure and activation-map rows under ranked queries.

Render only: the maps and the t-SNE positions come from files `finereid.explain` wrote.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from finereid.explain import EmbeddingMap, load_embedding_map, load_map_index
from finereid.reports.html import MapRow, Probe
from finereid.reports.plots import figure_svg

logger = logging.getLogger(__name__)


def embedding_figure(
    maps: EmbeddingMap | Mapping[str, EmbeddingMap], size: tuple[float, float] | None = None
) -> Figure:
    """One panel per embedding map (a mapping gives each panel its title), side by side."""
    panels = {"": maps} if isinstance(maps, EmbeddingMap) else dict(maps)
    fig = Figure(figsize=size or (6.4 * len(panels), 5.0), layout="constrained")
    for ax, (title, emap) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels.items(), strict=True):
        draw_embedding(ax, emap, title)
    return fig


def draw_embedding(ax: Axes, emap: EmbeddingMap, title: str = "") -> None:
    """t-SNE positions coloured by identity (stars: queries, dots: gallery); look-alikes joined by dashes."""
    pids = list(dict.fromkeys(int(p) for p in emap.pids))
    palette = colormaps["tab20"]
    centres = {}
    for n, pid in enumerate(pids):
        own = emap.pids == pid
        colour = palette(n % 20)
        for query, marker, size_pt in ((False, "o", 18), (True, "*", 110)):
            pick = own & (emap.is_query == query)
            if pick.any():
                ax.scatter(*emap.points[pick].T, s=size_pt, marker=marker, color=colour,
                           edgecolors="black" if query else "none", linewidths=0.5, zorder=3)  # fmt: skip
        centres[pid] = emap.points[own].mean(axis=0)
        ax.annotate(str(pid), centres[pid], fontsize=6, color="0.25", ha="center", va="center", zorder=4)
    for group in sorted(set(int(g) for g in emap.groups if g >= 0)):
        members = [p for p in pids if int(emap.groups[emap.pids == p][0]) == group]
        if len(members) < 2:
            continue
        line = np.array([centres[p] for p in members])
        ax.plot(*line.T, linestyle="--", color="0.45", linewidth=0.9, zorder=2)
        label = emap.attributes.get(group, "")
        if label:
            ax.annotate(label, line.mean(axis=0), fontsize=7, color="0.3", ha="left", va="bottom", zorder=4)
    ax.scatter([], [], marker="*", color="0.6", edgecolors="black", s=80, label="query")
    ax.scatter([], [], marker="o", color="0.6", s=18, label="gallery")
    if any(emap.groups >= 0):
        ax.plot([], [], linestyle="--", color="0.45", label="look-alikes (what differs)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=3, frameon=False, fontsize="small")
    ax.set_xticks([])
    ax.set_yticks([])
    subtitle = f"t-SNE of {len(emap.pids)} embeddings of {len(pids)} identities"
    ax.set_title(f"{title}: {subtitle}" if title else subtitle, fontsize=10)


def attach_maps(probes: Sequence[Probe], index_path: str | Path) -> int:
    """Give the probes listed in an activation-map index their map rows; returns how many got them."""
    index, _ = load_map_index(index_path)
    count = 0
    for probe in probes:
        entry = index.get(probe.path)
        if entry is None:
            continue
        captions = [f"{rank} · {hit.distance:.4f}" for rank, hit in enumerate(probe.hits, start=1)]
        probe.maps = [
            MapRow("query map against each result", entry.query_maps, captions[: len(entry.query_maps)]),
            MapRow("each result's map against the query", entry.hit_maps, captions[: len(entry.hit_maps)]),
        ]
        count += 1
    return count


def maps_note(index_path: str | Path, count: int) -> str:
    """The sentence above the queries saying what the map rows are."""
    _, settings = load_map_index(index_path)
    method, layers = (html.escape(str(settings.get(k, ""))) for k in ("method", "layers"))
    return (
        f'<p class="summary">Activation maps for the first {count} rank-1 failures '
        f"({method}, layer: {layers}): "
        "under each failure, where the query has what makes it close to each of its top results, and where "
        "each result has what makes it close to the query. Red: high, no colour: none.</p>"
    )


def embedding_section(path: str | Path) -> str:
    """The embedding-map section of a page (inline SVG)."""
    emap = load_embedding_map(path)
    figure = figure_svg(embedding_figure(emap))
    return (
        "<h2>Embedding map</h2>"
        '<p class="summary">Query and gallery embeddings of the failing identities, those they were '
        "confused with and their look-alike groups (when the dataset has them), laid out by t-SNE: "
        "near on the map is near in the embedding, far apart says little.</p>"
        f'<div class="embedding">{figure}</div>'
    )
