"""Training configuration: five frozen sections read from YAML (files and values: config_values.py).

A config file holds the sections `data`, `model`, `loss`, `optim`, `trainer` (each optional; missing
keys take the strong-baseline defaults below, the one place the recipe's defaults live) and may name a
`base` file whose sections it updates. Command-line overrides are `section.key=value` (one parser,
`parse_override`, for every command); a dict-valued key also takes `section.key.entry=value`. Unknown
sections or keys and wrongly typed values are ConfigErrors; renamed keys are read with a warning.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from finereid.config_sources import check_data_entries, check_sources, check_val_entries
from finereid.config_values import coerce_value, parse_value, read_yaml_with_bases
from finereid.errors import ConfigError
from finereid.optimizers import OPTIMIZERS

PRECISIONS = ("auto", "32-true", "16-mixed", "bf16-mixed", "64-true")
EVAL_DISTANCES = ("cosine", "euclidean")
SAMPLERS = ("pk", "pk_balanced_datasets")
AUTO_AUGMENTS = ("none", "autoaugment", "randaugment")  # the keys of finereid.data.AUTO_AUGMENTS + none
# Old spelling -> new one. The old keys are still read (with a FutureWarning) until finereid 0.3.
RENAMED_KEYS = {
    "loss.metric": "loss.metric_loss",
    "loss.metric_kwargs": "loss.metric_loss_kwargs",
    "loss.metric_weight": "loss.metric_loss_weight",
    "trainer.eval_metric": "trainer.eval_distance",
}
# Keys that change how fast a run goes, not what it computes: they may differ when a run is resumed.
OPERATIONAL_KEYS = frozenset(
    {
        "data.num_workers",
        "data.worker_nice",
        "data.cache_images",
        "data.test_batch_size",
        "trainer.progress_bar",
        "trainer.log_every_n_steps",
    }
)


@dataclass(frozen=True)
class DataConfig:
    """Dataset(s), input size, P x K identity sampler and augmentation.

    `name` is a dataset, `label=name`, or a list of them (multi-source training: identities and cameras
    never merge); `root` its folder, or for several one folder holding each (named like its label) or a
    list; `options` its parser options, or for several {label: {option: value}} (see config_sources.py).
    """

    name: str | tuple[str, ...] = "market1501"
    root: str | tuple[str, ...] = ""
    options: dict = field(default_factory=dict)  # extra build_dataset options, e.g. {variant: labeled}
    height: int = 256
    width: int = 128
    batch_size: int = 64  # P x K images per batch (per process under DDP)
    num_instances: int = 4  # K images per identity
    sampler: str = "pk"  # pk | pk_balanced_datasets (each batch's P identities split evenly over datasets)
    num_workers: int = 4
    worker_nice: int = 0  # loader workers' niceness (0-19): > 0 lets training threads go first on few cores
    cache_images: bool = False  # decode + resize the training images once, into shared memory (same batches)
    test_batch_size: int = 128
    flip_prob: float = 0.5
    padding: int = 10
    erasing_prob: float = 0.5
    train_id_fraction: float = 1.0
    train_image_fraction: float = 1.0
    # Domain-generalisation augmentation (torchvision.transforms.v2), all off by default.
    color_jitter_prob: float = 0.0  # brightness/contrast/saturation/hue jitter with this probability
    auto_augment: str = "none"  # none | autoaugment | randaugment (torchvision's ImageNet policies)
    grayscale_prob: float = 0.0
    patch_prob: float = 0.0  # paste a random patch of the image elsewhere in it, with this probability

    def __post_init__(self) -> None:
        """Reject sizes, fractions and dataset lists that cannot work; a one-entry list is that entry."""
        if not isinstance(self.name, str) and len(self.name) == 1:
            object.__setattr__(self, "name", self.name[0])
        if isinstance(self.name, str) and not isinstance(self.root, str) and len(self.root) == 1:
            object.__setattr__(self, "root", self.root[0])  # with several datasets the lengths are checked
        check_data_entries(self.name, self.root, self.options)
        _require(
            self.sampler in SAMPLERS, f"data.sampler {self.sampler!r} unknown; valid: {', '.join(SAMPLERS)}"
        )
        _require(
            self.auto_augment in AUTO_AUGMENTS,
            f"data.auto_augment {self.auto_augment!r} unknown; valid: {', '.join(AUTO_AUGMENTS)}",
        )
        for key in ("height", "width", "batch_size", "num_instances", "test_batch_size"):
            _require(getattr(self, key) >= 1, f"data.{key} must be >= 1, got {getattr(self, key)}")
        _require(self.num_workers >= 0, f"data.num_workers must be >= 0, got {self.num_workers}")
        _require(0 <= self.worker_nice <= 19, f"data.worker_nice must be in 0..19, got {self.worker_nice}")
        _require(self.padding >= 0, f"data.padding must be >= 0, got {self.padding}")
        _require(
            self.batch_size % self.num_instances == 0 and self.batch_size // self.num_instances >= 2,
            f"data.batch_size ({self.batch_size}) must be a multiple of data.num_instances "
            f"({self.num_instances}) with at least 2 identities per batch",
        )
        for key in ("flip_prob", "erasing_prob", "color_jitter_prob", "grayscale_prob", "patch_prob"):
            _require(0.0 <= getattr(self, key) <= 1.0, f"data.{key} must be in [0, 1]")
        for key in ("train_id_fraction", "train_image_fraction"):
            _require(0.0 < getattr(self, key) <= 1.0, f"data.{key} must be in (0, 1]")


@dataclass(frozen=True)
class ModelConfig:
    """Which model (finereid.models name), its initialisation (ImageNet, or a finereid checkpoint to
    fine-tune from) and how many epochs only the head trains."""

    name: str = "bot_resnet50"
    pretrained: str = "imagenet"  # imagenet | none; ignored when init_from is set
    pretrained_path: str | None = None
    options: dict = field(default_factory=dict)  # extra build_model options, e.g. {last_stride: 1}
    init_from: str | None = None  # a finereid checkpoint (converted ones too); its identity classifier is new
    freeze_epochs: int = 0  # train only the head (not the backbone) for the first N epochs

    def __post_init__(self) -> None:
        """Reject a negative freeze and an empty init_from."""
        _require(self.freeze_epochs >= 0, f"model.freeze_epochs must be >= 0, got {self.freeze_epochs}")
        _require(self.init_from is None or bool(str(self.init_from).strip()), "model.init_from is empty")


@dataclass(frozen=True)
class LossConfig:
    """Identity loss + metric loss by name + optional center loss, each with its weight."""

    metric_loss: str = "fdp"  # any metric loss of finereid.losses; the strong baseline used triplet
    metric_loss_kwargs: dict = field(default_factory=dict)
    metric_loss_weight: float = 1.0
    id_weight: float = 1.0
    label_smoothing: float = 0.1
    center_weight: float = 0.0005  # 0 disables the center loss
    center_lr: float = 0.5  # SGD learning rate of the centers

    def __post_init__(self) -> None:
        """Reject negative weights and a smoothing outside [0, 1)."""
        for key in ("metric_loss_weight", "id_weight", "center_weight"):
            _require(getattr(self, key) >= 0.0, f"loss.{key} must be >= 0, got {getattr(self, key)}")
        _require(0.0 <= self.label_smoothing < 1.0, "loss.label_smoothing must be in [0, 1)")
        _require(self.center_lr > 0.0, f"loss.center_lr must be > 0, got {self.center_lr}")


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer and the warm-up + step learning-rate schedule (per epoch)."""

    name: str = "adam"
    lr: float = 3.5e-4
    weight_decay: float = 5e-4
    momentum: float = 0.9  # sgd only
    warmup_epochs: int = 10
    warmup_factor: float = 0.1  # the learning rate starts at warmup_factor x lr
    milestones: tuple[int, ...] = (40, 70)
    gamma: float = 0.1

    def __post_init__(self) -> None:
        """Reject unknown optimizers and impossible schedule values."""
        _require(self.name in OPTIMIZERS, f"optim.name {self.name!r} unknown; valid: {', '.join(OPTIMIZERS)}")
        _require(self.lr > 0.0, f"optim.lr must be > 0, got {self.lr}")
        _require(self.weight_decay >= 0.0, f"optim.weight_decay must be >= 0, got {self.weight_decay}")
        _require(self.warmup_epochs >= 0, f"optim.warmup_epochs must be >= 0, got {self.warmup_epochs}")
        _require(0.0 < self.warmup_factor <= 1.0, "optim.warmup_factor must be in (0, 1]")
        _require(0.0 < self.gamma <= 1.0, "optim.gamma must be in (0, 1]")
        _require(
            list(self.milestones) == sorted(set(self.milestones)) and all(m > 0 for m in self.milestones),
            f"optim.milestones must be increasing positive epochs, got {list(self.milestones)}",
        )


