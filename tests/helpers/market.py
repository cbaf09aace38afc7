"""The one tiny Market-1501 writer of the tests: two-colour people as JPEGs (engine, experiments, deploy)."""

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
    size: tuple[int, int] = (32, 16),
    looks_like: dict[int, int] | None = None,
    distractor_cams: Sequence[int] = (1, 2),
) -> Path:
    """Write the tree and return `root`.

    Each pid has two random clothing colours (top, bottom); a camera scales brightness by 0.8 + 0.2 * cam
    and every image gets Gaussian noise. Train images alternate cameras 1 and 2; each test pid has one
    query in camera 1 and one gallery image per entry of `gallery_cams` (camera 1 there is a same-camera
    image the protocol excludes); one pid-0 distractor per `distractor_cams` entry ends the gallery.
    `looks_like={a: b}` draws test pid a's query in pid b's colours: a rank-1 failure for reports.
    Images are `size` (height, width).
    """
    rng = np.random.default_rng(seed)
    height, width = size
    frame = 0
    for split in ("bounding_box_train", "query", "bounding_box_test"):
        (root / split).mkdir(parents=True, exist_ok=True)

    def write(split: str, pid: int, cam: int, colours: np.ndarray) -> None:
        nonlocal frame
        frame += 1
        image = np.empty((height, width, 3), dtype=np.float64)
        image[: height // 2], image[height // 2 :] = colours[0], colours[1]
        image = image * (0.8 + 0.2 * cam) + rng.normal(0, noise, image.shape)
        name = f"{pid:04d}_c{cam}s1_{frame:06d}_01.jpg"
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(root / split / name, quality=90)

    for pid in train_ids:
        colours = rng.uniform(30, 220, size=(2, 3))
        for i in range(images_per_id):
            write("bounding_box_train", pid, 1 + i % 2, colours)
    test_colours = {pid: rng.uniform(30, 220, size=(2, 3)) for pid in test_ids}
    for pid in test_ids:
        write("query", pid, 1, test_colours[(looks_like or {}).get(pid, pid)])
        for cam in gallery_cams:
            write("bounding_box_test", pid, cam, test_colours[pid])
    for cam in distractor_cams:
        write("bounding_box_test", 0, cam, rng.uniform(30, 220, size=(2, 3)))
    return root


def make_detail_market(root: Path, num_ids: int = 8, train_per_id: int = 8, gallery_per_id: int = 3) -> Path:
    """A closed-set Market tree where only a small detail decides identity: a test that training learns.

    Every image has a random colour cast and noise (the nuisance a random network sees first); identity
    `pid` is a 4x4 white square at one of 8 places. Query (camera 1) and gallery (camera 2) images are
    new draws of the training identities, so an untrained network ranks by colour and a trained one by
    the square.
    """
    if not 1 <= num_ids <= len(DETAIL_SPOTS):
        raise ValueError(f"num_ids must be in 1..{len(DETAIL_SPOTS)}")
    rng = np.random.default_rng(0)
    for split in ("bounding_box_train", "query", "bounding_box_test"):
        (root / split).mkdir(parents=True, exist_ok=True)
    frame = 0

    def write(split: str, pid: int, cam: int) -> None:
        nonlocal frame
        frame += 1
        image = np.ones((32, 16, 3)) * rng.uniform(40, 200, size=3) + rng.normal(0, 15, (32, 16, 3))
        row, col = DETAIL_SPOTS[pid - 1]
        image[row : row + 4, col : col + 4] = 255.0
        name = f"{pid:04d}_c{cam}s1_{frame:06d}_01.jpg"
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(root / split / name, quality=95)

    for pid in range(1, num_ids + 1):
        for i in range(train_per_id):
            write("bounding_box_train", pid, 1 + i % 2)
        write("query", pid, 1)
        for _ in range(gallery_per_id):
            write("bounding_box_test", pid, 2)
    return root


DETAIL_SPOTS = [(row, col) for row in (4, 12, 20, 26) for col in (2, 10)]
