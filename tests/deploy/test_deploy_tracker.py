"""Tracking: the synthetic sequence, the BoxMOT adapter, and BoxMOT's BotSort with a finereid model, offline.

BoxMOT (the `boxmot` extra, in `dev`) is imported only here and in `finereid track`, never by
`finereid.deploy`. No test downloads anything: socket connections fail while trackers run.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest

from finereid.cli import main
from finereid.deploy import Embedder, TrackerReID, read_frames, read_mot_file, run_tracker
from finereid.errors import ConfigError
from finereid.metrics.tracking import box_iou, tracking_metrics
from finereid.synth.video import MIN_VISIBLE, write_sequence

OPTIONS = {"use_cmc": False}  # a static camera: no camera-motion compensation


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5 synthetic people, 40 frames of 320 x 180."""
    return write_sequence(
        tmp_path_factory.mktemp("video") / "SEQ", num_people=5, num_frames=40, size=(320, 180)
    )


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any network connection attempt fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_synthetic_sequence_has_crossings_occlusions_and_detections(sequence):
    gt, det = read_mot_file(sequence / "gt" / "gt.txt"), read_mot_file(sequence / "det" / "det.txt")
    raw = np.loadtxt(sequence / "gt" / "gt.txt", delimiter=",")
    visibility = raw[:, 8]
    assert len(list((sequence / "img1").glob("*.jpg"))) == 40 and set(gt[:, 1]) == {1, 2, 3, 4, 5}
    assert ((visibility >= 0) & (visibility <= 1)).all() and (visibility < MIN_VISIBLE).any()
    assert len(det) == int((visibility >= MIN_VISIBLE).sum())  # detections: the people visible enough
    overlapping = 0
    for frame in np.unique(gt[:, 0]):
        boxes = gt[gt[:, 0] == frame, 2:6]
        iou = box_iou(boxes, boxes)
        overlapping += int((iou[np.triu_indices(len(boxes), 1)] > 0.1).any())
    assert overlapping > 0  # people cross each other


def test_synthetic_sequence_refuses_empty_settings(tmp_path):
    with pytest.raises(ConfigError, match=">= 1 person"):
        write_sequence(tmp_path / "SEQ", num_people=0)


def test_adapter_embeds_bgr_crops_like_the_embedder(checkpoint, sequence):
    reid = TrackerReID.load(checkpoint)
    number, bgr = next(read_frames(sequence))
    boxes = read_mot_file(sequence / "gt" / "gt.txt")
    boxes = boxes[boxes[:, 0] == number][:, 2:6]
    expected = Embedder.load(checkpoint).embed_crops(bgr[:, :, ::-1].copy(), boxes, channels="rgb")
    np.testing.assert_allclose(reid.get_features(boxes, bgr), expected, atol=1e-6)
    with_scores = np.concatenate([boxes, np.ones((len(boxes), 2))], axis=1)  # x1 y1 x2 y2 conf cls
    np.testing.assert_allclose(reid.get_features(with_scores, bgr), expected, atol=1e-6)
    assert reid.get_features(np.zeros((0, 4)), bgr).shape == (0, 512)


class _Counting(TrackerReID):
    """The adapter, counting the crops it embeds."""

    calls = 0

    def get_features(self, boxes_xyxy, bgr_frame):
        self.calls += len(boxes_xyxy)
        return super().get_features(boxes_xyxy, bgr_frame)


class _Oracle:
    """Appearance that knows the true identity of each box (one-hot of the gt pid it overlaps most)."""

    def __init__(self, gt: np.ndarray, frames: dict[int, int]) -> None:
        self.gt, self.frames = gt, frames

    def get_features(self, boxes_xyxy, bgr_frame):
        rows = self.gt[self.gt[:, 0] == self.frames[id(bgr_frame)]]
        best = box_iou(np.asarray(boxes_xyxy)[:, :4], rows[:, 2:6]).argmax(axis=1)
        return np.eye(16, dtype=np.float32)[rows[best, 1].astype(int)] + 0.01


def _frames_with_ids(sequence: Path, seen: dict[int, int]):
    for number, frame in read_frames(sequence):
        seen[id(frame)] = number
        yield number, frame


def test_botsort_runs_offline_with_the_finereid_model(checkpoint, sequence, offline, record_property, capsys):
    from boxmot import BotSort

    gt = read_mot_file(sequence / "gt" / "gt.txt")[:, :6]
    detections = read_mot_file(sequence / "det" / "det.txt")
    reid = _Counting(Embedder.load(checkpoint))
    scores = {}
    for label, tracker in (
        ("finereid", BotSort(reid_model=reid, **OPTIONS)),
        ("none", BotSort(use_embeddings=False, **OPTIONS)),
    ):
        tracks = run_tracker(tracker, read_frames(sequence), detections)
        assert len(tracks) > 0.5 * len(detections) and set(np.unique(tracks[:, 0])) <= set(gt[:, 0])
        scores[label] = tracking_metrics(gt, tracks)
    assert reid.calls >= 0.5 * len(detections)  # the tracker did use the finereid model
    seen: dict[int, int] = {}
    oracle = run_tracker(
        BotSort(reid_model=_Oracle(gt, seen), **OPTIONS), _frames_with_ids(sequence, seen), detections
    )
    scores["oracle"] = tracking_metrics(gt, oracle)
    assert scores["oracle"]["idf1"] >= scores["none"]["idf1"]  # appearance is wired into the association
    for label, s in scores.items():
        assert 0.0 <= s["idf1"] <= 1.0 and s["id_switches"] >= 0
        record_property(f"{label}_idf1", round(s["idf1"], 4))
        record_property(f"{label}_id_switches", s["id_switches"])
    summary = "; ".join(
        f"{k}: IDF1 {100 * v['idf1']:.1f} %, {v['id_switches']} ID switches" for k, v in scores.items()
    )
    with capsys.disabled():
        print(f"\nBotSort on the synthetic sequence (untrained test model): {summary}")


def test_track_command_scores_both_runs(checkpoint, tmp_path, offline, capsys):
    seq = tmp_path / "SEQ"
    args = ["track", "--model", str(checkpoint), "--sequence", str(seq), "--synthetic", "--people", "3"]
    assert main([*args, "--frames", "20", "--option", "use_cmc=false"]) == 0
    out = capsys.readouterr().out
    assert "finereid appearance: IDF1" in out and "no appearance: IDF1" in out
    scores = json.loads((seq / "tracking_scores.json").read_text())
    assert set(scores) == {"finereid appearance", "no appearance"}
    assert len(read_mot_file(seq / "tracks_finereid.txt")) > 0
    assert main(["track", "--model", str(checkpoint), "--sequence", str(seq), "--option", "nonsense=1"]) == 2
    assert "refused the options" in capsys.readouterr().err
