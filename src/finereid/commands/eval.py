"""`finereid eval`: CMC/mAP/mINP of a checkpoint on a dataset, printed as a table and written as JSON.

Also writes the ranked lists (`ranking.npz` beside the checkpoint) that `finereid report` renders, from
the same evaluation, so the report and this table always show the same numbers. A checkpoint other than
best.ckpt gets its own file names (`ranking_last.npz`, `eval_last_<dataset>.json`), so evaluating best and
last in one run folder keeps both results.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path

from finereid.errors import ConfigError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Checkpoint, dataset, evaluation options and output file."""
    parser.add_argument("--checkpoint", type=Path, required=True, help="finereid checkpoint, e.g. best.ckpt")
    add_dataset_arguments(parser)
    parser.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking (Zhong et al. 2017)")
    parser.add_argument("--flip", action="store_true", help="average each embedding with its mirror image's")
    parser.add_argument(
        "--distance", choices=("cosine", "euclidean"), help="distance between embeddings (default: the run's)"
    )
    parser.add_argument("--metric", choices=("cosine", "euclidean"), help=argparse.SUPPRESS)  # old --distance
    parser.add_argument("--top-k", type=int, default=10, help="gallery items kept per query for the report")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--output", type=Path, help="JSON file (default: next to the checkpoint)")


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """--dataset, --root, --set and --option: the data a checkpoint is evaluated (or calibrated) on."""
    parser.add_argument("--dataset", help="dataset name, e.g. market1501 (default: the checkpoint's)")
    parser.add_argument("--root", type=Path, help="dataset folder (default: the checkpoint's data.root)")
    parser.add_argument(
        "--set", dest="overrides", nargs="+", action="extend", default=[], metavar="SECTION.KEY=VALUE",
        help="override the checkpoint's config for this evaluation: data.* (e.g. data.root=/data/market1501 "
             "data.options.variant=detected) and trainer.eval_distance",
    )  # fmt: skip
    parser.add_argument(
        "--option", dest="options", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
        help="dataset option, the same as --set data.options.KEY=VALUE (e.g. --option variant=detected)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write the JSON."""
    from finereid.evaluation import evaluate_checkpoint, format_table

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.top_k < 1:
        raise ConfigError(f"--top-k must be >= 1, got {args.top_k}")
    data, distance = _evaluation_settings(args)
    result = evaluate_checkpoint(
        args.checkpoint, data.name, data.root, dict(data.options), rerank=args.rerank, flip=args.flip,
        distance=distance, top_k=args.top_k, batch_size=args.batch_size, num_workers=args.num_workers,
        device=args.device, ranking_path=output_path(args.checkpoint, "ranking", ".npz"),
    )  # fmt: skip
    suffix = "".join(s for s, on in (("_rerank", args.rerank), ("_flip", args.flip)) if on)
    output = args.output or output_path(args.checkpoint, "eval", f"_{data.name}{suffix}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{data.name}: {result['num_query']} query, {result['num_gallery']} gallery; "
          f"rerank={args.rerank} flip={args.flip} distance={result['distance']}")  # fmt: skip
    print(format_table(result))
    if "verification" in result:
        print(verification_line(result["verification"]))
    print(f"written: {output} and {output_path(args.checkpoint, 'ranking', '.npz')}")
    return 0


def output_path(checkpoint: Path, prefix: str, rest: str) -> Path:
    """Beside the checkpoint: PREFIX+REST for best.ckpt (`finereid report` reads it), else tagged by stem."""
    tag = "" if checkpoint.stem == "best" else f"_{checkpoint.stem}"
    return checkpoint.with_name(f"{prefix}{tag}{rest}")


EVAL_KEYS = ("data.name", "data.root", "data.options", "trainer.eval_distance")


def verification_line(summary: dict) -> str:
    """One line of verification results: TPR at each reported FPR and the equal error rate."""
    tprs = ", ".join(f"{100 * tpr:.2f} % at FPR {fpr}" for fpr, tpr in summary["tpr_at_fpr"].items())
    return (
        f"verification ({summary['num_genuine']} genuine / {summary['num_impostor']} impostor cross-camera "
        f"pairs): TPR {tprs}; EER {100 * summary['eer']:.2f} %"
    )


def _evaluation_settings(args: argparse.Namespace):
    """The data section and distance to evaluate with: the checkpoint's config, then flags and --set.

    Only the dataset (name, root, options) and the distance can change: the rest of the config is how
    the model was trained. Naming another dataset drops the checkpoint's dataset options.
    """
    from finereid.config import apply_override, config_from_dict, parse_override
    from finereid.evaluation import checkpoint_config, read_checkpoint

    config, _ = checkpoint_config(read_checkpoint(args.checkpoint), args.checkpoint)
    flags = [
        f"data.name={args.dataset}" if args.dataset else "",
        f"data.root={args.root}" if args.root else "",
    ]
    items = [*filter(None, flags), *args.overrides, *(f"data.options.{item}" for item in args.options)]
    overrides = [parse_override(item) for item in items]
    for item, (dotted, _) in zip(items, overrides, strict=True):
        if not any(dotted == key or dotted.startswith(key + ".") for key in EVAL_KEYS):
            raise ConfigError(f"--set {item!r}: eval changes only {', '.join(EVAL_KEYS)}")
    data = config.to_dict()
    names = [value for dotted, value in overrides if dotted == "data.name"]
    if names and names[-1] != config.data.name:
        data["data"]["options"] = {}  # another dataset: the checkpoint's dataset options do not apply
    for dotted, value in overrides:
        apply_override(data, dotted, value)
    if args.metric is not None:
        message = "--metric is renamed --distance; the old flag is read until finereid 0.3"
        warnings.warn(message, FutureWarning, stacklevel=2)
    resolved = config_from_dict(data)
    return resolved.data, args.distance or args.metric or resolved.trainer.eval_distance
