"""`finereid eval`: CMC/mAP/mINP of a checkpoint on a dataset, printed as a table and written as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from finereid.config import parse_value
from finereid.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Checkpoint, dataset, evaluation options and output file."""
    parser.add_argument("--checkpoint", type=Path, required=True, help="finereid checkpoint, e.g. best.ckpt")
    parser.add_argument("--dataset", required=True, help="dataset name, e.g. market1501")
    parser.add_argument("--root", type=Path, required=True, help="dataset folder")
    parser.add_argument(
        "--option",
        dest="options",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="dataset options, e.g. --option variant=detected",
    )
    parser.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking (Zhong et al. 2017)")
    parser.add_argument("--flip", action="store_true", help="average each embedding with its mirror image's")
    parser.add_argument("--metric", choices=("cosine", "euclidean"), help="distance (default: the run's)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--output", type=Path, help="JSON file (default: next to the checkpoint)")


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write the JSON."""
    from finereid.engine.evaluate import evaluate_checkpoint, format_table

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    result = evaluate_checkpoint(
        args.checkpoint,
        args.dataset,
        args.root,
        options=_parse_options(args.options),
        rerank=args.rerank,
        flip=args.flip,
        metric=args.metric,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        device=args.device,
        ranking_path=args.checkpoint.with_name("ranking.npz"),
    )
    suffix = "".join(s for s, on in (("_rerank", args.rerank), ("_flip", args.flip)) if on)
    output = args.output or args.checkpoint.with_name(f"eval_{args.dataset}{suffix}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"{args.dataset}: {result['num_query']} query, {result['num_gallery']} gallery; "
        f"rerank={args.rerank} flip={args.flip} metric={result['metric']}"
    )
    print(format_table(result))
    print(f"written: {output}")
    return 0


def _parse_options(items: list[str]) -> dict:
    """KEY=VALUE strings (values parsed like config overrides) into a dict."""
    options = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--option {item!r} must look like key=value")
        key, value = item.split("=", 1)
        options[key.strip()] = parse_value(value)
    return options
