"""The competitor metric losses from pytorch-metric-learning, wrapped as `loss(features, labels)`.

Defaults follow ReID practice; where they differ from PML's the builder's docstring says why.
"""

from __future__ import annotations

import torch
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import miners as pml_miners
from pytorch_metric_learning.losses import BaseMetricLossFunction
from pytorch_metric_learning.miners import BaseMiner

from finereid.losses.checks import PML_LOSS_KWARGS, as_float, check_kwargs, check_rows_and_labels


class PMLMetricLoss(torch.nn.Module):
    """A PML loss, and the miner that picks its pairs or triplets, called as `loss(features, labels)`."""

    def __init__(self, name: str, loss: BaseMetricLossFunction, miner: BaseMiner | None = None) -> None:
        super().__init__()
        self.name = name
        self.loss = loss
        self.miner = miner

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Scalar loss of a batch; malformed inputs raise a one-line ConfigError."""
        check_rows_and_labels(f"{self.name} loss", features, labels)
        indices_tuple = None if self.miner is None else self.miner(features, labels)
        return self.loss(features, labels, indices_tuple)

    def extra_repr(self) -> str:
        """The registry name, next to the wrapped PML modules in print(loss)."""
        return f"name={self.name!r}"


class CrossBatchMemory(pml_losses.CrossBatchMemory):
    """PML's CrossBatchMemory that also accepts FDPLoss (PML checks losses against a fixed list of names)."""

    @staticmethod
    def supported_losses() -> list[str]:
        """PML's list plus FDPLoss, whose pair masks come from indices_tuple like the listed pair losses."""
        return [*pml_losses.CrossBatchMemory.supported_losses(), "FDPLoss"]


def contrastive(pos_margin: float = 0.0, neg_margin: float = 1.0, **pml_kwargs) -> PMLMetricLoss:
    """Contrastive loss on L2-normalized features; PML's defaults (negative margin 1.0, FDP's margin)."""
    _check("contrastive", pml_kwargs, "pos_margin", "neg_margin")
    pos_margin = as_float("contrastive loss", "pos_margin", pos_margin, low=0.0)
    neg_margin = as_float("contrastive loss", "neg_margin", neg_margin, low=0.0)
    loss = pml_losses.ContrastiveLoss(pos_margin=pos_margin, neg_margin=neg_margin, **pml_kwargs)
    return PMLMetricLoss("contrastive", loss)


def multi_similarity(
    alpha: float = 2.0, beta: float = 50.0, base: float = 0.5, miner_epsilon: float | None = 0.1, **pml_kwargs
) -> PMLMetricLoss:
    """Multi-similarity loss with the paper's pair mining (MultiSimilarityMiner, epsilon 0.1).

    Changed from PML: the mining step is on by default because it is half of the published method;
    `miner_epsilon=None` gives PML's bare loss on all pairs. alpha/beta/base are PML's (the paper's).
    """
    _check("multi_similarity", pml_kwargs, "alpha", "beta", "base", "miner_epsilon")
    owner = "multi_similarity loss"
    loss = pml_losses.MultiSimilarityLoss(
        alpha=as_float(owner, "alpha", alpha, low=0.0, strict=True),
        beta=as_float(owner, "beta", beta, low=0.0, strict=True),
        base=as_float(owner, "base", base),
        **pml_kwargs,
    )
    miner = None
    if miner_epsilon is not None:
        epsilon = as_float(owner, "miner_epsilon", miner_epsilon, low=0.0)
        miner = pml_miners.MultiSimilarityMiner(epsilon=epsilon)
    return PMLMetricLoss("multi_similarity", loss, miner)


def circle(m: float = 0.25, gamma: float = 128.0, **pml_kwargs) -> PMLMetricLoss:
    """Circle loss with the paper's person-ReID setting m=0.25, gamma=128.

    Changed from PML, whose m=0.4, gamma=80 is the paper's fine-grained image retrieval setting.
    """
    _check("circle", pml_kwargs, "m", "gamma")
    loss = pml_losses.CircleLoss(
        m=as_float("circle loss", "m", m, low=0.0),
        gamma=as_float("circle loss", "gamma", gamma, low=0.0, strict=True),
        **pml_kwargs,
    )
    return PMLMetricLoss("circle", loss)


def lifted(pos_margin: float = 0.0, neg_margin: float = 1.0, **pml_kwargs) -> PMLMetricLoss:
    """Generalized lifted structure loss, the form the ReID triplet study (Hermans et al. 2017) compares.

    PML's GeneralizedLiftedStructureLoss with its defaults: a soft maximum over all positives and
    all negatives of each anchor, instead of the original per-positive-pair form.
    """
    _check("lifted", pml_kwargs, "pos_margin", "neg_margin")
    loss = pml_losses.GeneralizedLiftedStructureLoss(
        pos_margin=as_float("lifted loss", "pos_margin", pos_margin),
        neg_margin=as_float("lifted loss", "neg_margin", neg_margin),
        **pml_kwargs,
    )
    return PMLMetricLoss("lifted", loss)


def supcon(temperature: float = 0.1, **pml_kwargs) -> PMLMetricLoss:
    """Supervised contrastive loss on cosine similarity; PML's (the paper's) temperature 0.1."""
    _check("supcon", pml_kwargs, "temperature")
    temperature = as_float("supcon loss", "temperature", temperature, low=0.0, strict=True)
    return PMLMetricLoss("supcon", pml_losses.SupConLoss(temperature=temperature, **pml_kwargs))


def _check(name: str, pml_kwargs: dict, *own: str) -> None:
    """Only PML's base-class arguments may pass through to the wrapped loss; errors list all valid ones."""
    check_kwargs(f"{name} loss", pml_kwargs, PML_LOSS_KWARGS.union(own))
