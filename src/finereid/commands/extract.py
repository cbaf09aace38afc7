"""`finereid extract`: embeddings of a folder of images or a dataset, saved as a `.npz` feature file."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

SOURCE_HELP = (
    "a folder (searched recursively), one image, or NAME:ROOT for a dataset (e.g. market1501:/data/Market)"
)


def add_model_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """Checkpoint and inference options shared by extract, search and report."""
    parser.add_argument("--checkpoint", required=required, help="finereid checkpoint (best.ckpt / last.ckpt)")
    parser.add_argument("--model", help="refuse a checkpoint whose model name differs (e.g. bot_resnet50)")
    parser.add_argument("--height", type=int, help="input height (default: the checkpoint's)")
    parser.add_argument("--width", type=int, help="input width (default: the checkpoint's)")
    parser.add_argument("--flip", action="store_true", help="average each embedding with its mirror image's")
    parser.add_argument("--batch-size", type=int, default=64, help="images per batch (default 64)")
    parser.add_argument("--num-workers", type=int, default=2, help="image loading processes (default 2)")
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:1, ...")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def extract_kwargs(args: argparse.Namespace, resolve: bool = True) -> dict[str, Any]:
    """Keyword arguments of `finereid.deploy.extract_features` from the shared options."""
    return {
        "batch_size": args.batch_size,
        "num_workers": args.num_workers,
        "flip": args.flip,
        "device": resolve_device(args.device) if resolve else args.device,
        "progress": not args.no_progress,
    }


def resolve_device(name: str) -> str:
    """`auto` -> cuda when available, else cpu; an unavailable CUDA device is a one-line error."""
    from finereid.runtime import resolve_device as resolve

    return str(resolve(name))


def model_loader(args: argparse.Namespace) -> Callable[[], Any]:
    """A function loading the checkpoint on first call (and reusing it afterwards)."""
    from finereid.errors import ConfigError

    cache: list[Any] = []

    def get() -> Any:
        if not cache:
            if not args.checkpoint:
                raise ConfigError(
                    "--checkpoint is needed to embed images (only .npz feature files need none)"
                )
            from finereid.evaluation import load_model

            cache.append(
                load_model(
                    args.checkpoint,
                    model_name=args.model,
                    height=args.height,
                    width=args.width,
                    device=resolve_device(args.device),
                )
            )
        return cache[0]

    return get


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `finereid extract`."""
    add_model_arguments(parser)
    parser.add_argument("--images", required=True, metavar="DIR_OR_DATASET", help=SOURCE_HELP)
    parser.add_argument("--out", required=True, help="output feature file (.npz)")
    parser.add_argument(
        "--split",
        nargs="+",
        default=["query", "gallery"],
        choices=["train", "query", "gallery"],
        help="dataset splits to embed (default: query gallery); ignored for folders",
    )
    parser.add_argument(
        "--devices", type=int, default=1, help="processes per node, each embedding a shard (DDP; default 1)"
    )
    parser.add_argument("--num-nodes", type=int, default=1, help="nodes, for multi-node DDP (default 1)")


def run(args: argparse.Namespace) -> int:
    """Embed the images and write the feature file."""
    from finereid.deploy import embed_source, save_features
    from finereid.errors import ConfigError

    if not args.out.endswith(".npz"):
        raise ConfigError(f"--out must be a .npz file, got {args.out}")
    if args.devices == 1 and args.num_nodes == 1:
        features = embed_source(args.images, model_loader(args)(), args.split, **extract_kwargs(args))
    else:
        features = _embed_on_processes(args)
        if features is None:
            return 0  # not rank 0: rank 0 writes the merged file
    path = save_features(args.out, features)
    meta = features.meta
    print(
        f"{len(features)} features of dimension {features.features.shape[1]} -> {path} "
        f"(skipped {meta['num_non_image_files']} non-image file(s), "
        f"{meta['num_unreadable']} unreadable image(s))"
    )
    return 0


def _embed_on_processes(args: argparse.Namespace) -> Any:
    """Start --devices x --num-nodes processes; each embeds its shard; the merged FeatureSet on rank 0."""
    from finereid.deploy.sharded import embed_sharded, start_processes
    from finereid.evaluation import load_model

    fabric = start_processes(args.devices, args.num_nodes, args.device)
    loaded = load_model(
        args.checkpoint, model_name=args.model, height=args.height, width=args.width, device=fabric.device
    )
    kwargs = {**extract_kwargs(args, resolve=False), "device": fabric.device}
    return embed_sharded(fabric, args.images, loaded, args.split, **kwargs)
