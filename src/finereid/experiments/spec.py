"""Experiment files: a base training config, fixed overrides and a grid of axes whose product is the cells.

    name: loss_comparison              # optional, default: the file name
    description: one line              # optional
    base: ../configs/demo_cpu.yaml     # training config, relative to this file
    overrides: {trainer: {max_epochs: 8}}   # applied to every cell
    grid:                              # axes in order; the cells are their cartesian product
      loss: [triplet, fdp]             # a known axis takes scalars (see SHORTCUTS)
      loss.metric_loss_kwargs.beta: [5, 10] # any section.key[.entry] axis takes scalars for that key
      variant:                         # any axis takes mappings of overrides, with an optional label
        - {label: no exponential, loss.metric_loss_kwargs.negative: hinge}
      seed: [0, 1, 2]
    report: {rows: [loss], columns: [], metrics: [rank1, mAP, mINP], x: fraction, plots: [bars, cmc, line]}

Override mappings are read by `finereid.experiments.overrides`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from finereid.config import Config, check_names, config_from_dict, load_config
from finereid.errors import ConfigError
from finereid.experiments.overrides import Overrides, apply_overrides, parse_overrides
from finereid.metrics import SCORE_KEYS

SPEC_KEYS = ("name", "description", "base", "overrides", "grid", "report")
REPORT_KEYS = ("rows", "columns", "metrics", "x", "plots")
PLOTS = ("bars", "cmc", "line")
METRICS = (*SCORE_KEYS, "best_mAP", "wall_time_s", "images_per_s")
DEFAULT_METRICS = ("rank1", "mAP", "mINP")
SEED_AXES = ("seed", "trainer.seed")
FRACTION_AXES = ("fraction", "data.train_id_fraction")


def _dataset(value: Any) -> dict[str, Any]:
    """A dataset name in the repository's layout: data/<name>, no options."""
    return {"data.name": value, "data.root": f"data/{value}", "data.options": {}}


def _id_loss(value: Any) -> dict[str, Any]:
    """With the identity loss (weight 1), or the metric loss alone (identity and center losses off)."""
    if not isinstance(value, bool):
        raise ConfigError(f"id_loss values must be true or false, got {value!r}")
    return {"loss.id_weight": 1.0} if value else {"loss.id_weight": 0.0, "loss.center_weight": 0.0}


# Known axes: a scalar value -> the overrides it stands for.
SHORTCUTS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "dataset": _dataset,
    "model": lambda v: {"model.name": v, "model.options": {}},
    "loss": lambda v: {"loss.metric_loss": v, "loss.metric_loss_kwargs": {}},
    "id_loss": _id_loss,
    "fraction": lambda v: {"data.train_id_fraction": v},
    "image_fraction": lambda v: {"data.train_image_fraction": v},
    "seed": lambda v: {"trainer.seed": v},
}


@dataclass(frozen=True)
class AxisValue:
    """One value of an axis: its label (shown in tables), raw value, and the overrides it applies."""

    label: str
    raw: Any  # the scalar as written, or the label for a mapping value
    overrides: Overrides  # ("section.key" or "section.key.entry", value)


@dataclass(frozen=True)
class Axis:
    """A named list of values; `display` is the short name used in ids and tables."""

    name: str
    display: str
    values: tuple[AxisValue, ...]


@dataclass(frozen=True)
class Cell:
    """One training run of the grid: its id (also its run directory name), axis labels and config."""

    index: int
    id: str
    labels: dict[str, str]  # axis display name -> value label
    values: dict[str, Any]  # axis display name -> raw value
    config: Config


@dataclass(frozen=True)
class ReportSpec:
    """How `finereid experiment report` lays out tables and which plots it draws."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    metrics: tuple[str, ...]
    x: str | None
    plots: tuple[str, ...]


@dataclass(frozen=True)
class ExperimentSpec:
    """A parsed experiment file with every cell's validated config."""

    name: str
    path: Path
    description: str
    base: Path
    axes: tuple[Axis, ...]
    cells: tuple[Cell, ...]
    report: ReportSpec


