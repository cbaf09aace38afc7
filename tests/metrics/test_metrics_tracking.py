"""Tracking scores: IDF1, ID switches and MOTA on sequences whose answers can be counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from finereid.errors import ConfigError
from finereid.metrics.tracking import box_iou, tracking_metrics


def _walk(ident: int, frames: range, y: float) -> list[list[float]]:
    return [[f, ident, 10.0 * f, y, 10.0 * f + 20, y + 40] for f in frames]


GT = np.array(_walk(1, range(1, 11), 0) + _walk(2, range(1, 11), 100))


def test_perfect_tracks():
    scores = tracking_metrics(GT, GT.copy())
    assert (scores["idf1"], scores["id_switches"], scores["mota"]) == (1.0, 0, 1.0)


def test_two_tracks_swapping_halfway():
    hyp = GT.copy()
    late = hyp[:, 0] > 5
    hyp[late, 1] = 3 - hyp[late, 1]  # ids 1 and 2 swap from frame 6 on
    scores = tracking_metrics(GT, hyp)
    assert scores["id_switches"] == 2  # one per person
    assert scores["idf1"] == pytest.approx(0.5)  # each identity keeps its best half
    assert scores["mota"] == pytest.approx(1 - 2 / 20)


def test_a_track_broken_into_two_ids_and_misses_and_false_positives():
    hyp = GT[GT[:, 1] == 1].copy()
    hyp[hyp[:, 0] > 6, 1] = 7  # person 1 gets a new id after frame 6; person 2 is never tracked
    ghost = np.array([[3, 9, 500, 500, 520, 540]])
    scores = tracking_metrics(GT, np.concatenate([hyp, ghost]))
    assert scores["id_switches"] == 1 and scores["misses"] == 10 and scores["false_positives"] == 1
    assert scores["idf1"] == pytest.approx(2 * 6 / (20 + 11))
    assert scores["num_hypothesis_ids"] == 3


def test_boxes_below_the_iou_threshold_do_not_count():
    hyp = GT.copy()
    hyp[:, 2:] += [15, 0, 15, 0]  # shifted by 15 of 20 pixels: IoU 5/35
    assert box_iou(GT[:1, 2:], hyp[:1, 2:])[0, 0] == pytest.approx(5 / 35)
    scores = tracking_metrics(GT, hyp)
    assert scores["idf1"] == 0.0 and scores["misses"] == 20


def test_bad_rows_are_one_line_errors():
    with pytest.raises(ConfigError, match="frame, id, x1"):
        tracking_metrics(GT[:, :5], GT)
    with pytest.raises(ConfigError, match="no boxes"):
        tracking_metrics(np.zeros((0, 6)), GT)
