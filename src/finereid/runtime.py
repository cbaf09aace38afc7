"""Where code runs: the device a user names, and whether this process is the one that writes files."""

from __future__ import annotations

import os

import torch

from finereid.errors import ConfigError

RANK_VARIABLES = ("RANK", "LOCAL_RANK", "NODE_RANK")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """`auto` -> CUDA when available, else CPU; CUDA asked for without a GPU or a bad name -> ConfigError."""
    if isinstance(name, torch.device):
        return name
    text = str(name).strip()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {text!r} requested but no CUDA GPU is available; use cpu or auto")
    if not (text in ("cpu", "mps") or text.startswith("cuda")):
        raise ConfigError(f"unknown device {text!r}; use auto, cpu or cuda[:N]")
    try:
        return torch.device(text)
    except RuntimeError:
        raise ConfigError(f"unknown device {text!r}; use auto, cpu or cuda[:N]") from None


def is_rank_zero() -> bool:
    """True in the launching process: DDP children see RANK/LOCAL_RANK/NODE_RANK > 0 (Lightning's rule)."""
    return all(int(os.environ.get(name, "0") or 0) == 0 for name in RANK_VARIABLES)
