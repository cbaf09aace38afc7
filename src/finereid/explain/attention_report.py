"""The detail-attention study's outputs: per-model table, mean ± std per loss, example maps side by side."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from finereid.explain.attention import DetailAttention, by_attribute, summarize
from finereid.explain.overlay import overlay, sheet

COLUMNS = (
    ("queries", "queries", "{:.0f}"),
    ("share_match", "match share", "{:.3f}"),
    ("share_contrast", "contrast share", "{:.3f}"),
    ("chance", "chance", "{:.3f}"),
    ("lift_match", "match / chance", "{:.2f}"),
    ("lift_contrast", "contrast / chance", "{:.2f}"),
    ("above_chance_match", "match > chance", "{:.0%}"),
    ("above_chance_contrast", "contrast > chance", "{:.0%}"),
)
MASK_COLOUR = np.array([255, 0, 255], dtype=np.float32)


@dataclass
class ModelAttention:
    """One checkpoint's scored queries, with the loss and seed it was trained with."""

    label: str
    checkpoint: str
    loss: str
    seed: int
    records: list[DetailAttention]
    skipped: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: settings, summary, per-attribute summary, every record."""
        return {
            "label": self.label,
            "checkpoint": self.checkpoint,
            "loss": self.loss,
            "seed": self.seed,
            "summary": summarize(self.records),
            "by_attribute": by_attribute(self.records),
            "skipped": self.skipped,
            "records": [r.to_dict() for r in self.records],
        }


def _cell(value: Any, spec: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    return spec.format(value)


def attention_table(models: Sequence[ModelAttention]) -> str:
    """Markdown: one row per model, then one row per loss with mean ± std over its models (seeds)."""
    header = "| model | " + " | ".join(name for _, name, _ in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 1)]
    for model in models:
        summary = summarize(model.records)
        lines.append(f"| {model.label} | " + " | ".join(_cell(summary[k], s) for k, _, s in COLUMNS) + " |")
    losses = list(dict.fromkeys(m.loss for m in models))
    if len(models) > len(losses):
        lines.append("| **mean ± std over seeds** |" + " |" * len(COLUMNS))
        for loss in losses:
            rows = [summarize(m.records) for m in models if m.loss == loss]
            cells = []
            for key, _, spec in COLUMNS:
                values = np.array([r[key] for r in rows], dtype=float)
                std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
                cells.append(f"{_cell(float(values.mean()), spec)} ± {_cell(std, spec)}")
            lines.append(f"| {loss} ({len(rows)}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _with_mask(image: np.ndarray, mask: np.ndarray) -> Image.Image:
    """The image with its detail mask tinted magenta."""
    mixed = image.astype(np.float32)
    mixed[mask] = 0.45 * mixed[mask] + 0.55 * MASK_COLOUR
    return Image.fromarray(np.clip(np.rint(mixed), 0, 255).astype(np.uint8))


def pick_examples(models: Sequence[ModelAttention], count: int) -> list[str]:
    """Query paths scored by every model, one per kind of detail first, then the rest in order."""
    common = [
        r.query
        for r in models[0].records
        if all(any(o.query == r.query for o in m.records) for m in models[1:])
    ]
    kinds: dict[str, str] = {}
    by_query = {r.query: r for r in models[0].records}
    for query in common:
        kinds.setdefault(by_query[query].attribute, query)
    first = list(kinds.values())
    return (first + [q for q in common if q not in first])[:count]


def examples_sheet(models: Sequence[ModelAttention], count: int = 6) -> Image.Image:
    """Rows of example queries: the query with its detail (magenta), then each model's two maps."""
    queries = pick_examples(models, count)
    lookup: list[Mapping[str, DetailAttention]] = [{r.query: r for r in m.records} for m in models]
    rows, captions = [], []
    for query in queries:
        first = lookup[0][query]
        row = [_with_mask(first.maps["image"], first.maps["mask"])]
        shares = []
        for model, table in zip(models, lookup, strict=True):
            record = table[query]
            row += [
                overlay(record.maps["image"], record.maps["match"]),
                overlay(record.maps["image"], record.maps["contrast"]),
            ]
            match, contrast = _cell(record.share_match, "{:.2f}"), _cell(record.share_contrast, "{:.2f}")
            shares.append(f"{model.label}: {match} / {contrast}")
        rows.append(row)
        captions.append(
            f"{first.attribute}, chance {first.chance:.2f}\nshare match / contrast:\n" + "\n".join(shares)
        )
    headers = ["detail", *[f"{m.label}\n{kind}" for m in models for kind in ("match", "contrast")]]
    title = (
        "Where each model looks on the same queries (detail in magenta in the first column)\n"
        "match: what makes the query close to its true match; contrast: closer to it than to a look-alike"
    )
    return sheet(rows, captions, title, headers=headers)
