"""`finereid index`: build a compressed approximate gallery index from a feature file, or describe one."""

from __future__ import annotations

import argparse
import json
import os
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Nested sub-commands: build, info."""
    sub = parser.add_subparsers(dest="index_command", metavar="SUBCOMMAND", required=True)
    build = sub.add_parser(
        "build",
        help="index the gallery rows of a .npz feature file (faiss: IVF-PQ, HNSW or flat)",
        description="Index the gallery rows of a `finereid extract` feature file for `search --index`.",
    )
    build.add_argument("--gallery", required=True, help="feature file (.npz) from `finereid extract`")
    build.add_argument("--out", required=True, help="index file to write (e.g. gallery.index)")
    build.add_argument(
        "--kind",
        choices=["ivfpq", "hnsw", "flat"],
        default="ivfpq",
        help="ivfpq: compressed, approximate (default); hnsw: graph over full vectors; flat: exact",
    )
    build.add_argument("--distance", choices=["euclidean", "cosine"], help="default: the feature file's")
    build.add_argument("--nlist", type=int, help="ivfpq: inverted lists (default: about sqrt(gallery size))")
    build.add_argument("--pq-m", type=int, help="ivfpq: sub-quantizers, dividing D (default D/2: D/4 bytes)")
    build.add_argument(
        "--pq-bits", type=int, help="ivfpq: bits a sub-quantizer code, 4 (fast scan; default) or 8"
    )
    build.add_argument(
        "--nprobe", type=int, help="ivfpq: lists searched per query (default max(8, nlist/64))"
    )
    build.add_argument("--train-size", type=int, help="ivfpq: gallery vectors sampled to train on")
    build.add_argument("--hnsw-m", type=int, help="hnsw: neighbours per node (default 32)")
    build.add_argument("--ef-search", type=int, help="hnsw: candidates per query (default 128)")
    build.set_defaults(_index_run=run_build)
    info = sub.add_parser(
        "info", help="print what an index file holds", description="Print an index's metadata."
    )
    info.add_argument("index", help="index file from `finereid index build`")
    info.set_defaults(_index_run=run_info)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the sub-command."""
    return args._index_run(args)


def run_build(args: argparse.Namespace) -> int:
    """Load the feature file, build the index, save it, print a one-line summary."""
    from finereid.deploy import build_index, load_features
    from finereid.errors import FinereidError

    if not os.path.isfile(args.gallery):
        raise FinereidError(f"feature file not found: {args.gallery}")
    features = load_features(args.gallery)
    settings = {
        "nlist": args.nlist, "pq_m": args.pq_m, "pq_bits": args.pq_bits, "nprobe": args.nprobe,
        "train_size": args.train_size, "hnsw_m": args.hnsw_m, "ef_search": args.ef_search,
    }  # fmt: skip
    start = time.perf_counter()
    index = build_index(
        features, args.kind, args.distance, {"feature_file": str(args.gallery)}, **_given(settings)
    )
    path = index.save(args.out)
    seconds = time.perf_counter() - start
    meta = index.meta
    print(
        f"indexed {index.size} features (D={meta['dimension']}, {meta.get('model') or 'unknown model'}, "
        f"{meta['distance']}) as {meta['kind']} {json.dumps(meta['settings'])} -> {path} "
        f"({os.path.getsize(path) / 2**20:.1f} MiB, {seconds:.1f} s)"
    )
    return 0


def run_info(args: argparse.Namespace) -> int:
    """Print the index file's metadata as JSON."""
    from finereid.deploy import load_index

    index = load_index(args.index)
    print(json.dumps({**index.meta, "size": index.size}, indent=2))
    return 0


def _given(settings: dict) -> dict:
    """The settings given on the command line (the index kind rejects those it does not have)."""
    return {key: value for key, value in settings.items() if value is not None}
