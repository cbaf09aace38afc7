"""A tiny Market-1501 tree of 32x16 two-colour people for tests that train (engine, experiments)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image


def make_tiny_market(
    root: Path,
    train_ids: Sequence[int],
    test_ids: Sequence[int],
    images_per_id: int,
    gallery_cams: Sequence[int] = (2, 3),
    noise: float = 10.0,
    seed: int = 0,
) -> Path:
    """Write the tree and return `root`.

    Each pid has two random clothing colours (top, bottom); a camera scales brightness by 0.8 + 0.2 * cam
    and every image gets Gaussian noise. Train images alternate cameras 1 and 2; each test pid has one
    query in camera 1 and one gallery image per entry of `gallery_cams` (camera 1 there is a same-camera
    image the protocol excludes); two pid-0 distractors in cameras 1 and 2 end the gallery.
    """
    rng = np.random.default_rng(seed)
    frame = 0
    for split in ("bounding_box_train", "query", "bounding_box_test"):
        (root / split).mkdir(parents=True, exist_ok=True)

    def write(split: str, pid: int, cam: int, colours: np.ndarray) -> None:
        nonlocal frame
        frame += 1
        image = np.empty((32, 16, 3), dtype=np.float64)
        image[:16], image[16:] = colours[0], colours[1]
        image = image * (0.8 + 0.2 * cam) + rng.normal(0, noise, image.shape)
        name = f"{pid:04d}_c{cam}s1_{frame:06d}_01.jpg"
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(root / split / name, quality=90)

    for pid in train_ids:
        colours = rng.uniform(30, 220, size=(2, 3))
        for i in range(images_per_id):
            write("bounding_box_train", pid, 1 + i % 2, colours)
    for pid in test_ids:
        colours = rng.uniform(30, 220, size=(2, 3))
        write("query", pid, 1, colours)
        for cam in gallery_cams:
            write("bounding_box_test", pid, cam, colours)
    for cam in (1, 2):
        write("bounding_box_test", 0, cam, rng.uniform(30, 220, size=(2, 3)))
    return root
