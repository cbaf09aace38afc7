"""The demo's "where does each model look" pictures: activation maps and embedding maps, model by model.

demo_report/maps_compare.png   the same look-alike queries under every model: the query's map against
                               each of its top results, then each result's map against the query
demo_report/embedding.png      t-SNE of the same identities' embeddings under every model
demo_report/maps/<loss>/       the overlay images and their index (finereid.explain)

Without grad-cam or scikit-learn (the `explain` extra) the demo logs one line and goes without them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from finereid.demo.figures import GridRow, ranked_grid
from finereid.demo.ranked import _caption
from finereid.errors import FinereidError
from finereid.evaluation import Ranking, load_model

logger = logging.getLogger(__name__)

MAP_TOP_K = 5
NUM_MAP_QUERIES = 2
EMBEDDING_IDS = 16


def lookalike_queries(
    rankings: Mapping[str, Ranking], picks: Sequence[tuple[int, str]], groups: Mapping[int, int], count: int
) -> list[int]:
    """Picked queries with a look-alike among some model's top results (the demo's order), else the first."""

    def has_lookalike(q: int) -> bool:
        pid = int(next(iter(rankings.values())).query_pids[q])
        for ranking in rankings.values():
            hits = ranking.indices[q][ranking.indices[q] >= 0][:MAP_TOP_K]
            pids = [int(p) for p in ranking.gallery_pids[hits]]
            if any(p != pid and p in groups and groups.get(p) == groups.get(pid) for p in pids):
                return True
        return False

    queries = [q for q, _ in picks]
    chosen = [q for q in queries if has_lookalike(q)][:count]
    return chosen + [q for q in queries if q not in chosen][: count - len(chosen)]


def _rows(name: str, ranking: Ranking, q: int, maps, groups: Mapping[int, int]) -> list[GridRow]:
    """Two grid rows of one query under one model: query maps, then result maps."""
    hits = ranking.indices[q][ranking.indices[q] >= 0][: len(maps.query_maps)]
    matches = [bool(m) for m in ranking.matches[q][: len(hits)]]
    pid = int(ranking.query_pids[q])
    captions = [_caption(int(p), pid, groups) for p in ranking.gallery_pids[hits]]
    query = str(ranking.query_paths[q])
    return [
        GridRow(
            query,
            maps.query_maps,
            matches,
            [name, f"query {pid:04d}", "query's map", "vs each result"],
            captions,
        ),
        GridRow(
            query,
            maps.hit_maps,
            matches,
            [name, f"query {pid:04d}", "each result's", "map vs query"],
            captions,
        ),
    ]


def write_maps(
    out: Path, rankings: Mapping[str, Ranking], picks: Sequence[tuple[int, str]], root: Path
) -> dict[str, str]:
    """Write maps_compare.png and embedding.png into `out`; their names ({} and one logged line without)."""
    start = time.perf_counter()
    try:
        files = _write_maps(out, rankings, picks, root)
        logger.info("drew the activation and embedding maps in %.1f s", time.perf_counter() - start)
        return files
    except FinereidError as exc:
        logger.info("demo without activation and embedding maps: %s", exc)
        return {}


def _write_maps(
    out: Path, rankings: Mapping[str, Ranking], picks: Sequence[tuple[int, str]], root: Path
) -> dict[str, str]:
    from finereid.data import build_dataset
    from finereid.explain import Explainer, dataset_groups, embed_identities, explain_ranking, load_map_index
    from finereid.reports import embedding_figure

    groups, _ = dataset_groups(root)
    queries = lookalike_queries(rankings, picks, groups, NUM_MAP_QUERIES)
    first = next(iter(rankings.values()))
    pids = [int(first.query_pids[q]) for q in queries]
    dataset = build_dataset("market1501", root)
    indexes, embeddings = {}, {}
    for name, ranking in rankings.items():
        explainer = Explainer(load_model(ranking.meta["checkpoint"]))
        try:
            path = explain_ranking(explainer, ranking, queries, out / "maps" / name, MAP_TOP_K)
        finally:
            explainer.close()
        indexes[name] = load_map_index(path)[0]
        embeddings[name] = embed_identities(
            explainer.loaded, dataset.query, dataset.gallery, root, EMBEDDING_IDS, pids
        )
    rows = [
        row
        for q in queries
        for name, ranking in rankings.items()
        if str(ranking.query_paths[q]) in indexes[name]
        for row in _rows(name, ranking, q, indexes[name][str(ranking.query_paths[q])], groups)
    ]
    files = {}
    if rows:
        title = (
            "Where each model looks (Grad-CAM, similarity target; red = high), same look-alike queries\n"
            f"per model: the query's map against each of its top-{MAP_TOP_K}, then each result's map"
        )
        ranked_grid(rows, title).save(out / "maps_compare.png", optimize=True)
        files["maps_compare"] = "maps_compare.png"
    figure = embedding_figure(embeddings)
    figure.savefig(out / "embedding.png", dpi=100)
    files["embedding"] = "embedding.png"
    return files
