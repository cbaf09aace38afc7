"""`finereid convert`: a torchreid or fast-reid checkpoint as a finereid checkpoint (same embeddings)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `finereid convert`."""
    parser.add_argument("--from", dest="source", required=True, choices=("torchreid", "fastreid"),
                        help="the toolkit that wrote --weights")  # fmt: skip
    parser.add_argument(
        "--weights", required=True, help="its checkpoint (e.g. model.pth.tar-60, model_final.pth)"
    )
    parser.add_argument("--out", required=True, help="finereid checkpoint to write (e.g. osnet_market.ckpt)")
    parser.add_argument(
        "--model", help="the finereid model it must convert to (default: recognized from the keys)"
    )
    parser.add_argument(
        "--set", dest="overrides", nargs="+", action="extend", default=[], metavar="SECTION.KEY=VALUE",
        help="config values stored with it, e.g. data.height=384 model.options.last_stride=2",
    )  # fmt: skip
    parser.add_argument("--print-mapping", action="store_true", help="print every source -> finereid key")


def run(args: argparse.Namespace) -> int:
    """Convert, then list how every key was accounted for."""
    from finereid.convert import convert_checkpoint

    result = convert_checkpoint(
        args.source, args.weights, args.out, model=args.model, overrides=args.overrides
    )
    mapping = result.mapping
    if args.print_mapping:
        for source, target in mapping.pairs:
            print(f"  {source} -> {target}")
    print(f"{args.source} {args.weights} -> {result.out}: {result.model}, {result.num_classes} identities")
    print(f"mapped {len(mapping.pairs)} tensors")
    print(f"unmapped source keys ({len(result.dropped)}):")
    for key, why in result.dropped.items():
        print(f"  {key}: {why}")
    print(f"finereid keys left at initialisation ({len(result.left_at_init)}):")
    for key, why in result.left_at_init.items():
        print(f"  {key}: {why}")
    return 0