def load_spec(path: str | Path, extra_overrides: dict[str, Any] | None = None) -> ExperimentSpec:
    """Read and validate an experiment file; `extra_overrides` (section.key -> value) apply last."""
    path = Path(path)
    data = _read_yaml(path)
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; valid: {', '.join(SPEC_KEYS)}")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{path}: name must be a non-empty string, got {name!r}")
    base = data.get("base")
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base must name a training config file (relative to {path.name})")
    base_path = path.parent / base
    base_dict = load_config(base_path).to_dict()
    fixed = parse_overrides(f"{path}: overrides", data.get("overrides") or {})
    extra = parse_overrides(f"{path}: --set", extra_overrides or {})
    axes = parse_grid(path, data.get("grid"))
    cells = build_cells(path, base_dict, fixed, axes, extra)
    report = parse_report(path, data.get("report") or {}, axes)
    description = str(data.get("description", "")).strip()
    return ExperimentSpec(name.strip(), path, description, base_path, axes, cells, report)


def parse_grid(path: Path, grid: Any) -> tuple[Axis, ...]:
    """The grid mapping -> axes, each with at least one value and unique labels."""
    if not isinstance(grid, dict) or not grid:
        raise ConfigError(f"{path}: grid must be a non-empty mapping of axis name -> list of values")
    axes = []
    for name, values in grid.items():
        where = f"{path}: grid.{name}"
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where} must be a non-empty list of values")
        parsed = tuple(_axis_value(f"{where}[{i}]", str(name), v) for i, v in enumerate(values))
        slugs = [slug(v.label) for v in parsed]
        if len(set(slugs)) != len(slugs):
            duplicate = next(s for s in slugs if slugs.count(s) > 1)
            raise ConfigError(f"{where}: two values share the label {duplicate!r}; give them distinct labels")
        axes.append(Axis(str(name), str(name).split(".")[-1], parsed))
    displays = [a.display for a in axes]
    if len(set(displays)) != len(displays):
        raise ConfigError(f"{path}: grid axes must have distinct short names, got {', '.join(displays)}")
    return tuple(axes)


def _axis_value(where: str, axis: str, value: Any) -> AxisValue:
    """Parse one grid value: a mapping of overrides, or a scalar for a known or dotted axis."""
    if isinstance(value, dict):
        value = dict(value)
        label = value.pop("label", None)
        overrides = parse_overrides(where, value)
        if label is None:
            label = "-".join(_format(v) for _, v in overrides if not isinstance(v, (dict, list))) or None
        if not isinstance(label, (str, int, float)) or isinstance(label, bool) or not str(label).strip():
            raise ConfigError(f"{where}: give this value a `label` (a short name for tables and run dirs)")
        return AxisValue(str(label).strip(), str(label).strip(), overrides)
    if axis in SHORTCUTS:
        overrides = parse_overrides(where, SHORTCUTS[axis](value))
    elif "." in axis:
        overrides = parse_overrides(where, {axis: value})
    else:
        known = ", ".join(SHORTCUTS)
        raise ConfigError(
            f"{where}: axis {axis!r} takes mappings of overrides; scalar values only for {known} "
            "or a section.key axis"
        )
    label = ("yes" if value else "no") if isinstance(value, bool) else _format(value)
    if not label:
        raise ConfigError(f"{where}: empty value")
    return AxisValue(label, value, overrides)


def build_cells(
    path: Path,
    base: dict[str, dict[str, Any]],
    fixed: Overrides,
    axes: tuple[Axis, ...],
    extra: Overrides = (),
) -> tuple[Cell, ...]:
    """The cartesian product of the axes; every cell's config is built and checked here, before any run."""
    cells = []
    for index, combo in enumerate(itertools.product(*(axis.values for axis in axes))):
        data = {section: dict(values) for section, values in base.items()}
        apply_overrides(data, fixed)
        for value in combo:
            apply_overrides(data, value.overrides)
        apply_overrides(data, extra)
        cell_id = "__".join(f"{slug(a.display)}-{slug(v.label)}" for a, v in zip(axes, combo, strict=True))
        try:
            config = config_from_dict(data)
            check_names(config)
        except ConfigError as exc:
            raise ConfigError(f"{path}: cell {cell_id}: {exc}") from None
        labels = {a.display: v.label for a, v in zip(axes, combo, strict=True)}
        values = {a.display: v.raw for a, v in zip(axes, combo, strict=True)}
        cells.append(Cell(index, cell_id, labels, values, config))
    return tuple(cells)


