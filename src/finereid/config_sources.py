"""Which datasets a config reads: the training sources (`data.*`) and the validation targets (`trainer.*`).

An entry of `data.name` or `trainer.val_datasets` is a dataset name of finereid.data (`market1501`) or
`label=name` (`synth_b=market1501`): the label names the dataset's metrics, logs, options and default
folder, so one parser can serve two datasets. Everything here is pure (no disk access): it turns the
config values into `DatasetSource`s with one-line ConfigErrors; the engine reads them from disk.

Folders: one training dataset reads `data.root` (its folder, as always). Several read `data.root[i]`
(a list) or `data.root/<label>` (one folder holding each). A validation target that is a training
dataset reads that dataset's folder; another reads `trainer.val_roots[i]`, else `<datasets>/<label>`
where `<datasets>` is `data.root` with several training datasets and its parent folder with one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finereid.errors import ConfigError

LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


@dataclass(frozen=True)
class DatasetSource:
    """One dataset to read: its label (metrics, logs), parser name, folder and parser options."""

    label: str
    name: str
    root: str
    options: dict[str, Any] = field(default_factory=dict)


def as_tuple(value: str | Sequence[str]) -> tuple[str, ...]:
    """A `str | list` config value as a tuple of its entries ("" -> ())."""
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(value)


def split_entry(entry: str, where: str) -> tuple[str, str]:
    """`label=name` or `name` -> (label, name); labels are file-name safe (they name metrics and folders)."""
    label, _, name = entry.partition("=") if "=" in entry else (entry, "", entry)
    label, name = label.strip(), name.strip()
    for part in (label, name):
        if not LABEL.fullmatch(part):
            raise ConfigError(
                f"{where}: bad entry {entry!r}; give a dataset name or label=name "
                "(letters, digits, . _ + -, no spaces)"
            )
    return label, name


def per_dataset_options(options: Mapping[str, Any]) -> bool:
    """Whether `data.options` maps labels to option mappings, or holds one dataset's options."""
    nested = [isinstance(v, Mapping) for v in options.values()]
    if any(nested) and not all(nested):
        raise ConfigError(
            "data.options: give either one dataset's options {option: value} or options per dataset "
            "{label: {option: value}}, not both"
        )
    return bool(nested) and all(nested)


def check_data_entries(
    name: str | Sequence[str], root: str | Sequence[str], options: Mapping[str, Any]
) -> None:
    """Structure of data.name / data.root / data.options: entries, unique labels, matching lengths."""
    entries = as_tuple(name)
    if not entries:
        raise ConfigError("data.name is empty; give a dataset name or a list of them")
    labels = [split_entry(e, "data.name")[0] for e in entries]
    _require_unique(labels, "data.name")
    roots = as_tuple(root)
    if not isinstance(root, str) and len(roots) != len(entries):
        raise ConfigError(
            f"data.root lists {len(roots)} folder(s) for {len(entries)} dataset(s); give one per dataset "
            "or one folder holding each"
        )
    if len(entries) > 1 and options and not per_dataset_options(options):
        raise ConfigError(
            "data.options: with several datasets give options per dataset, e.g. {cuhk03: {variant: labeled}}"
        )
    per_dataset_options(options)


def check_val_entries(val_datasets: Sequence[str], val_roots: Sequence[str], best: str) -> None:
    """Structure of trainer.val_datasets / val_roots / best_val_dataset."""
    labels = [split_entry(e, "trainer.val_datasets")[0] for e in val_datasets]
    _require_unique(labels, "trainer.val_datasets")
    if val_roots and len(val_roots) != len(val_datasets):
        raise ConfigError(
            f"trainer.val_roots lists {len(val_roots)} folder(s) for {len(val_datasets)} validation "
            "dataset(s); give one per entry of trainer.val_datasets or none"
        )
    if best and labels and best not in labels:
        raise ConfigError(
            f"trainer.best_val_dataset {best!r} is not in trainer.val_datasets: {', '.join(labels)}"
        )


