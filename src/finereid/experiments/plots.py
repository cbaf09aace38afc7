"""The report's figures: metric bars per row, CMC curves per row, and a metric-vs-x line plot (e.g. mAP
against the training fraction, one line per loss). One figure per combination of the column axes."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from finereid.experiments.results import (
    column_title,
    expand_targets,
    header,
    is_rate,
    ordered_keys,
    summarize,
)
from finereid.experiments.spec import slug
from finereid.reports.plots import MAX_CMC_RANK, cmc_figure


def write_plots(plan: dict[str, Any], records: Sequence[dict[str, Any]], plots_dir: Path) -> list[Path]:
    """Draw the plots the plan's report section asks for; returns the written PNG paths."""
    plots_dir.mkdir(parents=True, exist_ok=True)
    report = plan["report"]
    written: list[Path] = []
    for kind in report["plots"]:
        if kind == "line":
            columns = [c for c in report["columns"] if c != report["x"]]
            rows = [r for r in report["rows"] if r != report["x"]]
        else:
            columns, rows = report["columns"], report["rows"]
        present = {tuple(r["labels"][c] for c in columns) for r in records}
        for col_key in ordered_keys(plan, columns, present):
            subset = [r for r in records if tuple(r["labels"][c] for c in columns) == col_key]
            suffix = "_" + slug("_".join(col_key)) if col_key else ""
            title = " ".join(column_title(columns, col_key))
            if kind == "bars":
                written.append(_bars(plan, subset, rows, title, plots_dir / f"bars{suffix}.png"))
            elif kind == "cmc":
                written.append(_cmc(plan, subset, rows, title, plots_dir / f"cmc{suffix}.png"))
            else:
                name = f"mAP_vs_{slug(report['x'])}{suffix}.png"
                written.append(_line(plan, subset, rows, report["x"], title, plots_dir / name))
    return written


def _row_name(key: tuple, sep: str = " / ") -> str:
    """A row's legend / tick text: its labels joined by `sep` (a newline stacks them under a bar group)."""
    return sep.join(key) if key else "all"


def tick_rotation(labels: Sequence[str], fig_width_in: float, char_width_in: float = 0.075) -> int:
    """30 degrees when the longest line of some tick label is wider than its share of the axis, else 0."""
    if not labels:
        return 0
    share = 0.85 * fig_width_in / len(labels)
    longest = max(len(line) for label in labels for line in label.split("\n"))
    return 30 if longest * char_width_in > share else 0


def _bars(plan: dict[str, Any], records: Sequence[dict], rows: list[str], title: str, path: Path) -> Path:
    """Grouped bars: one group per row, one bar per rate metric, error bars = std over the averaged axes."""
    metrics = [m for m in expand_targets(plan["report"]["metrics"], records) if is_rate(m)] or [
        "rank1",
        "mAP",
    ]
    stats = {m: summarize(records, rows, m) for m in metrics}
    keys = ordered_keys(plan, rows, {k for s in stats.values() for k in s})
    fig = Figure(figsize=(max(5.0, 0.9 * len(keys) * len(metrics) / 2 + 2), 4), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / len(metrics)
    for i, metric in enumerate(metrics):
        xs = [k + (i - (len(metrics) - 1) / 2) * width for k in range(len(keys))]
        means = [100 * stats[metric][k].mean if k in stats[metric] else 0.0 for k in keys]
        errs = [100 * (stats[metric][k].std or 0.0) if k in stats[metric] else 0.0 for k in keys]
        ax.bar(xs, means, width, yerr=errs, capsize=3, label=header(metric))
    labels = [_row_name(k, "\n") for k in keys]
    rotation = tick_rotation(labels, fig.get_figwidth())
    ax.set_xticks(range(len(keys)), labels, rotation=rotation, ha="right" if rotation else "center")
    ax.set_ylabel("%")
    ax.set_title(title or plan["name"])
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")  # beside: never over a bar
    fig.savefig(path, dpi=120)
    return path


def _cmc(plan: dict[str, Any], records: Sequence[dict], rows: list[str], title: str, path: Path) -> Path:
    """Mean CMC curve (ranks 1..20) of each row, drawn by the one CMC plot of finereid.reports."""
    curves: dict[tuple, list[list[float]]] = {}
    for record in records:
        cmc = record["metrics"].get("cmc")
        if isinstance(cmc, list) and cmc:
            curves.setdefault(tuple(record["labels"][r] for r in rows), []).append(cmc)
    means = {}
    for key in ordered_keys(plan, rows, set(curves)):
        length = min(MAX_CMC_RANK, *(len(c) for c in curves[key]))
        means[_row_name(key)] = [statistics.fmean(c[k] for c in curves[key]) for k in range(length)]
    cmc_figure(means, MAX_CMC_RANK, title=f"CMC {title}".strip(), size=(5.5, 4)).savefig(path, dpi=120)
    return path


def _line(plan: dict[str, Any], records: Sequence[dict], rows: list[str], x: str, title: str,
          path: Path) -> Path:  # fmt: skip
    """mAP (mean ± std) against the numeric axis `x`, one line per combination of the other row axes."""
    stats = summarize(records, [*rows, x], "mAP")
    values = next(dict(zip(a["labels"], a["values"], strict=True)) for a in plan["axes"] if a["display"] == x)
    fig = Figure(figsize=(5.5, 4), layout="constrained")
    ax = fig.add_subplot()
    for key in ordered_keys(plan, rows, {k[:-1] for k in stats}):
        points = sorted((values[k[-1]], s) for k, s in stats.items() if k[:-1] == key)
        ax.errorbar([p for p, _ in points], [100 * s.mean for _, s in points],
                    yerr=[100 * (s.std or 0.0) for _, s in points], marker="o", capsize=3,
                    label=_row_name(key))  # fmt: skip
    ax.set_xlabel(x)
    ax.set_ylabel("mAP (%)")
    ax.set_title(f"mAP vs {x} {title}".strip())
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=120)
    return path
