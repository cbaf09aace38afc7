"""Export an eval-mode model to ONNX, TorchScript or OpenVINO (dynamic batch), checked against PyTorch.

The exported graph takes the same input as the PyTorch model (RGB images resized to height x width and
normalized with the stored mean/std, NCHW float32) and returns the embedding [B, feature_dim]. Parity is
checked on random inputs at two batch sizes other than the one traced:
max |exported - PyTorch| <= atol x scale, with scale = max(1, max |PyTorch embedding|). A trained BNNeck
embedding is of order one, so this is the absolute 1e-4; a randomly initialised ResNet-50 at 256x128 gives
values in the hundreds, where float32 rounding alone reaches 4e-4 absolute (1e-6 relative).

Every exported file carries finereid's metadata inside it (ONNX metadata_props `finereid.KEY`, a
TorchScript extra file `finereid.json`, OpenVINO rt_info `finereid_metadata`), so `finereid.deploy.Embedder`
can use it without the training run. `write_sidecar` also writes it beside the file, under the name and
keys BoxMOT's file routes read (`FILE.metadata.json` with `img_size`), so they feed the right input size.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from finereid.errors import FinereidError, unknown_name_error
from finereid.files import atomic_write_json

logger = logging.getLogger(__name__)

INPUT_NAME, OUTPUT_NAME = "images", "features"
PARITY_ATOL = 1e-4
CHECK_BATCHES = (1, 3)  # verification batch sizes; the trace/export uses batch 2


@dataclass(frozen=True)
class ExportResult:
    """Where the model went and how closely the exported one matched PyTorch (None when not verified)."""

    path: Path
    format: str
    max_abs_diff: float | None
    batch_sizes: tuple[int, ...]


def _example(batch: int, height: int, width: int, seed: int) -> torch.Tensor:
    """A fixed random input batch (normalized-image scale)."""
    return torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(seed))


def _reference(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return model(x).float().cpu().numpy()


def _check_parity(
    run: Callable[[torch.Tensor], np.ndarray],
    model: nn.Module,
    height: int,
    width: int,
    atol: float,
    fmt: str,
) -> float:
    """Max abs difference over CHECK_BATCHES; FinereidError above atol x scale or for a fixed batch size."""
    worst, scale = 0.0, 1.0
    for seed, batch in enumerate(CHECK_BATCHES):
        x = _example(batch, height, width, seed + 1)
        ref = _reference(model, x)
        try:
            out = run(x)
        except Exception as exc:  # the runtime's own error types: report them as one line
            raise FinereidError(
                f"{fmt} model failed on a batch of {batch}: {str(exc).splitlines()[0]}"
            ) from None
        if out.shape != ref.shape:
            raise FinereidError(f"{fmt} output shape {out.shape} != PyTorch {ref.shape} for batch {batch}")
        worst = max(worst, float(np.abs(out - ref).max()))
        scale = max(scale, float(np.abs(ref).max()))
    if not worst <= atol * scale:
        raise FinereidError(
            f"{fmt} export differs from PyTorch by {worst:.3g} (> {atol:g} x embedding scale {scale:.3g})"
        )
    logger.info("%s parity with PyTorch: max abs diff %.3g over batch sizes %s", fmt, worst, CHECK_BATCHES)
    return worst


def export_onnx(
    model: nn.Module,
    path: str | Path,
    height: int,
    width: int,
    *,
    opset: int = 17,
    verify: bool = True,
    atol: float = PARITY_ATOL,
    meta: dict[str, Any] | None = None,
) -> ExportResult:
    """ONNX with a dynamic batch axis (TorchScript-based exporter), checked with onnxruntime if `verify`."""
    try:
        import onnx
    except ImportError:
        raise FinereidError("ONNX export needs onnx: pip install 'finereid[export]'") from None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporter deprecation notices: not the user's concern
        torch.onnx.export(
            model,
            (_example(2, height, width, 0),),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
        )
    proto = onnx.load(str(path))
    for key, value in (meta or {}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = f"finereid.{key}", json.dumps(value)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    diff = None
    if verify:
        try:
            import onnxruntime as ort
        except ImportError:
            raise FinereidError("verifying ONNX needs onnxruntime: pip install 'finereid[export]'") from None
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        diff = _check_parity(
            lambda x: session.run(None, {INPUT_NAME: x.numpy()})[0], model, height, width, atol, "onnx"
        )
    return ExportResult(path, "onnx", diff, CHECK_BATCHES if verify else ())


def export_torchscript(
    model: nn.Module,
    path: str | Path,
    height: int,
    width: int,
    *,
    verify: bool = True,
    atol: float = PARITY_ATOL,
    meta: dict[str, Any] | None = None,
) -> ExportResult:
    """TorchScript by `torch.jit.trace` (eval forward has no data-dependent branches); meta in extra files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.jit deprecation notices
        traced = torch.jit.trace(model, (_example(2, height, width, 0),), check_trace=False)
        torch.jit.save(traced, str(path), _extra_files={"finereid.json": json.dumps(meta or {})})
    diff = None
    if verify:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = torch.jit.load(str(path), map_location="cpu")
        diff = _check_parity(lambda x: _reference(loaded, x), model, height, width, atol, "torchscript")
    return ExportResult(path, "torchscript", diff, CHECK_BATCHES if verify else ())


