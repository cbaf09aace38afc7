"""Hand a finereid model to a multi-object tracker, and run a tracker over a MOT-layout sequence.

`TrackerReID` is what BoxMOT's trackers take as `reid_model=`: any object with
`get_features(boxes_xyxy, bgr_frame) -> [N, D]`. It wraps an `Embedder`, so a checkpoint, TorchScript,
ONNX or OpenVINO file all work, with finereid's own preprocessing (the model's input size and
normalization from its metadata). This module does not import BoxMOT: `finereid track` builds the
tracker, `run_tracker` drives any tracker with BoxMOT's `update(detections, frame)` interface.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from finereid.deploy.embedder import Embedder
from finereid.errors import DatasetError

log = logging.getLogger(__name__)


class TrackerReID:
    """A tracker's appearance model: `get_features(boxes [N, 4] x1 y1 x2 y2, bgr_frame) -> [N, D]`."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    @classmethod
    def load(
        cls, path: str | Path, device: str | torch.device = "cpu", *, half: bool = False, batch_size: int = 64
    ) -> TrackerReID:
        """From a checkpoint or an exported file, as `Embedder.load`."""
        return cls(Embedder.load(path, device, half=half, batch_size=batch_size))

    def get_features(self, boxes_xyxy: Any, bgr_frame: np.ndarray) -> np.ndarray:
        """Embeddings of the boxes' crops of an OpenCV (BGR) frame; boxes are clipped to the frame."""
        boxes = np.asarray(boxes_xyxy, dtype=np.float64)
        if boxes.ndim == 2 and boxes.shape[1] > 4:
            boxes = boxes[:, :4]  # detections with score / class columns
        return self.embedder.embed_crops(bgr_frame, boxes, channels="bgr")


def read_mot_file(path: str | Path) -> np.ndarray:
    """MOT Challenge gt.txt / det.txt rows as [N, 7]: frame, id, x1, y1, x2, y2, confidence."""
    path = Path(path)
    try:
        raw = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read MOT file {path}: {exc}") from None
    if raw.size == 0:
        return np.zeros((0, 7))
    if raw.shape[1] < 7:
        raise DatasetError(
            f"{path}: MOT rows need frame, id, x, y, w, h, confidence; got {raw.shape[1]} columns"
        )
    frame, ident, x, y, w, h, conf = (raw[:, k] for k in range(7))
    return np.stack([frame, ident, x, y, x + w, y + h, conf], axis=1)


def read_frames(sequence: str | Path) -> Iterator[tuple[int, np.ndarray]]:
    """(frame number, BGR uint8 frame) of SEQ/img1/NNNNNN.jpg in order (frames are numbered from 1)."""
    folder = Path(sequence) / "img1"
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise DatasetError(f"no frames (img1/*.jpg) in {sequence}")
    for path in files:
        try:
            with Image.open(path) as image:
                rgb = np.asarray(image.convert("RGB"))
        except OSError as exc:
            raise DatasetError(f"cannot read frame {path}: {exc}") from None
        yield int(path.stem), np.ascontiguousarray(rgb[:, :, ::-1])


def run_tracker(tracker: Any, frames: Iterator[tuple[int, np.ndarray]], detections: np.ndarray) -> np.ndarray:
    """Feed each frame's MOT detection rows to `tracker.update`; returns (frame, id, x1, y1, x2, y2) rows."""
    rows = []
    for number, frame in frames:
        dets = detections[detections[:, 0] == number]
        boxes = np.concatenate([dets[:, 2:7], np.zeros((len(dets), 1))], axis=1).astype(np.float32)  # class 0
        for track in np.asarray(tracker.update(boxes, frame)).reshape(-1, 8):  # x1 y1 x2 y2 id conf cls det
            rows.append([number, track[4], *track[:4]])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 6)


def write_mot_file(path: str | Path, tracks: np.ndarray) -> Path:
    """Tracks (frame, id, x1, y1, x2, y2) in the MOT Challenge result format."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{int(f)},{int(i)},{x1:.1f},{y1:.1f},{x2 - x1:.1f},{y2 - y1:.1f},1,-1,-1,-1"
        for f, i, x1, y1, x2, y2 in tracks.tolist()
    ]
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return path
