"""A torch Dataset over ImageRecords that survives unreadable images: skip, warn, count."""

from __future__ import annotations

import logging
import time
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


def read_or_skip(path: str, skip_corrupt: bool) -> torch.Tensor | None:
    """read_image, or None with a warning if the file cannot be read and skipping is on (else it raises)."""
    try:
        return read_image(path)
    except UnreadableImageError as exc:
        if not skip_corrupt:
            raise
        logger.warning("skipping unreadable image: %s", exc)
        return None


class ImageCache:
    """Every image of a record list decoded and resized once, in one uint8 tensor in shared memory.

    Resizing is the one deterministic step of the train transform, so the cached images are exactly what
    the transform's resize gives (same pixels, tested); the loader workers then only augment. Memory:
    N x 3 x height x width bytes, read by every worker without a copy. An unreadable image is logged and
    marked (`readable`), or with `skip_corrupt=False` raises UnreadableImageError naming the file.
    """

    def __init__(
        self,
        records: Sequence[ImageRecord],
        resize: Callable[[torch.Tensor], torch.Tensor],
        height: int,
        width: int,
        skip_corrupt: bool = True,
    ) -> None:
        start = time.perf_counter()
        size = len(records) * 3 * height * width
        try:
            self.images = torch.empty(len(records), 3, height, width, dtype=torch.uint8)
        except RuntimeError as exc:  # not enough memory
            raise DatasetError(
                f"data.cache_images: cannot hold {len(records)} images of {height}x{width} "
                f"({size / 2**30:.2f} GiB): {str(exc).splitlines()[0]}"
            ) from None
        self.readable = torch.ones(len(records), dtype=torch.bool)
        for index, record in enumerate(records):
            image = read_or_skip(record.path, skip_corrupt)
            if image is None:
                self.readable[index] = False
            else:
                self.images[index] = resize(image)
        self.images.share_memory_()
        logger.info(
            "data.cache_images: %d images decoded and resized to %dx%d in %.1f s (%.0f MiB of shared memory)",
            len(records), height, width, time.perf_counter() - start, size / 2**20,
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.readable)

    def get(self, index: int) -> torch.Tensor | None:
        """The resized uint8 (3, height, width) image (a view: not to be changed in place), or None."""
        return self.images[index] if self.readable[index] else None


class ImageDataset(Dataset):
    """Records -> {"image", "pid", "camid", "path", "index", "num_skipped"} samples.

    An unreadable image is logged once, counted in `num_skipped` (per process) and then either
    replaced by another image of the same pid (`substitute=True`, keeps P x K batches full) or
    returned as None, which `ReIDCollate` drops. With `skip_corrupt=False` it raises
    `UnreadableImageError` (a DatasetError) naming the file. A key may be an int or, from the train
    loader, an (index, seed) pair: the transform then draws its randomness from that seed only. With
    `cache` (an ImageCache of the same records) images come from memory, already resized: `transform`
    must then leave out the resize.
    """

    def __init__(
        self,
        records: Sequence[ImageRecord],
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        skip_corrupt: bool = True,
        substitute: bool = False,
        cache: ImageCache | None = None,
    ) -> None:
        if cache is not None and len(cache) != len(records):
            raise DatasetError(f"the image cache holds {len(cache)} images for {len(records)} records")
        self.cache = cache
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
        if self.cache is not None:  # unreadable ones were logged when the cache was built
            image = self.cache.get(index)
        else:
            image = read_or_skip(self.records[index].path, self.skip_corrupt)
        if image is None:
            self._bad.add(index)
        return image

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