OPENVINO_META = "finereid_metadata"  # rt_info key of the JSON metadata in an OpenVINO model
OPENVINO_CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}  # CPU plugins may default to bf16: keep float32


def export_openvino(
    model: nn.Module,
    path: str | Path,
    height: int,
    width: int,
    *,
    verify: bool = True,
    atol: float = PARITY_ATOL,
    meta: dict[str, Any] | None = None,
) -> ExportResult:
    """OpenVINO IR (`path` is the .xml, float32 weights beside it as .bin), checked on its CPU plugin."""
    try:
        import openvino as ov
    except ImportError:
        raise FinereidError("OpenVINO export needs openvino: pip install 'finereid[openvino]'") from None
    path = Path(path)
    if path.suffix != ".xml":
        raise FinereidError(f"an OpenVINO model is written as NAME.xml (+ NAME.bin), got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.jit tracing notices
        converted = ov.convert_model(
            model,
            example_input=_example(2, height, width, 0),
            input=[ov.PartialShape([-1, 3, height, width])],
        )
    converted.inputs[0].get_tensor().set_names({INPUT_NAME})
    converted.outputs[0].get_tensor().set_names({OUTPUT_NAME})
    converted.set_rt_info(json.dumps(meta or {}), [OPENVINO_META])
    ov.save_model(converted, str(path), compress_to_fp16=False)
    diff = None
    if verify:
        compiled = ov.Core().compile_model(str(path), "CPU", OPENVINO_CONFIG)
        diff = _check_parity(
            lambda x: compiled(x.numpy())[compiled.output(0)], model, height, width, atol, "openvino"
        )
    return ExportResult(path, "openvino", diff, CHECK_BATCHES if verify else ())


# format name -> exporter(model, path, height, width, *, verify, atol, meta)
EXPORTERS: dict[str, Callable[..., ExportResult]] = {
    "onnx": export_onnx,
    "torchscript": export_torchscript,
    "openvino": export_openvino,
}
# Default file names. BoxMOT takes a `.pt` file for its own checkpoint format and only a `.torchscript`
# file for TorchScript; it finds OpenVINO models in a folder named `*_openvino_model`.
SUFFIXES = {"onnx": ".onnx", "torchscript": ".torchscript", "openvino": "_openvino_model"}


def default_path(checkpoint: str | Path, fmt: str) -> Path:
    """Where `finereid export` writes when no --out is given: beside the checkpoint, named for BoxMOT."""
    checkpoint = Path(checkpoint)
    if fmt == "openvino":
        return checkpoint.with_name(checkpoint.stem + SUFFIXES[fmt]) / f"{checkpoint.stem}.xml"
    return checkpoint.with_suffix(SUFFIXES[fmt])


def sidecar_path(path: str | Path) -> Path:
    """The metadata file beside an exported model: FILE.metadata.json (the name BoxMOT reads)."""
    path = Path(path)
    return path.with_name(path.name + ".metadata.json")


def write_sidecar(result: ExportResult, meta: dict[str, Any]) -> list[Path]:
    """Write the metadata beside the export, plus BoxMOT's `img_size` keys; returns the files written.

    An OpenVINO model in a `*_openvino_model` folder also gets FOLDER/manifest.json, which BoxMOT reads
    when it is given the folder.
    """
    size = [int(meta["height"]), int(meta["width"])]
    data = {
        **meta,
        "format": result.format,
        "max_abs_diff": result.max_abs_diff,
        # BoxMOT's artifact metadata: without img_size its file routes feed 256x128 crops to any model
        "model_name": meta.get("model"),
        "img_size": size,
        "model_kwargs": {"img_size": size},
        "model_kwargs_schema_version": 1,
    }
    paths = [sidecar_path(result.path)]
    if result.format == "openvino" and result.path.parent.name.endswith(SUFFIXES["openvino"]):
        paths.append(result.path.parent / "manifest.json")
    for target in paths:
        atomic_write_json(target, data)
    return paths


def export_model(
    model: nn.Module, fmt: str, path: str | Path, height: int, width: int, **kwargs: Any
) -> ExportResult:
    """Export with the named format ("onnx", "torchscript" or "openvino")."""
    if fmt not in EXPORTERS:
        raise unknown_name_error("export format", fmt, EXPORTERS)
    return EXPORTERS[fmt](model, path, height, width, **kwargs)
