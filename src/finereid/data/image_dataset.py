"""A torch Dataset over ImageRecords that survives unreadable images: skip, warn, count."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from finereid.data.records import ImageRecord
from finereid.errors import DatasetError

logger = logging.getLogger(__name__)

Sample = dict[str, Any]


class UnreadableImageError(DatasetError):
    """An image could not be read and skipping is off; stays one line when re-raised from a worker."""

    def __init__(self, message: str) -> None:
        # The DataLoader re-raises a worker's error as type(err)("Caught ... Original Traceback ...").
        if message.startswith("Caught ") and "\n" in message:
            message = message.strip().splitlines()[-1].split(": ", 1)[-1]
        super().__init__(message)


def read_image(path: str) -> torch.Tensor:
    """Decode an image file with Pillow to a uint8 RGB tensor (3, H, W)."""
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:  # truncated, missing, ...
        raise UnreadableImageError(f"cannot read image {path}: {exc}") from None
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1)


class ImageDataset(Dataset):
    """Records -> {"image", "pid", "camid", "path", "index", "num_skipped"} samples.

    An unreadable image is logged once, counted in `num_skipped` (per process) and then either
    replaced by another image of the same pid (`substitute=True`, keeps P x K batches full) or
    returned as None, which `ReIDCollate` drops. With `skip_corrupt=False` it raises
    `UnreadableImageError` (a DatasetError) naming the file. A key may be an int or, from the train
    loader, an (index, seed) pair: the transform then draws its randomness from that seed only.
    """

    def __init__(
        self,
        records: Sequence[ImageRecord],
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        skip_corrupt: bool = True,
        substitute: bool = False,
    ) -> None:
        self.records = list(records)
        self.transform = transform
        self.skip_corrupt = skip_corrupt
        self.substitute = substitute
        self.num_skipped = 0
        self._bad: set[int] = set()
        self._same_pid: dict[int, list[int]] | None = None

    def __len__(self) -> int:
        return len(self.records)

    def _load(self, index: int) -> torch.Tensor | None:
        """The decoded image, or None (logged once per file) if it cannot be read and skipping is on."""
        if index in self._bad:
            return None
        try:
            return read_image(self.records[index].path)
        except UnreadableImageError as exc:
            if not self.skip_corrupt:
                raise
            self._bad.add(index)
            logger.warning("skipping unreadable image: %s", exc)
            return None

    def _substitutes(self, index: int) -> list[int]:
        """Other indices of the same pid, in a fixed order starting after index."""
        if self._same_pid is None:
            self._same_pid = defaultdict(list)
            for i, record in enumerate(self.records):
                self._same_pid[record.pid].append(i)
        group = self._same_pid[self.records[index].pid]
        start = group.index(index)
        return group[start + 1 :] + group[:start]

    def _load_substitute(self, index: int) -> tuple[int, torch.Tensor] | None:
        """The first readable image of the same pid other than index, with its index."""
        for other in self._substitutes(index):
            image = self._load(other)
            if image is not None:
                return other, image
        return None

    def __getitem__(self, key: int | tuple[int, int]) -> Sample | None:
        index, seed = key if isinstance(key, tuple) else (key, None)
        used, image = index, self._load(index)
        if image is None:
            self.num_skipped += 1
            found = self._load_substitute(index) if self.substitute else None
            if found is None:
                return None
            used, image = found
        if self.transform is not None:
            if seed is None:
                image = self.transform(image)
            else:
                with torch.random.fork_rng(devices=[]):
                    torch.random.default_generator.manual_seed(seed)
                    image = self.transform(image)
        record = self.records[used]
        return {
            "image": image,
            "pid": record.pid,
            "camid": record.camid,
            "path": record.path,
            "index": used,
            "num_skipped": int(used != index),
        }
