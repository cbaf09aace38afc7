"""Import another toolkit's trained ReID model as a finereid checkpoint (`finereid convert`).

`convert_checkpoint("torchreid" | "fastreid", weights, out)` reads the file safely (weights only),
recognizes the architecture from its keys (or checks the one asked for), renames every tensor through the
layout's explicit table (`formats.py`), builds the finereid model whose embedding equals the source model's,
and writes a normal finereid checkpoint (`{"state_dict": {"model.<key>": ...}, "hyper_parameters":
{"config", "num_classes"}}`) that `eval`, `extract`, `search`, `export` and `model.init_from` accept.
Source keys left unmapped and finereid keys left missing are listed; any not explained by the layout is an
error, so a checkpoint of another architecture or with missing tensors never converts silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

from finereid.config import Config, apply_override, check_names, config_from_dict, parse_override
from finereid.convert.formats import DETECTORS, Layout
from finereid.convert.mapping import KeyMapping, map_state_dict, short_list
from finereid.errors import CheckpointError, ConfigError, unknown_name_error
from finereid.evaluation.checkpoint import CLASSES_KEY, CONFIG_KEY, MODEL_PREFIX
from finereid.files import atomic_save, load_checkpoint_file
from finereid.models import build_model

SOURCES = tuple(DETECTORS)


@dataclass(frozen=True)
class Conversion:
    """What `convert_checkpoint` wrote and how every key was accounted for."""

    out: Path
    model: str
    num_classes: int
    mapping: KeyMapping
    dropped: dict[str, str]  # source key -> why it was not needed
    left_at_init: dict[str, str]  # finereid key -> why it stays at initialisation


def read_source_state(path: str | Path) -> dict[str, Tensor]:
    """The tensors of a torchreid (`state_dict`) or fast-reid (`model`) checkpoint, or a bare state dict."""
    checkpoint = load_checkpoint_file(path)
    for key in ("state_dict", "model"):
        if isinstance(checkpoint.get(key), Mapping):
            checkpoint = checkpoint[key]
            break
    state = {str(k).removeprefix("module."): v for k, v in checkpoint.items() if isinstance(v, Tensor)}
    if not state:
        raise CheckpointError(f"{path} holds no tensors (not a model checkpoint)")
    return state


def convert_checkpoint(
    source: str, weights: str | Path, out: str | Path, model: str | None = None, overrides: Sequence[str] = ()
) -> Conversion:
    """Convert `weights` (a `source` toolkit's checkpoint) into the finereid checkpoint `out`."""
    if source not in DETECTORS:
        raise unknown_name_error("source toolkit", source, DETECTORS)
    state = read_source_state(weights)
    layout = DETECTORS[source](state)
    if model is not None and model != layout.model:
        raise CheckpointError(
            f"{weights} holds a {source} model that converts to {layout.model!r}, not {model!r}"
        )
    if layout.classifier_key not in state:
        raise CheckpointError(f"{weights} has no identity classifier ({layout.classifier_key})")
    num_classes = int(state[layout.classifier_key].shape[0])
    config = _config(layout, overrides)
    if config.model.name != layout.model:
        raise ConfigError(f"model.name cannot be overridden here: {weights} converts to {layout.model!r}")
    net = build_model(layout.model, num_classes, pretrained="none", **config.model.options)
    mapped, mapping = map_state_dict(state, net.state_dict(), layout.rules)
    dropped, bad_unmapped = _explain(mapping.unmapped, layout.unmapped_ok)
    left, bad_missing = _explain(mapping.missing, layout.missing_ok)
    problems = [
        f"{label}: {short_list(keys)}"
        for label, keys in (
            ("unmapped source keys", bad_unmapped),
            ("wrong shapes", mapping.wrong_shape),
            ("finereid keys with no source tensor", bad_missing),
        )
        if keys
    ]
    if problems:
        raise CheckpointError(f"{weights} does not convert to {layout.model}: {'; '.join(problems)}")
    net.load_state_dict(mapped, strict=False)
    checkpoint = {
        "state_dict": {MODEL_PREFIX + k: v for k, v in net.state_dict().items()},
        "hyper_parameters": {CONFIG_KEY: config.to_dict(), CLASSES_KEY: num_classes},
        "converted_from": {
            "toolkit": source,
            "file": str(weights),
            "dropped": sorted(dropped),
            "left_at_init": sorted(left),
        },
    }
    atomic_save(checkpoint, out)
    return Conversion(Path(out), layout.model, num_classes, mapping, dropped, left)


def _config(layout: Layout, overrides: Sequence[str]) -> Config:
    """Default config with the layout's model and options, then the user's `section.key=value` overrides."""
    data = Config().to_dict()
    data["model"].update(
        name=layout.model, pretrained="none", pretrained_path=None, options=dict(layout.options)
    )
    for item in overrides:
        apply_override(data, *parse_override(item))
    config = config_from_dict(data)
    check_names(config)
    return config


def _explain(keys: list[str], allowed: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Split keys into those an allowed pattern explains (key -> reason) and the others."""
    explained, other = {}, []
    for key in keys:
        reason = next((why for pattern, why in allowed.items() if re.search(pattern, key)), None)
        if reason is None:
            other.append(key)
        else:
            explained[key] = reason
    return explained, other


__all__ = ["SOURCES", "Conversion", "convert_checkpoint", "read_source_state"]
