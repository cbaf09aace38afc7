"""torchreid / fast-reid models with random weights and non-trivial norm statistics, saved in their formats.

The models come from the toolkits' own published code (PyPI torchreid 0.2.5, fastreid 1.4.0, installed by
the `dev` extra); nothing here re-implements them.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch
from torch import nn

NUM_TORCHREID_IDS, NUM_FASTREID_IDS = 7, 9
INSTALL = {"torchreid": 'pip install -e ".[dev]"', "fastreid": "pip install --no-deps fastreid==1.4.0"}


def require(toolkit: str) -> None:
    """Fail (never skip: CI must run these) with the install command when a reference toolkit is missing."""
    try:
        importlib.import_module(toolkit)
    except ImportError as exc:
        pytest.fail(f"the {toolkit} parity tests need {toolkit}: {INSTALL[toolkit]} ({exc})")


def randomize_norms(model: nn.Module, seed: int = 1) -> None:
    """Give every BN/IN layer random affine parameters and running statistics (defaults would hide bugs)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)
            if isinstance(module, nn.modules.batchnorm._BatchNorm | nn.InstanceNorm2d) and module.affine:
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)


def torchreid_checkpoint(name: str, folder: Path) -> tuple[nn.Module, Path]:
    """torchreid's `name` in eval mode, and the file torchreid's save_checkpoint wrote for it."""
    require("torchreid")
    from torchreid.reid.models import build_model
    from torchreid.reid.utils.torchtools import save_checkpoint

    torch.manual_seed(0)
    model = build_model(name, num_classes=NUM_TORCHREID_IDS, loss="softmax", pretrained=False)
    randomize_norms(model)
    save_checkpoint({"state_dict": model.state_dict(), "epoch": 60, "rank1": 0.5}, str(folder))
    return model.eval(), folder / "model.pth.tar-60"


def fastreid_checkpoint(ibn: bool, folder: Path, bnneck: bool = True) -> tuple[nn.Module, Path]:
    """fast-reid's BoT R50 Baseline (IBN-a if `ibn`) in eval mode, and the file its Checkpointer wrote."""
    require("fastreid")
    from fastreid.config import get_cfg
    from fastreid.modeling.meta_arch import build_model
    from fastreid.utils.checkpoint import Checkpointer

    cfg = get_cfg()  # defaults: R50, last stride 1, GAP; configs/Base-bagtricks.yml adds the BNNeck
    cfg.MODEL.BACKBONE.PRETRAIN = False
    cfg.MODEL.BACKBONE.WITH_IBN = ibn
    cfg.MODEL.HEADS.WITH_BNNECK = bnneck
    cfg.MODEL.HEADS.NECK_FEAT = "before"  # Base-bagtricks.yml's; it picks the training feature only
    cfg.MODEL.HEADS.NUM_CLASSES = NUM_FASTREID_IDS
    cfg.MODEL.DEVICE = "cpu"
    torch.manual_seed(0)
    model = build_model(cfg)
    randomize_norms(model)
    Checkpointer(model, str(folder)).save("model_final")
    return model.eval(), folder / "model_final.pth"
