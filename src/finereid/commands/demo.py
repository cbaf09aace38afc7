"""`finereid demo`: train the same model with triplet and with FDP on synthetic data and compare them."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `finereid demo`."""
    parser.add_argument(
        "--quick", action="store_true",
        help="smaller dataset and fewer epochs (about 2 minutes on 2 CPU cores instead of 9)",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=Path("demo_report"), help="report folder (default demo_report)"
    )
    parser.add_argument(
        "--data", type=Path, default=None,
        help="synthetic dataset folder: reused if complete, drawn into if new or empty "
             "(default: a cache folder under ~/.cache/finereid)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the dataset and of both trainings (default 0)"
    )
    parser.add_argument(
        "--set", dest="overrides", nargs="+", action="extend", default=[], metavar="SECTION.KEY=VALUE",
        help="change the recipe of both runs, e.g. --set trainer.max_epochs=10 (as in finereid train)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the demo; the table is printed by run_demo."""
    from finereid.demo import run_demo

    run_demo(out_dir=args.out, data_dir=args.data, quick=args.quick, seed=args.seed, overrides=args.overrides)
    return 0
