"""Input checks and conversions shared by the metrics, so bad input fails as a one-line ConfigError."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from finereid.errors import ConfigError


def as_matrix(value: Any, name: str, *, allow_empty: bool = False) -> torch.Tensor:
    """Return `value` (numpy array, tensor or nested list) as a 2-D real tensor, refusing other shapes."""
    tensor = _as_tensor(value, name)
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise ConfigError(f"{name} must hold real numbers, got dtype {tensor.dtype}")
    if tensor.dim() != 2:
        raise ConfigError(f"{name} must be a 2-D matrix, got shape {tuple(tensor.shape)}")
    if not allow_empty and tensor.numel() == 0:
        raise ConfigError(f"{name} is empty (shape {tuple(tensor.shape)}); need at least one row and column")
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float32)
    return tensor


def as_ids(
    value: Any, name: str, length: int | None, device: torch.device, what: str = "entries"
) -> torch.Tensor:
    """Return person or camera ids as a 1-D int64 tensor on `device`; `length`, if given, must match."""
    tensor = _as_tensor(value, name)
    if tensor.dtype == torch.bool or tensor.is_floating_point() or tensor.is_complex():
        raise ConfigError(f"{name} must hold integer ids, got dtype {tensor.dtype}")
    if tensor.dim() != 1:
        raise ConfigError(f"{name} must be 1-D, got shape {tuple(tensor.shape)}")
    if length is not None and tensor.numel() != length:
        raise ConfigError(f"{name} has {tensor.numel()} entries but there are {length} {what}")
    if tensor.numel() == 0:
        raise ConfigError(f"{name} is empty")
    return tensor.to(device=device, dtype=torch.int64)


def as_positive_int(value: Any, name: str) -> int:
    """Return `value` if it is an int >= 1 (max_rank, k1, chunk sizes)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def as_fraction(value: Any, name: str) -> float:
    """Return `value` as a float in [0, 1] (the re-ranking lambda)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def rows_per_chunk(chunk_size: int | None, num_columns: int, budget: int = 1 << 23) -> int:
    """Rows per chunk: `chunk_size` if given, else as many as keep a chunk near `budget` elements."""
    if chunk_size is not None:
        return as_positive_int(chunk_size, "chunk_size")
    return max(1, budget // max(1, num_columns))


def _as_tensor(value: Any, name: str) -> torch.Tensor:
    """Convert numpy arrays and (nested) lists to a tensor without copying tensors."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} cannot be read as an array: {exc}") from None
    if array.dtype == object or array.dtype.kind in "USV":
        raise ConfigError(f"{name} must be numeric, got numpy dtype {array.dtype}")
    if array.dtype.kind == "u":
        array = array.astype(np.int64)
    return torch.from_numpy(np.ascontiguousarray(array))
