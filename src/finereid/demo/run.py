"""`finereid demo`: train the same recipe with triplet and with FDP on synthetic data, compare, draw.

demo_report/results.json          settings, dataset summary, each run's metrics, the queries shown
demo_report/cmc.png               CMC curves of every run
demo_report/ranked_<loss>.png     the same queries and their top-10 under each model
demo_report/ranked_compare.png    queries each model wins by the most, one row per model
demo_report/maps_compare.png      activation maps of every model on the same look-alike queries
demo_report/embedding.png         t-SNE embedding map of the same identities under every model
demo_report/runs/<loss>/          each run's directory (config, logs, best/last.ckpt, ranking.npz)
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finereid.demo.data import make_writable_dir, prepare_dataset
from finereid.demo.figures import cmc_figure, ranked_grid
from finereid.demo.maps import write_maps
from finereid.demo.ranked import grid_rows, lookalike_groups, pick_queries
from finereid.demo.settings import DemoSettings, get_preset
from finereid.errors import ConfigError
from finereid.files import CONFIG_FILE, LAST_CHECKPOINT, RANKING_FILE
from finereid.metrics import SCORE_KEYS

logger = logging.getLogger(__name__)

TOP_K = 10


def run_demo(
    out_dir: str | Path = "demo_report",
    data_dir: str | Path | None = None,
    quick: bool = False,
    seed: int = 0,
    losses: Sequence[str] = ("triplet", "fdp"),
    settings: DemoSettings | None = None,
    print_table: bool = True,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """Build or reuse the synthetic dataset, train and evaluate once per loss, write the report; returns it.

    Every loss trains the same recipe with the same seed and schedule. `settings` replaces the preset
    that `quick` picks (full or quick); `overrides` (`section.key=value`) change the recipe of every run.
    The side-by-side table is printed unless `print_table` is False.
    """
    settings = settings or get_preset("quick" if quick else "full")
    losses = _check_losses(losses, seed)
    for loss in losses:
        settings.config(loss, "data", seed, overrides)  # unknown names and bad overrides fail before any work
    out = _prepare_out(Path(out_dir))
    start = time.perf_counter()
    root, summary = prepare_dataset(settings, seed, data_dir)
    runs: dict[str, dict[str, Any]] = {}
    for number, loss in enumerate(losses, 1):
        logger.info("run %d of %d: metric loss %s", number, len(losses), loss)
        runs[loss] = _train_and_evaluate(settings, loss, root, seed, out / "runs" / loss, overrides)
    shown, files = _write_figures(out, runs, root, seed)
    results = {
        "preset": settings.name,
        "seed": seed,
        "losses": list(losses),
        "data_root": str(root),
        "dataset": summary,
        "training": _training_summary(settings, losses[0], root, seed, overrides),
        "runs": runs,
        "shown_queries": shown,
        "files": files,
        "total_time_s": round(time.perf_counter() - start, 1),
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if print_table:
        print(format_results(results))
        print(f"report: {out}/ ({', '.join(files.values())}, results.json)")
    return results


def format_results(results: dict[str, Any]) -> str:
    """The side-by-side table: one line per loss with R1, R5, mAP, mINP (percent) and training time."""
    data, training = results["dataset"], results["training"]
    lines = [
        f"finereid demo ({results['preset']}, seed {results['seed']}): synthetic data, "
        f"{data['num_train_ids']} train ids / {data['num_train_images']} images, "
        f"{data['num_query_images']} query, {data['num_gallery_images']} gallery; "
        f"{training['model']} at {training['input']}, {training['epochs']} epochs",
        "",
        f"{'loss':<10}|{'R1':>7} |{'R5':>7} |{'mAP':>7} |{'mINP':>7} | train time",
        f"{'-' * 10}+{'-' * 8}+{'-' * 8}+{'-' * 8}+{'-' * 8}+{'-' * 11}",
    ]
    for loss, run in results["runs"].items():
        values = "|".join(f"{100 * run[k]:7.1f} " for k in ("rank1", "rank5", "mAP", "mINP"))
        lines.append(f"{loss:<10}|{values}| {_duration(run['train_time_s'])}")
    if results["preset"] == "quick":
        lines += ["", "quick mode checks that everything runs; its few steps leave both models near chance. "
                      "`finereid demo` (about 9 minutes) shows the comparison."]  # fmt: skip
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    """`4 min 05 s` or `38 s`."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _check_losses(losses: Sequence[str], seed: int) -> list[str]:
    """At least one loss, no repeats, a non-negative seed."""
    losses = [losses] if isinstance(losses, str) else list(losses)
    if not losses:
        raise ConfigError("the demo needs at least one metric loss")
    if len(set(losses)) != len(losses):
        raise ConfigError(f"each loss may appear once, got {', '.join(losses)}")
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    return losses


