"""Config overrides in experiment files and `--set`: `section.key[.entry]` -> value, checked up front.

An override mapping holds `section.key: value`, `section.key.entry: value` (one entry of a dict key such
as loss.metric_loss_kwargs, merged into it) or `section: {key: value}` (each key replaced whole). Keys
are checked, and command-line values parsed, by finereid.config's one override parser.
"""

from __future__ import annotations

from typing import Any

from finereid.config import SECTIONS, apply_override, check_key, parse_override
from finereid.errors import ConfigError

Overrides = tuple[tuple[str, Any], ...]  # ("section.key" or "section.key.entry", value), applied in order


def parse_overrides(where: str, data: Any) -> Overrides:
    """`section.key[.entry]: value` and `section: {key: value}` -> checked (dotted key, value) pairs."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping of section.key: value, got {data!r}")
    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        if not isinstance(key, str):
            raise ConfigError(f"{where}: keys must be section.key strings, got {key!r}")
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: section {key!r} must be a mapping of key: value")
            pairs += [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            pairs.append((key, value))
    return tuple((check_key(dotted, where), value) for dotted, value in pairs)


def apply_overrides(data: dict[str, dict[str, Any]], overrides: Overrides) -> None:
    """Set each (dotted key, value) in the nested config dict: a key is replaced, an entry merged."""
    for dotted, value in overrides:
        apply_override(data, dotted, value)


def parse_set(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Command-line `section.key[.entry]=value` items -> overrides, by the one parser all commands share."""
    return dict(parse_override(item) for item in items)
