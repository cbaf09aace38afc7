"""`finereid verify`: are two images the same person? Their distance against the calibrated threshold."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `finereid verify`."""
    parser.add_argument(
        "--checkpoint", type=Path, required=True, metavar="MODEL",
        help="finereid checkpoint or exported model (.torchscript, .onnx, OpenVINO .xml or folder)",
    )  # fmt: skip
    parser.add_argument("images", nargs=2, type=Path, metavar="IMAGE", help="the two images to compare")
    parser.add_argument(
        "--threshold", type=float,
        help="distance threshold (default: the one `finereid calibrate` stored in the model)",
    )  # fmt: skip
    parser.add_argument("--device", default="cpu", help="cpu (default), auto or cuda[:N]")


def run(args: argparse.Namespace) -> int:
    """Embed both images, print their distance and the decision."""
    from finereid.deploy import Embedder
    from finereid.errors import ConfigError
    from finereid.metrics import compute_distmat

    embedder = Embedder.load(args.checkpoint, args.device)
    calibration = embedder.calibration
    if args.threshold is not None:
        if not args.threshold > 0:
            raise ConfigError(f"--threshold must be a positive distance, got {args.threshold}")
        threshold, distance, source = args.threshold, embedder.distance, "given"
    elif calibration is None:
        raise ConfigError(
            f"{args.checkpoint} has no calibrated threshold: run `finereid calibrate --checkpoint CKPT "
            "--target-fpr 1e-3` on its checkpoint (and re-export), or pass --threshold VALUE"
        )
    else:
        threshold, distance = calibration.threshold, calibration.distance
        source = f"calibrated at FPR {calibration.target_fpr:g}" + (
            f" on {calibration.dataset}" if calibration.dataset else ""
        )
    feats = embedder.embed(list(args.images))
    value = float(compute_distmat(feats[:1], feats[1:], distance)[0, 0])
    verdict = "same person" if value < threshold else "different people"
    print(f"distance {value:.6g} ({distance}); threshold {threshold:.6g} ({source}): {verdict}")
    return 0
