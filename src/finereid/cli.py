"""The `finereid` command line: one sub-command per module in `finereid.commands`.

Each command module exposes `add_arguments(parser)` and `run(args) -> int`; this file only
wires them into argparse and turns expected user errors into one clean line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Callable, Sequence

from finereid import __version__
from finereid.errors import FinereidError

# command name -> (module under finereid.commands, one-line help). Modules are imported lazily so
# `finereid --help` stays fast and a broken optional dependency only affects its own command.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("data", "inspect a ReID dataset on disk, or write a synthetic one"),
    "train": ("train", "train a ReID model from a YAML config (resume, multi-GPU)"),
    "eval": ("eval", "evaluate a checkpoint on a dataset (CMC, mAP, mINP, TPR@FPR; re-ranking, flip)"),
    "calibrate": ("calibrate", "store in a checkpoint the threshold of a target false-positive rate"),
    "verify": ("verify", "same person or not? two images' distance against the calibrated threshold"),
    "extract": ("extract", "embed a folder of images or a dataset with a checkpoint into a .npz file"),
    "search": ("search", "rank a gallery for query images: text table and HTML page (faiss or exact torch)"),
    "index": ("index", "build a compressed approximate gallery index (faiss IVF-PQ, HNSW) for search"),
    "report": ("report", "static HTML report of an evaluation run: metrics, CMC curve, ranked queries"),
    "explain": ("explain", "activation maps: where a checkpoint looks when it matches a query"),
    "export": ("export", "export a checkpoint to ONNX, TorchScript or OpenVINO, checked against PyTorch"),
    "track": ("track", "track people with BoxMOT and a finereid appearance model (IDF1, ID switches)"),
    "convert": ("convert", "turn a torchreid or fast-reid checkpoint into a finereid checkpoint"),
    "experiment": ("experiment", "run a grid of trainings from an experiment YAML (resumable), tabulate it"),
    "demo": ("demo", "train triplet and FDP on synthetic look-alike people, compare them with pictures"),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(prog="finereid", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"finereid {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"finereid.commands.{module_name}")
        cmd_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(cmd_parser)
        cmd_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `finereid` script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not hasattr(args, "_run"):
        parser.print_help()
        return 2
    python_format, warnings.formatwarning = warnings.formatwarning, _one_line_warning(warnings.formatwarning)
    try:
        return int(args._run(args) or 0)
    except FinereidError as exc:
        print(f"finereid {args.command}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        warnings.formatwarning = python_format


def _one_line_warning(python_format: Callable[..., str]) -> Callable[..., str]:
    """A warning formatter: finereid's deprecations as one line a user can act on, others as Python does."""

    def format_warning(message, category, filename, lineno, line=None) -> str:
        if issubclass(category, FutureWarning) and "until finereid" in str(message):
            return f"finereid: deprecated: {message}\n"
        return python_format(message, category, filename, lineno, line)

    return format_warning


if __name__ == "__main__":
    sys.exit(main())
