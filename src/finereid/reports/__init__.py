"""Reports: render what `finereid.metrics` computed (static HTML pages, the CMC plot); never recompute it.

- `write_run_report(run_dir)`: the page of an evaluation run (`finereid report`), from its ranking.npz;
- `write_search_html(out, result, ...)`: the page of a gallery search (`finereid search`);
- `cmc_figure(curves)`: the CMC plot shared by the run report, the demo and the experiment reports;
- `embedding_figure(emap)`: the t-SNE embedding map `finereid.explain` computed (run report, demo).
"""

from __future__ import annotations

from finereid.reports.explain_view import embedding_figure
from finereid.reports.html import write_search_html
from finereid.reports.plots import cmc_figure, figure_svg
from finereid.reports.run_report import report_probes, write_run_report

__all__ = [
    "cmc_figure",
    "embedding_figure",
    "figure_svg",
    "report_probes",
    "write_run_report",
    "write_search_html",
]
