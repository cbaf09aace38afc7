"""Losses by name: the FDP loss, the metric losses it is compared to, and the identity loss.

Metric losses are called as `loss(features, labels)`, identity losses as `loss(logits, labels)`;
`METRIC_LOSSES` / `IDENTITY_LOSSES` tell the engine which is which.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch

from finereid.errors import ConfigError, unknown_name_error
from finereid.losses.center import CenterLoss
from finereid.losses.checks import PML_LOSS_KWARGS
from finereid.losses.cross_entropy import CrossEntropyLabelSmooth
from finereid.losses.distances import ClampedL2Distance
from finereid.losses.fdp import FDPLoss
from finereid.losses.pml import (
    CrossBatchMemory,
    PMLMetricLoss,
    circle,
    contrastive,
    lifted,
    multi_similarity,
    supcon,
)
from finereid.losses.triplet import triplet, triplet_soft

LOSSES: dict[str, Callable[..., torch.nn.Module]] = {
    "fdp": FDPLoss,
    "triplet": triplet,
    "triplet_soft": triplet_soft,
    "contrastive": contrastive,
    "multi_similarity": multi_similarity,
    "circle": circle,
    "lifted": lifted,
    "supcon": supcon,
    "center": CenterLoss,  # needs num_classes=, feat_dim=; has parameters (its own optimizer group)
    "cross_entropy": CrossEntropyLabelSmooth,  # needs num_classes=; takes logits
}

# Which input each loss takes: features (embeddings) or classifier logits.
METRIC_LOSSES = frozenset(
    {"fdp", "triplet", "triplet_soft", "contrastive", "multi_similarity", "circle", "lifted", "supcon"}
    | {"center"}
)
IDENTITY_LOSSES = frozenset({"cross_entropy"})


def build_loss(name: str, **kwargs) -> torch.nn.Module:
    """Build the loss registered as `name`; unknown names or arguments raise a one-line ConfigError."""
    if name not in LOSSES:
        raise unknown_name_error("loss", name, LOSSES)
    builder = LOSSES[name]
    _check_arguments(name, builder, kwargs)
    return builder(**kwargs)


def _check_arguments(name: str, builder: Callable[..., torch.nn.Module], kwargs: dict) -> None:
    """Compare kwargs with the builder's signature (plus PML's base arguments where it forwards **kwargs)."""
    params = inspect.signature(builder).parameters.values()
    named = {p.name: p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    allowed = set(named)
    if any(p.kind == p.VAR_KEYWORD for p in params):
        allowed |= PML_LOSS_KWARGS
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        valid = ", ".join(sorted(allowed))
        raise ConfigError(f"loss {name!r}: unknown argument {unknown[0]!r}; valid: {valid}")
    missing = [n for n, p in named.items() if p.default is p.empty and n not in kwargs]
    if missing:
        raise ConfigError(f"loss {name!r}: missing required argument {missing[0]!r}")


__all__ = [
    "IDENTITY_LOSSES",
    "LOSSES",
    "METRIC_LOSSES",
    "CenterLoss",
    "ClampedL2Distance",
    "CrossBatchMemory",
    "CrossEntropyLabelSmooth",
    "FDPLoss",
    "PMLMetricLoss",
    "build_loss",
]
