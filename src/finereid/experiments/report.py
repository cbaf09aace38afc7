"""Markdown tables and matplotlib plots of a finished (or partly finished) experiment directory.

Rows and columns are the spec's `report.rows` / `report.columns` axes; every other axis (the seeds)
is averaged over: a table cell is the mean ± sample standard deviation (n - 1) of the runs that
share its row and column labels. Rates are shown in percent; the best mean of each column is bold.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finereid.experiments.plots import write_plots
from finereid.experiments.results import (
    LOWER_IS_BETTER,
    Stat,
    column_title,
    expand_targets,
    format_stat,
    header,
    load_results,
    ordered_keys,
    summarize,
)

log = logging.getLogger(__name__)

REPORT_FILE = "report.md"
PLOTS_DIR = "plots"


def results_table(plan: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    """The main Markdown table: one row per row-axes combination, one column per (column combo, metric)."""
    report = plan["report"]
    rows, columns = report["rows"], report["columns"]
    metrics = expand_targets(report["metrics"], records)
    stats = {m: summarize(records, [*rows, *columns], m) for m in metrics}
    present = {k for s in stats.values() for k in s}
    row_keys = ordered_keys(plan, rows, {k[: len(rows)] for k in present})
    col_keys = ordered_keys(plan, columns, {k[len(rows) :] for k in present})
    titles = [*rows] if rows else ["runs"]
    titles += [" ".join([*column_title(columns, c), header(m)]) for c in col_keys for m in metrics]
    best = {(c, m): _best([stats[m][(*r, *c)].mean for r in row_keys if (*r, *c) in stats[m]], m)
            for c in col_keys for m in metrics}  # fmt: skip
    lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for r in row_keys:
        cells = list(r) if rows else ["all"]
        for c in col_keys:
            for m in metrics:
                stat = stats[m].get((*r, *c))
                text = "–" if stat is None else format_stat(stat, m)
                cells.append(f"**{text}**" if stat is not None and stat.mean == best[(c, m)] else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cells_table(plan: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    """Every finished cell with its own metrics and wall time (no averaging)."""
    axes = [a["display"] for a in plan["axes"]]
    metrics = [m for m in expand_targets(plan["report"]["metrics"], records) if m != "wall_time_s"]
    titles = ["cell", *axes, *(header(m) for m in metrics), "time (s)"]
    lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for r in sorted(records, key=lambda r: r["index"]):
        values = [_one(r["metrics"].get(m), m) for m in metrics]
        wall = r["metrics"].get("wall_time_s")
        lines.append("| " + " | ".join([f"`{r['id']}`", *(r["labels"][a] for a in axes), *values,
                                        "–" if wall is None else f"{wall:.0f}"]) + " |")  # fmt: skip
    return "\n".join(lines)


def write_report(out_dir: str | Path) -> Path:
    """Write DIR/report.md and DIR/plots/*.png from the finished cells; returns the report's path."""

    out_dir = Path(out_dir)
    plan, records = load_results(out_dir)
    total = len(plan["cells"])
    parts = [f"# Experiment `{plan['name']}`", ""]
    if plan.get("description"):
        parts += [plan["description"], ""]
    parts += [f"Spec: `{plan['spec']}` (base config `{plan['base']}`). "
              f"{len(records)} of {total} cells finished.", ""]  # fmt: skip
    if not records:
        parts.append("No finished cells yet.")
    else:
        parts += ["## Results", "", _caption(plan, records), "", results_table(plan, records), ""]
        plots = write_plots(plan, records, out_dir / PLOTS_DIR)
        if plots:
            parts += ["## Plots", ""]
            parts += [f"![{p.stem}]({PLOTS_DIR}/{p.name})" for p in plots]
            parts.append("")
        parts += ["## All cells", "", cells_table(plan, records), ""]
    path = out_dir / REPORT_FILE
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    log.info("wrote %s (%d of %d cells)", path, len(records), total)
    return path


def _caption(plan: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    """What a table cell is: which axes are averaged and how many runs each holds."""
    report = plan["report"]
    averaged = [a["display"] for a in plan["axes"]
                if a["display"] not in report["rows"] and a["display"] not in report["columns"]]  # fmt: skip
    counts = summarize(records, [*report["rows"], *report["columns"]], report["metrics"][0])
    sizes = sorted({s.n for s in counts.values()})
    runs = "/".join(str(n) for n in sizes)
    over = f"over {', '.join(averaged)} " if averaged else ""
    return (f"Mean ± sample standard deviation {over}({runs} run(s) per entry); rates in percent; "
            "best mean per column in bold.")  # fmt: skip


def _one(value: Any, metric: str) -> str:
    """One run's metric as text, or a dash when it is missing."""
    return format_stat(Stat(value, None, 1), metric) if isinstance(value, (int, float)) else "–"


def _best(means: list[float], metric: str) -> float | None:
    """The best of a column's means (lowest for times, highest otherwise)."""
    if not means:
        return None
    return min(means) if metric in LOWER_IS_BETTER else max(means)
