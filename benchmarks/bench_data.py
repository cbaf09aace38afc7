"""Loader throughput: images/s of the train and test loaders on a generated Market-style JPEG set.

    python benchmarks/bench_data.py                 # 2 workers, 256x128, 400 images of 128x64
    python benchmarks/bench_data.py --workers 0 --images-per-id 16 --epochs 5

Writes the JPEGs to a temporary folder (deleted afterwards), warms each loader up with one pass,
then times `--epochs` full passes. Decoding + augmentation dominate; there is no model. Also
reports the CPU time per training image in one process and the machine's load average, since
wall-clock throughput on a shared machine depends on what else runs, and the CPU cost of each
domain-generalisation augmentation (data.color_jitter_prob, auto_augment, grayscale_prob,
patch_prob) as a ratio to the default transforms measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from finereid.data import ImageRecord, build_test_loader, build_train_loader

logger = logging.getLogger("bench_data")


def make_images(folder: Path, num_ids: int, per_id: int, seed: int = 0) -> list[ImageRecord]:
    """Textured 128x64 JPEGs (photo-like size and file size), named like Market-1501."""
    rng = np.random.default_rng(seed)
    records = []
    for pid in range(num_ids):
        base = rng.integers(0, 256, size=(16, 8, 3))
        for k in range(per_id):
            noisy = np.clip(base + rng.normal(0, 25, size=base.shape), 0, 255).astype(np.uint8)
            image = Image.fromarray(noisy).resize((64, 128), Image.BILINEAR)
            path = folder / f"{pid + 1:04d}_c{k % 6 + 1}s1_{k:06d}_01.jpg"
            image.save(path, quality=90)
            records.append(ImageRecord(str(path), pid, k % 6))
    return records


def images_per_second(loader: torch.utils.data.DataLoader, epochs: int) -> float:
    """Mean throughput over `epochs` passes after one warm-up pass."""
    sampler = loader.sampler

    def one_pass(epoch: int) -> int:
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        return sum(batch["images"].shape[0] for batch in loader)

    one_pass(0)
    start, seen = time.perf_counter(), 0
    for epoch in range(1, epochs + 1):
        seen += one_pass(epoch)
    return seen / (time.perf_counter() - start)


# Each domain-generalisation switch on its own (probability 1: the worst case), then all together.
AUGMENTATIONS = {
    "color_jitter": {"color_jitter_prob": 1.0},
    "autoaugment": {"auto_augment": "autoaugment"},
    "randaugment": {"auto_augment": "randaugment"},
    "grayscale": {"grayscale_prob": 1.0},
    "patch": {"patch_prob": 1.0},
    "all": {
        "color_jitter_prob": 1.0,
        "auto_augment": "randaugment",
        "grayscale_prob": 1.0,
        "patch_prob": 1.0,
    },
}


def cpu_ms_per_image(records: list[ImageRecord], height: int, width: int, **augmentation: object) -> float:
    """CPU time per training image (decode + augment) in this process: a load-independent cost figure."""
    loader = build_train_loader(records, height, width, batch_size=16, num_workers=0, **augmentation)
    images_per_second(loader, 0)  # warm-up pass
    start, seen = time.process_time(), 0
    loader.sampler.set_epoch(1)
    for batch in loader:
        seen += batch["images"].shape[0]
    return 1000 * (time.process_time() - start) / seen


def augmentation_costs(records: list[ImageRecord], height: int, width: int) -> dict[str, dict[str, float]]:
    """CPU ms per training image with each augmentation, and its ratio to the default transforms."""
    reference = cpu_ms_per_image(records, height, width)
    costs = {"default": {"cpu_ms_per_image": round(reference, 2), "ratio": 1.0}}
    for name, switch in AUGMENTATIONS.items():
        ms = cpu_ms_per_image(records, height, width, **switch)
        costs[name] = {"cpu_ms_per_image": round(ms, 2), "ratio": round(ms / reference, 2)}
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=50)
    parser.add_argument("--images-per-id", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64, help="train batch (P x K with K = 4)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        records = make_images(Path(tmp), args.ids, args.images_per_id)
        size = (args.height, args.width)
        train = build_train_loader(records, *size, batch_size=args.batch_size, num_workers=args.workers)
        test = build_test_loader(records, *size, batch_size=128, num_workers=args.workers)
        result = {
            "images": len(records),
            "workers": args.workers,
            "size": f"{args.height}x{args.width}",
            "train_images_per_s": round(images_per_second(train, args.epochs), 1),
            "test_images_per_s": round(images_per_second(test, args.epochs), 1),
            "train_cpu_ms_per_image": round(cpu_ms_per_image(records, *size), 2),
            # data.cache_images: decoded and resized once (not timed), the per-image work is augmentation only
            "train_cpu_ms_per_image_cached": round(cpu_ms_per_image(records, *size, cache_images=True), 2),
            "augmentation_cost": augmentation_costs(records, *size),
            "load_average_1min": round(os.getloadavg()[0], 1),
            "torch": torch.__version__,
        }
    if args.json:
        print(json.dumps(result))
    else:
        costs = result.pop("augmentation_cost")
        for key, value in result.items():
            logger.info("%-24s %s", key, value)
        logger.info("augmentation cost (CPU ms per training image, ratio to the default transforms):")
        for name, cost in costs.items():
            logger.info("  %-22s %6.2f ms  x%.2f", name, cost["cpu_ms_per_image"], cost["ratio"])


if __name__ == "__main__":
    main()