@dataclass(frozen=True)
class TrainerConfig:
    """Epochs, evaluation period, devices, precision and reproducibility."""

    max_epochs: int = 120
    eval_every: int = 10  # validate (and update best.ckpt) every N epochs and after the last one
    eval_distance: str = "cosine"  # cosine | euclidean distance between embeddings
    seed: int = 0
    accelerator: str = "auto"  # auto | cpu | gpu
    devices: int = 1  # processes per node (DDP when > 1); -1 = all visible GPUs
    num_nodes: int = 1
    precision: str = "auto"  # auto = 16-mixed on CUDA, 32-true on CPU; bf16-mixed works on CPU
    deterministic: bool = True
    channels_last: bool = False  # NHWC model and input (GPU speed; float results differ slightly)
    compile: bool = False  # torch.compile the model's forward (GPU speed; float results differ slightly)
    progress_bar: bool = True
    log_every_n_steps: int = 20
    val_datasets: tuple[str, ...] = ()  # validation targets (names or label=name); empty: the training ones
    val_roots: tuple[str, ...] = ()  # their folders, one per target; empty: derived from data.root
    best_val_dataset: str = ""  # the target whose mAP picks best.ckpt and metrics.json's top line; "": first

    def __post_init__(self) -> None:
        """Reject unknown precisions, distances, counts below one and inconsistent validation targets."""
        check_val_entries(self.val_datasets, self.val_roots, self.best_val_dataset)
        for key in ("max_epochs", "eval_every", "num_nodes", "log_every_n_steps"):
            _require(getattr(self, key) >= 1, f"trainer.{key} must be >= 1, got {getattr(self, key)}")
        _require(self.devices >= 1 or self.devices == -1, "trainer.devices must be >= 1 or -1")
        _require(
            self.precision in PRECISIONS,
            f"trainer.precision {self.precision!r} unknown; valid: {', '.join(PRECISIONS)}",
        )
        _require(
            self.eval_distance in EVAL_DISTANCES,
            f"trainer.eval_distance {self.eval_distance!r} unknown; valid: {', '.join(EVAL_DISTANCES)}",
        )
        _require(
            self.accelerator in ("auto", "cpu", "gpu", "cuda"),
            f"trainer.accelerator {self.accelerator!r} unknown; valid: auto, cpu, gpu, cuda",
        )


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "loss": LossConfig,
    "optim": OptimConfig,
    "trainer": TrainerConfig,
}


