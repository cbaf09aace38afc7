"""Verification metrics: "same person or not?" over all cross-camera query-gallery pairs, in bounded memory.

Every (query, gallery) pair taken by different cameras is one trial; it is genuine when both images show
the same pid, an impostor otherwise (distractors included). Pairs from the same camera are left out, as
the ranking protocol leaves out same-pid-same-camera junk. Distances are computed a query chunk at a time
and only counted into two fine histograms (`NUM_BINS` bins from 0 to an upper bound every distance
respects), so memory does not grow with Q x G. A pair is accepted ("same") when its distance is below the
threshold; thresholds are bin edges, so every ROC point is exact for its threshold and thresholds have a
resolution of (upper bound) / NUM_BINS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from finereid.errors import ConfigError
from finereid.metrics.checks import as_ids

NUM_BINS = 1 << 16
FPR_POINTS = (1e-2, 1e-3, 1e-4)  # the false-positive rates every summary reports TPR at
ROC_POINTS = 120  # points of the stored ROC curve (log-spaced in FPR)
HISTOGRAM_BINS = 60  # bins of the stored genuine/impostor histograms
_BLOCK = 1 << 20  # pair distances binned at a time (bounds the temporary index tensor)


@dataclass(frozen=True)
class VerificationResult:
    """Genuine and impostor pair counts per distance bin; `edges` has NUM_BINS + 1 thresholds."""

    edges: np.ndarray
    genuine: np.ndarray
    impostor: np.ndarray
    distance: str

    @property
    def num_genuine(self) -> int:
        """Number of genuine (same pid, different camera) pairs."""
        return int(self.genuine.sum())

    @property
    def num_impostor(self) -> int:
        """Number of impostor (different pid, different camera) pairs."""
        return int(self.impostor.sum())

    def roc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(FPR, TPR, threshold) at every bin edge, thresholds ascending: pairs below it are accepted."""
        zero = np.zeros(1, dtype=np.int64)
        tpr = np.concatenate([zero, np.cumsum(self.genuine)]) / max(1, self.num_genuine)
        fpr = np.concatenate([zero, np.cumsum(self.impostor)]) / max(1, self.num_impostor)
        return fpr, tpr, self.edges

    def at_fpr(self, fpr: float) -> tuple[float, float, float]:
        """(TPR, achieved FPR, threshold) of the largest threshold whose FPR is at most `fpr`."""
        if not 0.0 < fpr < 1.0:
            raise ConfigError(f"a false-positive rate must be in (0, 1), got {fpr!r}")
        fprs, tprs, edges = self.roc()
        b = int(np.searchsorted(fprs, fpr, side="right")) - 1
        return float(tprs[b]), float(fprs[b]), float(edges[b])

    def eer(self) -> tuple[float, float]:
        """(equal error rate, its threshold): where FPR = 1 - TPR, linearly interpolated between edges."""
        fprs, tprs, edges = self.roc()
        gap = fprs - (1.0 - tprs)  # rises from -1 (threshold 0) to +1 (threshold past every pair)
        b = int(np.searchsorted(gap, 0.0, side="left"))
        if b == 0:
            return float(fprs[0]), float(edges[0])
        w = -gap[b - 1] / (gap[b] - gap[b - 1])
        return float(fprs[b - 1] + w * (fprs[b] - fprs[b - 1])), float(
            edges[b - 1] + w * (edges[b] - edges[b - 1])
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary: TPR and threshold at FPR_POINTS, EER, a ROC curve and coarse histograms."""
        points = {f"{f:g}": self.at_fpr(f) for f in FPR_POINTS}
        eer, eer_threshold = self.eer()
        return {
            "distance": self.distance,
            "num_genuine": self.num_genuine,
            "num_impostor": self.num_impostor,
            "tpr_at_fpr": {k: v[0] for k, v in points.items()},
            "threshold_at_fpr": {k: v[2] for k, v in points.items()},
            "eer": eer,
            "eer_threshold": eer_threshold,
            "roc": self._roc_curve(),
            "histogram": self._coarse_histogram(),
        }

    def _roc_curve(self) -> dict[str, list[float]]:
        """ROC_POINTS points, log-spaced in FPR from one impostor pair to all of them."""
        low = 1.0 / max(1, self.num_impostor)
        targets = np.unique(np.concatenate([np.geomspace(low, 1.0, ROC_POINTS - 1), [1.0 - 1e-12]]))
        fprs, tprs, _ = self.roc()
        picks = np.searchsorted(fprs, targets, side="right") - 1
        picks = np.unique(np.concatenate([[0], picks, [len(fprs) - 1]]))
        return {"fpr": fprs[picks].tolist(), "tpr": tprs[picks].tolist()}

    def _coarse_histogram(self) -> dict[str, list[float]]:
        """Counts in HISTOGRAM_BINS equal bins from 0 to the largest distance seen."""
        used = np.flatnonzero(self.genuine + self.impostor)
        last = int(used[-1]) + 1 if used.size else 1
        step = -(-last // HISTOGRAM_BINS)
        groups = np.arange(last) // step
        genuine = np.bincount(groups, weights=self.genuine[:last], minlength=groups[-1] + 1)
        impostor = np.bincount(groups, weights=self.impostor[:last], minlength=groups[-1] + 1)
        edges = self.edges[np.minimum(np.arange(len(genuine) + 1) * step, len(self.edges) - 1)]
        return {"edges": edges.tolist(), "genuine": genuine.tolist(), "impostor": impostor.tolist()}


class VerificationCounter:
    """Counts genuine and impostor cross-camera pairs per distance bin over successive query chunks."""

    def __init__(self, g_pids: torch.Tensor, g_camids: torch.Tensor, upper: float, distance: str) -> None:
        self.g_pids, self.g_camids = g_pids, g_camids
        self.upper = float(upper) if upper > 0 else 1.0
        self.distance = distance
        self.counts = torch.zeros(2 * NUM_BINS + 1, dtype=torch.int64, device=g_pids.device)

    def add(self, dist: torch.Tensor, q_pids: torch.Tensor, q_camids: torch.Tensor) -> None:
        """Count a chunk: `dist` (c, num_gallery), int64 pids and camids of its c queries."""
        rows = max(1, _BLOCK // max(1, dist.shape[1]))
        scale = NUM_BINS / self.upper
        for start in range(0, dist.shape[0], rows):
            part = slice(start, start + rows)
            index = (dist[part].float() * scale).to(torch.int64).clamp_(0, NUM_BINS - 1)
            genuine = q_pids[part, None] == self.g_pids[None, :]
            index += genuine.to(torch.int64) * NUM_BINS
            index.masked_fill_(q_camids[part, None] == self.g_camids[None, :], 2 * NUM_BINS)
            self.counts += torch.bincount(index.flatten(), minlength=2 * NUM_BINS + 1)

    def result(self) -> VerificationResult:
        """The histograms; no genuine or no impostor pair at all is an error."""
        counts = self.counts.cpu().numpy()
        impostor, genuine = counts[:NUM_BINS], counts[NUM_BINS : 2 * NUM_BINS]
        if genuine.sum() == 0 or impostor.sum() == 0:
            raise ConfigError(
                f"verification needs genuine and impostor cross-camera pairs; got {int(genuine.sum())} "
                f"genuine and {int(impostor.sum())} impostor pairs"
            )
        edges = np.linspace(0.0, self.upper, NUM_BINS + 1)
        return VerificationResult(edges, genuine.copy(), impostor.copy(), self.distance)


def distance_bound(query: torch.Tensor, gallery: torch.Tensor, distance: str) -> float:
    """An upper bound of every query-gallery distance: 2 for cosine, max |q| + max |g| for euclidean."""
    if distance == "cosine":
        return 2.0
    norm = lambda x: float(x.float().norm(dim=1).max()) if x.shape[0] else 0.0  # noqa: E731
    return (norm(query) + norm(gallery)) * (1 + 1e-6)


def verification_counter(
    query: torch.Tensor, gallery: torch.Tensor, g_pids: torch.Tensor, g_camids: Any, distance: str
) -> VerificationCounter:
    """A counter for prepared query/gallery features (see `prepare_features`) and int64 gallery pids."""
    g_camids = as_ids(g_camids, "g_camids", gallery.shape[0], gallery.device, "gallery features")
    return VerificationCounter(g_pids, g_camids, distance_bound(query, gallery, distance), distance)
