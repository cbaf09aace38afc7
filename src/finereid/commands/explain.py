"""`finereid explain`: where a checkpoint looks when it matches a query, and the detail-attention score.

finereid explain --checkpoint CKPT --query IMG --gallery IMG_OR_DIR --out DIR [--top-k 5]
finereid explain --checkpoint A --checkpoint B ... --detail-attention SYNTH_ROOT --out DIR
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from finereid.commands.extract import resolve_device

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `finereid explain`."""
    parser.add_argument(
        "--checkpoint",
        required=True,
        action="append",
        metavar="CKPT",
        help="finereid checkpoint; repeat it with --detail-attention to compare models",
    )
    parser.add_argument("--query", metavar="IMAGE", help="query image (a person crop)")
    parser.add_argument(
        "--gallery", metavar="IMAGE_OR_DIR", help="gallery image, or a folder searched recursively"
    )
    parser.add_argument(
        "--top-k", type=int, default=5, help="gallery images to explain, closest first (default 5)"
    )
    parser.add_argument(
        "--detail-attention",
        metavar="SYNTH_ROOT",
        type=Path,
        help="score each checkpoint's attention to the distinguishing detail on a dataset written by "
        "`finereid data synth --masks`, instead of explaining one query",
    )
    parser.add_argument("--max-queries", type=int, help="with --detail-attention: score at most this many")
    parser.add_argument(
        "--examples", type=int, default=6, help="with --detail-attention: example rows (default 6)"
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")


def _check(args: argparse.Namespace) -> None:
    """One mode at a time, with what it needs."""
    from finereid.errors import ConfigError

    if args.detail_attention is None:
        if not (args.query and args.gallery):
            raise ConfigError("give --query and --gallery (or --detail-attention SYNTH_ROOT)")
        if len(args.checkpoint) != 1:
            raise ConfigError("explaining a query takes one --checkpoint")
        if args.top_k < 1:
            raise ConfigError(f"--top-k must be >= 1, got {args.top_k}")
    elif args.query or args.gallery:
        raise ConfigError("--detail-attention scores a whole dataset: leave out --query and --gallery")
    if args.max_queries is not None and args.max_queries < 1:
        raise ConfigError(f"--max-queries must be >= 1, got {args.max_queries}")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} exists and is not a folder")


def run(args: argparse.Namespace) -> int:
    """Explain one query, or score and compare the checkpoints' detail attention."""
    _check(args)
    device = resolve_device(args.device)
    if args.detail_attention is not None:
        return _detail_attention(args, device)
    from finereid.deploy import collect_images
    from finereid.explain import Explainer, write_pair_maps

    gallery, _ = collect_images(args.gallery)
    explainer = Explainer.from_checkpoint(args.checkpoint[0], device=device)
    try:
        pairs = explainer.explain(args.query, gallery, top_k=args.top_k)
    finally:
        explainer.close()
    out = write_pair_maps(pairs, args.out)
    for k, path in enumerate(pairs.gallery, start=1):
        print(f"{k:>3}  {pairs.distances[k - 1]:10.4f}  {path}")
    print(f"maps: {out / 'explain.png'}")
    return 0


def _detail_attention(args: argparse.Namespace, device: str) -> int:
    """Score every checkpoint, print and write the table, the JSON and the example maps."""
    from finereid.explain import Explainer, score_detail_attention
    from finereid.explain.attention_report import ModelAttention, attention_table, examples_sheet

    models = []
    for path in args.checkpoint:
        explainer = Explainer.from_checkpoint(path, device=device)
        config = explainer.loaded.config
        try:
            records, skipped = score_detail_attention(explainer, args.detail_attention, args.max_queries)
        finally:
            explainer.close()
        label = f"{config.loss.metric_loss} seed {config.trainer.seed}"
        if any(m.label == label for m in models):
            label = f"{label} ({len(models) + 1})"
        models.append(
            ModelAttention(label, str(path), config.loss.metric_loss, config.trainer.seed, records, skipped)
        )
        logger.info("%s: %d queries scored, skipped %s", label, len(records), skipped)
    args.out.mkdir(parents=True, exist_ok=True)
    table = attention_table(models)
    (args.out / "attention.md").write_text(table + "\n", encoding="utf-8")
    data = {"root": str(args.detail_attention), "models": [m.to_dict() for m in models]}
    (args.out / "attention.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    if args.examples > 0:
        examples_sheet(models, args.examples).save(args.out / "examples.png", optimize=True)
    print(table)
    print(
        f"written: {args.out}/ (attention.md, attention.json{', examples.png' if args.examples > 0 else ''})"
    )
    return 0
