"""TransReID (He et al., ICCV 2021, "TransReID: Transformer-based Object Re-Identification") on timm's ViTs.

timm's ViT-Small or ViT-Base (random init, or ImageNet weights from a local timm file) with the paper's
changes: overlapping patches (16x16 at stride 12: a 21x10 grid at 256x128), position embeddings resized
from the ImageNet 14x14 grid, the side information embedding (SIE: a learned vector per camera, times
`sie_weight`, added to every token), and the jigsaw patch module (JPM): a copy of the last block sees the
class token with each of 4 groups of shifted and shuffled patches, giving 4 local features beside the global
one. Every feature has its own BNNeck. Eval: [global, local_1 / 4, ..., local_4 / 4], as in the paper.

Camera ids: in training the engine passes the batch's camids (the model declares `uses_camids`); without
them (evaluation, extraction, export) the mean camera embedding is used, so inference needs images only.
The paper feeds the test camera instead; finereid keeps one image-only inference path.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch
from timm.layers import resample_abs_pos_embed
from torch import Tensor, nn

from finereid.errors import ConfigError
from finereid.imagenet import IMAGENET_MEAN, IMAGENET_STD
from finereid.models.backbones.timm_trunk import create_timm_model
from finereid.models.bot import NECK_FEATS
from finereid.models.heads import BNNeck
from finereid.models.input_norm import InputRenorm
from finereid.models.output import ReIDOutput, _exporting, check_images
from finereid.models.pretrained import load_timm_weights

PATCH = 16
JPM_GROUPS, JPM_SHIFT, JPM_SHUFFLE_GROUPS = 4, 5, 2  # the paper's k = 4 groups, shift m = 5, 2 shuffle groups


def patch_grid(height: int, width: int, stride: int) -> tuple[int, int]:
    """Rows and columns of 16x16 patches taken every `stride` pixels (pixels left over are not seen)."""
    return (height - PATCH) // stride + 1, (width - PATCH) // stride + 1


def shift_and_shuffle(patches: Tensor, num_patches: int, shift: int, groups: int) -> Tensor:
    """JPM's rearrangement of [B, N, D] patch tokens: move the first `shift` to the end, then interleave
    `groups` equal parts (patch i of part g goes to position i * groups + g). When N is not a multiple of
    `groups` the last tokens are repeated to fill the parts. N is passed as a number so that tracing for
    export records no size-dependent branch."""
    patches = torch.cat([patches[:, shift:], patches[:, :shift]], dim=1)
    pad = (-num_patches) % groups
    if pad:
        patches = torch.cat([patches, patches[:, -pad:]], dim=1)
    return patches.unflatten(1, (groups, -1)).transpose(1, 2).flatten(1, 2)


def overlapping_patches(vit: nn.Module, grid: tuple[int, int], stride: int) -> tuple[nn.Conv2d, nn.Parameter]:
    """timm's 16x16 patch projection, now applied every `stride` pixels, and its position embeddings
    resized (bilinear) from the ImageNet grid to `grid`; the class token's embedding is kept."""
    projection = vit.patch_embed.proj
    projection.stride = (stride, stride)
    resized = resample_abs_pos_embed(
        vit.pos_embed.data,
        list(grid),
        list(vit.patch_embed.grid_size),
        num_prefix_tokens=1,
        interpolation="bilinear",
        antialias=False,
    )
    return projection, nn.Parameter(resized)


