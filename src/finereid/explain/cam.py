"""Similarity-target activation maps of a ReID model, computed by pytorch-grad-cam (PyPI `grad-cam`).

For an image and a reference embedding, Grad-CAM weights the channels of a spatial layer by the gradient
of the image's similarity to the reference: the map shows where the image has what makes the two
embeddings close. grad-cam computes the gradients, the weighting, the ReLU and the resizing; finereid only
supplies the target (`SimilarityTarget`, the callable grad-cam's `targets` take) and, per model family,
the layers to read (`find_map_layers`): a CNN trunk's output map, every MGN branch, or a ViT's last
block input with its tokens reshaped to the patch grid (grad-cam's `reshape_transform`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from finereid.errors import ConfigError, FinereidError

DISTANCES = ("cosine", "euclidean")
METHOD = "Grad-CAM (pytorch-grad-cam), similarity target"
INSTALL_HINT = "pip install 'finereid[explain]'"


def require(module: str, what: str) -> Any:
    """Import an optional dependency of the explain extra, or raise a one-line FinereidError."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        package = {"pytorch_grad_cam": "grad-cam", "sklearn": "scikit-learn"}.get(module, module)
        raise FinereidError(f"{what} need {package}: {INSTALL_HINT}") from None


class TokenGrid:
    """grad-cam `reshape_transform` for ViT tokens: [B, prefix + h*w, C] -> [B, C, h, w].

    The patch grid (h, w) is read from the patch embedding's convolution on every forward pass, so any
    input size and overlapping patches (TransReID's stride) work; the class/camera tokens are dropped.
    """

    def __init__(self, patch_conv: nn.Module) -> None:
        self.grid: tuple[int, int] | None = None
        self.handle = patch_conv.register_forward_hook(self._record)

    def _record(self, module: nn.Module, inputs: Any, output: Tensor) -> None:
        self.grid = (int(output.shape[-2]), int(output.shape[-1]))

    def __call__(self, tokens: Tensor) -> Tensor:
        if self.grid is None or tokens.dim() != 3:
            raise FinereidError(f"cannot reshape tokens of shape {tuple(tokens.shape)} to a patch grid")
        h, w = self.grid
        patches = tokens[:, tokens.shape[1] - h * w :, :]
        return patches.reshape(tokens.shape[0], h, w, tokens.shape[2]).permute(0, 3, 1, 2)

    def close(self) -> None:
        """Remove the hook from the model."""
        self.handle.remove()


@dataclass
class MapLayers:
    """Where a model's activation maps are read: `kind` (cnn, multi-branch, transformer) and its layers."""

    kind: str
    layers: list[nn.Module]
    reshape_transform: Callable[[Tensor], Tensor] | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Remove any hooks these layers put on the model."""
        for close in self.closers:
            close()
        self.closers.clear()


def _vision_transformer(model: nn.Module) -> nn.Module | None:
    """The first submodule shaped like a ViT (timm's and TransReID's): `patch_embed` and `blocks`."""
    for module in model.modules():
        blocks = getattr(module, "blocks", None)
        if hasattr(module, "patch_embed") and isinstance(blocks, nn.Sequential | nn.ModuleList):
            return module
    return None


def find_map_layers(model: nn.Module) -> MapLayers:
    """The layers to read: a ViT's tokens entering its last block, MGN's branches, else the trunk's map.

    A timm ViT: the last block's input norm (grad-cam's choice: after the last block only the class
    token reaches the embedding). TransReID keeps its last block apart (`last_block`, and JPM's copy of
    it reads the same tokens): the output of its other `blocks`, the tokens both branches read.
    """
    vit = _vision_transformer(model)
    if vit is not None:
        conv = next((m for m in vit.patch_embed.modules() if isinstance(m, nn.Conv2d)), None)
        layer = vit.blocks if hasattr(vit, "last_block") else getattr(vit.blocks[-1], "norm1", None)
        if conv is None or layer is None:
            raise ConfigError(f"{type(model).__name__}: its ViT has no patch convolution or block norm1")
        grid = TokenGrid(conv)
        return MapLayers("transformer", [layer], grid, [grid.close])
    branches = getattr(model, "branches", None)
    if isinstance(branches, nn.ModuleList) and len(branches) > 0:
        return MapLayers("multi-branch", list(branches))
    trunk = getattr(model, "backbone", None)
    if isinstance(trunk, nn.Module):
        return MapLayers("cnn", [trunk])
    raise ConfigError(
        f"no activation-map layer known for {type(model).__name__} (finereid reads a `backbone` feature map, "
        "MGN `branches` or a ViT's blocks); pass MapLayers(...) for other models"
    )


class SimilarityTarget:
    """A grad-cam target: similarity of an embedding to `positive`, minus that to `negative` if given.

    Cosine similarity, or minus half the squared Euclidean distance (smooth where the two coincide).
    """

    def __init__(self, positive: Tensor, negative: Tensor | None = None, distance: str = "cosine") -> None:
        if distance not in DISTANCES:
            raise ConfigError(f"unknown distance {distance!r}; valid: {', '.join(DISTANCES)}")
        self.positive, self.negative, self.distance = positive, negative, distance

    def _similarity(self, embedding: Tensor, reference: Tensor) -> Tensor:
        if self.distance == "cosine":
            return torch.nn.functional.cosine_similarity(embedding, reference, dim=-1)
        return -0.5 * (embedding - reference).pow(2).sum(-1)

    def __call__(self, embedding: Tensor) -> Tensor:
        value = self._similarity(embedding, self.positive.to(embedding))
        if self.negative is not None:
            value = value - self._similarity(embedding, self.negative.to(embedding))
        return value


@contextlib.contextmanager
def _parameters_frozen(model: nn.Module) -> Iterator[None]:
    """No weight gradients while mapping (grad-cam then differentiates w.r.t. the input only)."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


