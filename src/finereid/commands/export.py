"""`finereid export`: the checkpoint's model as ONNX or TorchScript, checked against PyTorch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

FORMATS = ("onnx", "torchscript")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `finereid export`."""
    parser.add_argument("--checkpoint", required=True, help="finereid checkpoint (best.ckpt / last.ckpt)")
    parser.add_argument(
        "--format", required=True, choices=FORMATS, help="onnx (needs the export extra) or torchscript"
    )
    parser.add_argument("--out", help="output file (default: the checkpoint's name with .onnx / .pt)")
    parser.add_argument("--model", help="refuse a checkpoint whose model name differs")
    parser.add_argument("--height", type=int, help="input height (default: the checkpoint's)")
    parser.add_argument("--width", type=int, help="input width (default: the checkpoint's)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument("--no-verify", action="store_true", help="skip the parity check against PyTorch")


def run(args: argparse.Namespace) -> int:
    """Load, export, verify, and write a JSON sidecar describing the input the model expects."""
    from finereid.deploy.export import INPUT_NAME, OUTPUT_NAME, SUFFIXES, export_model
    from finereid.evaluation import load_model

    loaded = load_model(args.checkpoint, model_name=args.model, height=args.height, width=args.width)
    out = Path(args.out) if args.out else Path(args.checkpoint).with_suffix(SUFFIXES[args.format])
    meta = {
        **loaded.describe(),
        "input": INPUT_NAME,
        "output": OUTPUT_NAME,
        "layout": "NCHW float32 RGB, resized to height x width, scaled to [0, 1], then (x - mean) / std",
        "dynamic_axes": ["batch"],
    }
    kwargs = {"opset": args.opset} if args.format == "onnx" else {}
    result = export_model(
        loaded.model,
        args.format,
        out,
        loaded.height,
        loaded.width,
        verify=not args.no_verify,
        meta=meta,
        **kwargs,
    )
    sidecar = out.with_name(out.name + ".json")
    sidecar.write_text(
        json.dumps({**meta, "format": args.format, "max_abs_diff": result.max_abs_diff}, indent=1),
        encoding="utf-8",
    )
    check = (
        "not verified"
        if result.max_abs_diff is None
        else f"max |{args.format} - pytorch| = {result.max_abs_diff:.2g} on batch sizes "
        f"{', '.join(map(str, result.batch_sizes))}"
    )
    print(
        f"{args.format}: {out} (input {INPUT_NAME} [batch, 3, {loaded.height}, {loaded.width}], "
        f"output {OUTPUT_NAME} [batch, {loaded.feature_dim}]; {check}); metadata: {sidecar}"
    )
    return 0