def train_sources(
    name: str | Sequence[str], root: str | Sequence[str], options: Mapping[str, Any]
) -> list[DatasetSource]:
    """The training datasets, each with its label, folder and options."""
    entries = [split_entry(e, "data.name") for e in as_tuple(name)]
    roots = as_tuple(root)
    sources = []
    for i, (label, parser) in enumerate(entries):
        if not isinstance(root, str):
            folder = roots[i]
        elif len(entries) == 1 or not root:
            folder = root
        else:
            folder = str(Path(root) / label)
        sources.append(DatasetSource(label, parser, folder, _options_of(label, options, len(entries))))
    return sources


def val_sources(
    name: str | Sequence[str],
    root: str | Sequence[str],
    options: Mapping[str, Any],
    val_datasets: Sequence[str],
    val_roots: Sequence[str],
) -> list[DatasetSource]:
    """The validation targets: the training datasets' test splits by default, else trainer.val_datasets."""
    train = train_sources(name, root, options)
    if not val_datasets:
        return train
    by_label = {s.label: s for s in train}
    targets = []
    for i, entry in enumerate(val_datasets):
        label, parser = split_entry(entry, "trainer.val_datasets")
        known = by_label.get(label)
        if known is not None and "=" in entry and parser != known.name:
            raise ConfigError(
                f"trainer.val_datasets: {label!r} is a training dataset ({known.name}); "
                "give another label to the other dataset"
            )
        if known is not None:
            if val_roots and val_roots[i] not in ("", known.root):
                raise ConfigError(
                    f"trainer.val_roots: {label} is a training dataset, read from {known.root}; give the "
                    "other folder's dataset another label (label=name)"
                )
            folder = known.root
        else:
            folder = val_roots[i] if val_roots and val_roots[i] else _sibling_folder(label, root, len(train))
        targets.append(DatasetSource(label, known.name if known else parser, folder,
                                     _options_of(label, options, len(train), train[0].label)))  # fmt: skip
    return targets


def check_sources(
    name: str | Sequence[str],
    root: str | Sequence[str],
    options: Mapping[str, Any],
    val_datasets: Sequence[str],
    val_roots: Sequence[str],
    best: str,
) -> list[DatasetSource]:
    """Cross-section checks (option labels, best target, derivable folders); returns train + val sources."""
    train = train_sources(name, root, options)
    targets = val_sources(name, root, options, val_datasets, val_roots)
    labels = [s.label for s in train] + [s.label for s in targets if s.label not in {t.label for t in train}]
    if per_dataset_options(options):
        unknown = sorted(set(options) - set(labels))
        if unknown:
            raise ConfigError(
                f"data.options: no dataset labelled {unknown[0]!r}; datasets: {', '.join(labels)}"
            )
    if best and best not in [t.label for t in targets]:
        valid = ", ".join(t.label for t in targets)
        raise ConfigError(f"trainer.best_val_dataset {best!r} is not a validation dataset; valid: {valid}")
    return [*train, *(t for t in targets if t.label not in {s.label for s in train})]


def best_target(targets: Sequence[DatasetSource], best: str) -> int:
    """Index of the target whose mAP picks best.ckpt: `best` by label, else the first."""
    labels = [t.label for t in targets]
    return labels.index(best) if best in labels else 0


def _options_of(label: str, options: Mapping[str, Any], num_train: int, first: str | None = None) -> dict:
    """One dataset's parser options: its entry of per-dataset options, or the single dataset's options."""
    if per_dataset_options(options):
        return dict(options.get(label, {}))
    only = first if first is not None else label
    return dict(options) if num_train == 1 and label == only else {}


def _sibling_folder(label: str, root: str | Sequence[str], num_train: int) -> str:
    """`<datasets>/<label>` for a validation target that is no training dataset (see the module docstring)."""
    if not isinstance(root, str):
        raise ConfigError(
            f"trainer.val_datasets: give the folder of {label} in trainer.val_roots (data.root is a list)"
        )
    if not root:
        return ""
    datasets = Path(root) if num_train > 1 else Path(root).parent
    return str(datasets / label)


def _require_unique(labels: Sequence[str], where: str) -> None:
    """Two entries with one label would log to the same metric names."""
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ConfigError(
            f"{where}: {repeated[0]!r} is given twice; give one of them another label (label=name)"
        )
