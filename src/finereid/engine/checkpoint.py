"""Checkpoint files that survive a kill: atomic writes, and loading that never unpickles code.

A checkpoint is first written to a temporary file in the same directory, flushed and fsynced, then
moved over the target with `os.replace`, so a reader sees either the old file or the new one, never a
half-written one. Loading always uses `torch.load(weights_only=True)`: Lightning checkpoints of a
ReIDModule hold only tensors, dicts, lists and numbers, which that safe loader accepts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import CheckpointIO

from finereid.errors import CheckpointError

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".partial"


def atomic_save(obj: Any, path: str | Path) -> None:
    """`torch.save` to a temporary file beside `path`, fsync, then atomically replace `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(temp)
        # A full disk surfaces as OSError, or as torch's zip-writer RuntimeError raised while handling it.
        cause = exc if isinstance(exc, OSError) else exc.__context__
        if isinstance(exc, OSError | RuntimeError) and isinstance(cause, OSError):
            raise CheckpointError(f"cannot write checkpoint {path}: {cause.strerror or cause} "
                                  f"(the previous {path.name}, if any, is unchanged)") from exc  # fmt: skip
        raise
    _fsync_directory(path.parent)


def load_checkpoint_file(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint dict with `weights_only=True`; missing, corrupt or unsafe -> CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch.load fails in many ways (unpickling, zip, struct, EOF, OS)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"cannot load checkpoint {path} safely (weights_only; not a torch checkpoint?): "
            f"{type(exc).__name__}: {first}"
        ) from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path} is not a checkpoint (a {type(checkpoint).__name__}, not a dict)")
    return checkpoint


def remove_partial_files(directory: str | Path) -> int:
    """Delete temporary files a killed save left behind in `directory`; returns how many."""
    removed = 0
    for temp in Path(directory).glob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            temp.unlink()
            removed += 1
    if removed:
        log.info("removed %d partial file(s) left by an interrupted save in %s", removed, directory)
    return removed


class AtomicCheckpointIO(CheckpointIO):
    """Lightning CheckpointIO plugin: atomic saves and weights_only loads (see the module docstring)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        """Write `checkpoint` to `path` atomically."""
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO does not take storage_options")
        atomic_save(checkpoint, path)

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict:
        """Load with `weights_only=True` whatever the caller asks: checkpoints never carry code."""
        return load_checkpoint_file(path, map_location=map_location if map_location is not None else "cpu")

    def remove_checkpoint(self, path: Any) -> None:
        """Delete a checkpoint file if it exists."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (best effort; not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
