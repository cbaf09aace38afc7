"""`finereid report`: a static HTML page for an evaluation run (metrics, CMC curve, ranked queries)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from finereid.commands.extract import resolve_device

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `finereid report`."""
    parser.add_argument("--run", required=True, metavar="RUN_DIR", help="run directory of `finereid train`")
    parser.add_argument(
        "--ranking", help="ranked lists (default RUN_DIR/ranking.npz, as `finereid eval` writes)"
    )
    parser.add_argument("--out", help="HTML file to write (default RUN_DIR/report/index.html)")
    parser.add_argument(
        "--images",
        choices=["link", "embed"],
        default="link",
        help="link to the image files (default) or embed thumbnails (one portable file)",
    )
    parser.add_argument(
        "--max-queries",
        type=int,
        default=1000,
        help="queries listed on the page, failures first (default 1000; 0 = all)",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="recompute ranking.npz from the run's best.ckpt and config.yaml dataset",
    )
    parser.add_argument(
        "--top-k", type=int, default=10, help="gallery items per query when ranking (default 10)"
    )
    parser.add_argument("--device", default="auto", help="device when ranking: auto, cpu, cuda")
    parser.add_argument("--batch-size", type=int, default=64, help="images per batch when ranking")
    parser.add_argument("--num-workers", type=int, default=2, help="image loading processes when ranking")


def run(args: argparse.Namespace) -> int:
    """Build (if needed) the ranking, then write the page."""
    from finereid.evaluation import evaluate_run
    from finereid.files import RANKING_FILE
    from finereid.reports import write_run_report

    run_dir = Path(args.run)
    ranking = Path(args.ranking) if args.ranking else run_dir / RANKING_FILE
    if args.rebuild or (args.ranking is None and run_dir.is_dir() and not ranking.is_file()):
        logger.info("ranking %s with the run's checkpoint (no %s yet)", run_dir, RANKING_FILE)
        ranking = evaluate_run(
            run_dir,
            top_k=args.top_k,
            batch_size=args.batch_size,
            num_workers=args.num_workers,
            device=resolve_device(args.device),
        )
    page = write_run_report(
        run_dir, args.out, ranking, images=args.images, max_queries=args.max_queries or None
    )
    print(f"report: {page.resolve().as_uri()}")
    return 0
