"""Optimizers by name: `OPTIMIZERS[name](params, lr=..., weight_decay=..., momentum=...)`.

A plain name -> builder dict, so the config can check `optim.name` and the engine can build it without
an if/elif ladder. Every builder takes the same keywords; `momentum` is used by SGD only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

Builder = Callable[..., torch.optim.Optimizer]


def _adam(params: Iterable, lr: float, weight_decay: float, momentum: float) -> torch.optim.Optimizer:
    """Adam with L2 weight decay (the strong baseline's optimizer)."""
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _adamw(params: Iterable, lr: float, weight_decay: float, momentum: float) -> torch.optim.Optimizer:
    """AdamW: decoupled weight decay."""
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _sgd(params: Iterable, lr: float, weight_decay: float, momentum: float) -> torch.optim.Optimizer:
    """SGD with momentum."""
    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, momentum=momentum)


OPTIMIZERS: dict[str, Builder] = {"adam": _adam, "adamw": _adamw, "sgd": _sgd}
