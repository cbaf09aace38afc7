"""Embedding maps: which identities, a deterministic t-SNE, the file round trip and the figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from finereid.errors import FinereidError
from finereid.explain import embedding_map, load_embedding_map, pick_identities, save_embedding_map
from finereid.reports import embedding_figure

pytest.importorskip("sklearn")


def test_pick_identities_takes_whole_groups_first_ones_first() -> None:
    groups = {1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 6: 2, 7: 2}
    pids = [0, 1, 1, 2, 3, 4, 5, 6, 7, 8]
    assert pick_identities(pids, groups, 5, first=[6]) == [6, 7, 1, 2, 8]  # 3-5 would not fit whole
    assert pick_identities(pids, groups, 3) == [1, 2, 8]
    assert pick_identities(pids, {}, 3) == [1, 2, 3]  # no groups: pids in order, no distractors (0)
    assert pick_identities(pids, groups, 2, first=[3]) == [3, 4]  # a group larger than the budget is cut


def _clusters(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, size=(4, 16))
    pids = np.repeat(np.arange(1, 5), 8)
    features = centres[pids - 1] + rng.normal(0, 0.5, size=(32, 16))
    return features.astype(np.float32), pids, np.arange(32) % 8 == 0


def test_embedding_map_is_deterministic_and_keeps_clusters() -> None:
    features, pids, is_query = _clusters()
    first = embedding_map(features, pids, is_query, {1: 0, 2: 0}, {0: "shoes"}, seed=0)
    again = embedding_map(features, pids, is_query, {1: 0, 2: 0}, {0: "shoes"}, seed=0)
    assert first.points.shape == (32, 2) and np.array_equal(first.points, again.points)
    assert first.groups.tolist() == [0] * 16 + [-1] * 16
    centres = np.stack([first.points[pids == p].mean(0) for p in range(1, 5)])
    spread = max(np.linalg.norm(first.points[pids == p] - centres[p - 1], axis=1).max() for p in range(1, 5))
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a in range(4) for b in range(a + 1, 4)]
    assert min(gaps) > spread  # well-separated identities stay apart


def test_round_trip_and_figure(tmp_path: Path) -> None:
    features, pids, is_query = _clusters(1)
    emap = embedding_map(features, pids, is_query, {1: 0, 2: 0}, {0: "bag"})
    path = save_embedding_map(tmp_path / "embedding.npz", emap)
    loaded = load_embedding_map(path)
    assert np.array_equal(loaded.points, emap.points) and loaded.attributes == {0: "bag"}
    figure = embedding_figure({"triplet": loaded, "fdp": loaded})
    axes = figure.get_axes()
    assert len(axes) == 2 and axes[0].get_title().startswith(
        "triplet: t-SNE of 32 embeddings of 4 identities"
    )
    assert any(line.get_linestyle() == "--" for line in axes[0].get_lines())  # the look-alike link
    assert "bag" in [t.get_text() for t in axes[0].texts]


def test_too_few_embeddings_and_bad_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(FinereidError, match="at least 5 embeddings"):
        embedding_map(np.zeros((3, 4)), np.arange(3), np.zeros(3, bool))
    (tmp_path / "x.npz").write_bytes(b"nope")
    with pytest.raises(FinereidError, match="is not an embedding map"):
        load_embedding_map(tmp_path / "x.npz")