class TransReID(nn.Module):
    """ViT with overlapping patches, SIE and JPM. Train: ReIDOutput (1 or 5 features and logits); eval: one
    embedding of 5 x D (D with jpm=False)."""

    head_modules = ("necks",)  # the rest (embeddings, blocks, JPM copy) is backbone

    def __init__(
        self,
        vit: nn.Module,
        num_classes: int,
        height: int,
        width: int,
        stride: int,
        num_cameras: int,
        sie_weight: float,
        jpm: bool,
        neck_feat: str,
    ) -> None:
        super().__init__()
        dim = int(vit.embed_dim)
        self.height, self.width, self.stride = height, width, stride
        self.grid = patch_grid(height, width, stride)
        self.patch_embed, self.pos_embed = overlapping_patches(vit, self.grid, stride)
        self.cls_token = vit.cls_token
        self.sie_weight = float(sie_weight)
        self.num_cameras = num_cameras
        self.sie_embed = None
        if num_cameras > 0 and sie_weight > 0:
            self.sie_embed = nn.Parameter(torch.zeros(num_cameras, 1, dim))
            nn.init.trunc_normal_(self.sie_embed, std=0.02)
        self.uses_camids = self.sie_embed is not None
        cfg = getattr(vit, "pretrained_cfg", {}) or {}
        self.renorm = InputRenorm(cfg.get("mean", IMAGENET_MEAN), cfg.get("std", IMAGENET_STD))
        self.pos_drop, self.norm_pre = vit.pos_drop, vit.norm_pre
        self.blocks = nn.Sequential(*vit.blocks[:-1])
        self.last_block, self.norm = vit.blocks[-1], vit.norm
        self.jpm = jpm
        branches = 1 + (JPM_GROUPS if jpm else 0)
        if jpm:
            self.jpm_block, self.jpm_norm = copy.deepcopy(self.last_block), copy.deepcopy(self.norm)
        self.necks = nn.ModuleList(BNNeck(dim, num_classes) for _ in range(branches))
        self.neck_feat = neck_feat
        self.feature_dim: int = dim * branches
        self.feature_dims: tuple[int, ...] = (dim,) * branches
        self.num_classes = num_classes
        self.mean, self.std = IMAGENET_MEAN, IMAGENET_STD

    def forward(self, x: Tensor, camids: Tensor | None = None) -> ReIDOutput | Tensor:
        """Images (ImageNet-normalized) [+ camera ids] -> ReIDOutput (train) or [B, feature_dim] (eval)."""
        check_images(x, self.training)
        self._check_grid(x)
        tokens = self.patch_embed(self.renorm(x)).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1) + self.pos_embed
        if self.sie_embed is not None:
            tokens = tokens + self.sie_weight * self._camera_embedding(camids)
        tokens = self.blocks(self.norm_pre(self.pos_drop(tokens)))
        feats = [self.norm(self.last_block(tokens))[:, 0]]
        if self.jpm:
            feats += self._jigsaw_features(tokens)
        if self.training:
            logits = [neck(feat)[1] for neck, feat in zip(self.necks, feats, strict=True)]
            return ReIDOutput(features=feats, logits=logits)
        if self.neck_feat == "after":
            feats = [neck.bn(feat) for neck, feat in zip(self.necks, feats, strict=True)]
        return torch.cat([feats[0], *(feat / JPM_GROUPS for feat in feats[1:])], dim=1)

    def _jigsaw_features(self, tokens: Tensor) -> list[Tensor]:
        """JPM: the class token with each group of shifted, shuffled patches through the copied last block."""
        num_patches = self.grid[0] * self.grid[1]
        patches = shift_and_shuffle(tokens[:, 1:], num_patches, JPM_SHIFT, JPM_SHUFFLE_GROUPS)
        cls, size = tokens[:, :1], (num_patches + (-num_patches) % JPM_SHUFFLE_GROUPS) // JPM_GROUPS
        return [
            self.jpm_norm(self.jpm_block(torch.cat([cls, patches[:, i * size : (i + 1) * size]], dim=1)))[
                :, 0
            ]
            for i in range(JPM_GROUPS)
        ]

    def _camera_embedding(self, camids: Tensor | None) -> Tensor:
        """[B, 1, D] camera embeddings of `camids`, or [1, 1, D] their mean when no camids are given."""
        if camids is None:
            return self.sie_embed.mean(dim=0, keepdim=True)
        if not _exporting() and (camids.min() < 0 or camids.max() >= self.num_cameras):
            raise ConfigError(
                f"camera ids {int(camids.min())}..{int(camids.max())} do not fit the model's "
                f"{self.num_cameras} camera embeddings (model.options.num_cameras)"
            )
        return self.sie_embed[camids]

    def _check_grid(self, x: Tensor) -> None:
        """The input must give the patch grid the position embeddings were built for (checked while exporting
        too: the size is fixed in an export, and a mismatch would otherwise surface as a tracer traceback)."""
        if torch.compiler.is_compiling():
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # H, W are constants of a trace anyway
            height, width = int(x.shape[2]), int(x.shape[3])
        grid = patch_grid(height, width, self.stride) if min(height, width) >= PATCH else None
        if grid != self.grid:
            raise ConfigError(
                f"input {height}x{width} does not fit this ViT's {self.grid[0]}x{self.grid[1]} patch grid "
                f"(built for {self.height}x{self.width}, 16x16 patches at stride {self.stride}): feed "
                f"{self.height}x{self.width} images or build the model with height={height}, width={width}"
            )


