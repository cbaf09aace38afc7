"""Run an experiment's cells in order as normal training runs, skipping finished ones, recording results.

Layout of the output directory:

    DIR/experiment.json     the plan: spec name, axes, report layout, one entry per cell
    DIR/runs/<cell id>/     each cell's run directory (config.yaml, checkpoints, metrics.json)
    DIR/cells.jsonl         one line per finished cell: id, axis labels and values, metrics
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from finereid.config import Config, config_diff, config_from_dict
from finereid.config_values import read_yaml_with_bases
from finereid.errors import ConfigError, FinereidError
from finereid.experiments.spec import Cell, ExperimentSpec
from finereid.files import (
    BEST_CHECKPOINT,
    CONFIG_FILE,
    LAST_CHECKPOINT,
    METRICS_FILE,
    atomic_write_json,
    atomic_write_text,
)
from finereid.runtime import is_rank_zero

log = logging.getLogger(__name__)

PLAN_FILE = "experiment.json"
CELLS_FILE = "cells.jsonl"
RUNS_DIR = "runs"

TrainFn = Callable[[Config, Path, bool], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class CellStatus:
    """Where a cell stands in an output directory: done, resume (last.ckpt, no metrics) or pending."""

    cell: Cell
    run_dir: Path
    state: str


def cell_status(spec: ExperimentSpec, out_dir: str | Path) -> list[CellStatus]:
    """Each cell's state; a finished or started cell whose config differs from the spec is an error."""
    out_dir = Path(out_dir)
    statuses = []
    for cell in spec.cells:
        run_dir = out_dir / RUNS_DIR / cell.id
        if (run_dir / METRICS_FILE).is_file():
            state = "done"
        elif (run_dir / LAST_CHECKPOINT).is_file():
            state = "resume"
        else:
            state = "pending"
        if state != "pending":
            check_same_config(cell, run_dir)
        statuses.append(CellStatus(cell, run_dir, state))
    return statuses


def check_same_config(cell: Cell, run_dir: Path) -> None:
    """Raise a ConfigError when run_dir/config.yaml differs from the cell's config (a stale result)."""
    saved_path = run_dir / CONFIG_FILE
    if not saved_path.is_file():
        return
    try:
        saved = config_from_dict(read_yaml_with_bases(saved_path, []))
    except ConfigError as exc:
        raise ConfigError(f"{saved_path}: {exc}; delete {run_dir} to rerun that cell") from None
    changed = config_diff(cell.config, saved)
    if changed:
        raise ConfigError(
            f"cell {cell.id}: {run_dir} was trained with a different {', '.join(changed)}; "
            "use another --out or delete that run directory"
        )


def run_experiment(
    spec: ExperimentSpec,
    out_dir: str | Path,
    train: TrainFn | None = None,
    keep_going: bool = False,
    keep_last: bool = False,
) -> list[dict[str, Any]]:
    """Train every unfinished cell (resuming started ones); returns the records of the finished cells.

    `train(config, run_dir, resume)` defaults to finereid.engine.run_training. With `keep_going` a
    cell that fails with a FinereidError (e.g. a non-finite loss) is logged and the next one runs; the
    failures are raised together at the end. A finished cell's last.ckpt (only needed to resume it) is
    deleted when its best.ckpt exists, unless `keep_last`: a grid of hundreds of cells would otherwise
    hold two full checkpoints per cell.
    """
    if train is None:
        from finereid.engine import run_training as train  # heavy import only when training

    out_dir = Path(out_dir)
    statuses = cell_status(spec, out_dir)
    if is_rank_zero():
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out_dir / PLAN_FILE, plan_dict(spec))
    todo = [s for s in statuses if s.state != "done"]
    log.info("experiment %s: %d cells, %d finished, %d to run -> %s", spec.name, len(statuses),
             len(statuses) - len(todo), len(todo), out_dir)  # fmt: skip
    failures = []
    for number, status in enumerate(todo, 1):
        resume = status.state == "resume"
        log.info("cell %d/%d %s%s", number, len(todo), status.cell.id, " (resuming)" if resume else "")
        try:
            metrics = train(status.cell.config, status.run_dir, resume)
        except FinereidError as exc:
            if not keep_going:
                raise FinereidError(f"cell {status.cell.id} failed: {exc}") from exc
            log.error("cell %s failed: %s", status.cell.id, exc)
            failures.append(status.cell.id)
            continue
        log.info("cell %s: rank1 %.2f%% mAP %.2f%%", status.cell.id, 100 * metrics.get("rank1", float("nan")),
                 100 * metrics.get("mAP", float("nan")))  # fmt: skip
        if is_rank_zero():
            write_cells(spec, out_dir)
            if not keep_last:
                remove_resume_checkpoint(status.run_dir)
    records = write_cells(spec, out_dir) if is_rank_zero() else collect_records(spec, out_dir)
    if failures:
        raise FinereidError(f"{len(failures)} cell(s) failed: {', '.join(failures)} (see the log above)")
    return records


def remove_resume_checkpoint(run_dir: Path) -> None:
    """Delete a finished run's last.ckpt when its best.ckpt exists (last.ckpt only serves to resume)."""
    last, best = run_dir / LAST_CHECKPOINT, run_dir / BEST_CHECKPOINT
    if last.is_file() and best.is_file():
        last.unlink()
        log.debug("removed %s (the cell is finished; best.ckpt stays)", last)


def collect_records(spec: ExperimentSpec, out_dir: Path) -> list[dict[str, Any]]:
    """One record per cell with a metrics.json, in grid order."""
    records = []
    for cell in spec.cells:
        run_dir = out_dir / RUNS_DIR / cell.id
        metrics_path = run_dir / METRICS_FILE
        if not metrics_path.is_file():
            continue
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            raise ConfigError(f"{metrics_path} is not valid JSON; delete it to rerun that cell") from None
        records.append({
            "id": cell.id, "index": cell.index, "run_dir": f"{RUNS_DIR}/{cell.id}",
            "labels": cell.labels, "values": cell.values, "metrics": metrics,
        })  # fmt: skip
    return records


def write_cells(spec: ExperimentSpec, out_dir: Path) -> list[dict[str, Any]]:
    """Rewrite DIR/cells.jsonl from the finished cells' metrics.json files; returns the records."""
    records = collect_records(spec, out_dir)
    atomic_write_text(out_dir / CELLS_FILE, "".join(json.dumps(r) + "\n" for r in records))
    return records


def plan_dict(spec: ExperimentSpec) -> dict[str, Any]:
    """The plan saved as DIR/experiment.json: what `finereid experiment report` needs besides cells.jsonl."""
    return {
        "name": spec.name,
        "spec": str(spec.path),
        "description": spec.description,
        "base": str(spec.base),
        "axes": [
            {
                "name": a.name,
                "display": a.display,
                "labels": [v.label for v in a.values],
                "values": [v.raw for v in a.values],
            }
            for a in spec.axes
        ],
        "report": dataclasses.asdict(spec.report),
        "cells": [{"id": c.id, "index": c.index, "labels": c.labels} for c in spec.cells],
    }
