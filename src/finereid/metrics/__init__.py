"""ReID evaluation: distance matrices, CMC / mAP / mINP under the standard protocols, k-reciprocal re-ranking.

Pure functions, numpy or torch in, on any device:

- `compute_distmat(query_feats, gallery_feats, distance)`: (Q, G) euclidean (plain L2) or cosine distances;
- `evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank, protocol)`: a `RankResult`;
- `evaluate_features(query_feats, gallery_feats, ...)`: the same, chunked, never holding (Q, G);
  with `rerank=True`, of the k-reciprocal re-ranked distances, still never holding (Q, G);
- either with `top_k=K`: also every query's ranked list (`RankResult.ranked`, a `RankedLists`);
- `smallest_k(dist, k)`: exact top-k per row with finereid's one tie rule (distance, then gallery index);
- `re_ranking(q_g_dist, q_q_dist, g_g_dist, k1, k2, lambda_value)`: re-ranked (Q, G) distances;
- `re_ranking_features(query_feats, gallery_feats, k1, k2, lambda_value, distance)`: the same from
  features, never holding an (N, N) matrix;
- `re_ranking_chunks(...)`: those re-ranked rows a query chunk at a time, never holding (Q, G);
- `evaluate_verification(query_feats, gallery_feats, ...)`: "same person?" over every cross-camera pair:
  ROC, TPR at FPR 1e-2/1e-3/1e-4, EER, distance histograms (a `VerificationResult`), chunked; also
  `evaluate_features(..., verification=True)` (`RankResult.verification`).
"""

from __future__ import annotations

from finereid.metrics.distance import DISTANCES, build_distance, compute_distmat
from finereid.metrics.features import evaluate_features, evaluate_verification
from finereid.metrics.rank import PROTOCOLS, SCORE_KEYS, RankEvaluator, RankResult, evaluate_rank
from finereid.metrics.ranked import RankedLists
from finereid.metrics.rerank import re_ranking
from finereid.metrics.rerank_features import re_ranking_chunks, re_ranking_features
from finereid.metrics.topk import lexsort_rows, smallest_k
from finereid.metrics.verification import FPR_POINTS, VerificationResult

__all__ = [
    "DISTANCES",
    "FPR_POINTS",
    "PROTOCOLS",
    "SCORE_KEYS",
    "RankEvaluator",
    "RankResult",
    "RankedLists",
    "VerificationResult",
    "build_distance",
    "compute_distmat",
    "evaluate_features",
    "evaluate_rank",
    "evaluate_verification",
    "lexsort_rows",
    "re_ranking",
    "re_ranking_chunks",
    "re_ranking_features",
    "smallest_k",
]
