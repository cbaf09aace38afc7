"""Export an eval-mode model to ONNX or TorchScript (dynamic batch) and check it against PyTorch.

The exported graph takes the same input as the PyTorch model (RGB images resized to height x width and
normalized with the stored mean/std, NCHW float32) and returns the embedding [B, feature_dim]. Parity is
checked on random inputs at two batch sizes other than the one traced:
max |exported - PyTorch| <= atol x scale, with scale = max(1, max |PyTorch embedding|). A trained BNNeck
embedding is of order one, so this is the absolute 1e-4; a randomly initialised ResNet-50 at 256x128 gives
values in the hundreds, where float32 rounding alone reaches 4e-4 absolute (1e-6 relative).
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


# format name -> exporter(model, path, height, width, *, verify, atol, meta)
EXPORTERS: dict[str, Callable[..., ExportResult]] = {"onnx": export_onnx, "torchscript": export_torchscript}
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}


def export_model(
    model: nn.Module, fmt: str, path: str | Path, height: int, width: int, **kwargs: Any
) -> ExportResult:
    """Export with the named format ("onnx" or "torchscript")."""
    if fmt not in EXPORTERS:
        raise unknown_name_error("export format", fmt, EXPORTERS)
    return EXPORTERS[fmt](model, path, height, width, **kwargs)
