"""The verification part of a run report: ROC curve, genuine/impostor distance histograms, TPR@FPR table.

Renders the summary `finereid.metrics.VerificationResult.to_dict()` stored with the evaluation
(`metrics["verification"]` in ranking.npz); nothing is recomputed.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from finereid.errors import FinereidError
from finereid.reports.plots import figure_svg


def roc_figure(summary: dict[str, Any], size: tuple[float, float] = (4.6, 3.4)) -> Figure:
    """TPR against FPR (log scale), with the TPR@FPR points marked."""
    fpr = np.asarray(summary["roc"]["fpr"], dtype=float)
    tpr = np.asarray(summary["roc"]["tpr"], dtype=float)
    if fpr.size < 2:
        raise FinereidError("the stored ROC curve has fewer than two points")
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    shown = fpr > 0
    ax.plot(fpr[shown], 100 * tpr[shown], linewidth=1.6, label=f"EER {100 * summary['eer']:.2f} %")
    points = {float(k): v for k, v in summary["tpr_at_fpr"].items()}
    ax.scatter(list(points), [100 * v for v in points.values()], s=18, zorder=3, color="black")
    for at, value in points.items():
        ax.annotate(f"{100 * value:.1f} %", (at, 100 * value), textcoords="offset points", xytext=(4, -10))
    ax.set_xscale("log")
    ax.set_xlim(max(float(fpr[shown].min()), 1e-6), 1.0)
    ax.set_ylim(0, 100.5)
    ax.set_xlabel("false-positive rate (impostor pairs accepted)")
    ax.set_ylabel("true-positive rate (%)")
    ax.grid(alpha=0.3, which="both")
    ax.set_title("ROC, cross-camera pairs")
    ax.legend(loc="lower right", fontsize="small")
    return fig


def histogram_figure(summary: dict[str, Any], size: tuple[float, float] = (4.6, 3.4)) -> Figure:
    """Genuine and impostor pair distances, each normalized to its own total."""
    hist = summary["histogram"]
    edges = np.asarray(hist["edges"], dtype=float)
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    for name, color in (("genuine", "tab:green"), ("impostor", "tab:red")):
        counts = np.asarray(hist[name], dtype=float)
        share = counts / max(1.0, counts.sum())
        ax.stairs(
            share, edges, fill=True, alpha=0.45, color=color, label=f"{name} ({int(counts.sum())} pairs)"
        )
    thresholds = summary.get("threshold_at_fpr", {})
    for k, threshold in enumerate(thresholds.values()):
        label = f"thresholds at FPR {', '.join(thresholds)}" if k == 0 else None
        ax.axvline(threshold, color="black", linewidth=0.8, linestyle=":", label=label)
    ax.set_xlabel(f"{summary.get('distance', '')} distance")
    ax.set_ylabel("share of pairs")
    ax.set_title("pair distances")
    ax.legend(loc="best", fontsize="x-small")
    return fig


def verification_section(summary: dict[str, Any]) -> str:
    """HTML: the TPR@FPR table and both plots."""
    rows = "".join(
        f'<tr><th>TPR at FPR {html.escape(at)}</th><td class="num">{100 * tpr:.2f} %</td>'
        f'<td class="num">threshold {summary["threshold_at_fpr"][at]:.4g}</td></tr>'
        for at, tpr in summary["tpr_at_fpr"].items()
    )
    rows += (
        f'<tr><th>equal error rate</th><td class="num">{100 * summary["eer"]:.2f} %</td>'
        f'<td class="num">threshold {summary["eer_threshold"]:.4g}</td></tr>'
    )
    note = (
        f'<p class="summary">every query-gallery pair taken by different cameras: {summary["num_genuine"]} '
        f"genuine (same identity), {summary['num_impostor']} impostor pairs; a pair is accepted when its "
        "distance is below the threshold.</p>"
    )
    plots = figure_svg(roc_figure(summary)) + figure_svg(histogram_figure(summary))
    table = f'<table class="kv">{rows}</table>'
    return f'<h2>Same person? (verification)</h2>{note}{table}<div class="verification">{plots}</div>'