class ActivationMapper:
    """Grad-CAM maps of an eval-mode ReID model for (image, reference embedding) pairs.

    `maps(images, positives)` gives [B, H, W] float32 maps in [0, 1] at the input size, as grad-cam
    returns them (ReLU, then min-max scaled per image: an all-zero map means nothing in the image raised
    the similarity). Use it as a context manager, or call `close()`, to remove its hooks.
    """

    def __init__(
        self,
        model: nn.Module,
        distance: str = "cosine",
        layers: MapLayers | None = None,
        batch_size: int = 32,
    ) -> None:
        self.gradcam = require("pytorch_grad_cam", "activation maps")
        if distance not in DISTANCES:
            raise ConfigError(f"unknown distance {distance!r}; valid: {', '.join(DISTANCES)}")
        self.model = model.eval()
        self.layers = layers if layers is not None else find_map_layers(model)
        self.distance = distance
        self.batch_size = max(1, int(batch_size))

    @property
    def device(self) -> torch.device:
        """Where the model's weights are."""
        return next(self.model.parameters()).device

    @torch.no_grad()
    def embed(self, images: Tensor) -> Tensor:
        """Eval-mode embeddings [B, D] (float32, on the CPU)."""
        chunks = [
            self.model(images[i : i + self.batch_size].to(self.device)).float().cpu()
            for i in range(0, len(images), self.batch_size)
        ]
        return torch.cat(chunks) if chunks else torch.zeros(0)

    def maps(self, images: Tensor, positives: Tensor, negatives: Tensor | None = None) -> np.ndarray:
        """[B, H, W] maps: where images[i] raises its similarity to positives[i] (minus negatives[i])."""
        if images.dim() != 4 or len(positives) != len(images):
            raise FinereidError(
                f"need images [B, 3, H, W] and B references, got {tuple(images.shape)} "
                f"and {len(positives)} references"
            )
        if negatives is not None and len(negatives) != len(images):
            raise FinereidError(f"need {len(images)} negative references, got {len(negatives)}")
        out = [
            self._batch(
                images[i : i + self.batch_size],
                positives[i : i + self.batch_size],
                None if negatives is None else negatives[i : i + self.batch_size],
            )
            for i in range(0, len(images), self.batch_size)
        ]
        if not out:
            return np.zeros((0, *images.shape[-2:]), dtype=np.float32)
        return np.nan_to_num(np.concatenate(out).astype(np.float32, copy=False), nan=0.0)

    def _batch(self, images: Tensor, positives: Tensor, negatives: Tensor | None) -> np.ndarray:
        targets = [
            SimilarityTarget(positives[i], None if negatives is None else negatives[i], self.distance)
            for i in range(len(images))
        ]
        with _parameters_frozen(self.model), torch.enable_grad():
            cam = self.gradcam.GradCAM(self.model, self.layers.layers, self.layers.reshape_transform)
            cam.compute_input_gradient = True  # the weights are frozen: the graph starts at the input
            try:
                return cam(images.to(self.device), targets)
            finally:
                cam.activations_and_grads.release()
                self.model.zero_grad(set_to_none=True)

    def close(self) -> None:
        """Remove the hooks this mapper put on the model."""
        self.layers.close()

    def __enter__(self) -> ActivationMapper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_flat(activation_map: np.ndarray) -> bool:
    """True for a map with no activation anywhere (all zero, e.g. a constant image)."""
    peak = float(activation_map.max(initial=0.0))
    return not math.isfinite(peak) or peak <= 0
