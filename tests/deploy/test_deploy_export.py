"""Export parity for every model: ONNX (onnxruntime) and TorchScript match PyTorch to 1e-4, any batch size."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from finereid.cli import main
from finereid.deploy import export_model
from finereid.deploy.export import INPUT_NAME, PARITY_ATOL, _check_parity
from finereid.errors import ConfigError, FinereidError
from finereid.models import MODELS, build_model, model_options

SIZE = (64, 32)  # small inputs keep the ResNet-50 models fast on CPU


@pytest.fixture(scope="module")
def models():
    """One model per name, with non-trivial BatchNorm statistics, built on first use."""
    cache = {}

    def get(name):
        if name not in cache:
            torch.manual_seed(0)
            # models built for one input size (the TransReID ViTs) are built for this one
            size = {k: v for k, v in zip(("height", "width"), SIZE, strict=True) if k in model_options(name)}
            model = build_model(name, 8, **size)
            model.train()
            with torch.no_grad():
                model(torch.randn(4, 3, *SIZE))
            cache[name] = model.eval()
        return cache[name]

    return get


def _batch(n: int) -> torch.Tensor:
    return torch.randn(n, 3, *SIZE, generator=torch.Generator().manual_seed(n))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnx_export_matches_pytorch_with_dynamic_batch(models, name, tmp_path):
    import onnx
    import onnxruntime as ort

    model = models(name)
    result = export_model(model, "onnx", tmp_path / f"{name}.onnx", *SIZE, meta={"model": name})
    assert result.max_abs_diff is not None and result.max_abs_diff <= PARITY_ATOL
    proto = onnx.load(str(result.path))
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert {p.key: json.loads(p.value) for p in proto.metadata_props}["finereid.model"] == name
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    x = _batch(5)  # a batch size never used during export or its own check
    with torch.no_grad():
        expected = model(x).numpy()
    got = session.run(None, {INPUT_NAME: x.numpy()})[0]
    assert got.shape == (5, model.feature_dim)
    assert np.abs(got - expected).max() <= PARITY_ATOL * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_torchscript_export_matches_pytorch_with_dynamic_batch(models, name, tmp_path):
    model = models(name)
    result = export_model(model, "torchscript", tmp_path / f"{name}.pt", *SIZE, meta={"model": name})
    assert result.max_abs_diff is not None and result.max_abs_diff <= PARITY_ATOL
    files = {"finereid.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.load(str(result.path), _extra_files=files)
    assert json.loads(files["finereid.json"])["model"] == name
    x = _batch(5)
    with torch.no_grad():
        expected = model(x)
        torch.testing.assert_close(
            scripted(x), expected, rtol=0, atol=PARITY_ATOL * max(1.0, expected.abs().max())
        )


# OpenVINO's conversion takes 10-50 s per large model on 2 cores: three model kinds in the default run,
# every model with `pytest -m slow`.
OPENVINO_QUICK = ("agw_resnet18", "bot_efficientnet_lite0", "bot_resnet18")


@pytest.mark.parametrize(
    "name", [n if n in OPENVINO_QUICK else pytest.param(n, marks=pytest.mark.slow) for n in sorted(MODELS)]
)
def test_openvino_export_matches_pytorch_with_dynamic_batch(models, name, tmp_path):
    import openvino as ov

    from finereid.deploy.export import OPENVINO_CONFIG, OPENVINO_META

    model = models(name)
    result = export_model(model, "openvino", tmp_path / f"{name}.xml", *SIZE, meta={"model": name})
    assert result.max_abs_diff is not None and result.max_abs_diff <= PARITY_ATOL
    assert result.path.with_suffix(".bin").is_file()
    read = ov.Core().read_model(str(result.path))
    assert json.loads(read.get_rt_info([OPENVINO_META]).astype(str))["model"] == name
    compiled = ov.Core().compile_model(read, "CPU", OPENVINO_CONFIG)
    x = _batch(5)
    with torch.no_grad():
        expected = model(x).numpy()
    got = compiled(x.numpy())[compiled.output(0)]
    assert got.shape == (5, model.feature_dim)
    assert np.abs(got - expected).max() <= PARITY_ATOL * max(1.0, np.abs(expected).max())


def test_export_command_writes_model_and_sidecar(checkpoint, tmp_path, capsys):
    for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".pt"), ("openvino", ".xml")):
        out = tmp_path / f"model{suffix}"
        assert main(["export", "--checkpoint", str(checkpoint), "--format", fmt, "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        assert out.is_file() and f"max |{fmt} - pytorch|" in printed and "[batch, 3, 64, 32]" in printed
        sidecar = json.loads((tmp_path / f"model{suffix}.metadata.json").read_text())
        assert sidecar["model"] == "bot_resnet18" and sidecar["feature_dim"] == 512
        assert sidecar["max_abs_diff"] <= PARITY_ATOL and sidecar["mean"] == [0.485, 0.456, 0.406]
        assert sidecar["format"] == fmt and sidecar["img_size"] == [64, 32]


def test_default_names_are_the_ones_boxmot_reads(checkpoint, tmp_path):
    ckpt = tmp_path / "best.ckpt"
    ckpt.write_bytes(checkpoint.read_bytes())
    for fmt in ("onnx", "torchscript", "openvino"):
        assert main(["export", "--checkpoint", str(ckpt), "--format", fmt, "--no-verify"]) == 0
    # BoxMOT: .torchscript (a .pt is its own checkpoint format), a *_openvino_model folder with a manifest
    for name in (
        "best.onnx",
        "best.torchscript",
        "best_openvino_model/best.xml",
        "best_openvino_model/best.bin",
    ):
        assert (tmp_path / name).is_file(), name
    for meta in (
        "best.onnx.metadata.json",
        "best.torchscript.metadata.json",
        "best_openvino_model/manifest.json",
    ):
        assert json.loads((tmp_path / meta).read_text())["model_kwargs"] == {"img_size": [64, 32]}


def test_parity_check_catches_a_model_that_differs(models):
    model = models("bot_resnet18")

    def off_by_a_little(x):
        with torch.no_grad():
            out = model(x).numpy()
        return out + 1e-3 * max(1.0, np.abs(out).max())

    def fixed_batch(x):
        return np.zeros((2, model.feature_dim), np.float32)

    with pytest.raises(FinereidError, match="differs from PyTorch"):
        _check_parity(off_by_a_little, model, *SIZE, PARITY_ATOL, "onnx")
    with pytest.raises(FinereidError, match="output shape"):
        _check_parity(fixed_batch, model, *SIZE, PARITY_ATOL, "onnx")


def test_export_errors(checkpoint, tmp_path, capsys):
    with pytest.raises(ConfigError, match="unknown export format 'tflite'"):
        export_model(torch.nn.Identity(), "tflite", tmp_path / "x", *SIZE)
    with pytest.raises(FinereidError, match=r"NAME\.xml"):
        export_model(torch.nn.Identity(), "openvino", tmp_path / "x.onnx", *SIZE)
    code = main(["export", "--checkpoint", str(tmp_path / "none.ckpt"), "--format", "onnx"])
    assert code == 2 and "checkpoint not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "--checkpoint", str(checkpoint), "--format", "tflite"])
