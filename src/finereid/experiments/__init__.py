"""Experiments: a grid of training runs declared in a YAML file, run and resumed cell by cell, then tabled.

`load_spec(file)` parses and validates every cell, `run_experiment(spec, out_dir)` trains the unfinished
cells and records them in `out_dir/cells.jsonl`, `write_report(out_dir)` writes report.md and plots.
"""

from __future__ import annotations

from finereid.experiments.overrides import apply_overrides, parse_overrides, parse_set
from finereid.experiments.report import results_table, write_report
from finereid.experiments.results import format_stat, load_results, summarize
from finereid.experiments.runner import CellStatus, cell_status, collect_records, run_experiment
from finereid.experiments.spec import (
    SHORTCUTS,
    Axis,
    AxisValue,
    Cell,
    ExperimentSpec,
    ReportSpec,
    load_spec,
)

__all__ = [
    "SHORTCUTS",
    "Axis",
    "AxisValue",
    "Cell",
    "CellStatus",
    "ExperimentSpec",
    "ReportSpec",
    "apply_overrides",
    "cell_status",
    "collect_records",
    "format_stat",
    "load_results",
    "load_spec",
    "parse_overrides",
    "parse_set",
    "results_table",
    "run_experiment",
    "summarize",
    "write_report",
]
