"""`finereid experiment`: run a grid of trainings from an experiment YAML (`run`), tabulate it (`report`)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Nested sub-commands: run, report."""
    sub = parser.add_subparsers(dest="experiment_command", metavar="SUBCOMMAND", required=True)
    run_parser = sub.add_parser(
        "run", help="train every unfinished cell of an experiment file, then write its report",
        description="Train the cells of an experiment grid in order; finished cells are skipped and a "
                    "started cell resumes from its last.ckpt, so an interrupted experiment continues.",
    )  # fmt: skip
    run_parser.add_argument("file", type=Path, metavar="FILE.yaml", help="experiment file (see experiments/)")
    run_parser.add_argument("--out", type=Path, help="output directory (default: runs/experiments/<name>)")
    run_parser.add_argument("--dry-run", action="store_true", help="validate, list the cells, train nothing")
    run_parser.add_argument(
        "--set", dest="overrides", nargs="+", action="extend", default=[], metavar="SECTION.KEY=VALUE",
        help="override a config value in every cell (after the grid), e.g. --set data.root=/data/market1501",
    )  # fmt: skip
    run_parser.add_argument("--keep-going", action="store_true",
                            help="when a cell fails, log it and run the next; exit 2 at the end")  # fmt: skip
    run_parser.add_argument(
        "--keep-last",
        action="store_true",
        help="keep finished cells' last.ckpt (default: delete; best.ckpt stays)",
    )
    run_parser.add_argument("--no-report", action="store_true", help="do not write report.md at the end")
    run_parser.set_defaults(_experiment_run=run_cells)
    report_parser = sub.add_parser(
        "report", help="write report.md (mean ± std tables) and plots of an experiment directory",
        description="Markdown tables (mean ± std over seeds, best per column in bold) and plots "
                    "(bars, CMC curves, mAP vs training fraction) of the finished cells.",
    )  # fmt: skip
    report_parser.add_argument("dir", type=Path, metavar="DIR", help="an experiment output directory")
    report_parser.set_defaults(_experiment_run=report)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen sub-command."""
    return args._experiment_run(args)


def run_cells(args: argparse.Namespace) -> int:
    """Load and validate the spec, then list (--dry-run) or train its cells."""
    from finereid.experiments import cell_status, load_spec, parse_set, run_experiment, write_report

    spec = load_spec(args.file, parse_set(args.overrides))
    out_dir = args.out or Path("runs") / "experiments" / spec.name
    statuses = cell_status(spec, out_dir)
    if args.dry_run:
        print(f"experiment {spec.name}: {len(statuses)} cells -> {out_dir}")
        for status in statuses:
            config = status.cell.config
            names = config.data.name if isinstance(config.data.name, str) else "+".join(config.data.name)
            print(f"  {status.cell.index + 1:3d}  {status.state:8s} {status.cell.id}  "
                  f"[{names} {config.model.name} {config.loss.metric_loss}]")  # fmt: skip
        missing = _missing_roots(statuses, pending_only=False)
        if missing:
            print(f"note: dataset root(s) not found here: {', '.join(missing)}")
        return 0
    _check_roots(statuses)
    run_experiment(spec, out_dir, keep_going=args.keep_going, keep_last=args.keep_last)
    if not args.no_report:
        print(f"report: {write_report(out_dir)}")
    return 0


def report(args: argparse.Namespace) -> int:
    """Write DIR/report.md and DIR/plots/ from the finished cells."""
    from finereid.experiments import write_report

    print(f"report: {write_report(args.dir)}")
    return 0


def _check_roots(statuses: list) -> None:
    """Fail before any training when a cell that still has to run points at a missing dataset root."""
    from finereid.errors import DatasetError

    missing = _missing_roots(statuses, pending_only=True)
    if missing:
        raise DatasetError(
            f"dataset root not found: {', '.join(missing)} (relative to the current directory; "
            "set it in the spec or with --set data.root=DIR)"
        )


def _missing_roots(statuses: list, pending_only: bool) -> list[str]:
    """The cells' training and validation folders that do not exist (of unfinished cells: `pending_only`)."""
    from finereid.config_sources import train_sources, val_sources

    roots = set()
    for status in statuses:
        if pending_only and status.state == "done":
            continue
        data, trainer = status.cell.config.data, status.cell.config.trainer
        targets = val_sources(data.name, data.root, data.options, trainer.val_datasets, trainer.val_roots)
        roots.update(source.root for source in [*train_sources(data.name, data.root, data.options), *targets])
    return sorted(root for root in roots if not Path(root).exists())