@dataclass(frozen=True)
class Config:
    """A whole training configuration: one frozen dataclass per section."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (lists, not tuples) that `config_from_dict` turns back into this config."""
        return {name: _plain(dataclasses.asdict(getattr(self, name))) for name in SECTIONS}

    def save(self, path: str | Path) -> None:
        """Write the resolved config as YAML (loadable with `load_config`)."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)
        Path(path).write_text(text, encoding="utf-8")

    def replace(self, **sections: Any) -> Config:
        """Copy with whole sections replaced (a section given as a dict updates the current values)."""
        data = self.to_dict()
        for name, value in sections.items():
            if name not in SECTIONS:
                raise ConfigError(f"unknown config section {name!r}; valid: {', '.join(SECTIONS)}")
            data[name].update(value if isinstance(value, dict) else _plain(dataclasses.asdict(value)))
        return config_from_dict(data)


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a YAML config (defaults when `path` is None), apply `section.key=value` overrides, validate."""
    data = read_yaml_with_bases(Path(path), []) if path is not None else {}
    data = {name: _renamed_section(name, values) for name, values in data.items()}
    for item in overrides:
        apply_override(data, *parse_override(item))
    config = config_from_dict(data)
    check_names(config)
    return config


def config_diff(a: Config, b: Config, ignore: frozenset[str] | set[str] = OPERATIONAL_KEYS) -> list[str]:
    """The `section.key` names whose values differ between two configs, minus the `ignore`d ones.

    `model.options` are compared with the model's own defaults filled in: `{}` and the defaults spelled
    out build the same model.
    """
    left, right = a.to_dict(), b.to_dict()
    left["model"]["options"], right["model"]["options"] = _full_options(a.model), _full_options(b.model)
    return [
        f"{section}.{key}"
        for section, values in left.items()
        for key, value in values.items()
        if f"{section}.{key}" not in ignore and right[section][key] != value
    ]


