"""Config overrides in experiment files and `--set`: `section.key[.entry]` -> value, checked up front.

An override mapping holds `section.key: value`, `section.key.entry: value` (one entry of a dict key such
as loss.metric_kwargs, merged into it) or `section: {key: value}` (each key replaced whole).
"""

from __future__ import annotations

import typing
from typing import Any

from finereid.config import SECTIONS, parse_value, section_keys
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
    for dotted, _ in pairs:
        _check_key(where, dotted)
    return tuple(pairs)


def _check_key(where: str, dotted: str) -> None:
    """Raise unless `dotted` is section.key, or section.key.entry of a dict-valued key."""
    parts = dotted.split(".")
    if len(parts) < 2 or parts[0] not in SECTIONS:
        raise ConfigError(f"{where}: unknown key {dotted!r}; keys are section.key with section one of "
                          f"{', '.join(SECTIONS)}")  # fmt: skip
    section, key = parts[0], parts[1]
    if key not in section_keys(section):
        raise ConfigError(f"{where}: unknown key {section}.{key}; valid keys of {section!r}: "
                          f"{', '.join(section_keys(section))}")  # fmt: skip
    if len(parts) > 3 or (len(parts) == 3 and not isinstance(getattr(SECTIONS[section](), key), dict)):
        raise ConfigError(f"{where}: {dotted!r}: nesting stops at section.key (or an entry of a dict key)")


def apply_overrides(data: dict[str, dict[str, Any]], overrides: Overrides) -> None:
    """Set each (dotted key, value) in the nested config dict: a key is replaced, an entry merged."""
    for dotted, value in overrides:
        section, key, *entry = dotted.split(".")
        values = data.setdefault(section, {})
        if entry:
            current = values.get(key) if isinstance(values.get(key), dict) else {}
            values[key] = {**current, entry[0]: value}
        else:
            values[key] = dict(value) if isinstance(value, dict) else value


def parse_set(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Command-line `section.key[.entry]=value` items -> overrides (YAML values; text keys stay text)."""
    overrides: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r} must look like section.key=value")
        dotted, text = (part.strip() for part in item.split("=", 1))
        _check_key("--set", dotted)
        parts = dotted.split(".")
        hint = typing.get_type_hints(SECTIONS[parts[0]])[parts[1]]
        is_text = len(parts) == 2 and hint in (str, str | None) and text not in ("null", "~")
        overrides[dotted] = text if is_text else parse_value(text)
    return overrides
