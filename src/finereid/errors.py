"""Errors that finereid raises for bad user input; the CLI prints them as one line, no traceback."""

from __future__ import annotations

from collections.abc import Iterable


class FinereidError(Exception):
    """Base class of the user-facing errors: bad path, bad name, bad value, bad file."""


class ConfigError(FinereidError, ValueError):
    """A configuration key or value is unknown or invalid."""


class DatasetError(FinereidError, ValueError):
    """A dataset root, layout, file name or manifest is missing or malformed."""


class CheckpointError(FinereidError, ValueError):
    """A checkpoint or weight file is missing, incompatible, unsafe to load, or cannot be written."""


def unknown_name_error(kind: str, name: str, valid: Iterable[str]) -> ConfigError:
    """One-line error for an unknown registry name that lists the valid ones."""
    return ConfigError(f"unknown {kind} {name!r}; valid: {', '.join(sorted(valid))}")
