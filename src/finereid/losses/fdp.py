"""The fine-grained difference-aware pairwise (FDP) loss, as a pytorch-metric-learning loss."""

from __future__ import annotations

import torch
from pytorch_metric_learning.distances import BaseDistance
from pytorch_metric_learning.losses import GenericPairLoss
from pytorch_metric_learning.reducers import MeanReducer
from pytorch_metric_learning.utils import common_functions as c_f
from pytorch_metric_learning.utils import loss_and_miner_utils as lmu

from finereid.errors import ConfigError
from finereid.losses.checks import (
    PML_LOSS_KWARGS,
    as_bool,
    as_choice,
    as_float,
    check_kwargs,
    check_rows_and_labels,
)
from finereid.losses.distances import ClampedL2Distance, self_distance

NEGATIVE_TERMS = ("exp", "hinge")
POSITIVE_TERMS = ("bounded", "linear", "squared")
FDP_KNOBS = ("margin", "beta", "sigma", "negative", "positive", "normalize", "adaptive_sigma")


class FDPLoss(GenericPairLoss):
    """Every pair counts: far positives get a bounded penalty, near negatives an exponential one.

    Per anchor i with positives P_i and negatives N_i (distances d = ||g_i - g_j||, g = f/||f||):
        L_i = mean_{j in P_i} rho(d_ij) + (1/beta) log(1 + sum_{k in N_i} exp(beta (margin - d_ik)))
        rho(d) = 1 - exp(-d^2 / (2 sigma^2))
    and the loss is the mean of L_i over anchors with at least one positive and one negative.
    `negative="hinge"` swaps the log-sum-exp for mean(max(0, margin - d)); `positive="linear"` /
    `"squared"` swap rho(d) for d / d^2; `adaptive_sigma` uses, per anchor, the detached mean
    positive distance as sigma. Takes PML's distance=, reducer=, embedding_regularizer= (the distance
    must be a distance, not a similarity); call it as `loss(features, labels)`.
    """

    def __init__(
        self,
        margin: float = 1.0,
        beta: float = 10.0,
        sigma: float = 0.5,
        negative: str = "exp",
        positive: str = "bounded",
        normalize: bool = True,
        adaptive_sigma: bool = False,
        **kwargs,
    ) -> None:
        owner = "FDPLoss"
        check_kwargs(owner, kwargs, PML_LOSS_KWARGS.union(FDP_KNOBS))
        normalize = as_bool(owner, "normalize", normalize)
        adaptive_sigma = as_bool(owner, "adaptive_sigma", adaptive_sigma)
        positive = as_choice(owner, "positive", positive, POSITIVE_TERMS)
        if adaptive_sigma and positive != "bounded":
            raise ConfigError(f"FDPLoss: adaptive_sigma only applies to positive='bounded', not {positive!r}")
        distance = _checked_distance(kwargs.pop("distance", None), normalize)
        super().__init__(mat_based_loss=True, distance=distance, **kwargs)
        self.margin = as_float(owner, "margin", margin, low=0.0)
        self.beta = as_float(owner, "beta", beta, low=0.0, strict=True)
        self.sigma = as_float(owner, "sigma", sigma, low=0.0, strict=True)
        self.negative = as_choice(owner, "negative", negative, NEGATIVE_TERMS)
        self.positive = positive
        self.normalize = normalize
        self.adaptive_sigma = adaptive_sigma
        self.add_to_recordable_attributes(list_of_names=["margin", "beta", "sigma"], is_stat=False)

    def forward(self, embeddings, labels=None, indices_tuple=None, ref_emb=None, ref_labels=None):
        """PML's forward (miners' indices_tuple, ref_emb/ref_labels), after one-line input checks.

        The common call, `loss(features, labels)` with the default distance, reducer and no
        regularizer, takes `_fast_forward`: the same operations without PML's generic machinery.
        """
        _check_inputs(embeddings, labels, indices_tuple, ref_emb, ref_labels)
        if self._takes_fast_path(labels, indices_tuple, ref_emb, ref_labels):
            return self._fast_forward(embeddings, labels)
        return super().forward(embeddings, labels, indices_tuple, ref_emb, ref_labels)

    def _takes_fast_path(self, labels, indices_tuple, ref_emb, ref_labels) -> bool:
        """Labels only, the default distance and mean reducer, no regularizer, PML statistics off."""
        return (
            labels is not None
            and indices_tuple is None
            and ref_emb is None
            and ref_labels is None
            and type(self.distance) is ClampedL2Distance
            and self.distance.power == 1
            and type(self.reducer) is MeanReducer
            and self.embedding_regularizer is None
            and not c_f.COLLECT_STATS
        )

    def _fast_forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The mean of L_i over valid anchors, computed on whole B x B masks (no anchor gather, no sync).

        Same masks and per-anchor terms as the generic path; the distances come from `self_distance`
        (one autograd node, one matrix product in backward), so float results agree to rounding.
        """
        labels = labels.to(embeddings.device)
        dist = self_distance(embeddings, self.distance.normalize_embeddings, self.distance.eps)
        same = labels.unsqueeze(1) == labels.unsqueeze(0)
        neg = ~same
        pos = same.fill_diagonal_(False)
        valid = pos.any(1) & neg.any(1)
        losses = self._positive_term(dist, pos) + self._negative_term(dist, neg)
        # invalid anchors' rows hold finite values (clamped counts); where() keeps them off the graph
        return torch.where(valid, losses, 0).sum() / valid.sum().clamp_min(1)

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        """GenericPairLoss.compute_loss without its '<= 1 pair -> zero' shortcut (that is a valid anchor).

        Without a miner the masks are PML's label comparison itself, skipping the index scatter.
        """
        c_f.labels_or_indices_tuple_required(labels, indices_tuple)
        mat = self.distance(embeddings, ref_emb)
        if indices_tuple is None:
            return self._compute_loss(mat, *lmu.get_matches_and_diffs(labels, ref_labels))
        return self.mat_based_loss(mat, lmu.convert_to_pairs(indices_tuple, labels, ref_labels))

    def _compute_loss(self, mat: torch.Tensor, pos_mask: torch.Tensor, neg_mask: torch.Tensor) -> dict:
        """Per-anchor losses of the anchors that have a positive and a negative ('element' reduction)."""
        pos, neg = pos_mask.bool(), neg_mask.bool()
        anchors = torch.nonzero(pos.any(1) & neg.any(1)).squeeze(1)
        if anchors.numel() == 0:
            return self.zero_losses()
        dist, pos, neg = mat[anchors], pos[anchors], neg[anchors]
        losses = self._positive_term(dist, pos) + self._negative_term(dist, neg)
        return {"loss": {"losses": losses, "indices": anchors, "reduction_type": "element"}}

    def _positive_term(self, dist: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Mean penalty over each anchor's positives: rho(d) (bounded), d (linear) or d^2 (squared)."""
        count = pos.sum(1).clamp_min(1)  # an anchor without positives is not a valid anchor: any value
        if self.positive == "bounded":
            sigma = self.sigma
            if self.adaptive_sigma:
                mean_dist = torch.where(pos, dist, 0).sum(1, keepdim=True) / count.unsqueeze(1)
                sigma = mean_dist.detach().clamp_min(torch.finfo(dist.dtype).eps)
            penalty = -torch.expm1(-dist.pow(2) / (2 * sigma**2))
        elif self.positive == "linear":
            penalty = dist
        else:
            penalty = dist.pow(2)
        return torch.where(pos, penalty, 0).sum(1) / count

    def _negative_term(self, dist: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """(1/beta) log(1 + sum exp(beta (m - d))) over negatives, or the mean hinge max(0, m - d)."""
        if self.negative == "exp":
            lse = lmu.logsumexp(self.beta * (self.margin - dist), keep_mask=neg, add_one=True, dim=1)
            return lse.squeeze(1) / self.beta
        return torch.where(neg, torch.relu(self.margin - dist), 0).sum(1) / neg.sum(1).clamp_min(1)

    def extra_repr(self) -> str:
        """The knobs, so print(loss) shows what is being trained."""
        return (
            f"margin={self.margin}, beta={self.beta}, sigma={self.sigma}, negative={self.negative!r}, "
            f"positive={self.positive!r}, normalize={self.normalize}, adaptive_sigma={self.adaptive_sigma}"
        )


def _checked_distance(distance: BaseDistance | None, normalize: bool) -> BaseDistance:
    """The clamped L2 distance by default; a given one must be a true distance agreeing with `normalize`."""
    if distance is None:
        return ClampedL2Distance(normalize_embeddings=normalize)
    if not isinstance(distance, BaseDistance):
        raise ConfigError(f"FDPLoss: distance must be a PML distance object, got {type(distance).__name__}")
    if distance.is_inverted:
        name = type(distance).__name__
        raise ConfigError(f"FDPLoss: {name} is a similarity (larger = closer); FDP needs a distance")
    if distance.normalize_embeddings != normalize:
        raise ConfigError(
            f"FDPLoss: normalize={normalize} but the given distance has "
            f"normalize_embeddings={distance.normalize_embeddings}; make them agree"
        )
    return distance


def _check_inputs(embeddings, labels, indices_tuple, ref_emb, ref_labels) -> None:
    """One-line ConfigErrors for malformed features/labels instead of PML's asserts deep inside."""
    if labels is None and indices_tuple is None:
        raise ConfigError("FDPLoss: pass labels (or a miner's indices_tuple)")
    check_rows_and_labels("FDPLoss", embeddings, ... if labels is None else labels)
    if ref_emb is not None:
        if ref_labels is None:  # PML then gives ref_emb's rows the batch's labels (a miner's pairs need none)
            ref_labels = labels if indices_tuple is None else ...
        check_rows_and_labels("FDPLoss", ref_emb, ref_labels, what="ref_emb", width=embeddings.shape[1])