def _full_options(model: ModelConfig) -> dict[str, Any]:
    """A model's options with its builder's defaults filled in (as given when the name is unknown)."""
    from finereid.models import MODELS, model_options

    defaults = model_options(model.name) if model.name in MODELS else {}
    return {**defaults, **model.options}


def check_names(config: Config) -> None:
    """Check the dataset, model and loss names and their options against finereid's registries."""
    from finereid.data import dataset_options
    from finereid.losses import METRIC_LOSSES, build_loss
    from finereid.models import PRETRAINED, model_options

    data, model, trainer = config.data, config.model, config.trainer
    sources = check_sources(
        data.name, data.root, data.options, trainer.val_datasets, trainer.val_roots, trainer.best_val_dataset
    )
    for source in sources:
        unknown = sorted(set(source.options) - set(dataset_options(source.name)))
        if unknown:
            valid = ", ".join(dataset_options(source.name)) or "none"
            raise ConfigError(
                f"data.options: dataset {source.label!r} has no option {unknown[0]!r}; valid: {valid}"
            )
    unknown = sorted(set(model.options) - set(model_options(model.name)))
    if unknown:
        valid = ", ".join(model_options(model.name))
        raise ConfigError(f"model.options: model {model.name!r} has no option {unknown[0]!r}; valid: {valid}")
    if model.pretrained not in PRETRAINED:
        raise ConfigError(f"model.pretrained {model.pretrained!r} unknown; valid: {', '.join(PRETRAINED)}")
    metric_losses = sorted(METRIC_LOSSES - {"center"})
    if config.loss.metric_loss not in metric_losses:
        raise ConfigError(
            f"unknown loss.metric_loss {config.loss.metric_loss!r}; valid: {', '.join(metric_losses)}"
        )
    build_loss(config.loss.metric_loss, **config.loss.metric_loss_kwargs)  # checks metric_loss_kwargs


def config_from_dict(data: dict[str, Any]) -> Config:
    """Build a Config from nested dicts, checking every section, key and value type."""
    if not isinstance(data, dict):
        raise ConfigError(f"config must be a mapping of sections, got {type(data).__name__}")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"unknown config section {unknown[0]!r}; valid: {', '.join(SECTIONS)}")
    sections = {}
    for name, cls in SECTIONS.items():
        values = data.get(name) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"config section {name!r} must be a mapping, got {type(values).__name__}")
        sections[name] = _build_section(name, cls, values)
    return Config(**sections)


def section_keys(name: str) -> list[str]:
    """The valid keys of one section, in declaration order."""
    return [f.name for f in dataclasses.fields(SECTIONS[name])]


