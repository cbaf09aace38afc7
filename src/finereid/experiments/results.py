"""An experiment's results as data: the plan and finished cells of a directory, grouped into mean ± std.

Shared by the Markdown tables (report.py) and the figures (plots.py), which import this module and never
each other. A metric is a metrics.json key: `mAP`, or `<target>/mAP` for one validation target of runs
that validated on several (`trainer.val_datasets`).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finereid.errors import ConfigError
from finereid.experiments.runner import CELLS_FILE, PLAN_FILE
from finereid.metrics import SCORE_KEYS

LOWER_IS_BETTER = frozenset({"wall_time_s"})
RATES = frozenset({*SCORE_KEYS, "best_mAP"})
HEADERS = {"rank1": "R1", "rank5": "R5", "rank10": "R10", "mAP": "mAP", "mINP": "mINP",
           "best_mAP": "best mAP", "wall_time_s": "time (s)", "images_per_s": "img/s"}  # fmt: skip


@dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation (None for a single run) and run count of one metric."""

    mean: float
    std: float | None
    n: int


def load_results(out_dir: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The plan (experiment.json) and finished-cell records (cells.jsonl) of an experiment directory."""
    out_dir = Path(out_dir)
    plan_path, cells_path = out_dir / PLAN_FILE, out_dir / CELLS_FILE
    if not plan_path.is_file():
        raise ConfigError(f"{out_dir} is not an experiment directory (no {PLAN_FILE}); run it first")
    try:
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
        lines = cells_path.read_text(encoding="utf-8").splitlines() if cells_path.is_file() else []
        records = [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{out_dir}: unreadable {PLAN_FILE} or {CELLS_FILE}: {exc}") from None
    return plan, records


def is_rate(metric: str) -> bool:
    """Whether a metric (`mAP`, `dukemtmc/mAP`) is a rate, shown in percent."""
    return metric.rpartition("/")[2] in RATES


def header(metric: str) -> str:
    """A metric's column title: `mAP`, `dukemtmc mAP`."""
    target, _, key = metric.rpartition("/")
    return f"{target} {HEADERS[key]}" if target else HEADERS[key]


def expand_targets(metrics: Sequence[str], records: Sequence[dict[str, Any]]) -> list[str]:
    """The report's metrics with each score replaced by one column per validation target, when the runs
    validated on named targets (`val_datasets` in metrics.json); targets in order of first appearance."""
    targets = list(dict.fromkeys(t for r in records for t in r["metrics"].get("val_datasets", [])))
    if not targets:
        return list(metrics)
    expanded: list[str] = []
    for metric in metrics:
        expanded += [f"{t}/{metric}" for t in targets] if metric in SCORE_KEYS else [metric]
    return expanded


def summarize(records: Sequence[dict[str, Any]], axes: Sequence[str], metric: str) -> dict[tuple, Stat]:
    """Group records by their labels on `axes`; mean and sample std of `metric` per group."""
    groups: dict[tuple, list[float]] = {}
    for record in records:
        value = record["metrics"].get(metric)
        if isinstance(value, (int, float)) and math.isfinite(value):
            key = tuple(record["labels"][a] for a in axes)
            groups.setdefault(key, []).append(float(value))
    return {key: Stat(statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else None, len(v))
            for key, v in groups.items()}  # fmt: skip


def ordered_keys(plan: dict[str, Any], axes: Sequence[str], present: set[tuple]) -> list[tuple]:
    """Label combinations of `axes` in grid order, keeping those with results."""
    labels = {a["display"]: a["labels"] for a in plan["axes"]}
    keys: list[tuple] = [()]
    for axis in axes:
        keys = [(*k, label) for k in keys for label in labels[axis]]
    return [k for k in keys if k in present]


def format_stat(stat: Stat, metric: str) -> str:
    """'94.5 ± 0.3' (rates in percent, one decimal; no ± for a single run)."""
    scale, digits = (100.0, 1) if is_rate(metric) else (1.0, 1)
    text = f"{scale * stat.mean:.{digits}f}"
    return text if stat.std is None else f"{text} ± {scale * stat.std:.{digits}f}"


def column_title(axes: Sequence[str], key: tuple) -> list[str]:
    """Column labels as shown in the header: names as they are, numbers and yes/no as axis=value."""
    return [f"{axis}={label}" if _is_number(label) or label in ("yes", "no") else label
            for axis, label in zip(axes, key, strict=True)]  # fmt: skip


def _is_number(text: str) -> bool:
    """Whether a label reads as a number (then the header says which axis it belongs to)."""
    try:
        float(text)
    except ValueError:
        return False
    return True
