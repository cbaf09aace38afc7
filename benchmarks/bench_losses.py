"""Forward+backward time of every registered loss on CPU, with each loss's ratio to `triplet`.

Run: python benchmarks/bench_losses.py [--threads 1] [--repeats 20]
Losses are timed round-robin inside each repeat (so load from other jobs hits all of them alike),
and the table reports the median per loss. Target: fdp <= 1.5x triplet at B=256, D=2048.
"""

from __future__ import annotations

import argparse
import logging
import platform
import statistics
import time

import torch

from finereid.losses import IDENTITY_LOSSES, LOSSES, build_loss

log = logging.getLogger("bench_losses")
NUM_TRAIN_IDS = 751  # Market-1501's training identities: the classifier width cross_entropy sees
TARGET = (256, 2048, 1.5)  # (B, D, max fdp/triplet ratio)
# Extra rows separating the cost of L2 normalization (fdp's default, not the baseline triplet's).
VARIANTS = {
    "fdp normalize=False": ("fdp", {"normalize": False}),
    "triplet normalize=True": ("triplet", {"normalize": True}),
}


def parse_args() -> argparse.Namespace:
    """Command-line options: sizes, repeats, threads, which losses."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--dims", type=int, nargs="+", default=[256, 2048])
    parser.add_argument("--per-id", type=int, default=4, help="images per identity (K of P x K)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=list(LOSSES))
    parser.add_argument("--no-variants", action="store_true", help=f"skip the rows {', '.join(VARIANTS)}")
    args = parser.parse_args()
    if "triplet" not in args.losses:
        args.losses.insert(0, "triplet")
    return args


Case = tuple[torch.nn.Module, torch.Tensor, torch.Tensor]


def make_case(name: str, batch: int, dim: int, per_id: int, **kwargs) -> Case:
    """The loss and a P x K batch of its input: features (batch, dim) or logits (batch, 751)."""
    num_ids = batch // per_id
    labels = torch.arange(num_ids).repeat_interleave(per_id)
    sizes = {
        "center": dict(num_classes=num_ids, feat_dim=dim),
        "cross_entropy": dict(num_classes=NUM_TRAIN_IDS),
    }
    loss = build_loss(name, **sizes.get(name, {}), **kwargs)
    width = NUM_TRAIN_IDS if name in IDENTITY_LOSSES else dim
    inputs = torch.randn(len(labels), width, requires_grad=True)
    return loss, inputs, labels


def step_seconds(loss: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Wall time of one forward and backward pass."""
    inputs.grad = None
    start = time.perf_counter()
    loss(inputs, labels).backward()
    return time.perf_counter() - start


def bench(batch: int, dim: int, args: argparse.Namespace) -> dict[str, float]:
    """Median fwd+bwd seconds per loss at one (B, D), losses interleaved within every repeat."""
    cases = {name: make_case(name, batch, dim, args.per_id) for name in args.losses}
    if not args.no_variants:
        for label, (name, kwargs) in VARIANTS.items():
            cases[label] = make_case(name, batch, dim, args.per_id, **kwargs)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for repeat in range(args.warmup + args.repeats):
        for name, case in cases.items():
            seconds = step_seconds(*case)
            if repeat >= args.warmup:
                times[name].append(seconds)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    """Run every (B, D), print one markdown table, and say whether the fdp target holds."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cpu = platform.processor() or platform.machine()
    log.info(
        "torch %s, %d thread(s), %s, median of %d repeats, K=%d",
        torch.__version__,
        args.threads,
        cpu,
        args.repeats,
        args.per_id,
    )
    rows = ["| B | D | loss | fwd+bwd ms | x triplet |", "|---:|---:|---|---:|---:|"]
    verdict = None
    for batch in args.batch_sizes:
        for dim in args.dims:
            medians = bench(batch, dim, args)
            for name, seconds in medians.items():
                ratio = seconds / medians["triplet"]
                rows.append(f"| {batch} | {dim} | {name} | {1e3 * seconds:.2f} | {ratio:.2f} |")
                if (batch, dim, name) == (*TARGET[:2], "fdp"):
                    verdict = ratio
    print("\n".join(rows))
    if verdict is not None:
        status = "met" if verdict <= TARGET[2] else "NOT met"
        batch, dim, limit = TARGET
        print(f"\nfdp / triplet at B={batch}, D={dim}: {verdict:.2f} (target <= {limit}: {status})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