def parse_report(path: Path, data: Any, axes: tuple[Axis, ...]) -> ReportSpec:
    """The report section with defaults: rows = varying non-seed axes, all plots that apply."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: report must be a mapping with keys {', '.join(REPORT_KEYS)}")
    unknown = sorted(set(data) - set(REPORT_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown report key {unknown[0]!r}; valid: {', '.join(REPORT_KEYS)}")
    names = {a.name: a.display for a in axes} | {a.display: a.display for a in axes}
    columns = _axis_list(path, "report.columns", data.get("columns", []), names)
    default_rows = [a.display for a in axes if len(a.values) > 1 and a.name not in SEED_AXES
                    and a.display not in columns]  # fmt: skip
    rows = _axis_list(path, "report.rows", data.get("rows", default_rows), names)
    both = sorted(set(rows) & set(columns))
    if both:
        raise ConfigError(f"{path}: axis {both[0]!r} is in both report.rows and report.columns")
    metrics = data.get("metrics", list(DEFAULT_METRICS))
    if not isinstance(metrics, list) or not metrics or not all(_known_metric(m) for m in metrics):
        raise ConfigError(
            f"{path}: report.metrics must be a list of {', '.join(METRICS)} or TARGET/SCORE "
            f"(SCORE one of {', '.join(SCORE_KEYS)}), got {metrics!r}"
        )
    x = data.get("x", next((a.display for a in axes if a.name in FRACTION_AXES), None))
    if x is not None:
        x = _axis_list(path, "report.x", [x], names)[0]
        axis = next(a for a in axes if a.display == x)
        if not all(isinstance(v.raw, (int, float)) and not isinstance(v.raw, bool) for v in axis.values):
            raise ConfigError(f"{path}: report.x axis {x!r} must have numeric values")
    plots = data.get("plots", [p for p in PLOTS if p != "line" or x is not None])
    if not isinstance(plots, list) or any(p not in PLOTS for p in plots):
        raise ConfigError(f"{path}: report.plots must be a list of {', '.join(PLOTS)}, got {plots!r}")
    if "line" in plots and x is None:
        raise ConfigError(f"{path}: report.plots has line but no report.x axis (the line plot's x)")
    return ReportSpec(tuple(rows), tuple(columns), tuple(metrics), x, tuple(plots))


def _known_metric(metric: Any) -> bool:
    """A metrics.json key a report can show: a METRICS name or `<validation target>/<score>`."""
    if not isinstance(metric, str):
        return False
    target, _, key = metric.rpartition("/")
    return metric in METRICS or (bool(target) and slug(target) == target and key in SCORE_KEYS)


def _axis_list(path: Path, where: str, value: Any, names: dict[str, str]) -> list[str]:
    """A list of axis names (full or short) -> short names; unknown names are errors."""
    if not isinstance(value, list):
        raise ConfigError(f"{path}: {where} must be a list of axis names, got {value!r}")
    unknown = [v for v in value if v not in names]
    if unknown:
        valid = ", ".join(dict.fromkeys(names.values()))
        raise ConfigError(f"{path}: {where}: unknown axis {unknown[0]!r}; grid axes: {valid}")
    return [names[v] for v in value]


def slug(text: str) -> str:
    """A label as a file-name-safe token (letters, digits, . _ + -)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_") or "_"


def _format(value: Any) -> str:
    """Compact text of a scalar for labels: 0.25, 1, 10, fdp."""
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


def _read_yaml(path: Path) -> dict[str, Any]:
    """The experiment file as a mapping, or a one-line ConfigError."""
    if not path.is_file():
        raise ConfigError(f"experiment file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping with keys {', '.join(SPEC_KEYS)}")
    return data
