"""`finereid calibrate`: store in a checkpoint the distance threshold that gives a target false-positive rate.

The threshold is measured over every cross-camera query-gallery pair of a labelled dataset (by default
the checkpoint's own; better a held-out one) and written into the checkpoint, atomically; `finereid
verify`, `finereid search --threshold auto` and every later `finereid export` use it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from finereid.commands.eval import add_dataset_arguments, verification_line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `finereid calibrate`."""
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="finereid checkpoint (written in place)"
    )
    add_dataset_arguments(parser)
    parser.add_argument(
        "--target-fpr", type=float, required=True, metavar="FPR",
        help="false-positive rate the threshold should give, e.g. 1e-3 (one impostor pair in 1000 accepted)",
    )  # fmt: skip
    parser.add_argument("--distance", choices=("cosine", "euclidean"), help="distance (default: the run's)")
    parser.add_argument(
        "--dry-run", action="store_true", help="measure and print, do not write the checkpoint"
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")


def run(args: argparse.Namespace) -> int:
    """Embed the dataset, measure the threshold, store it in the checkpoint."""
    from finereid.commands.eval import _evaluation_settings
    from finereid.errors import ConfigError
    from finereid.evaluation import calibrate_checkpoint

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    args.metric = None  # _evaluation_settings also reads eval's old --metric flag
    data, distance = _evaluation_settings(args)
    calibration, evaluation = calibrate_checkpoint(
        args.checkpoint, args.target_fpr, data.name, data.root, dict(data.options), distance=distance,
        save=not args.dry_run, device=args.device, batch_size=args.batch_size, num_workers=args.num_workers,
    )  # fmt: skip
    print(verification_line(evaluation.metrics["verification"]))
    print(
        f"threshold {calibration.threshold:.6g} ({calibration.distance} distance; a pair below it is the "
        f"same person) at FPR {calibration.target_fpr:g} on {data.name}: measured FPR {calibration.fpr:.3g}, "
        f"TPR {100 * calibration.tpr:.2f} %"
    )
    print("not written (--dry-run)" if args.dry_run else f"stored in {args.checkpoint}")
    return 0
