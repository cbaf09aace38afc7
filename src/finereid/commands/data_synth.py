"""Write a synthetic pedestrian dataset with look-alike identities in the Market-1501 layout."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from finereid.errors import ConfigError

logger = logging.getLogger(__name__)


def parse_size(text: str) -> tuple[int, int]:
    """'128x64' -> (128, 64): image height and width in pixels."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ConfigError(f"--size must look like HEIGHTxWIDTH, e.g. 128x64, got {text!r}")
    return int(parts[0]), int(parts[1])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `finereid data synth`."""
    parser.add_argument("--out", required=True, type=Path, help="output directory (the dataset root)")
    parser.add_argument(
        "--ids", type=int, default=250, help="identities, half train and half test (default 250)"
    )
    parser.add_argument("--cameras", type=int, default=6, help="cameras, 2..6 (default 6)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same bytes (default 0)")
    parser.add_argument(
        "--images-per-id",
        type=int,
        default=10,
        help="average images per identity, each gets this +-2 (default 10)",
    )
    parser.add_argument(
        "--distractors",
        type=int,
        default=None,
        help="pid-0 gallery distractor images (default: one per test identity)",
    )
    parser.add_argument("--size", default="128x64", help="image HEIGHTxWIDTH (default 128x64)")
    parser.add_argument(
        "--queries-per-id",
        type=int,
        default=2,
        help="query images per test identity, each from another camera (default 2)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the dataset folders and attributes.json of a non-empty --out",
    )
    parser.add_argument(
        "--masks",
        action="store_true",
        help="also write each picture's distinguishing-detail mask under OUT/masks/ (images unchanged)",
    )
    parser.add_argument(
        "--preview",
        type=Path,
        default=None,
        help="also save a grid of look-alike groups to this image file (.png, .jpg)",
    )


def run(args: argparse.Namespace) -> int:
    """Generate the dataset (and the preview grid if asked); returns the exit code."""
    from finereid.synth import generate_dataset, lookalike_grid

    size = parse_size(args.size)
    if args.preview is not None and args.preview.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ConfigError(f"--preview must end in .png, .jpg or .jpeg, got {args.preview}")
    if args.preview is not None and not args.preview.parent.is_dir():
        raise ConfigError(f"--preview folder {args.preview.parent} does not exist")
    summary = generate_dataset(
        args.out,
        num_ids=args.ids,
        num_cameras=args.cameras,
        seed=args.seed,
        images_per_id=args.images_per_id,
        num_distractors=args.distractors,
        image_size=size,
        queries_per_id=args.queries_per_id,
        overwrite=args.overwrite,
        masks=args.masks,
    )
    if args.preview is not None:
        lookalike_grid(args.out).save(args.preview)
        logger.info("saved look-alike preview grid to %s", args.preview)
    logger.info("dataset summary: %s", summary)
    return 0
