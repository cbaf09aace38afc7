"""Explicit key renaming: ordered regex substitutions turn a foreign state dict into finereid's names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from torch import Tensor

Rules = Sequence[tuple[str, str]]


@dataclass
class KeyMapping:
    """The result of mapping one state dict onto a model's: pairs, and what did not fit."""

    pairs: list[tuple[str, str]] = field(default_factory=list)  # (source key, finereid key)
    unmapped: list[str] = field(default_factory=list)  # source keys no rule renames to a model key
    wrong_shape: list[str] = field(default_factory=list)  # "source -> target: (a) vs (b)"
    missing: list[str] = field(default_factory=list)  # model keys nothing was mapped to


def rename(key: str, rules: Rules) -> str | None:
    """Apply every rule in order (each may rename part of the key); None when no rule matched."""
    matched = False
    for pattern, replacement in rules:
        key, count = re.subn(pattern, replacement, key)
        matched = matched or count > 0
    return key if matched else None


def map_state_dict(
    source: Mapping[str, Tensor], target: Mapping[str, Tensor], rules: Rules
) -> tuple[dict[str, Tensor], KeyMapping]:
    """Rename `source` with `rules` onto the keys of `target`; report unmapped, misshapen and missing keys."""
    mapped: dict[str, Tensor] = {}
    report = KeyMapping()
    for key, value in source.items():
        new = rename(key, rules)
        if new is None or new not in target or new in mapped:
            report.unmapped.append(key)
        elif tuple(value.shape) != tuple(target[new].shape):
            report.wrong_shape.append(f"{key} -> {new}: {tuple(value.shape)} vs {tuple(target[new].shape)}")
        else:
            mapped[new] = value
            report.pairs.append((key, new))
    report.missing = [key for key in target if key not in mapped]
    return mapped, report


def short_list(keys: Sequence[str], limit: int = 4) -> str:
    """`a, b, c, d ... (+N more)` for one-line messages."""
    more = f" ... (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more
