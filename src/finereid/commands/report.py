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
    parser.add_argument(
        "--maps",
        type=int,
        default=20,
        metavar="N",
        help="activation maps for the first N rank-1 failures, and an embedding map (default 20; 0 = none)",
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
    out = Path(args.out) if args.out else run_dir / "report" / "index.html"
    pictures = _explain(run_dir, ranking, out.parent / "maps", args) if args.maps > 0 else {}
    page = write_run_report(
        run_dir, out, ranking, images=args.images, max_queries=args.max_queries or None, **pictures
    )
    print(f"report: {page.resolve().as_uri()}")
    return 0


def _explain(run_dir: Path, ranking_path: Path, out_dir: Path, args: argparse.Namespace) -> dict[str, Path]:
    """Activation and embedding maps for the page; without them (one logged line) when they cannot be made."""
    from finereid.errors import FinereidError
    from finereid.evaluation import load_ranking
    from finereid.explain.report_maps import report_maps
    from finereid.files import BEST_CHECKPOINT, LAST_CHECKPOINT

    try:
        ranking = load_ranking(ranking_path)
        stored = ranking.meta.get("checkpoint")
        candidates = [Path(stored)] if stored else []
        candidates += [run_dir / BEST_CHECKPOINT, run_dir / LAST_CHECKPOINT]
        checkpoint = next((c for c in candidates if c.is_file()), None)
        if checkpoint is None:
            raise FinereidError(f"no checkpoint found ({', '.join(str(c) for c in candidates)})")
        return report_maps(ranking, checkpoint, out_dir, args.maps, device=resolve_device(args.device))
    except FinereidError as exc:
        logger.info("report without activation maps: %s", exc)
        return {}
