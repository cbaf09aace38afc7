"""The foreign layouts finereid converts: torchreid's OSNet, OSNet-AIN and ResNet-50; fast-reid's BoT R50.

Each layout is an explicit ordered rename table (regex -> replacement, see mapping.py), the finereid model
and options that reproduce the source model's embedding, and the keys allowed to stay unmapped or missing
(each with the reason). Detection reads only key names and shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from torch import Tensor

from finereid.errors import CheckpointError
from finereid.models.osnet import WIDTHS

# Sequential renames shared by both torchreid OSNet files, applied after the file-specific ones.
_OSNET_COMMON = [
    (r"^conv1\.", "backbone.stem."),
    (r"^conv5\.", "backbone.conv5."),
    (r"\.conv1\.(conv|bn)\.", r".reduce.\1."),
    (r"(streams\.\d\.\d)\.conv1\.", r"\1.pointwise."),
    (r"(streams\.\d\.\d)\.conv2\.", r"\1.depthwise."),
    (r"\.conv3\.", ".expand."),
    (r"\.downsample\.", ".shortcut."),
    (r"\.bn\.", ".norm."),
    (r"^fc\.", "embedding.fc."),
    (r"^classifier\.weight$", "neck.classifier.weight"),
]
# torchreid osnet.py: transitions are the last entry of conv2/conv3; streams are conv2a..conv2d.
OSNET_RULES = [
    (r"^conv([23])\.2\.0\.", r"backbone.transition\1.0."),
    (r"^conv([234])\.([01])\.", r"backbone.stage\1.\2."),
    (r"\.conv2a\.", ".streams.0.0."),
    (r"\.conv2b\.(\d)\.", r".streams.1.\1."),
    (r"\.conv2c\.(\d)\.", r".streams.2.\1."),
    (r"\.conv2d\.(\d)\.", r".streams.3.\1."),
    *_OSNET_COMMON,
]
# torchreid osnet_ain.py: transitions are pool2/pool3; streams are conv2.T.layers.i; IN after conv3.
OSNET_AIN_RULES = [
    (r"^pool([23])\.0\.", r"backbone.transition\1.0."),
    (r"^conv([234])\.([01])\.", r"backbone.stage\1.\2."),
    (r"\.conv2\.(\d)\.layers\.(\d)\.", r".streams.\1.\2."),
    (r"(stage\d\.\d)\.IN\.", r"\1.expand.norm."),
    *_OSNET_COMMON,
]
TORCHREID_RESNET_RULES = [
    (r"^(conv1|bn1|layer[1-4])\.", r"backbone.\1."),
    (r"^classifier\.weight$", "neck.classifier.weight"),
]
FASTREID_RULES = [
    (r"^backbone\.", "backbone."),  # same names (torchvision's; IBN-a's bn1.IN / bn1.BN)
    (r"^heads\.bottleneck\.0\.", "neck.bn."),
    (r"^heads\.weight$", "neck.classifier.weight"),
]
_TORCHREID_HEAD = {
    r"^classifier\.bias$": "finereid's identity classifiers have no bias (fine-tuning re-initialises them)"
}
_NECK_UNUSED = {r"^neck\.bn\.": "the BNNeck's BN is left at initialisation: the embedding is taken before it"}


@dataclass(frozen=True)
class Layout:
    """One convertible source layout."""

    model: str  # finereid model name
    rules: list[tuple[str, str]]
    options: dict[str, object]  # finereid model options that reproduce the source's embedding
    classifier_key: str  # source key whose first dimension is the number of identities
    unmapped_ok: dict[str, str] = field(default_factory=dict)  # source key regex -> why it is dropped
    missing_ok: dict[str, str] = field(default_factory=dict)  # finereid key regex -> why it stays


def detect_torchreid(state: Mapping[str, Tensor]) -> Layout:
    """torchreid's OSNet (x1.0 ... x0.25), OSNet-AIN x1.0 or ResNet-50, from key names and widths."""
    head = {"classifier_key": "classifier.weight", "unmapped_ok": _TORCHREID_HEAD, "missing_ok": _NECK_UNUSED}
    before = {"neck_feat": "before"}  # torchreid returns the FC output (OSNet) / pooled feature (ResNet)
    if "conv2.0.conv2a.conv1.weight" in state or "conv2.0.conv2.0.layers.0.conv1.weight" in state:
        ain = "conv2.0.conv2.0.layers.0.conv1.weight" in state
        width = next((w for w, c in WIDTHS.items() if c[0] == _dim(state, "conv1.conv.weight")), None)
        name = f"osnet_{'ain_' if ain else ''}{width}"
        if width is None or (ain and width != "x1_0"):
            raise CheckpointError(
                f"torchreid OSNet{'-AIN' if ain else ''} of this width has no finereid model"
            )
        embedding = _dim(state, "fc.0.weight") if "fc.0.weight" in state else 0
        rules = OSNET_AIN_RULES if ain else OSNET_RULES
        return Layout(name, rules, {**before, "embedding_dim": embedding}, **head)
    if (
        "layer4.2.conv3.weight" in state
        and "layer3.5.conv1.weight" in state
        and "layer3.6.conv1.weight" not in state
    ):
        return Layout("bot_resnet50", TORCHREID_RESNET_RULES, {**before, "last_stride": 2}, **head)
    raise CheckpointError(
        f"not a torchreid OSNet, OSNet-AIN or ResNet-50 state dict (first keys: {_first(state)})"
    )


def detect_fastreid(state: Mapping[str, Tensor]) -> Layout:
    """fast-reid's Baseline (BoT) on ResNet-50, with or without IBN-a."""
    if not any(k.startswith("backbone.") for k in state) or "heads.weight" not in state:
        raise CheckpointError(f"not a fast-reid Baseline state dict (first keys: {_first(state)})")
    if "backbone.layer3.5.conv3.weight" not in state or "backbone.layer3.6.conv1.weight" in state:
        raise CheckpointError("fast-reid checkpoint is not a ResNet-50 Baseline (only BoT R50 converts)")
    name = "bot_resnet50_ibn" if "backbone.layer1.0.bn1.IN.weight" in state else "bot_resnet50"
    bnneck = "heads.bottleneck.0.weight" in state
    # fast-reid's eval embedding is the BNNeck's output (its NECK_FEAT only picks the training feature);
    # its stem max pool has no padding and ceil mode; LAST_STRIDE 1 is its default and the recipes'.
    options = {"neck_feat": "after" if bnneck else "before", "last_stride": 1, "stem_pool": "ceil"}
    return Layout(name, FASTREID_RULES, options, "heads.weight", missing_ok={} if bnneck else _NECK_UNUSED)


def _dim(state: Mapping[str, Tensor], key: str) -> int:
    """First dimension of a tensor that detection relies on (a one-line error when absent)."""
    if key not in state:
        raise CheckpointError(f"state dict has no {key!r}")
    return int(state[key].shape[0])


def _first(state: Mapping[str, Tensor]) -> str:
    """The first three keys, for messages."""
    return ", ".join(list(state)[:3]) or "none"


DETECTORS = {"torchreid": detect_torchreid, "fastreid": detect_fastreid}