def _prepare_out(out: Path) -> Path:
    """Create the report folder, or raise a one-line error when it cannot be one."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    return make_writable_dir(out, "report folder", ConfigError)


def _clear_run_dir(run_dir: Path) -> None:
    """Remove a previous demo's run of this loss; refuse to delete a folder the demo did not write."""
    if not run_dir.exists():
        return
    if run_dir.is_dir() and ((run_dir / CONFIG_FILE).is_file() or not any(run_dir.iterdir())):
        shutil.rmtree(run_dir)
        return
    raise ConfigError(f"{run_dir} exists and is not a finereid demo run; use another --out")


def _train_and_evaluate(
    settings: DemoSettings, loss: str, root: Path, seed: int, run_dir: Path, overrides: Sequence[str] = ()
) -> dict:
    """Train one loss into `run_dir`, evaluate its final weights, save their ranked lists."""
    from finereid.engine import run_training
    from finereid.evaluation import evaluate_checkpoint

    config = settings.config(loss, root, seed, overrides)
    _clear_run_dir(run_dir)
    metrics = run_training(config, run_dir)
    result = evaluate_checkpoint(
        run_dir / LAST_CHECKPOINT, config.data.name, root, batch_size=config.data.test_batch_size,
        num_workers=config.data.num_workers, ranking_path=run_dir / RANKING_FILE, top_k=TOP_K,
    )  # fmt: skip
    return {
        **{key: float(result[key]) for key in SCORE_KEYS},
        "cmc": [float(v) for v in result["cmc"]],
        "num_valid_queries": result.get("num_valid_queries"),
        "train_time_s": metrics["wall_time_s"],
        "images_per_s": metrics["images_per_s"],
        "metric_loss_kwargs": dict(config.loss.metric_loss_kwargs),
        "run_dir": str(run_dir),
    }


def _write_figures(
    out: Path, runs: dict[str, dict], root: Path, seed: int
) -> tuple[list[dict], dict[str, str]]:
    """cmc.png, one ranked grid per loss over the same queries, and the comparison grid."""
    from finereid.evaluation import load_ranking

    files = {"cmc": cmc_figure({loss: run["cmc"] for loss, run in runs.items()}, out / "cmc.png").name}
    rankings = {loss: load_ranking(Path(run["run_dir"]) / RANKING_FILE) for loss, run in runs.items()}
    picks = pick_queries(rankings, num_differ=6, num_random=4, seed=seed)
    groups = lookalike_groups(root)
    legend = "green: same person, red: another person, ~: a look-alike of the query (differs in one detail)"
    for loss, ranking in rankings.items():
        title = f"{loss}: each query (blue) and its top-{TOP_K} in the gallery\n{legend}"
        path = out / f"ranked_{loss}.png"
        ranked_grid(grid_rows(ranking, picks, groups), title).save(path, optimize=True)
        files[f"ranked_{loss}"] = path.name
    differ = [p for p in picks if p[1] == "differs"][:4]  # alternating: two won by each side
    if len(rankings) > 1 and differ:
        rows = [row for q in differ for name, ranking in rankings.items()
                for row in grid_rows(ranking, [q], groups, name)]  # fmt: skip
        title = f"queries on which one model beats the other by the most, one row per model\n{legend}"
        ranked_grid(rows, title).save(out / "ranked_compare.png", optimize=True)
        files["ranked_compare"] = "ranked_compare.png"
    files.update(write_maps(out, rankings, picks, root))
    first = next(iter(rankings.values()))
    shown = [
        {"query": str(first.query_paths[q]), "pid": int(first.query_pids[q]), "why": why,
         "average_precision": {loss: float(r.average_precision[q]) for loss, r in rankings.items()},
         "first_match": {loss: int(r.first_match[q]) for loss, r in rankings.items()}}
        for q, why in picks
    ]  # fmt: skip
    return shown, files


def _training_summary(
    settings: DemoSettings, loss: str, root: Path, seed: int, overrides: Sequence[str] = ()
) -> dict[str, Any]:
    """Model, input size, epochs and batch of the shared recipe (for the table and results.json)."""
    config = settings.config(loss, root, seed, overrides)
    return {
        "model": config.model.name,
        "input": f"{config.data.height}x{config.data.width}",
        "epochs": config.trainer.max_epochs,
        "batch_size": config.data.batch_size,
        "lr": config.optim.lr,
        "config": {k: v for k, v in config.to_dict().items() if k != "loss"},
    }
