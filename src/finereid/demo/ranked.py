"""Which queries the demo shows, and their ranked lists as grid rows (the same queries under every model)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from finereid.demo.figures import GridRow
from finereid.errors import FinereidError
from finereid.evaluation import Ranking


def pick_queries(
    rankings: Mapping[str, Ranking], num_differ: int = 6, num_random: int = 4, seed: int = 0
) -> list[tuple[int, str]]:
    """(query index, why) to show: the queries where one model beats the others most, then random ones.

    The `num_differ` "differs" picks are shared out in turn between the models, each taking the query
    where its AP exceeds the best other model's by the most, so a figure shows both sides of the
    comparison (a model that never wins leaves its turns to the others). Only queries with a true
    match in the gallery are picked. `why` is "differs" or "random".
    """
    if not rankings:
        raise FinereidError("no ranking to pick queries from")
    first = next(iter(rankings.values()))
    for name, ranking in rankings.items():
        if not np.array_equal(ranking.query_paths, first.query_paths):
            raise FinereidError(f"the ranking of {name!r} lists other queries than the first one")
    valid = np.all([r.first_match > 0 for r in rankings.values()], axis=0)
    ap = np.nan_to_num(np.stack([r.average_precision for r in rankings.values()]), nan=0.0)
    queues = []
    for m in range(len(ap) if len(ap) > 1 else 0):  # one model alone differs from nothing
        lead = ap[m] - np.delete(ap, m, axis=0).max(axis=0, initial=-np.inf)
        wins = np.flatnonzero(valid & (lead > 0))
        queues.append(list(wins[np.lexsort((wins, -lead[wins]))]))
    differ: list[int] = []
    while len(differ) < num_differ and any(queues):
        for queue in queues:
            if queue and len(differ) < num_differ:
                differ.append(int(queue.pop(0)))
    rest = np.setdiff1d(np.flatnonzero(valid), differ)
    rng = np.random.default_rng(seed)
    random = np.sort(rng.choice(rest, size=min(num_random, len(rest)), replace=False))
    return [(int(q), "differs") for q in differ] + [(int(q), "random") for q in random]


def lookalike_groups(root: str | Path) -> dict[int, int]:
    """pid -> look-alike group from a synthetic dataset's attributes.json ({} for other datasets)."""
    try:
        identities = json.loads((Path(root) / "attributes.json").read_text(encoding="utf-8"))["identities"]
        return {int(pid): int(info["group"]) for pid, info in identities.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def grid_rows(
    ranking: Ranking,
    picks: Sequence[tuple[int, str]],
    groups: Mapping[int, int] | None = None,
    name: str = "",
) -> list[GridRow]:
    """One grid row per picked query: its top-k, match flags, a label (pid, camera, AP, first hit)."""
    groups = groups or {}
    rows = []
    for q, why in picks:
        keep = ranking.indices[q] >= 0
        gallery = ranking.indices[q][keep]
        query_pid = int(ranking.query_pids[q])
        first = int(ranking.first_match[q])
        label = [
            *([name] if name else []),
            f"query {query_pid:04d}, cam {int(ranking.query_camids[q]) + 1}",
            f"AP {float(ranking.average_precision[q]):.2f}",
            f"1st match: rank {first}" if first > 0 else "no match in gallery",
            f"({why})" if why else "",
        ]
        rows.append(GridRow(
            query_path=str(ranking.query_paths[q]),
            gallery_paths=[str(p) for p in ranking.gallery_paths[gallery]],
            matches=[bool(m) for m in ranking.matches[q][keep]],
            label=[line for line in label if line],
            captions=[_caption(int(p), query_pid, groups) for p in ranking.gallery_pids[gallery]],
        ))  # fmt: skip
    return rows


def _caption(pid: int, query_pid: int, groups: Mapping[int, int]) -> str:
    """The pid under a result; `~` marks a look-alike of the query (same group, other person)."""
    if pid <= 0:
        return "distractor"
    lookalike = pid != query_pid and pid in groups and groups.get(pid) == groups.get(query_pid)
    return f"~{pid:04d}" if lookalike else f"{pid:04d}"
