"""Multi-object tracking scores of tracker output against ground truth: IDF1, ID switches, MOTA.

Boxes are rows (frame, id, x1, y1, x2, y2); a hypothesis box covers a ground-truth box when their IoU is
at least `iou_threshold` (0.5, the MOT Challenge's). Definitions follow the MOT Challenge:

- IDF1 (Ristani et al. 2016): ground-truth and hypothesis identities are matched one-to-one over the
  whole sequence to maximise the frames they cover together (IDTP); IDF1 = 2 IDTP / (GT boxes + hyp boxes).
- ID switches and MOTA (CLEAR MOT, Bernardin & Stiefelhagen 2008): frame by frame, a ground-truth box
  keeps last frame's hypothesis when it still covers it, the rest are matched by IoU (Hungarian); an ID
  switch is a ground-truth identity matched to another hypothesis than the one it last had.
  MOTA = 1 - (misses + false positives + ID switches) / GT boxes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from finereid.errors import ConfigError, FinereidError


def _assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost one-to-one assignment (scipy's Hungarian solver)."""
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        raise FinereidError("tracking scores need scipy: pip install 'finereid[boxmot]'") from None
    return linear_sum_assignment(cost)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix [len(a), len(b)] of x1 y1 x2 y2 boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area = lambda x: np.clip(x[:, 2:] - x[:, :2], 0, None).prod(axis=1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _rows(boxes: Any, name: str) -> np.ndarray:
    array = np.asarray(boxes, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 6))
    if array.ndim != 2 or array.shape[1] != 6 or not np.isfinite(array).all():
        raise ConfigError(f"{name} must be finite rows of (frame, id, x1, y1, x2, y2), got {array.shape}")
    return array


def tracking_metrics(ground_truth: Any, hypothesis: Any, iou_threshold: float = 0.5) -> dict[str, Any]:
    """IDF1, ID switches, MOTA and their counts for a sequence (see the module docstring)."""
    gt, hyp = _rows(ground_truth, "ground_truth"), _rows(hypothesis, "hypothesis")
    if len(gt) == 0:
        raise ConfigError("ground_truth has no boxes")
    gt_ids, gt_index = np.unique(gt[:, 1], return_inverse=True)
    hyp_ids, hyp_index = np.unique(hyp[:, 1], return_inverse=True)
    together = np.zeros((len(gt_ids), len(hyp_ids)), dtype=np.int64)  # frames in which each pair overlaps
    last: dict[int, int] = {}
    switches = matches = 0
    for frame in np.unique(np.concatenate([gt[:, 0], hyp[:, 0]])):
        g, h = np.flatnonzero(gt[:, 0] == frame), np.flatnonzero(hyp[:, 0] == frame)
        iou = box_iou(gt[g, 2:], hyp[h, 2:])
        covered = iou >= iou_threshold
        for i, j in zip(*np.nonzero(covered), strict=True):
            together[gt_index[g[i]], hyp_index[h[j]]] += 1
        for i, j in _frame_matches(iou, covered, gt_index[g], hyp_index[h], last):
            gid, hid = int(gt_index[g[i]]), int(hyp_index[h[j]])
            switches += int(gid in last and last[gid] != hid)
            last[gid] = hid
            matches += 1
    rows, cols = _assignment(-together)
    idtp = int(together[rows, cols].sum())
    misses, false_positives = len(gt) - matches, len(hyp) - matches
    return {
        "idf1": 2 * idtp / (len(gt) + len(hyp)),
        "id_switches": switches,
        "mota": 1 - (misses + false_positives + switches) / len(gt),
        "num_gt_boxes": len(gt),
        "num_hypothesis_boxes": len(hyp),
        "num_gt_ids": len(gt_ids),
        "num_hypothesis_ids": len(hyp_ids),
        "misses": misses,
        "false_positives": false_positives,
        "iou_threshold": iou_threshold,
    }


def _frame_matches(
    iou: np.ndarray, covered: np.ndarray, gids: np.ndarray, hids: np.ndarray, last: dict[int, int]
) -> list[tuple[int, int]]:
    """CLEAR MOT matching of one frame: keep last frame's pairs that still overlap, Hungarian for the rest."""
    kept = [
        (i, j) for i, j in zip(*np.nonzero(covered), strict=True) if last.get(int(gids[i])) == int(hids[j])
    ]
    free_g = [i for i in range(len(gids)) if i not in {k[0] for k in kept}]
    free_h = [j for j in range(len(hids)) if j not in {k[1] for k in kept}]
    if not free_g or not free_h:
        return kept
    sub = covered[np.ix_(free_g, free_h)]
    cost = np.where(sub, 1.0 - iou[np.ix_(free_g, free_h)], 2.0)
    rows, cols = _assignment(cost)
    return kept + [(free_g[r], free_h[c]) for r, c in zip(rows, cols, strict=True) if sub[r, c]]