def _check_options(
    height: int,
    width: int,
    stride: int,
    num_cameras: int,
    sie_weight: float,
    jpm: bool,
    drop_path: float,
    neck_feat: str,
) -> None:
    """One-line ConfigErrors for option values the model cannot use."""

    def is_int(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    for key, value in (("height", height), ("width", width)):
        if not is_int(value) or value < PATCH:
            raise ConfigError(f"{key} must be an integer >= {PATCH} (one patch), got {value!r}")
    if not is_int(stride) or not 1 <= stride <= PATCH:
        raise ConfigError(f"stride must be an integer in 1..{PATCH}, got {stride!r}")
    if not is_int(num_cameras) or num_cameras < 0:
        raise ConfigError(
            f"num_cameras must be an integer >= 0 (0: from the training data), got {num_cameras!r}"
        )
    if isinstance(sie_weight, bool) or not isinstance(sie_weight, int | float) or sie_weight < 0:
        raise ConfigError(f"sie_weight must be a number >= 0, got {sie_weight!r}")
    if not isinstance(jpm, bool):
        raise ConfigError(f"jpm must be true or false, got {jpm!r}")
    rows, cols = patch_grid(height, width, stride)
    if jpm and rows * cols < JPM_GROUPS:
        raise ConfigError(
            f"jpm needs at least {JPM_GROUPS} patches; {height}x{width} at stride {stride} gives "
            f"{rows}x{cols}: use a larger input or jpm=false"
        )
    if isinstance(drop_path, bool) or not isinstance(drop_path, int | float) or not 0 <= drop_path < 1:
        raise ConfigError(f"drop_path must be in [0, 1), got {drop_path!r}")
    if neck_feat not in NECK_FEATS:
        raise ConfigError(f"neck_feat must be one of {', '.join(NECK_FEATS)}, got {neck_feat!r}")


def _transreid(
    vit_name: str, num_classes: int, pretrained: str, pretrained_path: str | Path | None, **options: object
) -> TransReID:
    """Build timm's ViT (weights from a local file if asked), then turn it into TransReID.

    The public builders below spell out their keywords (config checks and `config_diff` read the
    signature) and pass them all on here.
    """
    _check_options(**options)
    vit = create_timm_model(vit_name, num_classes=0, drop_path_rate=float(options.pop("drop_path")))
    if pretrained == "imagenet":
        load_timm_weights(vit, vit_name, pretrained_path)
    return TransReID(vit, num_classes, **options)


def transreid_vit_small(
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    *,
    height: int = 256,
    width: int = 128,
    stride: int = 12,
    num_cameras: int = 0,
    sie_weight: float = 3.0,
    jpm: bool = True,
    drop_path: float = 0.1,
    neck_feat: str = "after",
) -> TransReID:
    """TransReID on timm's vit_small_patch16_224 (384-d tokens; 5 x 384 = 1920-d embedding with JPM)."""
    return _transreid("vit_small_patch16_224", **locals())  # the arguments above, as given


def transreid_vit_base(
    num_classes: int,
    pretrained: str = "none",
    pretrained_path: str | Path | None = None,
    *,
    height: int = 256,
    width: int = 128,
    stride: int = 12,
    num_cameras: int = 0,
    sie_weight: float = 3.0,
    jpm: bool = True,
    drop_path: float = 0.1,
    neck_feat: str = "after",
) -> TransReID:
    """TransReID on timm's vit_base_patch16_224 (768-d tokens; 5 x 768 = 3840-d embedding with JPM)."""
    return _transreid("vit_base_patch16_224", **locals())  # the arguments above, as given
