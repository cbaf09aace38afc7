"""Run a model file on a normalized NCHW batch: a finereid checkpoint, TorchScript, ONNX or OpenVINO.

`open_model(path, device, half)` picks the runtime by the file's name, reads the metadata finereid wrote
into the file (`finereid export`) and returns a `Runner`: `runner(batch) -> float32 [B, D]` plus that
metadata. A file that cannot be loaded, or one without finereid's metadata (exported by another tool),
is a one-line CheckpointError.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finereid.deploy.export import INPUT_NAME, OPENVINO_CONFIG, OPENVINO_META
from finereid.errors import CheckpointError, ConfigError

CHECKPOINT_SUFFIXES = (".ckpt",)
TORCHSCRIPT_SUFFIXES = (".torchscript", ".pt", ".pth", ".jit")
ONNX_SUFFIXES = (".onnx",)
OPENVINO_SUFFIXES = (".xml", ".bin")
REQUIRED_META = ("model", "height", "width", "mean", "std", "distance", "feature_dim")


@dataclass
class Runner:
    """A loaded model: `run(batch)` embeds a normalized float32 NCHW batch; `meta` describes the model."""

    run: Callable[[torch.Tensor], np.ndarray]
    meta: dict[str, Any]
    format: str
    device: torch.device
    half: bool = False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _torch_runner(model: torch.nn.Module, device: torch.device, half: bool) -> Callable[..., np.ndarray]:
    """Embed with a torch module (checkpoint or TorchScript) on `device`, in float16 if `half`."""
    model = model.eval().to(device)
    if half:
        model = model.half()

    def run(batch: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            x = batch.to(device, non_blocking=True)
            return model(x.half() if half else x).float().cpu().numpy()

    return run


def _open_checkpoint(path: Path, device: torch.device, half: bool) -> Runner:
    from finereid.evaluation import load_model

    loaded = load_model(path, device=device)
    return Runner(_torch_runner(loaded.model, device, half), loaded.describe(), "checkpoint", device, half)


def _open_torchscript(path: Path, device: torch.device, half: bool) -> Runner:
    files = {"finereid.json": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = torch.jit.load(str(path), map_location="cpu", _extra_files=files)
    except Exception as exc:  # torch raises RuntimeError, ValueError, ... for files that are not TorchScript
        raise CheckpointError(f"cannot load {path} as TorchScript: {_first_line(exc)}") from None
    meta = _parse_json(files["finereid.json"], path)
    return Runner(_torch_runner(model, device, half), meta, "torchscript", device, half)


def _open_onnx(path: Path, device: torch.device, half: bool) -> Runner:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ConfigError("running an ONNX model needs onnxruntime: pip install 'finereid[export]'") from None
    if half:
        raise ConfigError("half precision runs checkpoints and TorchScript files on CUDA, not ONNX models")
    provider = "CUDAExecutionProvider" if device.type == "cuda" else "CPUExecutionProvider"
    if provider not in ort.get_available_providers():
        raise ConfigError(f"onnxruntime here has no {provider} (install onnxruntime-gpu for CUDA)")
    try:
        session = ort.InferenceSession(str(path), providers=[provider])
    except Exception as exc:  # onnxruntime's own exception types: corrupt or foreign file
        raise CheckpointError(f"cannot load {path} as ONNX: {_first_line(exc)}") from None
    props = session.get_modelmeta().custom_metadata_map
    meta = {k[len("finereid.") :]: json.loads(v) for k, v in props.items() if k.startswith("finereid.")}
    name = session.get_inputs()[0].name

    def run(batch: torch.Tensor) -> np.ndarray:
        return np.asarray(session.run(None, {name: batch.numpy()})[0], dtype=np.float32)

    return Runner(run, _checked(meta, path), "onnx", device)


def _open_openvino(path: Path, device: torch.device, half: bool) -> Runner:
    try:
        import openvino as ov
    except ImportError:
        raise ConfigError(
            "running an OpenVINO model needs openvino: pip install 'finereid[openvino]'"
        ) from None
    if device.type != "cpu" or half:
        raise ConfigError("OpenVINO models run here on the CPU in float32 (device='cpu', half=False)")
    core = ov.Core()
    try:
        model = core.read_model(str(path))
        compiled = core.compile_model(model, "CPU", OPENVINO_CONFIG)
    except Exception as exc:  # OpenVINO raises RuntimeError with multi-line messages
        raise CheckpointError(f"cannot load {path} as OpenVINO: {_first_line(exc)}") from None
    text = model.get_rt_info([OPENVINO_META]).astype(str) if model.has_rt_info([OPENVINO_META]) else ""
    output = compiled.output(0)

    def run(batch: torch.Tensor) -> np.ndarray:
        return np.asarray(compiled(batch.numpy())[output], dtype=np.float32)

    return Runner(run, _parse_json(text, path), "openvino", device)


def _parse_json(text: str, path: Path) -> dict[str, Any]:
    """finereid's JSON metadata of an exported file, checked."""
    try:
        meta = json.loads(text) if text else {}
    except ValueError:
        raise CheckpointError(f"{path}: its finereid metadata is not valid JSON") from None
    return _checked(meta if isinstance(meta, dict) else {}, path)


def _checked(meta: dict[str, Any], path: Path) -> dict[str, Any]:
    """The metadata if it names everything inference needs, else a one-line error."""
    missing = [k for k in REQUIRED_META if k not in meta]
    if len(missing) == len(REQUIRED_META):
        raise CheckpointError(
            f"{path} carries no finereid metadata (input size, mean/std, distance): not written by "
            "`finereid export`? Export the checkpoint with finereid, or embed with the checkpoint itself"
        )
    if missing:
        raise CheckpointError(f"{path}: finereid metadata lacks {', '.join(missing)}")
    if meta.get("input", INPUT_NAME) != INPUT_NAME:
        raise CheckpointError(f"{path}: input {meta['input']!r} is not finereid's {INPUT_NAME!r}")
    return meta


OPENERS: dict[tuple[str, ...], Callable[[Path, torch.device, bool], Runner]] = {
    CHECKPOINT_SUFFIXES: _open_checkpoint,
    TORCHSCRIPT_SUFFIXES: _open_torchscript,
    ONNX_SUFFIXES: _open_onnx,
    OPENVINO_SUFFIXES: _open_openvino,
}


def model_file(path: str | Path) -> Path:
    """The file to open: an OpenVINO folder (`*_openvino_model`) resolves to the .xml inside it."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.xml"))
        if len(found) != 1:
            raise CheckpointError(f"{path} is a folder without exactly one OpenVINO .xml model in it")
        path = found[0]
    if path.suffix == ".bin":
        path = path.with_suffix(".xml")
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    return path


def open_model(path: str | Path, device: torch.device, half: bool = False) -> Runner:
    """Load a checkpoint or exported model on `device`; the runtime follows the file's suffix."""
    path = model_file(path)
    if half and device.type != "cuda":
        raise ConfigError(f"half precision needs a CUDA device, got {device}")
    for suffixes, opener in OPENERS.items():
        if path.suffix.lower() in suffixes:
            return opener(path, device, half)
    valid = ", ".join(s for group in OPENERS for s in group)
    raise CheckpointError(
        f"{path}: unknown model file type {path.suffix!r}; valid: {valid} or an OpenVINO folder"
    )
