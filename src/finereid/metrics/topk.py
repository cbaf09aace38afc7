"""Exact k smallest distances per row with one tie rule: by distance, then by gallery index.

Shared by the ranked lists of an evaluation (`RankEvaluator(top_k=...)`) and by gallery search
(`finereid.deploy.search`), so a report and a search order tied items the same way.
"""

from __future__ import annotations

import torch


def lexsort_rows(dist: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sort each row by (distance, gallery index): the tie rule of every ranked list in finereid."""
    order = torch.argsort(index, dim=1, stable=True)
    dist, index = dist.gather(1, order), index.gather(1, order)
    order = torch.argsort(dist, dim=1, stable=True)
    return dist.gather(1, order), index.gather(1, order)


def smallest_k(dist: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k smallest entries of each row and their columns; a tie across the k-th place keeps low columns.

    `dist` is [rows, columns] with columns in gallery order; k <= columns. torch.topk alone picks tied
    entries arbitrarily, so rows where a tie straddles the k-th value are resolved by column order.
    """
    values, cols = torch.topk(dist, k, dim=1, largest=False, sorted=True)
    kth = values[:, -1:]
    straddle = (dist <= kth).sum(1) > k
    if bool(straddle.any()):
        rows = straddle.nonzero().squeeze(1)
        sub, t = dist[rows], kth[rows]
        less = sub < t
        equal = sub == t
        need = k - less.sum(1, keepdim=True)
        keep = less | (equal & (equal.cumsum(1) <= need))
        cols[rows] = keep.nonzero()[:, 1].view(len(rows), k)
        values[rows] = sub.gather(1, cols[rows])
    return lexsort_rows(values, cols)
