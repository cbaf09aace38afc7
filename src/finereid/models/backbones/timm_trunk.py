"""Any convolutional timm model as a ReID trunk: its feature map, with the last stride removed where timm can.

The model is created by name with `num_classes=0` (random init; ImageNet weights come from a local file,
see models.pretrained). One probe forward at 64x64 measures the map's width and stride, rejects models
whose features are not a spatial map (ViTs, Swin: use the TransReID models), and freezes the parameters
that `forward_features` never touches (e.g. ConvNeXt's head norm), so DDP sees no unused parameters.
"""

from __future__ import annotations

import difflib
import logging

import timm
import torch
from torch import Tensor, nn

from finereid.errors import ConfigError
from finereid.models.input_norm import InputRenorm

log = logging.getLogger(__name__)
PROBE_SIZE = 64


def create_timm_model(name: str, **kwargs: object) -> nn.Module:
    """`timm.create_model(name, pretrained=False, **kwargs)`; an unknown name is a one-line ConfigError."""
    if not isinstance(name, str) or not timm.is_model(name):
        close = difflib.get_close_matches(str(name), timm.list_models(), n=3, cutoff=0.7)
        hint = f"; close: {', '.join(close)}" if close else ""
        raise ConfigError(f"unknown timm model {name!r}{hint} (timm.list_models() lists the valid names)")
    return timm.create_model(name, pretrained=False, **kwargs)


class TimmTrunk(nn.Module):
    """ImageNet-normalized image -> feature map [B, C, H/s, W/s] of timm's `forward_features`.

    `last_stride=1` asks timm for output stride 16 (dilating the last stage); architectures that cannot
    (timm has no `output_stride` for them, e.g. MobileNetV3) keep their stride 32, logged. `stride` is the
    measured one.
    """

    def __init__(self, name: str, last_stride: int = 1) -> None:
        super().__init__()
        self.name = name
        if last_stride == 1:
            try:
                body = create_timm_model(name, num_classes=0, output_stride=16)
            except TypeError:  # the architecture takes no output_stride
                body = create_timm_model(name, num_classes=0)
                log.info("timm's %s has no output_stride option: its last stride stays", name)
        else:
            body = create_timm_model(name, num_classes=0)
        self.body = body
        self.channels_last = getattr(body, "output_fmt", "NCHW") == "NHWC"
        cfg = getattr(body, "pretrained_cfg", {}) or {}
        self.renorm = InputRenorm(
            cfg.get("mean", (0.485, 0.456, 0.406)), cfg.get("std", (0.229, 0.224, 0.225))
        )
        fmap, unused = self._probe()
        self.out_channels: int = int(fmap.shape[1])
        self.stride: int = PROBE_SIZE // int(fmap.shape[2])
        for param in unused:
            param.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        """timm's forward_features on the renormalized input, as an NCHW map."""
        fmap = self.body.forward_features(self.renorm(x))
        return fmap.permute(0, 3, 1, 2) if self.channels_last else fmap

    def _probe(self) -> tuple[Tensor, list[nn.Parameter]]:
        """One eval forward at 64x64: the feature map, and the parameters of modules that never ran."""
        ran: set[int] = set()
        hooks = [m.register_forward_hook(lambda m, i, o: ran.add(id(m))) for m in self.body.modules()]
        training = self.body.training
        self.body.eval()
        try:
            with torch.no_grad():
                fmap = self.forward(torch.zeros(1, 3, PROBE_SIZE, PROBE_SIZE))
        except Exception as exc:  # timm models fail in their own ways on inputs they cannot take
            raise ConfigError(
                f"bot_timm needs a convolutional timm model (a feature map from forward_features); "
                f"{self.name} failed on a {PROBE_SIZE}x{PROBE_SIZE} input: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''} (ViTs: use transreid_vit_small/base)"
            ) from None
        finally:
            for hook in hooks:
                hook.remove()
            self.body.train(training)
        if fmap.dim() != 4:
            raise ConfigError(
                f"bot_timm needs a convolutional timm model: {self.name}'s forward_features returns "
                f"shape {tuple(fmap.shape)}, not a feature map [B, C, H, W] "
                "(ViTs: use transreid_vit_small/base)"
            )
        unused = [p for m in self.body.modules() if id(m) not in ran for p in m.parameters(recurse=False)]
        return fmap, unused
