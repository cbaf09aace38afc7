"""Reading config values: YAML files with `base` files, command-line values, type coercion.

With finereid.config, the only place finereid reads YAML. Everything here raises one-line ConfigErrors.
"""

from __future__ import annotations

import math
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from finereid.errors import ConfigError


def read_yaml_with_bases(path: Path, seen: list[Path]) -> dict[str, Any]:
    """Read one YAML file; if it names a `base` file (relative to it), update the base's sections."""
    resolved = path.resolve()
    if resolved in seen:
        raise ConfigError(f"config base cycle: {' -> '.join(str(p) for p in [*seen, resolved])}")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = _exponent_floats(yaml.safe_load(path.read_text(encoding="utf-8"))) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a mapping of sections")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"config file {path}: base must be a file path, got {base!r}")
    merged = read_yaml_with_bases(path.parent / base, [*seen, resolved])
    for name, values in data.items():
        if isinstance(values, dict) and isinstance(merged.get(name), dict):
            merged[name] = {**merged[name], **values}
        else:
            merged[name] = values
    return merged


def parse_value(text: str) -> Any:
    """A command-line value read as YAML (`3`, `[40, 70]`, `null`); text that is not YAML stays text.

    Numbers in exponent form without a dot (`1e-3`), which YAML 1.1 reads as text, become floats, also
    inside lists and mappings (`{margin: 1e-3}`), so every key reads them the same way.
    """
    if not text.strip():
        return ""
    try:
        return _exponent_floats(yaml.safe_load(text))
    except yaml.YAMLError:
        return text


def _exponent_floats(value: Any) -> Any:
    """`1e-3`-style strings (YAML 1.1 text) as floats, recursively through lists and mappings."""
    if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()):
        return float(value)
    if isinstance(value, list):
        return [_exponent_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _exponent_floats(v) for k, v in value.items()}
    return value


_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def coerce_value(where: str, value: Any, hint: Any) -> Any:
    """Return `value` as type `hint` (int -> float allowed, list -> tuple) or raise a ConfigError."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce_value(where, value, _alternative(where, value, inner))
    if value is None:  # one rule everywhere: null only where a key may be empty (pretrained_path)
        raise ConfigError(f"{where} cannot be null; give {_type_name(origin or hint)}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return tuple(coerce_value(f"{where}[{i}]", v, args[0]) for i, v in enumerate(value))
    expected = origin or hint
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is float and isinstance(value, str):
        value = _float_text(where, value)  # YAML 1.1 reads `1e-3` (no dot) as text
    if expected is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    if expected is int and isinstance(value, bool):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if not isinstance(value, expected):
        raise ConfigError(f"{where} must be {_type_name(expected)}, got {value!r} ({type(value).__name__})")
    if expected is dict:
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise ConfigError(f"{where} keys must be strings, got {bad[0]!r}")
        return dict(value)
    return value


def _alternative(where: str, value: Any, hints: list[Any]) -> Any:
    """The type of a `str | tuple[str, ...]` key that `value` is meant as: the list type for a list."""
    lists = [h for h in hints if typing.get_origin(h) is tuple]
    if isinstance(value, (list, tuple)) and lists:
        return lists[0]
    scalars = [h for h in hints if typing.get_origin(h) is not tuple]
    if lists and scalars and not isinstance(value, scalars[0]):
        raise ConfigError(f"{where} must be {_type_name(scalars[0])} or a list of them, got {value!r}")
    return scalars[0] if scalars else hints[0]


def _float_text(where: str, text: str) -> float:
    """A number written as text (`1e-3`), or a ConfigError."""
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{where} must be a number, got {text!r}") from None


def _type_name(expected: type) -> str:
    """Readable name of a config value type."""
    names = {
        int: "an integer",
        float: "a number",
        str: "a string",
        bool: "true or false",
        dict: "a mapping",
        tuple: "a list",
    }
    return names.get(expected, expected.__name__)
