"""Argument and input checks shared by the losses, so bad values fail as one-line ConfigErrors."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import torch

from finereid.errors import ConfigError

# Keyword arguments every pytorch-metric-learning loss takes through its base classes.
PML_LOSS_KWARGS = frozenset(
    {"distance", "reducer", "embedding_regularizer", "embedding_reg_weight", "collect_stats"}
)


def check_kwargs(owner: str, kwargs: Mapping[str, Any], allowed: Collection[str]) -> None:
    """Reject keyword arguments `owner` does not take, naming the first bad one and the valid ones."""
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ConfigError(f"{owner}: unknown argument {unknown[0]!r}; valid: {', '.join(sorted(allowed))}")


def as_float(owner: str, name: str, value: Any, *, low: float | None = None, strict: bool = False) -> float:
    """Return `value` as a finite float, optionally bounded below (strictly if `strict`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{owner}: {name} must be a finite number, got {value!r}")
    if low is not None and (value <= low if strict else value < low):
        raise ConfigError(f"{owner}: {name} must be {'>' if strict else '>='} {low}, got {value!r}")
    return float(value)


def as_bool(owner: str, name: str, value: Any) -> bool:
    """Return `value` if it is a real bool (YAML 'yes'/'no' strings are refused)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{owner}: {name} must be true or false, got {value!r}")
    return value


def as_choice(owner: str, name: str, value: Any, choices: Collection[str]) -> str:
    """Return `value` if it is one of `choices`."""
    if value not in choices:
        raise ConfigError(f"{owner}: {name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def as_count(owner: str, name: str, value: Any) -> int:
    """Return `value` if it is a positive int (a class count or a feature dimension)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return value


def check_rows_and_labels(
    owner: str, rows: Any, labels: Any, what: str = "features", width: int | None = None
) -> None:
    """Check `rows` is a 2-D float tensor (batch, width) and `labels` a 1-D tensor with one label per row.

    `labels=None` is accepted only where the caller allows it (a miner's indices_tuple replaces them):
    pass `labels=...` (Ellipsis) to skip the label check.
    """
    if not isinstance(rows, torch.Tensor) or rows.ndim != 2 or not rows.is_floating_point():
        got = tuple(rows.shape) if isinstance(rows, torch.Tensor) else type(rows).__name__
        raise ConfigError(f"{owner}: {what} must be a 2-D float tensor (batch, dim), got {got}")
    if width is not None and rows.shape[1] != width:
        raise ConfigError(f"{owner}: {what} must have {width} columns, got {rows.shape[1]}")
    if labels is ...:
        return
    if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or labels.shape[0] != rows.shape[0]:
        got = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ConfigError(
            f"{owner}: labels must be a 1-D tensor with one label per {what} row ({rows.shape[0]}), got {got}"
        )


def check_class_labels(owner: str, labels: torch.Tensor, num_classes: int) -> None:
    """Check `labels` are integer class indices in [0, num_classes)."""
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ConfigError(f"{owner}: labels must be integer class indices, got dtype {labels.dtype}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ConfigError(
            f"{owner}: labels must be in [0, {num_classes}), got range "
            f"[{int(labels.min())}, {int(labels.max())}]"
        )
