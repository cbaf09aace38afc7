"""Lightning's checkpoint I/O done safely: atomic writes and `weights_only` loads (see finereid.files)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from lightning.pytorch.plugins.io import CheckpointIO

from finereid.files import atomic_save, load_checkpoint_file


class AtomicCheckpointIO(CheckpointIO):
    """Lightning CheckpointIO: a kill never leaves half a checkpoint; loading never runs pickled code."""

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
