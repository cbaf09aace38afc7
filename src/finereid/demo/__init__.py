"""`finereid demo`: triplet vs FDP on a synthetic look-alike dataset, trained on a CPU in minutes.

`run_demo` draws (or reuses) the dataset, trains the same recipe once per loss, evaluates both runs and
writes a report folder: a CMC plot, ranked-result grids over the same queries, and results.json.
"""

from __future__ import annotations

from finereid.demo.data import complete_summary, default_cache_dir, prepare_dataset
from finereid.demo.figures import GridLayout, GridRow, cmc_figure, ranked_grid
from finereid.demo.ranked import grid_rows, lookalike_groups, pick_queries
from finereid.demo.run import format_results, run_demo
from finereid.demo.settings import LOSS_KWARGS, PRESETS, DemoSettings, get_preset

__all__ = [
    "LOSS_KWARGS",
    "PRESETS",
    "DemoSettings",
    "GridLayout",
    "GridRow",
    "cmc_figure",
    "complete_summary",
    "default_cache_dir",
    "format_results",
    "get_preset",
    "grid_rows",
    "lookalike_groups",
    "pick_queries",
    "prepare_dataset",
    "ranked_grid",
    "run_demo",
]
