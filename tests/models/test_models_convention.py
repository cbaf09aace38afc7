"""Every model: output shapes, the train/eval output convention, a training step with FDP, export."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from model_helpers import ALL_MODELS, HEIGHT, NUM_CLASSES, WIDTH, images

from finereid.errors import ConfigError
from finereid.losses import CrossEntropyLabelSmooth, FDPLoss
from finereid.models import ReIDOutput

# name -> (feature_dim, metric feature dims, number of logits)
EXPECTED = {
    "bot_resnet50": (2048, [2048], 1),
    "bot_resnet18": (512, [512], 1),
    "bot_efficientnet_lite0": (1280, [1280], 1),
    "agw_resnet50": (2048, [2048], 1),
    "mgn_resnet50": (2048, [256, 256, 256], 8),  # 3 global + 2 + 3 stripes
    "agw_resnet18": (512, [512], 1),
    "mgn_resnet18": (2048, [256, 256, 256], 8),
    "bot_resnet50_ibn": (2048, [2048], 1),
    "bot_timm": (768, [768], 1),  # default backbone convnext_tiny
    "osnet_x1_0": (512, [512], 1),  # the 512-d FC embedding at every width
    "osnet_x0_75": (512, [512], 1),
    "osnet_x0_5": (512, [512], 1),
    "osnet_x0_25": (512, [512], 1),
    "osnet_ain_x1_0": (512, [512], 1),
    "transreid_vit_small": (5 * 384, [384] * 5, 5),  # global + 4 JPM features, one BNNeck each
    "transreid_vit_base": (5 * 768, [768] * 5, 5),
}


@pytest.mark.parametrize("name", ALL_MODELS)
def test_attributes(built_models, name):
    model = built_models[name]
    assert model.feature_dim == EXPECTED[name][0]
    assert model.num_classes == NUM_CLASSES
    assert model.mean == (0.485, 0.456, 0.406) and model.std == (0.229, 0.224, 0.225)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_train_mode_returns_features_and_logits(built_models, name):
    model = built_models[name].train()
    out = model(images(4))
    assert isinstance(out, ReIDOutput)
    assert isinstance(out.features, list) and isinstance(out.logits, list)
    _, feature_dims, num_logits = EXPECTED[name]
    assert [tuple(f.shape) for f in out.features] == [(4, d) for d in feature_dims]
    assert [tuple(t.shape) for t in out.logits] == [(4, NUM_CLASSES)] * num_logits


@pytest.mark.parametrize("name", ALL_MODELS)
def test_eval_mode_returns_one_embedding_per_image(built_models, name):
    model = built_models[name].eval()
    batch = images(3, seed=1)
    with torch.no_grad():
        embedding = model(batch)
        alone = model(batch[1:2])
    assert isinstance(embedding, torch.Tensor)
    assert embedding.shape == (3, model.feature_dim)
    assert torch.isfinite(embedding).all()
    # Eval is per image: no statistics shared across the batch.
    torch.testing.assert_close(alone[0], embedding[1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_training_step_with_fdp(built_models, name):
    model = built_models[name].train()
    model.zero_grad(set_to_none=True)
    pids = torch.tensor([0, 0, 1, 1])
    out = model(images(4, seed=2))
    fdp, ce = FDPLoss(), CrossEntropyLabelSmooth(num_classes=NUM_CLASSES)
    loss = sum(fdp(f, pids) for f in out.features) + sum(ce(t, pids) for t in out.logits)
    assert torch.isfinite(loss)
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for _, p in trainable)
    first_conv = next(p for n, p in trainable if p.dim() == 4)
    assert first_conv.grad.abs().sum() > 0  # the metric + identity losses reach the stem
    model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_bad_inputs_are_one_line_errors(built_models, name):
    model = built_models[name]
    model.eval()
    for bad in (
        torch.randn(3, HEIGHT, WIDTH),
        torch.randn(2, 1, HEIGHT, WIDTH),
        torch.zeros(2, 3, HEIGHT, WIDTH, dtype=torch.uint8),
    ):
        with pytest.raises(ConfigError):
            model(bad)
    model.train()
    with pytest.raises(ConfigError, match="at least 2"):
        model(images(1))


@pytest.mark.parametrize("name", ALL_MODELS)
def test_eval_forward_traces_with_any_batch(built_models, name):
    model = built_models[name].eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # jit.trace is deprecated, still what export uses
        warnings.simplefilter("error", torch.jit.TracerWarning)  # a warning would mean baked-in values
        traced = torch.jit.trace(model, images(2), check_trace=False)
    batch = images(3, seed=3)
    with torch.no_grad():
        torch.testing.assert_close(traced(batch), model(batch), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_eval_forward_exports_to_onnx_with_dynamic_batch(built_models, name):
    onnxruntime = pytest.importorskip("onnxruntime")
    model = built_models[name].eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (images(2),),
            buffer,
            dynamo=False,
            input_names=["images"],
            output_names=["embeddings"],
            dynamic_axes={"images": {0: "batch"}, "embeddings": {0: "batch"}},
        )
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    batch = images(3, seed=4)
    (result,) = session.run(None, {"images": batch.numpy()})
    with torch.no_grad():
        expected = model(batch).numpy()
    np.testing.assert_allclose(result, expected, rtol=1e-3, atol=1e-3)
