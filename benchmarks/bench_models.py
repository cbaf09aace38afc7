"""Throughput of every finereid model: train step and inference images/s, parameter counts.

    python benchmarks/bench_models.py                      # all models, 256x128 and 128x64, CPU (or GPU)
    python benchmarks/bench_models.py --models bot_resnet50 --sizes 256x128 --batch 32 --iters 10

A train step is forward + FDP on every metric feature + label-smoothed cross-entropy on every logits
entry + backward + Adam step, as the engine does. Inference is the eval forward under no_grad. Each
number is the median over `--iters` timed iterations after `--warmup` untimed ones. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import torch

from finereid.losses import CrossEntropyLabelSmooth, FDPLoss
from finereid.models import MODELS, build_model, model_options

log = logging.getLogger("bench_models")
NUM_CLASSES = 751  # Market-1501's training identities


def parse_size(text: str) -> tuple[int, int]:
    """'256x128' -> (256, 128)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must look like 256x128, got {text!r}") from exc
    return height, width


def timed(step: Callable[[], None], device: torch.device, warmup: int, iters: int) -> float:
    """Median seconds of `step` over `iters` runs after `warmup` runs."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_one(
    name: str, size: tuple[int, int], batch: int, device: torch.device, warmup: int, iters: int, amp: bool
) -> dict[str, float]:
    """Train-step and inference images/s of one model at one input size."""
    torch.manual_seed(0)
    fixed_size = {k: v for k, v in zip(("height", "width"), size, strict=True) if k in model_options(name)}
    model = build_model(name, NUM_CLASSES, **fixed_size).to(device)  # ViTs are built for one input size
    images = torch.randn(batch, 3, *size, device=device)
    pids = torch.arange(batch, device=device) // 4  # P x K batch with K = 4
    metric, identity = FDPLoss(), CrossEntropyLabelSmooth(num_classes=NUM_CLASSES).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3.5e-4)
    autocast = torch.autocast(
        device.type, enabled=amp, dtype=torch.float16 if device.type == "cuda" else torch.bfloat16
    )

    def train_step() -> None:
        model.train()
        with autocast:
            out = model(images)
            loss = sum(metric(f.float(), pids) for f in out.features)
            loss = loss + sum(identity(t.float(), pids) for t in out.logits)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def infer_step() -> None:
        model.eval()
        with torch.no_grad(), autocast:
            model(images)

    train_s = timed(train_step, device, warmup, iters)
    infer_s = timed(infer_step, device, warmup, iters)
    return {
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "feature_dim": model.feature_dim,
        "train_ips": batch / train_s,
        "infer_ips": batch / infer_s,
    }


def _load() -> str:
    """1-minute load average (CPU numbers are only comparable on an otherwise idle machine)."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark grid and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--sizes", nargs="+", type=parse_size, default=[(256, 128), (128, 64)])
    parser.add_argument("--batch", type=int, default=16, help="images per step (P x K with K = 4)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--amp", action="store_true", help="autocast (fp16 on CUDA, bf16 on CPU)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    header = (
        f"device {device} ({where}), torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"batch {args.batch}, median of {args.iters} after {args.warmup} warm-up, amp {args.amp}, "
        f"load average at start {_load()}"
    )
    rows = ["| model | input | params (M) | embedding | train img/s | infer img/s |", "|---" * 6 + "|"]
    for name in args.models:
        for size in args.sizes:
            log.info("benchmarking %s at %dx%d ...", name, *size)
            r = bench_one(name, size, args.batch, device, args.warmup, args.iters, args.amp)
            rows.append(
                f"| {name} | {size[0]}x{size[1]} | {r['params_m']:.1f} | {r['feature_dim']} | "
                f"{r['train_ips']:.1f} | {r['infer_ips']:.1f} |"
            )
    sys.stdout.write(f"{header}, at end {_load()}\n\n" + "\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
