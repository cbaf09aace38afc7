"""Files every part of finereid writes or reads: atomic writes, safe checkpoint loads, run-folder names.

A write goes to a temporary file in the same folder, is flushed and fsynced, then moved over the target
with `os.replace`, so a reader sees the old file or the new one, never half of one. Checkpoints are read
with `torch.load(weights_only=True)`: finereid checkpoints hold only tensors, dicts, lists and numbers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from finereid.errors import CheckpointError

log = logging.getLogger(__name__)

# The files of a run directory (`finereid train` writes them, eval/report/experiments read them).
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
LAST_CHECKPOINT = "last.ckpt"
BEST_CHECKPOINT = "best.ckpt"
RANKING_FILE = "ranking.npz"
TEMP_SUFFIX = ".partial"


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None], what: str = "file") -> Path:
    """Call `write(handle)` on a temporary file beside `path`, fsync it, then replace `path` with it.

    A full disk is a one-line CheckpointError (torch reports it as a RuntimeError raised while handling
    the OSError, so both are caught); the previous file, if any, is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(temp)
        cause = exc if isinstance(exc, OSError) else exc.__context__
        if isinstance(exc, OSError | RuntimeError) and isinstance(cause, OSError):
            raise CheckpointError(
                f"cannot write {what} {path}: {cause.strerror or cause} "
                f"(the previous {path.name}, if any, is unchanged)"
            ) from exc
        raise
    _fsync_directory(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """Write indented JSON atomically (non-JSON numbers such as numpy floats become floats)."""
    return atomic_write_text(path, json.dumps(data, indent=2, default=float) + "\n")


def atomic_save(obj: Any, path: str | Path) -> Path:
    """`torch.save` atomically (checkpoints)."""
    return atomic_write(path, lambda handle: torch.save(obj, handle), what="checkpoint")


def load_checkpoint_file(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint dict with `weights_only=True`; missing, corrupt or unsafe -> CheckpointError."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(
            f"{path} is a directory; give a checkpoint file such as {path / BEST_CHECKPOINT}"
        )
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
    """Delete temporary files a killed write left behind in `directory`; returns how many."""
    removed = 0
    for temp in Path(directory).glob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            temp.unlink()
            removed += 1
    if removed:
        log.info("removed %d partial file(s) left by an interrupted save in %s", removed, directory)
    return removed


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
