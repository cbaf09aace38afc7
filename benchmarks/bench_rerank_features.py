"""Benchmark re_ranking_features against the dense re_ranking(compute_distmat ...) path, in the same run.

    python benchmarks/bench_rerank_features.py            # Market-1501 scale (~1 min on one core)
    python benchmarks/bench_rerank_features.py --quick    # a quarter of the sizes (~10 s)

Market-1501 scale: 3,368 queries x 15,913 gallery, D=2048 random features (identity centres + noise,
bench_eval.make_data), euclidean, k1=20, k2=6, lambda=0.3. Each side runs in its own child process
from the same features; the child reports the seconds of the call (for the dense side: the three
compute_distmat blocks plus re_ranking) and its peak RSS (getrusage ru_maxrss), and saves its (Q, G)
result so the parent can print the largest difference. `--threads` (default 1) sets torch's threads.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

import numpy as np
import torch

from bench_eval import MARKET, current_rss_gb, make_data, peak_rss_gb, scaled, timed
from finereid.metrics import compute_distmat, re_ranking, re_ranking_features

SETTINGS = {"k1": 20, "k2": 6, "lambda_value": 0.3}


def dense(query: torch.Tensor, gallery: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The dense path: the three distance blocks, then re_ranking; also the seconds spent on the blocks."""
    blocks, seconds = timed(
        lambda: [compute_distmat(a, b) for a, b in ((query, gallery), (query, query), (gallery, gallery))]
    )
    return re_ranking(*blocks, **SETTINGS), seconds


def child(which: str, quick: bool, out_path: str) -> dict:
    """Child process: one side on Market-scale features; save its result, report time and peak RSS."""
    query, gallery, *_ = make_data(**scaled(MARKET, quick))
    query, gallery = torch.from_numpy(query), torch.from_numpy(gallery)
    baseline = current_rss_gb()
    report = {"inputs_gb": baseline}
    if which == "features":
        result, report["seconds"] = timed(re_ranking_features, query, gallery, **SETTINGS)
    else:
        (result, report["distance_seconds"]), report["seconds"] = timed(dense, query, gallery)
    report["peak_gb"] = peak_rss_gb()
    np.save(out_path, result.numpy())
    return report


def run_child(args: argparse.Namespace, which: str, out_path: str) -> dict:
    """Run this script as a child for one side and return its JSON report."""
    command = [sys.executable, __file__, "--threads", str(args.threads), "--child", which, "--out", out_path]
    done = subprocess.run([*command, *(["--quick"] if args.quick else [])], check=True, capture_output=True)
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the sizes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--child", choices=["features", "dense"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(child(args.child, args.quick, args.out)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        ours, ref = (run_child(args, which, f"{tmp}/{which}.npy") for which in ("features", "dense"))
        diff = np.abs(np.load(f"{tmp}/features.npy") - np.load(f"{tmp}/dense.npy")).max()
    print(f"\nsizes: {scaled(MARKET, args.quick)}, D=2048, {SETTINGS}, torch threads={args.threads}")
    print("| path | time (s) | peak RSS (GiB) | RSS with features loaded (GiB) |")
    print("| --- | ---: | ---: | ---: |")
    print(
        f"| re_ranking_features | {ours['seconds']:.1f} | {ours['peak_gb']:.2f} | {ours['inputs_gb']:.2f} |"
    )
    print(
        f"| compute_distmat x3 + re_ranking | {ref['seconds']:.1f} (distances {ref['distance_seconds']:.1f}) "
        f"| {ref['peak_gb']:.2f} | {ref['inputs_gb']:.2f} |"
    )
    print(
        f"\ntime ratio (dense / features) {ref['seconds'] / ours['seconds']:.2f}x, peak RSS ratio "
        f"{ref['peak_gb'] / ours['peak_gb']:.2f}x, max |diff| {diff:.1e}"
    )


if __name__ == "__main__":
    main()
