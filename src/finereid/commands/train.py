"""`finereid train`: train a ReID model from a YAML config into a run directory (resumable, multi-GPU)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import yaml

from finereid.config import config_diff, load_config
from finereid.errors import ConfigError
from finereid.files import CONFIG_FILE

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Config file, overrides, run directory, resume and the common trainer flags."""
    parser.add_argument("--config", type=Path, help="YAML config (see configs/); optional with --resume")
    parser.add_argument(
        "--set",
        dest="overrides",
        nargs="+",
        action="extend",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override config values, e.g. --set loss.metric_loss=triplet data.root=/data/market1501",
    )
    parser.add_argument("--run-dir", type=Path, help="output directory (default: runs/<config name>)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir from last.ckpt")
    parser.add_argument("--devices", type=int, help="processes (GPUs) per node; > 1 trains with DDP")
    parser.add_argument("--num-nodes", type=int, help="number of nodes for multi-node DDP")
    parser.add_argument("--precision", help="32-true, bf16-mixed (CPU), 16-mixed (CUDA) or auto")
    parser.add_argument("--seed", type=int, help="seed of initialisation, sampling and augmentation")
    parser.add_argument("--max-epochs", type=int, help="number of training epochs")
    parser.add_argument("--train-id-fraction", type=float, help="train on this fraction of the identities")
    parser.add_argument("--train-image-fraction", type=float, help="fraction of each id's images")
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config (every key) as YAML and exit"
    )


def run(args: argparse.Namespace) -> int:
    """Resolve the config and run directory, train, print where the results are."""
    from finereid.engine import run_training  # heavy imports only when the command runs
    from finereid.runtime import is_rank_zero

    run_dir = args.run_dir
    if args.config is None:
        if not (args.resume and run_dir is not None):
            raise ConfigError("--config is required (or --resume --run-dir DIR to reuse DIR/config.yaml)")
        config_path = run_dir / CONFIG_FILE
    else:
        config_path = args.config
        run_dir = run_dir or Path("runs") / args.config.stem
    config = load_config(config_path, [*args.overrides, *_flag_overrides(args)])
    if args.print_config:
        print(yaml.safe_dump(config.to_dict(), sort_keys=False, default_flow_style=None), end="")
        return 0
    if args.resume and args.config is not None and (run_dir / CONFIG_FILE).is_file():
        changed = config_diff(config, load_config(run_dir / CONFIG_FILE))
        if changed:
            log.warning("resuming with a config that differs from config.yaml in: %s", ", ".join(changed))
    metrics = run_training(config, run_dir, resume=args.resume)
    if is_rank_zero():  # under DDP every process runs this command
        rank1, mAP = 100 * metrics["rank1"], 100 * metrics["mAP"]
        print(f"run directory: {run_dir}  rank1 {rank1:.2f}%  mAP {mAP:.2f}%")
    return 0


def _flag_overrides(args: argparse.Namespace) -> list[str]:
    """The dedicated flags as `section.key=value` overrides (applied after --set)."""
    flags = {
        "trainer.devices": args.devices,
        "trainer.num_nodes": args.num_nodes,
        "trainer.precision": args.precision,
        "trainer.seed": args.seed,
        "trainer.max_epochs": args.max_epochs,
        "data.train_id_fraction": args.train_id_fraction,
        "data.train_image_fraction": args.train_image_fraction,
    }
    return [f"{key}={value}" for key, value in flags.items() if value is not None]
