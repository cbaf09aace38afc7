"""Which queries the demo shows (most disagreement first, then random) and how their rows are labelled."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from finereid.data import ImageRecord
from finereid.demo import grid_rows, lookalike_groups, pick_queries
from finereid.errors import FinereidError
from finereid.evaluation import rank_features

# 7 queries (pids 1..7, camera 0) against one gallery image of pids 1..6 (camera 1) and two distractors.
QUERY = [ImageRecord(f"q{p}.jpg", p, 0) for p in range(1, 8)]
GALLERY = [ImageRecord(f"g{p}.jpg", p, 1) for p in range(1, 7)] + [
    ImageRecord(f"d{i}.jpg", 0, 1) for i in range(2)
]


def _eye(i: int) -> np.ndarray:
    return np.eye(10, dtype=np.float32)[i]


def _rankings() -> dict:
    """'good' ranks every query right; 'bad' puts pid 2 before pid 1 for q1 and pids 3, 4 before 2 for q2.

    Distractor d0 leans towards pid 2's direction, so it comes third for the 'bad' q1.
    """
    gallery = np.stack([_eye(p - 1) for p in range(1, 7)] + [_eye(6) + 0.3 * _eye(1), _eye(7)])
    good = np.stack([_eye(p - 1) for p in range(1, 8)])
    bad = good.copy()
    bad[0] = _eye(1) + 0.5 * _eye(0)
    bad[1] = _eye(2) + 0.8 * _eye(3) + 0.5 * _eye(1)
    return {
        name: rank_features(QUERY, GALLERY, q, gallery, top_k=5).ranking
        for name, q in (("good", good), ("bad", bad))
    }


def test_disagreeing_queries_come_first_then_random_ones() -> None:
    rankings = _rankings()
    assert rankings["bad"].first_match[:2].tolist() == [2, 3]
    picks = pick_queries(rankings, num_differ=6, num_random=2, seed=0)
    assert picks[:2] == [(1, "differs"), (0, "differs")]  # AP spread 2/3 before 1/2; no other query differs
    randoms = [q for q, why in picks if why == "random"]
    assert len(randoms) == 2 and set(randoms) <= {2, 3, 4, 5}  # never q7: pid 7 has no gallery match
    assert randoms == sorted(randoms)
    assert pick_queries(rankings, num_differ=6, num_random=2, seed=0) == picks
    everything = pick_queries(rankings, num_differ=1, num_random=50, seed=3)
    assert everything[0] == (1, "differs") and sorted(q for q, _ in everything) == [0, 1, 2, 3, 4, 5]


def test_picks_alternate_between_the_models_that_win() -> None:
    rankings = _rankings()
    gallery = np.stack([_eye(p - 1) for p in range(1, 7)] + [_eye(6) + 0.3 * _eye(1), _eye(7)])
    other = np.stack([_eye(p - 1) for p in range(1, 8)])
    other[2] = _eye(3) + 0.5 * _eye(2)  # q3: pid 4 first, its match second (AP 1/2)
    other[3] = _eye(4) + 0.8 * _eye(5) + 0.5 * _eye(3)  # q4: its match third (AP 1/3)
    right_late = rank_features(QUERY, GALLERY, other, gallery, top_k=5).ranking
    both = {"bad": rankings["bad"], "other": right_late}
    # 'bad' leads on q4 (2/3) then q3 (1/2); 'other' on q2 (2/3) then q1 (1/2); the turns alternate.
    assert pick_queries(both, num_differ=6, num_random=0) == [(3, "differs"), (1, "differs"), (2, "differs"),
                                                              (0, "differs")]  # fmt: skip
    assert [q for q, _ in pick_queries(both, num_differ=3, num_random=0)] == [3, 1, 2]
    assert pick_queries({"good": rankings["good"]}, num_differ=6, num_random=0) == []  # nothing to differ


def test_rankings_of_other_queries_are_refused() -> None:
    rankings = _rankings()
    other = rank_features(QUERY[::-1], GALLERY, np.eye(7, 10), np.eye(8, 10)).ranking
    with pytest.raises(FinereidError, match="other queries"):
        pick_queries({"a": rankings["good"], "b": other})
    with pytest.raises(FinereidError, match="no ranking"):
        pick_queries({})


def test_rows_carry_matches_captions_and_labels(tmp_path: Path) -> None:
    identities = {f"{p:04d}": {"group": 0 if p <= 2 else p} for p in range(1, 8)}
    (tmp_path / "attributes.json").write_text(json.dumps({"identities": identities}))
    groups = lookalike_groups(tmp_path)
    assert groups[1] == groups[2] == 0 and groups[3] == 3
    ranking = _rankings()["bad"]
    first, second = grid_rows(ranking, [(0, "differs"), (1, "random")], groups, name="bad")
    assert first.query_path == "q1.jpg"
    assert first.gallery_paths[:2] == ["g2.jpg", "g1.jpg"] and len(first.gallery_paths) == 5
    assert list(first.matches) == [False, True, False, False, False]
    assert first.captions[:2] == ["~0002", "0001"]  # pid 2 is a look-alike of pid 1; pid 1 is the match
    assert first.captions[2] == "distractor" and first.gallery_paths[2] == "d0.jpg"
    assert first.label[0] == "bad" and "query 0001, cam 1" in first.label and "AP 0.50" in first.label
    assert "1st match: rank 2" in first.label and "(differs)" in first.label
    assert second.captions[:3] == ["0003", "0004", "0002"]  # pid 3 and 4 are no look-alikes of pid 2
    assert lookalike_groups(tmp_path / "missing") == {}