def _build_section(name: str, cls: type, values: dict[str, Any]) -> Any:
    """Type-check the values of one section and construct its dataclass."""
    hints = typing.get_type_hints(cls)
    valid = section_keys(name)
    kwargs = {}
    for key, value in _renamed_section(name, values).items():
        if key not in valid:
            raise ConfigError(f"unknown key {name}.{key!s}; valid keys of {name!r}: {', '.join(valid)}")
        kwargs[key] = coerce_value(f"{name}.{key}", value, hints[key])
    return cls(**kwargs)


def canonical_key(dotted: str, where: str = "config") -> str:
    """The current spelling of `section.key[.entry]`; an old spelling is accepted with a FutureWarning."""
    parts = dotted.split(".")
    old = ".".join(parts[:2])
    if old not in RENAMED_KEYS:
        return dotted
    new = RENAMED_KEYS[old]
    warnings.warn(
        f"{where}: {old} is renamed {new}; the old name is read until finereid 0.3",
        FutureWarning,
        stacklevel=3,
    )
    return ".".join([new, *parts[2:]])


def check_key(dotted: str, where: str = "--set") -> str:
    """Validate `section.key` (or `section.key.entry` of a dict key) and return its current spelling."""
    dotted = canonical_key(dotted.strip(), where)
    parts = dotted.split(".")
    if len(parts) < 2 or parts[0] not in SECTIONS:
        raise ConfigError(
            f"{where}: {dotted!r} must be section.key with section one of {', '.join(SECTIONS)}"
        )
    section, key = parts[0], parts[1]
    if key not in section_keys(section):
        valid = ", ".join(section_keys(section))
        raise ConfigError(f"{where}: unknown key {section}.{key}; valid keys of {section!r}: {valid}")
    if len(parts) > 3 or (len(parts) == 3 and not isinstance(getattr(SECTIONS[section](), key), dict)):
        raise ConfigError(f"{where}: {dotted!r}: nesting stops at section.key (or an entry of a dict key)")
    return dotted


def parse_override(item: str, where: str = "--set") -> tuple[str, Any]:
    """`section.key[.entry]=value` -> (current dotted key, value): the one override parser of finereid.

    The value is read as YAML (`null`/`~` -> None, `true`, `3`, `1e-3`, `[40, 70]`), except that a
    text-valued key keeps any other text as written (`data.root=2024` is the folder "2024"); one that
    also takes a list reads `[a, b]` as a list (`data.name=[market1501, msmt17]`).
    """
    if not isinstance(item, str) or "=" not in item:
        raise ConfigError(f"{where} {item!r} must look like section.key=value")
    dotted, text = item.split("=", 1)
    dotted, text = check_key(dotted, where), text.strip()
    parts = dotted.split(".")
    hint = typing.get_type_hints(SECTIONS[parts[0]])[parts[1]]
    kinds = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    takes_list = any(typing.get_origin(k) is tuple for k in kinds)
    is_text = (len(parts) == 2 and str in kinds and text not in ("null", "~")
               and not (takes_list and text.startswith("[")))  # fmt: skip
    return dotted, text if is_text else parse_value(text)


def apply_override(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a checked `section.key` (replaced) or `section.key.entry` (merged into its dict) in `data`."""
    section, key, *entry = dotted.split(".")
    values = data.get(section)
    if not isinstance(values, dict):
        values = data[section] = {}
    if not entry:
        values[key] = dict(value) if isinstance(value, dict) else value
        return
    current = values.get(key, getattr(SECTIONS[section](), key))
    values[key] = {**(current if isinstance(current, dict) else {}), entry[0]: value}


def _renamed_section(name: str, values: Any) -> Any:
    """A section's dict with renamed keys under their current names (warning once per old key)."""
    if not isinstance(values, dict):
        return values
    return {canonical_key(f"{name}.{key}", "config").split(".", 1)[1]: v for key, v in values.items()}


def _require(condition: bool, message: str) -> None:
    """Raise a ConfigError with `message` unless `condition` holds."""
    if not condition:
        raise ConfigError(message)


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively, so YAML dumps plain sequences."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
