"""Verification metrics at Market-1501 size: memory and time next to today's ranking evaluation.

    python benchmarks/bench_verification.py                 # 3,368 x 15,913 pairs, 2048-d features
    python benchmarks/bench_verification.py --dim 512       # quicker

Three runs, each in its own process so its peak RSS (getrusage) is its own: the ranking evaluation
(`evaluate_features`, CMC/mAP), the verification metrics alone (`evaluate_verification`), and both in
one pass (`evaluate_features(..., verification=True)`). Memory is the peak minus the RSS once the
features are built; time is printed as a ratio to the ranking evaluation measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

MIB = 1024**2
RUNS = ("ranking", "verification", "both")


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / MIB


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """One run; prints a JSON line."""
    import torch

    from finereid.metrics import evaluate_features, evaluate_verification

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    num_ids = 751
    q_pids, g_pids = rng.integers(0, num_ids, args.queries), rng.integers(0, num_ids, args.gallery)
    q_cams, g_cams = rng.integers(0, 6, args.queries), rng.integers(0, 6, args.gallery)
    centres = rng.standard_normal((num_ids, args.dim), dtype=np.float32)
    noise = lambda n: rng.standard_normal((n, args.dim), dtype=np.float32)  # noqa: E731
    query, gallery = centres[q_pids] + noise(args.queries), centres[g_pids] + noise(args.gallery)
    ids = (q_pids, g_pids, q_cams, g_cams)
    base = _rss_mib()
    start = time.perf_counter()
    if args.run == "ranking":
        evaluate_features(query, gallery, *ids)
    elif args.run == "verification":
        evaluate_verification(query, gallery, *ids)
    else:
        evaluate_features(query, gallery, *ids, verification=True)
    print(json.dumps({"run": args.run, "seconds": time.perf_counter() - start, "mib": _peak_mib() - base}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=3368)
    parser.add_argument("--gallery", type=int, default=15913)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--run", choices=RUNS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        child(args)
        return
    flags = [
        f"--queries={args.queries}",
        f"--gallery={args.gallery}",
        f"--dim={args.dim}",
        f"--threads={args.threads}",
    ]
    results = {}
    for run in RUNS:
        out = subprocess.run(
            [sys.executable, __file__, *flags, f"--run={run}"], capture_output=True, text=True, check=True
        )
        results[run] = json.loads(out.stdout.strip().splitlines()[-1])
    pairs = args.queries * args.gallery
    print(
        f"{args.queries} x {args.gallery} pairs ({pairs * 4 / MIB:.0f} MiB as one float32 matrix), "
        f"dim {args.dim}"
    )
    reference = results["ranking"]["seconds"]
    for run, r in results.items():
        print(
            f"{run:>12}: peak {r['mib']:7.1f} MiB above the features, "
            f"time {r['seconds'] / reference:.2f} x ranking"
        )


if __name__ == "__main__":
    main()
