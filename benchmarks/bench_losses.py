"""Forward+backward time of every registered loss on CPU, with each loss's ratio to `triplet`.

Run: python benchmarks/bench_losses.py [--threads 1 2] [--dtypes float32 bfloat16] [--repeats 20]
Losses are timed round-robin inside each repeat (so load from other jobs hits all of them alike),
and the table reports the median per loss: every loss in float32, and fdp, triplet and fdp through
PML's generic forward (the path before FDPLoss's fast path) in the other dtypes. It ends with the
fdp / triplet ratio over the grid (threads x dtype x B x D). Target: fdp <= triplet in every cell.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import time

import torch
from pytorch_metric_learning.losses import BaseMetricLossFunction

from finereid.losses import IDENTITY_LOSSES, LOSSES, FDPLoss, build_loss

log = logging.getLogger("bench_losses")
NUM_TRAIN_IDS = 751  # Market-1501's training identities: the classifier width cross_entropy sees
TARGET = 1.0  # max fdp / triplet ratio, in every cell of the grid
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
GENERIC = "fdp generic path"  # FDPLoss through PML's BaseMetricLossFunction.forward: the old path
# Extra rows separating the cost of L2 normalization (fdp's default, not the baseline triplet's).
VARIANTS = {
    "fdp normalize=False": ("fdp", {"normalize": False}),
    "triplet normalize=True": ("triplet", {"normalize": True}),
}


def parse_args() -> argparse.Namespace:
    """Command-line options: sizes, repeats, threads, which losses."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--dims", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--per-id", type=int, default=4, help="images per identity (K of P x K)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="torch intra-op threads")
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=list(LOSSES))
    parser.add_argument("--no-variants", action="store_true", help=f"skip the rows {', '.join(VARIANTS)}")
    args = parser.parse_args()
    if "triplet" not in args.losses:
        args.losses.insert(0, "triplet")
    return args


Case = tuple[torch.nn.Module, torch.Tensor, torch.Tensor]


class GenericFDP(torch.nn.Module):
    """FDPLoss called through PML's generic forward (reducer, regularizer hooks, anchor gather)."""

    def __init__(self) -> None:
        super().__init__()
        self.loss = FDPLoss()

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The loss by the generic path."""
        return BaseMetricLossFunction.forward(self.loss, features, labels)


def make_case(
    name: str, batch: int, dim: int, per_id: int, dtype: torch.dtype = torch.float32, **kwargs
) -> Case:
    """The loss and a P x K batch of its input: features (batch, dim) or logits (batch, 751)."""
    num_ids = batch // per_id
    labels = torch.arange(num_ids).repeat_interleave(per_id)
    sizes = {
        "center": dict(num_classes=num_ids, feat_dim=dim),
        "cross_entropy": dict(num_classes=NUM_TRAIN_IDS),
    }
    loss = GenericFDP() if name == GENERIC else build_loss(name, **sizes.get(name, {}), **kwargs)
    width = NUM_TRAIN_IDS if name in IDENTITY_LOSSES else dim
    inputs = torch.randn(len(labels), width).to(dtype).requires_grad_()
    return loss, inputs, labels


def step_seconds(loss: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Wall time of one forward and backward pass."""
    inputs.grad = None
    start = time.perf_counter()
    loss(inputs, labels).backward()
    return time.perf_counter() - start


def bench(batch: int, dim: int, dtype: torch.dtype, args: argparse.Namespace) -> dict[str, float]:
    """Median fwd+bwd seconds per loss at one (B, D, dtype), losses interleaved within every repeat."""
    names = args.losses if dtype == torch.float32 else ["triplet", "fdp"]
    cases = {name: make_case(name, batch, dim, args.per_id, dtype) for name in names}
    cases[GENERIC] = make_case(GENERIC, batch, dim, args.per_id, dtype)
    if not args.no_variants and dtype == torch.float32:
        for label, (name, kwargs) in VARIANTS.items():
            cases[label] = make_case(name, batch, dim, args.per_id, dtype, **kwargs)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for repeat in range(args.warmup + args.repeats):
        for name, case in cases.items():
            seconds = step_seconds(*case)
            if repeat >= args.warmup:
                times[name].append(seconds)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    """Run every (threads, dtype, B, D), print the tables and the fdp / triplet grid with its verdict."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args()
    torch.manual_seed(0)
    cpu = platform.processor() or platform.machine()
    log.info(
        "torch %s, %s, %d CPUs, median of %d repeats, K=%d, load average %s",
        torch.__version__,
        cpu,
        os.cpu_count(),
        args.repeats,
        args.per_id,
        " ".join(f"{x:.2f}" for x in os.getloadavg()),
    )
    grid = [
        "| threads | dtype | B | D | fdp / triplet | fdp generic path / triplet |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    worst = 0.0
    for threads in args.threads:
        torch.set_num_threads(threads)
        for dtype_name in args.dtypes:
            rows = ["| B | D | loss | fwd+bwd ms | x triplet |", "|---:|---:|---|---:|---:|"]
            for batch in args.batch_sizes:
                for dim in args.dims:
                    medians = bench(batch, dim, DTYPES[dtype_name], args)
                    for name, seconds in medians.items():
                        ratio = seconds / medians["triplet"]
                        rows.append(f"| {batch} | {dim} | {name} | {1e3 * seconds:.2f} | {ratio:.2f} |")
                    fdp, generic = (medians[k] / medians["triplet"] for k in ("fdp", GENERIC))
                    worst = max(worst, fdp)
                    grid.append(f"| {threads} | {dtype_name} | {batch} | {dim} | {fdp:.2f} | {generic:.2f} |")
            print(f"\n{threads} thread(s), {dtype_name}\n")
            print("\n".join(rows))
    print("\nfdp / triplet over the grid\n")
    print("\n".join(grid))
    status = "met" if worst <= TARGET else "NOT met"
    print(f"\nworst fdp / triplet: {worst:.2f} (target <= {TARGET} in every cell: {status})")
    log.info("load average at the end %s", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
