"""The CMC plot every report draws (run report, demo, experiments), of curves finereid.metrics computed."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from finereid.errors import FinereidError

MAX_CMC_RANK = 20


def cmc_figure(
    curves: Mapping[str, Sequence[float]],
    max_rank: int = MAX_CMC_RANK,
    title: str = "CMC",
    size: tuple[float, float] = (5.5, 3.8),
) -> Figure:
    """One curve (fractions, rank 1 first) per name, in percent; the legend gives each rank-1."""
    if not curves:
        raise FinereidError("no CMC curve to plot")
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    lowest, longest = 100.0, 1
    for name, cmc in curves.items():
        values = 100 * np.asarray(cmc, dtype=float)[:max_rank]
        if values.size == 0:
            raise FinereidError(f"empty CMC curve for {name!r}")
        lowest, longest = min(lowest, float(values.min())), max(longest, values.size)
        label = f"{name} (rank-1 {values[0]:.1f} %)" if name else f"rank-1 {values[0]:.1f} %"
        ax.plot(np.arange(1, values.size + 1), values, marker="o", markersize=3, linewidth=1.6, label=label)
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_xlim(1, max(2, longest))
    ax.set_ylim(max(0.0, lowest - 5.0), 100.5)
    ax.set_xticks([1, *range(5, longest + 1, 5)])
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def figure_svg(fig: Figure) -> str:
    """A matplotlib figure as inline SVG markup (no files, no pyplot state)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]
