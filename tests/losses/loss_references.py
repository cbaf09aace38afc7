"""Slow loop references for the losses, written straight from the formulas (docs/fdp-loss.md, RSB)."""

from __future__ import annotations

import torch

EPS = 1e-12  # the clamp before the sqrt, as in the spec and the strong baseline's euclidean_dist


def unit(x: torch.Tensor) -> torch.Tensor:
    """One vector divided by its L2 norm (norm floored at 1e-12 like F.normalize)."""
    return x / torch.clamp(torch.sqrt((x * x).sum()), min=1e-12)


def dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distance of two vectors, squared distance clamped at EPS before the sqrt."""
    return torch.sqrt(torch.clamp(((a - b) ** 2).sum(), min=EPS))


def fdp_reference(
    features,
    labels,
    *,
    margin=1.0,
    beta=10.0,
    sigma=0.5,
    negative="exp",
    positive="bounded",
    normalize=True,
    adaptive_sigma=False,
    ref=None,
    ref_labels=None,
    pairs=None,
):
    """FDP loss by explicit loops over anchors and pairs.

    `ref`/`ref_labels`: candidates come from another set (no self-pair exclusion, like PML's ref_emb).
    `pairs`: (anchor, positive, anchor, negative) index lists; only those pairs count (like a miner).
    """
    same_set = ref is None
    ref = features if ref is None else ref
    ref_labels = labels if ref_labels is None else ref_labels
    prep = unit if normalize else (lambda v: v)
    anchors = [prep(features[i]) for i in range(len(features))]
    cands = [prep(ref[j]) for j in range(len(ref))]
    anchor_losses = []
    for i in range(len(features)):
        if pairs is None:
            P = [j for j in range(len(ref)) if ref_labels[j] == labels[i] and not (same_set and j == i)]
            N = [k for k in range(len(ref)) if ref_labels[k] != labels[i]]
        else:
            a1, p, a2, n = (list(map(int, t)) for t in pairs)
            P = sorted({pj for aj, pj in zip(a1, p, strict=True) if aj == i})
            N = sorted({nk for ak, nk in zip(a2, n, strict=True) if ak == i})
        if not P or not N:
            continue
        d_pos = [dist(anchors[i], cands[j]) for j in P]
        d_neg = [dist(anchors[i], cands[k]) for k in N]
        if positive == "bounded":
            s = (sum(d_pos) / len(d_pos)).detach() if adaptive_sigma else sigma
            pos_terms = [1 - torch.exp(-(d**2) / (2 * s**2)) for d in d_pos]
        elif positive == "linear":
            pos_terms = d_pos
        else:
            pos_terms = [d**2 for d in d_pos]
        if negative == "exp":
            neg_term = torch.log(1 + sum(torch.exp(beta * (margin - d)) for d in d_neg)) / beta
        else:
            neg_term = sum(torch.relu(margin - d) for d in d_neg) / len(d_neg)
        anchor_losses.append(sum(pos_terms) / len(pos_terms) + neg_term)
    if not anchor_losses:
        return (features * 0).sum()
    return sum(anchor_losses) / len(anchor_losses)


def batch_hard_reference(features, labels, margin=0.3, normalize=False, soft=False):
    """Strong-baseline batch-hard triplet: per anchor max d over positives, min d over negatives.

    Mean over every anchor that has a positive and a negative, zero-loss anchors included.
    """
    prep = unit if normalize else (lambda v: v)
    rows = [prep(features[i]) for i in range(len(features))]
    per_anchor = []
    for i in range(len(rows)):
        d_pos = [dist(rows[i], rows[j]) for j in range(len(rows)) if j != i and labels[j] == labels[i]]
        d_neg = [dist(rows[i], rows[k]) for k in range(len(rows)) if labels[k] != labels[i]]
        if not d_pos or not d_neg:
            continue
        gap = max(d_pos) - min(d_neg)
        per_anchor.append(torch.nn.functional.softplus(gap) if soft else torch.relu(gap + margin))
    return sum(per_anchor) / len(per_anchor), per_anchor
