"""`finereid export`: the checkpoint's model as ONNX, TorchScript or OpenVINO, checked against PyTorch."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

FORMATS = ("onnx", "torchscript", "openvino")
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `finereid export`."""
    parser.add_argument("--checkpoint", required=True, help="finereid checkpoint (best.ckpt / last.ckpt)")
    parser.add_argument(
        "--format", required=True, choices=FORMATS,
        help="onnx (needs the export extra), torchscript, or openvino (needs the openvino extra)",
    )  # fmt: skip
    parser.add_argument(
        "--out", help="output file (default: beside the checkpoint: NAME.onnx, NAME.torchscript, "
        "NAME_openvino_model/NAME.xml)",
    )  # fmt: skip
    parser.add_argument("--model", help="refuse a checkpoint whose model name differs")
    parser.add_argument("--height", type=int, help="input height (default: the checkpoint's)")
    parser.add_argument("--width", type=int, help="input width (default: the checkpoint's)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument("--no-verify", action="store_true", help="skip the parity check against PyTorch")


def run(args: argparse.Namespace) -> int:
    """Load, export, verify, and write the metadata sidecar describing the input the model expects."""
    from finereid.deploy.export import INPUT_NAME, OUTPUT_NAME, default_path, export_model, write_sidecar
    from finereid.evaluation import load_model

    loaded = load_model(args.checkpoint, model_name=args.model, height=args.height, width=args.width)
    out = Path(args.out) if args.out else default_path(args.checkpoint, args.format)
    if args.format == "openvino" and out.suffix != ".xml":
        out = out / f"{Path(args.checkpoint).stem}.xml"  # --out names the folder
    if args.format == "torchscript" and out.suffix == ".pt":
        log.warning("BoxMOT reads a .pt file as its own checkpoint format: name it .torchscript for BoxMOT")
    meta = {
        **loaded.describe(),
        "input": INPUT_NAME,
        "output": OUTPUT_NAME,
        "layout": "NCHW float32 RGB, resized to height x width, scaled to [0, 1], then (x - mean) / std",
        "dynamic_axes": ["batch"],
    }
    kwargs = {"opset": args.opset} if args.format == "onnx" else {}
    result = export_model(
        loaded.model, args.format, out, loaded.height, loaded.width, verify=not args.no_verify, meta=meta,
        **kwargs,
    )  # fmt: skip
    sidecars = write_sidecar(result, meta)
    check = (
        "not verified"
        if result.max_abs_diff is None
        else f"max |{args.format} - pytorch| = {result.max_abs_diff:.2g} on batch sizes "
        f"{', '.join(map(str, result.batch_sizes))}"
    )
    print(
        f"{args.format}: {out} (input {INPUT_NAME} [batch, 3, {loaded.height}, {loaded.width}], "
        f"output {OUTPUT_NAME} [batch, {loaded.feature_dim}]; {check}); "
        f"metadata: {', '.join(map(str, sidecars))}"
    )
    return 0
