"""Activation maps of ranked queries (an evaluation's `Ranking`), written as overlay images for the reports.

    OUT/maps.json                  which query has which overlay files (read with `load_map_index`)
    OUT/q<index>_query_<rank>.jpg  the query's map against its rank-th result
    OUT/q<index>_hit_<rank>.jpg    the rank-th result's map against the query

`finereid report` draws them under the rank-1 failures it lists; the demo puts them in its figures.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from finereid.errors import FinereidError
from finereid.evaluation import Ranking
from finereid.explain.cam import is_flat
from finereid.explain.overlay import overlay
from finereid.explain.pairs import Explainer
from finereid.files import atomic_write_text

log = logging.getLogger(__name__)

MAP_INDEX = "maps.json"
MAP_INDEX_VERSION = 1


@dataclass
class QueryMaps:
    """Overlay files of one query: its map against each of its top results, and each result's map."""

    query: str
    query_maps: list[str]
    hit_maps: list[str]
    flat: list[bool]  # per result: either map of the pair is all zero


def failure_queries(ranking: Ranking, count: int) -> list[int]:
    """The first `count` rank-1 failures in report order (lowest AP first)."""
    return [int(q) for q in ranking.order() if ranking.failures[q]][: max(0, count)]


def explain_ranking(
    explainer: Explainer, ranking: Ranking, queries: Sequence[int], out_dir: str | Path, top_k: int = 5
) -> Path:
    """Map each listed query against its top-k results; write the overlays and MAP_INDEX; returns its path.

    A query whose images cannot be read any more is skipped with a warning.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entries = {}
    for q in queries:
        hits = ranking.indices[q][ranking.indices[q] >= 0][:top_k]
        gallery = [str(ranking.gallery_paths[i]) for i in hits]
        try:
            pairs = explainer.pair_maps(str(ranking.query_paths[q]), gallery)
        except FinereidError as exc:
            log.warning("no activation maps for query %s: %s", ranking.query_paths[q], exc)
            continue
        names: dict[str, list[str]] = {"query": [], "hit": []}
        for k in range(len(gallery)):
            for side, image, maps in (
                ("query", pairs.query_image, pairs.query_maps),
                ("hit", pairs.gallery_images[k], pairs.gallery_maps),
            ):
                name = f"q{q:05d}_{side}_{k + 1:02d}.jpg"
                overlay(image, maps[k]).save(out / name, quality=90)
                names[side].append(name)
        flat = [is_flat(pairs.query_maps[k]) or is_flat(pairs.gallery_maps[k]) for k in range(len(gallery))]
        entries[str(ranking.query_paths[q])] = {
            "query_maps": names["query"],
            "hit_maps": names["hit"],
            "flat": flat,
        }
    index = {"version": MAP_INDEX_VERSION, **explainer.describe(), "top_k": top_k, "queries": entries}
    atomic_write_text(out / MAP_INDEX, json.dumps(index, indent=1) + "\n")
    log.info("wrote activation maps of %d queries to %s", len(entries), out)
    return out / MAP_INDEX


def load_map_index(path: str | Path) -> tuple[dict[str, QueryMaps], dict]:
    """({query path: QueryMaps with file paths resolved}, the index's settings) from a MAP_INDEX file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        queries = {
            query: QueryMaps(
                query,
                [str(path.parent / n) for n in entry["query_maps"]],
                [str(path.parent / n) for n in entry["hit_maps"]],
                [bool(f) for f in entry["flat"]],
            )
            for query, entry in data["queries"].items()
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FinereidError(f"{path} is not an activation-map index ({type(exc).__name__}: {exc})") from None
    return queries, {k: v for k, v in data.items() if k != "queries"}
