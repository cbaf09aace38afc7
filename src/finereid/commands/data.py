"""`finereid data`: inspect a dataset on disk (`inspect`) or write a synthetic one (`synth`)."""

from __future__ import annotations

import argparse
import importlib
import json
from types import ModuleType

from finereid.errors import FinereidError

# Kept in step with finereid.data.DATASETS by a test; listed here so `--help` does not import torch.
DATASET_NAMES = "market1501, dukemtmc, occluded_duke, cuhk03, msmt17, veri, vehicleid, folder"
SYNTH_MODULE = "finereid.commands.data_synth"


def _synth_module() -> ModuleType | None:
    """The `data synth` implementation, imported only when the parser is built; None if absent."""
    try:
        return importlib.import_module(SYNTH_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != SYNTH_MODULE:
            raise
        return None


def _synth_missing(args: argparse.Namespace) -> int:
    """Stand-in run() while the synth module is not installed."""
    raise FinereidError(f"`finereid data synth` is not available: module {SYNTH_MODULE} not found")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Nested sub-commands: inspect, synth."""
    sub = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    inspect = sub.add_parser(
        "inspect",
        help="print a dataset's statistics table",
        description="Parse a dataset and print its statistics.",
    )
    inspect.add_argument("name", metavar="NAME", help=f"dataset: {DATASET_NAMES}")
    inspect.add_argument("--root", required=True, help="folder the dataset was extracted to")
    inspect.add_argument("--variant", help="cuhk03: labeled or detected (default detected)")
    inspect.add_argument(
        "--merge-val",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="msmt17: add list_val.txt to train (default on, as the published counts)",
    )
    inspect.add_argument(
        "--manifest", help="folder: manifest CSV under ROOT (default ROOT/manifest.csv if present)"
    )
    inspect.add_argument("--json", action="store_true", help="print the statistics as JSON")
    inspect.set_defaults(_data_run=run_inspect)

    module = _synth_module()
    doc = (module.__doc__ or "").strip().splitlines() if module else []
    first = doc[0].rstrip(".") if doc else "write a synthetic pedestrian dataset in the Market-1501 layout"
    synth_help = first[:1].lower() + first[1:]
    synth = sub.add_parser("synth", help=synth_help, description=synth_help)
    if module is None:
        synth.set_defaults(_data_run=_synth_missing)
    else:
        module.add_arguments(synth)
        synth.set_defaults(_data_run=module.run)


def run_inspect(args: argparse.Namespace) -> int:
    """Parse the dataset and print its statistics."""
    from finereid.data import build_dataset

    options = {"variant": args.variant, "merge_val": args.merge_val, "manifest": args.manifest}
    dataset = build_dataset(args.name, args.root, **{k: v for k, v in options.items() if v is not None})
    if args.json:
        print(json.dumps({"name": dataset.name, "root": dataset.root, **dataset.statistics_dict()}, indent=2))
    else:
        print(dataset.statistics())
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen sub-command."""
    return int(args._data_run(args) or 0)
